// cpu_backend.cpp -- the CPU backend: host memory, a synchronous queue, and every operation
// forwarded to the reference kernels (kernels/cpu: OpenBLAS GEMMs, OpenMP loops with run-time
// chosen AVX2 / AVX-512 variants). It is what the single-process reference path runs on.
#include <cstdlib>
#include <cstring>
#include <new>

#include "core/error.h"
#include "device/backend.h"
#include "kernels/kernels.h"

namespace plinth::device {
namespace {
namespace k = plinth::kernels;

k::Trans to_kernels(Trans t) { return t == Trans::Yes ? k::Trans::Yes : k::Trans::No; }

void* aligned_zeroed(size_t bytes) {
  const size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, rounded == 0 ? 64 : rounded);
  return p;
}

class CpuBackend final : public Backend {
 public:
  DeviceInfo info() const override {
    return DeviceInfo{.kind = DeviceKind::Cpu,
                      .name = "cpu (" + k::compute_setup() + ")",
                      .threads = k::num_threads(),
                      .fp32_lanes = k::cpu_widest_fp32_lanes(),
                      .vector_name = k::cpu_widest_vector_name()};
  }

  // ---- memory: host memory; the queue is synchronous ----
  void* allocate(size_t bytes) override { return aligned_zeroed(bytes); }
  void release(void* p) override { std::free(p); }
  void* allocate_host(size_t bytes) override { return aligned_zeroed(bytes); }
  void release_host(void* p) override { std::free(p); }
  bool host_accessible() const override { return true; }
  void copy_to_device(void* dst, const void* src, size_t bytes) override { copy(dst, src, bytes); }
  void copy_to_host(void* dst, const void* src, size_t bytes) override { copy(dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override {
    if (bytes && dst != src) std::memcpy(dst, src, bytes);
  }
  void copy_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width, size_t rows) override {
    auto* d = static_cast<char*>(dst);
    const auto* s = static_cast<const char*>(src);
    for (size_t r = 0; r < rows; ++r) std::memcpy(d + r * dst_pitch, s + r * src_pitch, width);
  }
  void zero(void* p, size_t bytes) override {
    if (bytes) std::memset(p, 0, bytes);
  }
  void fill(float* x, float value, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) x[i] = value;
  }
  void synchronize() override {}

  // ---- linear algebra ----
  void gemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t lda,
            const float* b, int64_t ldb, float beta, float* c, int64_t ldc) override {
    k::gemm<float>(to_kernels(ta), to_kernels(tb), M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  void gemm_strided_batched(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* a,
                            int64_t lda, int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b, float beta,
                            float* c, int64_t ldc, int64_t stride_c, int64_t batch) override {
    for (int64_t i = 0; i < batch; ++i)
      k::gemm<float>(to_kernels(ta), to_kernels(tb), M, N, K, alpha, a + i * stride_a, lda, b + i * stride_b, ldb,
                     beta, c + i * stride_c, ldc);
  }
  void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N, int64_t C,
                      int64_t OC) override {
    k::matmul_forward(out, inp, weight, bias, N, C, OC);
  }
  void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                       const float* weight, int64_t N, int64_t C, int64_t OC) override {
    k::matmul_backward(dinp, dweight, dbias, dout, inp, weight, N, C, OC);
  }
  void bias_backward(float* dbias, const float* dout, int64_t N, int64_t OC) override {
    k::matmul_backward<float>(nullptr, nullptr, dbias, dout, nullptr, nullptr, N, 1, OC);
  }

  // ---- normalisation ----
  void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                         const float* bias, int64_t N, int64_t C, float eps) override {
    k::layernorm_forward(out, mean, rstd, inp, weight, bias, N, C, eps);
  }
  void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                          const float* weight, const float* mean, const float* rstd, int64_t N, int64_t C) override {
    k::layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
  }
  void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int64_t N, int64_t C,
                       float eps) override {
    k::rmsnorm_forward(out, rstd, inp, weight, N, C, eps);
  }
  void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                        const float* rstd, int64_t N, int64_t C) override {
    k::rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, N, C);
  }

  // ---- elementwise ----
  void gelu_forward(float* out, const float* inp, int64_t n) override { k::gelu_forward(out, inp, n); }
  void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t n) override {
    k::gelu_backward(dinp, inp, dout, n);
  }
  void swiglu_forward(float* out, const float* gate, const float* up, int64_t n) override {
    k::swiglu_forward(out, gate, up, n);
  }
  void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                       int64_t n) override {
    k::swiglu_backward(dgate, dup, dout, gate, up, n);
  }
  void add(float* out, const float* a, const float* b, int64_t n) override { k::add_forward(out, a, b, n); }
  void axpy(float* y, const float* x, float alpha, int64_t n) override { k::axpy(y, x, alpha, n); }
  void add_bias_rows(float* x, const float* bias, int64_t rows, int64_t C) override {
    for (int64_t r = 0; r < rows; ++r) k::axpy(x + r * C, bias, 1.0f, C);
  }
  void scale(float* x, float s, int64_t n) override { k::scale(x, s, n); }
  void cast(void* dst, DType dst_type, const void* src, DType src_type, int64_t n) override {
    if (dst_type == src_type) {
      copy(dst, src, static_cast<size_t>(n) * (dst_type == DType::F32 ? 4 : 2));
    } else if (dst_type == DType::BF16) {
      k::cast_f32_to_bf16(static_cast<uint16_t*>(dst), static_cast<const float*>(src), n);
    } else {
      k::cast_bf16_to_f32(static_cast<float*>(dst), static_cast<const uint16_t*>(src), n);
    }
  }

  // ---- position, attention ----
  void rope_forward(float* x, int64_t B, int64_t T, int64_t H, int64_t HS, double theta, int64_t pos) override {
    k::rope_forward(x, B, T, H, HS, theta, pos);
  }
  void rope_backward(float* dx, int64_t B, int64_t T, int64_t H, int64_t HS, double theta, int64_t pos) override {
    k::rope_backward(dx, B, T, H, HS, theta, pos);
  }
  void attention_forward(float* out, float* lse, const float* q, const float* kk, const float* v, int64_t B, int64_t T,
                         int64_t NH, int64_t NKV, int64_t HS) override {
    k::attention_forward(out, lse, q, kk, v, B, T, NH, NKV, HS);
  }
  void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* kk,
                          const float* v, const float* out, const float* lse, int64_t B, int64_t T, int64_t NH,
                          int64_t NKV, int64_t HS) override {
    k::attention_backward(dq, dk, dv, dout, q, kk, v, out, lse, B, T, NH, NKV, HS);
  }

  // ---- embeddings ----
  void embedding_forward(float* out, const int32_t* tokens, const float* wte, int64_t N, int64_t C) override {
    k::embedding_forward(out, tokens, wte, N, C);
  }
  void embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int64_t N, int64_t C) override {
    k::embedding_backward(dwte, dout, tokens, N, C);
  }
  void positional_forward(float* out, const float* wpe, int64_t B, int64_t T, int64_t C, int64_t pos) override {
    k::positional_forward(out, wpe, B, T, C, pos);
  }
  void positional_backward(float* dwpe, const float* dout, int64_t B, int64_t T, int64_t C, int64_t pos) override {
    k::positional_backward(dwpe, dout, B, T, C, pos);
  }
  void vocab_embedding_forward(float* out, const int32_t* tokens, const float* wte_local, int64_t N, int64_t C,
                               int64_t v_begin, int64_t v_local) override {
    k::vocab_embedding_forward(out, tokens, wte_local, N, C, v_begin, v_local);
  }
  void vocab_embedding_backward(float* dwte_local, const float* dout, const int32_t* tokens, int64_t N, int64_t C,
                                int64_t v_begin, int64_t v_local) override {
    k::vocab_embedding_backward(dwte_local, dout, tokens, N, C, v_begin, v_local);
  }

  // ---- cross-entropy and the loss ----
  void crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int64_t N, int64_t V,
                            int64_t Vp) override {
    k::crossentropy_forward(losses, logits, targets, N, V, Vp);
  }
  void crossentropy_backward(float* dlogits, const float* logits, const int32_t* targets, const float* dlosses,
                             int64_t N, int64_t V, int64_t Vp) override {
    k::crossentropy_backward(dlogits, logits, targets, dlosses, N, V, Vp);
  }
  void vocab_ce_row_max(float* row_max, const float* logits_local, int64_t N, int64_t v_begin, int64_t v_local,
                        int64_t V) override {
    k::vocab_ce_row_max(row_max, logits_local, N, v_begin, v_local, V);
  }
  void vocab_ce_row_sums(double* sums, const float* logits_local, const float* row_max, const int32_t* targets,
                         int64_t N, int64_t v_begin, int64_t v_local, int64_t V) override {
    k::vocab_ce_row_sums(sums, logits_local, row_max, targets, N, v_begin, v_local, V);
  }
  void vocab_ce_finish(float* losses, float* stats, const float* row_max, const double* sums, const int32_t* targets,
                       int64_t N) override {
    k::vocab_ce_finish(losses, stats, row_max, sums, targets, N);
  }
  void vocab_ce_backward(float* dlogits_local, const float* logits_local, const float* stats, const int32_t* targets,
                         const float* dlosses, int64_t N, int64_t v_begin, int64_t v_local, int64_t V) override {
    k::vocab_ce_backward(dlogits_local, logits_local, stats, targets, dlosses, N, v_begin, v_local, V);
  }
  void loss_mean(float* out, const float* losses, const int32_t* targets, int64_t N) override {
    out[0] = k::loss_mean(losses, targets, N);
  }
  void row_loss_means(double* out, const float* losses, const int32_t* targets, int64_t rows, int64_t T) override {
    k::row_loss_means(out, losses, targets, rows, T);
  }

  // ---- reductions and the optimizer ----
  void sum_squares(double* out, const float* x, const std::vector<FlatRange>& ranges) override {
    double sum = 0.0;
    for (const FlatRange& r : ranges)
      if (r.size() > 0) sum += k::sum_squares(x + r.begin, r.size());
    out[0] = sum;
  }
  void adamw(float* params, const float* grads, float* m, float* v, const std::vector<AdamWSegment>& segments,
             const AdamWHyper& h) override {
    for (const AdamWSegment& s : segments) {
      const k::AdamWArgs args{.lr = h.lr,
                              .beta1 = h.beta1,
                              .beta2 = h.beta2,
                              .eps = h.eps,
                              .weight_decay = s.weight_decay,
                              .step = h.step,
                              .grad_scale = h.grad_scale};
      k::adamw_update(params + s.begin, grads + s.begin, m + s.state_offset, v + s.state_offset, s.end - s.begin, args);
    }
  }
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend backend;   // stateless: the thread count is the kernels' (kernels::set_num_threads)
  return backend;
}

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace plinth::device
