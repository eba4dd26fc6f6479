// cuda_backend.cu -- the CUDA backend (fp32): device memory, one ordered queue (one cudaStream_t
// per backend, created in the constructor; every operation is enqueued on it), GEMMs through
// cuBLASLt (fp32 data, fp32 compute: no TF32), and every other operation forwarded to the kernels
// of cuda_elementwise.cu, cuda_norm_loss.cu and cuda_attention.cu (cuda_ops.h).
// Status: first version (issue 17 groundwork); compiled, not yet run on a GPU.
#include <cstdint>
#include <cstring>
#include <new>
#include <sstream>
#include <string>

#include "core/error.h"
#include "device/backend.h"
#include "device/cuda_ops.h"

namespace plinth::device {
namespace cuda {

void check(cudaError_t err, const char* call, const char* file, int line) {
  if (err == cudaSuccess) return;
  (void)cudaGetLastError();   // clear a sticky-free error so that the next call does not report it
  PLINTH_THROW(Internal, "CUDA error in ", call, " (", file, ":", line, "): ", cudaGetErrorName(err), ": ",
               cudaGetErrorString(err));
}

void check(cublasStatus_t st, const char* call, const char* file, int line) {
  if (st == CUBLAS_STATUS_SUCCESS) return;
  PLINTH_THROW(Internal, "cuBLAS error in ", call, " (", file, ":", line, "): ", cublasGetStatusName(st), ": ",
               cublasGetStatusString(st));
}

Scratch::~Scratch() {
  if (p_) (void)cudaFree(p_);
}

void* Scratch::get(size_t bytes) {
  if (bytes <= bytes_) return p_;
  if (p_) {
    PLINTH_CUDA_CHECK(cudaStreamSynchronize(stream_));   // earlier operations may still use it
    PLINTH_CUDA_CHECK(cudaFree(p_));
    p_ = nullptr;
    bytes_ = 0;
  }
  const size_t rounded = (bytes + (size_t(1) << 20) - 1) & ~((size_t(1) << 20) - 1);
  PLINTH_CUDA_CHECK(cudaMalloc(&p_, rounded));
  bytes_ = rounded;
  return p_;
}

}  // namespace cuda

namespace {

constexpr size_t kLtWorkspace = size_t(32) << 20;   // cuBLASLt workspace, allocated once

cublasOperation_t op(Trans t) { return t == Trans::Yes ? CUBLAS_OP_T : CUBLAS_OP_N; }

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device) : device_(device), stream_(make_stream(device)), scratch_(stream_) {
    cudaDeviceProp prop{};
    PLINTH_CUDA_CHECK(cudaGetDeviceProperties(&prop, device_));
    std::ostringstream name;
    name << "cuda:" << device_ << " " << prop.name << " (sm_" << prop.major << prop.minor << ", "
         << (prop.totalGlobalMem + (size_t(1) << 29)) / (size_t(1) << 30) << " GiB)";
    name_ = name.str();
    PLINTH_CUDA_CHECK(cublasLtCreate(&lt_));
    PLINTH_CUDA_CHECK(cudaMalloc(&workspace_, kLtWorkspace));
  }
  ~CudaBackend() override {
    (void)cudaStreamSynchronize(stream_);
    if (workspace_) (void)cudaFree(workspace_);
    if (lt_) (void)cublasLtDestroy(lt_);
    (void)cudaStreamDestroy(stream_);   // scratch_ frees its memory (cudaFree, no stream) after this body
  }
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  DeviceInfo info() const override {
    return DeviceInfo{.kind = DeviceKind::Cuda, .name = name_, .threads = 1, .fp32_lanes = 4, .vector_name = "cuda"};
  }

  // ---- memory and the queue ----
  void* allocate(size_t bytes) override {
    const size_t rounded = bytes == 0 ? 256 : (bytes + 255) / 256 * 256;
    void* p = nullptr;
    const cudaError_t err = cudaMalloc(&p, rounded);   // 256-byte aligned
    if (err == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      throw std::bad_alloc();
    }
    PLINTH_CUDA_CHECK(err);
    PLINTH_CUDA_CHECK(cudaMemsetAsync(p, 0, rounded, stream_));
    return p;
  }
  // release / release_host run in destructors (DeviceBuffer, HostBuffer): they do not throw; a
  // failure here is a device already in error, which the next checked call reports.
  void release(void* p) override {
    if (p && cudaFree(p) != cudaSuccess) (void)cudaGetLastError();   // cudaFree waits for the work on it
  }
  void* allocate_host(size_t bytes) override {
    const size_t rounded = bytes == 0 ? 64 : bytes;
    void* p = nullptr;
    const cudaError_t err = cudaMallocHost(&p, rounded);   // pinned
    if (err == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      throw std::bad_alloc();
    }
    PLINTH_CUDA_CHECK(err);
    std::memset(p, 0, rounded);
    return p;
  }
  void release_host(void* p) override {
    if (p && cudaFreeHost(p) != cudaSuccess) (void)cudaGetLastError();
  }
  bool host_accessible() const override { return false; }
  void copy_to_device(void* dst, const void* host_src, size_t bytes) override {
    if (!bytes) return;
    PLINTH_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_));
    PLINTH_CUDA_CHECK(cudaStreamSynchronize(stream_));   // the contract: the host source may be reused on return
  }
  void copy_to_host(void* host_dst, const void* src, size_t bytes) override {
    if (!bytes) return;
    PLINTH_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
    PLINTH_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  void copy(void* dst, const void* src, size_t bytes) override {
    if (!bytes || dst == src) return;
    PLINTH_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
  }
  void copy_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width, size_t rows) override {
    if (!width || !rows) return;
    PLINTH_CUDA_CHECK(cudaMemcpy2DAsync(dst, dst_pitch, src, src_pitch, width, rows, cudaMemcpyDeviceToDevice, stream_));
  }
  void zero(void* p, size_t bytes) override {
    if (bytes) PLINTH_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream_));
  }
  void fill(float* x, float value, int64_t n) override { cuda::fill(stream_, x, value, n); }
  void synchronize() override { PLINTH_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

  // ---- linear algebra ----
  void gemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t lda,
            const float* b, int64_t ldb, float beta, float* c, int64_t ldc) override {
    lt_gemm(ta, tb, M, N, K, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
  }
  void gemm_strided_batched(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* a,
                            int64_t lda, int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b, float beta,
                            float* c, int64_t ldc, int64_t stride_c, int64_t batch) override {
    lt_gemm(ta, tb, M, N, K, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c, ldc, stride_c, batch);
  }
  void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N, int64_t C,
                      int64_t OC) override {
    PLINTH_CHECK(N >= 0 && C > 0 && OC > 0, Internal, "matmul_forward: bad shape N=", N, " C=", C, " OC=", OC);
    float beta = 0.0f;
    if (bias) {   // like kernels/cpu/matmul.cpp: out = bias broadcast, then the GEMM with beta 1
      cuda::set_rows(stream_, out, bias, N, OC);
      beta = 1.0f;
    }
    lt_gemm(Trans::No, Trans::Yes, N, OC, C, 1.0f, inp, C, 0, weight, C, 0, beta, out, OC, 0, 1);
  }
  void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                       const float* weight, int64_t N, int64_t C, int64_t OC) override {
    PLINTH_CHECK(N >= 0 && C > 0 && OC > 0, Internal, "matmul_backward: bad shape N=", N, " C=", C, " OC=", OC);
    if (dinp) lt_gemm(Trans::No, Trans::No, N, C, OC, 1.0f, dout, OC, 0, weight, C, 0, 1.0f, dinp, C, 0, 1);
    if (dweight) lt_gemm(Trans::Yes, Trans::No, OC, C, N, 1.0f, dout, OC, 0, inp, C, 0, 1.0f, dweight, C, 0, 1);
    if (dbias) cuda::column_sums(stream_, dbias, dout, N, OC);
  }
  void bias_backward(float* dbias, const float* dout, int64_t N, int64_t OC) override {
    cuda::column_sums(stream_, dbias, dout, N, OC);
  }

  // ---- normalisation ----
  void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                         const float* bias, int64_t N, int64_t C, float eps) override {
    cuda::layernorm_forward(stream_, out, mean, rstd, inp, weight, bias, N, C, eps);
  }
  void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                          const float* weight, const float* mean, const float* rstd, int64_t N, int64_t C) override {
    cuda::layernorm_backward(stream_, dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
  }
  void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int64_t N, int64_t C,
                       float eps) override {
    cuda::rmsnorm_forward(stream_, out, rstd, inp, weight, N, C, eps);
  }
  void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                        const float* rstd, int64_t N, int64_t C) override {
    cuda::rmsnorm_backward(stream_, dinp, dweight, dout, inp, weight, rstd, N, C);
  }

  // ---- elementwise ----
  void gelu_forward(float* out, const float* inp, int64_t n) override { cuda::gelu_forward(stream_, out, inp, n); }
  void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t n) override {
    cuda::gelu_backward(stream_, dinp, inp, dout, n);
  }
  void swiglu_forward(float* out, const float* gate, const float* up, int64_t n) override {
    cuda::swiglu_forward(stream_, out, gate, up, n);
  }
  void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                       int64_t n) override {
    cuda::swiglu_backward(stream_, dgate, dup, dout, gate, up, n);
  }
  void add(float* out, const float* a, const float* b, int64_t n) override { cuda::add(stream_, out, a, b, n); }
  void axpy(float* y, const float* x, float alpha, int64_t n) override { cuda::axpy(stream_, y, x, alpha, n); }
  void add_bias_rows(float* x, const float* bias, int64_t rows, int64_t C) override {
    cuda::add_bias_rows(stream_, x, bias, rows, C);
  }
  void scale(float* x, float s, int64_t n) override { cuda::scale(stream_, x, s, n); }
  void cast(void* dst, DType dst_type, const void* src, DType src_type, int64_t n) override {
    if (dst_type == src_type) {
      copy(dst, src, static_cast<size_t>(n) * (dst_type == DType::F32 ? 4 : 2));
    } else if (dst_type == DType::BF16) {
      cuda::cast_f32_to_bf16(stream_, static_cast<uint16_t*>(dst), static_cast<const float*>(src), n);
    } else {
      cuda::cast_bf16_to_f32(stream_, static_cast<float*>(dst), static_cast<const uint16_t*>(src), n);
    }
  }

  // ---- position, attention ----
  void rope_forward(float* x, int64_t B, int64_t T, int64_t H, int64_t HS, double theta, int64_t pos) override {
    cuda::rope(stream_, x, B, T, H, HS, theta, pos, 1.0f);
  }
  void rope_backward(float* dx, int64_t B, int64_t T, int64_t H, int64_t HS, double theta, int64_t pos) override {
    cuda::rope(stream_, dx, B, T, H, HS, theta, pos, -1.0f);
  }
  void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, int64_t B, int64_t T,
                         int64_t NH, int64_t NKV, int64_t HS) override {
    cuda::attention_forward(stream_, out, lse, q, k, v, B, T, NH, NKV, HS);
  }
  void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                          const float* v, const float* out, const float* lse, int64_t B, int64_t T, int64_t NH,
                          int64_t NKV, int64_t HS) override {
    cuda::attention_backward(stream_, scratch_, dq, dk, dv, dout, q, k, v, out, lse, B, T, NH, NKV, HS);
  }

  // ---- embeddings (a full table is the vocabulary-parallel case with v_begin 0 and no bound) ----
  static constexpr int64_t kAll = int64_t(1) << 62;
  void embedding_forward(float* out, const int32_t* tokens, const float* wte, int64_t N, int64_t C) override {
    cuda::embedding_forward(stream_, out, tokens, wte, N, C, 0, kAll);
  }
  void embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int64_t N, int64_t C) override {
    cuda::embedding_backward(stream_, dwte, dout, tokens, N, C, 0, kAll);
  }
  void positional_forward(float* out, const float* wpe, int64_t B, int64_t T, int64_t C, int64_t pos) override {
    cuda::positional_forward(stream_, out, wpe, B, T, C, pos);
  }
  void positional_backward(float* dwpe, const float* dout, int64_t B, int64_t T, int64_t C, int64_t pos) override {
    cuda::positional_backward(stream_, dwpe, dout, B, T, C, pos);
  }
  void vocab_embedding_forward(float* out, const int32_t* tokens, const float* wte_local, int64_t N, int64_t C,
                               int64_t v_begin, int64_t v_local) override {
    cuda::embedding_forward(stream_, out, tokens, wte_local, N, C, v_begin, v_local);
  }
  void vocab_embedding_backward(float* dwte_local, const float* dout, const int32_t* tokens, int64_t N, int64_t C,
                                int64_t v_begin, int64_t v_local) override {
    cuda::embedding_backward(stream_, dwte_local, dout, tokens, N, C, v_begin, v_local);
  }

  // ---- cross-entropy and the loss ----
  void crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int64_t N, int64_t V,
                            int64_t Vp) override {
    cuda::crossentropy_forward(stream_, losses, logits, targets, N, V, Vp);
  }
  void crossentropy_backward(float* dlogits, const float* logits, const int32_t* targets, const float* dlosses,
                             int64_t N, int64_t V, int64_t Vp) override {
    cuda::crossentropy_backward(stream_, dlogits, logits, targets, dlosses, N, V, Vp);
  }
  void vocab_ce_row_max(float* row_max, const float* logits_local, int64_t N, int64_t v_begin, int64_t v_local,
                        int64_t V) override {
    cuda::vocab_ce_row_max(stream_, row_max, logits_local, N, v_begin, v_local, V);
  }
  void vocab_ce_row_sums(double* sums, const float* logits_local, const float* row_max, const int32_t* targets,
                         int64_t N, int64_t v_begin, int64_t v_local, int64_t V) override {
    cuda::vocab_ce_row_sums(stream_, sums, logits_local, row_max, targets, N, v_begin, v_local, V);
  }
  void vocab_ce_finish(float* losses, float* stats, const float* row_max, const double* sums, const int32_t* targets,
                       int64_t N) override {
    cuda::vocab_ce_finish(stream_, losses, stats, row_max, sums, targets, N);
  }
  void vocab_ce_backward(float* dlogits_local, const float* logits_local, const float* stats, const int32_t* targets,
                         const float* dlosses, int64_t N, int64_t v_begin, int64_t v_local, int64_t V) override {
    cuda::vocab_ce_backward(stream_, dlogits_local, logits_local, stats, targets, dlosses, N, v_begin, v_local, V);
  }
  void loss_mean(float* out, const float* losses, const int32_t* targets, int64_t N) override {
    cuda::loss_mean(stream_, out, losses, targets, N);
  }
  void row_loss_means(double* out, const float* losses, const int32_t* targets, int64_t rows, int64_t T) override {
    cuda::row_loss_means(stream_, out, losses, targets, rows, T);
  }

  // ---- reductions and the optimizer ----
  void sum_squares(double* out, const float* x, const std::vector<FlatRange>& ranges) override {
    cuda::sum_squares(stream_, scratch_, out, x, ranges);
  }
  void adamw(float* params, const float* grads, float* m, float* v, const std::vector<AdamWSegment>& segments,
             const AdamWHyper& h) override {
    cuda::adamw(stream_, params, grads, m, v, segments, h);
  }

 private:
  static cudaStream_t make_stream(int device) {
    PLINTH_CUDA_CHECK(cudaSetDevice(device));
    cudaStream_t s = nullptr;
    PLINTH_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return s;
  }

  // Row-major c (M, N) = alpha op(a) op(b) + beta c, `batch` times at the given strides. cuBLASLt is
  // column-major: the row-major c is the column-major c^T (N x M, ld ldc) = op(b)^T op(a)^T, so
  // b is passed as Lt's A and a as Lt's B, each with its own transpose flag; a row-major matrix
  // with leading dimension ld is the column-major matrix of its transpose with the same ld.
  void lt_gemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t lda,
               int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b, float beta, float* c, int64_t ldc,
               int64_t stride_c, int64_t batch) {
    PLINTH_CHECK(M >= 0 && N >= 0 && K >= 0 && batch >= 0, Internal, "gemm: bad shape M=", M, " N=", N, " K=", K,
                 " batch=", batch);
    if (M == 0 || N == 0 || batch == 0) return;
    if (K == 0) {   // no product: c = beta c
      cuda::scale_matrix(stream_, c, M, N, ldc, stride_c, batch, beta);
      return;
    }
    // Lt's A = b: op(A) is (N x K); its stored column-major shape is (N x K) untransposed, (K x N) transposed.
    const uint64_t a_rows = tb == Trans::No ? N : K, a_cols = tb == Trans::No ? K : N;
    // Lt's B = a: op(B) is (K x M); stored (K x M) untransposed, (M x K) transposed.
    const uint64_t b_rows = ta == Trans::No ? K : M, b_cols = ta == Trans::No ? M : K;
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
    cublasLtMatmulPreference_t pref = nullptr;
    struct Cleanup {
      cublasLtMatmulDesc_t& d;
      cublasLtMatrixLayout_t &a, &b, &c;
      cublasLtMatmulPreference_t& p;
      ~Cleanup() {
        if (p) cublasLtMatmulPreferenceDestroy(p);
        if (c) cublasLtMatrixLayoutDestroy(c);
        if (b) cublasLtMatrixLayoutDestroy(b);
        if (a) cublasLtMatrixLayoutDestroy(a);
        if (d) cublasLtMatmulDescDestroy(d);
      }
    } cleanup{desc, la, lb, lc, pref};
    PLINTH_CUDA_CHECK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t opa = op(tb), opb = op(ta);
    PLINTH_CUDA_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof(opa)));
    PLINTH_CUDA_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof(opb)));
    PLINTH_CUDA_CHECK(cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, a_rows, a_cols, ldb));
    PLINTH_CUDA_CHECK(cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, b_rows, b_cols, lda));
    PLINTH_CUDA_CHECK(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, uint64_t(N), uint64_t(M), ldc));
    if (batch > 1) {
      const int32_t count = int32_t(batch);
      const int64_t strides[3] = {stride_b, stride_a, stride_c};
      cublasLtMatrixLayout_t layouts[3] = {la, lb, lc};
      for (int i = 0; i < 3; ++i) {
        PLINTH_CUDA_CHECK(
            cublasLtMatrixLayoutSetAttribute(layouts[i], CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)));
        PLINTH_CUDA_CHECK(cublasLtMatrixLayoutSetAttribute(layouts[i], CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                                           &strides[i], sizeof(strides[i])));
      }
    }
    PLINTH_CUDA_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    const uint64_t ws = kLtWorkspace;
    PLINTH_CUDA_CHECK(
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
    // The heuristic assumes 256-byte aligned operands unless told: state each one's alignment
    // (operands are often offsets into a larger allocation; batches step by their strides).
    const uint32_t align_a = alignment(b, batch > 1 ? stride_b : 0), align_b = alignment(a, batch > 1 ? stride_a : 0),
                   align_c = alignment(c, batch > 1 ? stride_c : 0);
    PLINTH_CUDA_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align_a,
                                                           sizeof(align_a)));
    PLINTH_CUDA_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align_b,
                                                           sizeof(align_b)));
    PLINTH_CUDA_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_c,
                                                           sizeof(align_c)));
    PLINTH_CUDA_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_c,
                                                           sizeof(align_c)));
    cublasLtMatmulHeuristicResult_t heur{};
    int found = 0;
    PLINTH_CUDA_CHECK(cublasLtMatmulAlgoGetHeuristic(lt_, desc, la, lb, lc, lc, pref, 1, &heur, &found));
    PLINTH_CHECK(found > 0, Internal, "gemm: cuBLASLt has no fp32 algorithm for M=", M, " N=", N, " K=", K,
                 " lda=", lda, " ldb=", ldb, " ldc=", ldc, " batch=", batch);
    PLINTH_CUDA_CHECK(cublasLtMatmul(lt_, desc, &alpha, b, la, a, lb, &beta, c, lc, c, lc, &heur.algo, workspace_,
                                     kLtWorkspace, stream_));
  }

  // Largest power of two (<= 256) dividing the address and, for batches, the byte stride.
  static uint32_t alignment(const void* p, int64_t stride_elems) {
    uint64_t bits = reinterpret_cast<uintptr_t>(p) | 256u;
    if (stride_elems != 0) bits |= uint64_t(stride_elems < 0 ? -stride_elems : stride_elems) * sizeof(float);
    return uint32_t(bits & (~bits + 1));
  }

  int device_;
  std::string name_;
  cudaStream_t stream_ = nullptr;
  cuda::Scratch scratch_;
  cublasLtHandle_t lt_ = nullptr;
  void* workspace_ = nullptr;
};

}  // namespace

// Device `device` of this process (make_backend passes 0 for now; local rank % count later).
std::unique_ptr<Backend> make_cuda_backend(int device) { return std::make_unique<CudaBackend>(device); }

}  // namespace plinth::device
