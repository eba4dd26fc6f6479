// backend.h -- the device seam: memory and every tensor operation plinth's model, optimizer,
// pipeline executor, data parallelism and checkpoint staging use, behind one interface.
//
// A Backend is one device (the CPU, or one GPU) with one ordered queue of work: operations run
// in the order they are issued; on the CPU each returns when done, on a GPU it may return
// before (synchronize() waits). Every pointer an operation takes is a DEVICE pointer of this
// backend (allocated by it, or an offset into such an allocation), except those named host_*.
// Reading a device value on the host is always an explicit copy_to_host, which returns with the
// value; copy_to_device returns once the host source may be reused or freed.
// Communicators are not ordered with this queue: code that hands a device buffer to a
// collective, a send or a receive calls synchronize() first (tensor_parallel, GradSync, the
// pipeline executor and the tied-embedding exchange do; a no-op on the CPU). A stream-aware
// communicator (NCCL) may later replace these waits by ordering on the backend's stream.
//
// Compute conventions are kernels/kernels.h's (row-major, contiguous; N rows, C channels, V
// vocabulary, Vp padded vocabulary, NH/NKV/HS heads): every *_backward ACCUMULATES into the
// gradients it is given (callers zero them), null gradient pointers mean "not needed", except
// crossentropy_backward / vocab_ce_backward, which WRITE and may alias the logits. Training is
// float; casts convert to and from bf16 for storage and transport.
//
// Backends are built once in launch/ (make_backend, --device.kind) and passed by reference, like
// the communicators; the CPU backend (cpu_backend()) is stateless and is the reference every
// other backend is tested against (tests/unit/device/test_backend_ops.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor_spec.h"

namespace plinth::device {

enum class DeviceKind { Cpu, Cuda };
DeviceKind device_kind_parse(const std::string& s);   // "cpu" | "cuda"; Error(Config) naming device.kind
const char* device_kind_name(DeviceKind k);

enum class DType { F32, BF16 };   // element types of cast()
enum class Trans { No, Yes };

// What a device is, for logs and the MFU peak (train/peak_flops.h).
struct DeviceInfo {
  DeviceKind kind = DeviceKind::Cpu;
  std::string name;          // "cpu (threads=2 blas=OpenBLAS ... kernels=avx512)" or the GPU's name
  int threads = 1;           // CPU: compute threads; GPU: 1
  int fp32_lanes = 4;        // CPU: fp32 lanes of the widest vector FMA unit
  std::string vector_name;   // CPU: "avx512", "avx2+fma" or "128-bit"
};

// One AdamW update of a contiguous piece of the flat buffers: params/grads [begin, end) and the
// moments at [state_offset, state_offset + end - begin). Weight decay per piece (tensor).
struct AdamWSegment {
  int64_t begin = 0, end = 0;
  int64_t state_offset = 0;
  float weight_decay = 0.0f;
};
struct AdamWHyper {
  float lr = 0, beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f;
  int64_t step = 1;          // 1-based, bias correction
  float grad_scale = 1.0f;   // gradients are multiplied by this first (clipping)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual DeviceInfo info() const = 0;
  DeviceKind kind() const { return info().kind; }

  // ---- memory and the queue ----
  virtual void* allocate(size_t bytes) = 0;   // zero-filled, 64-byte aligned; throws std::bad_alloc
  virtual void release(void* p) = 0;
  virtual void* allocate_host(size_t bytes) = 0;   // host staging memory (pinned where it helps), zeroed
  virtual void release_host(void* p) = 0;
  virtual bool host_accessible() const = 0;   // device pointers may be read and written by the host
  virtual void copy_to_device(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void copy_to_host(void* host_dst, const void* src, size_t bytes) = 0;   // waits for the value
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;              // device to device
  // rows x width_bytes, from src (row pitch src_pitch bytes) to dst (pitch dst_pitch), device to device
  virtual void copy_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width_bytes,
                       size_t rows) = 0;
  virtual void zero(void* p, size_t bytes) = 0;
  virtual void fill(float* x, float value, int64_t n) = 0;
  virtual void synchronize() = 0;   // every operation issued so far is done

  // ---- linear algebra ----
  // c (M, N) = alpha * op(a) @ op(b) + beta * c, row-major
  virtual void gemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t lda,
                    const float* b, int64_t ldb, float beta, float* c, int64_t ldc) = 0;
  // `batch` independent GEMMs, operand i at a + i * stride_a (etc.)
  virtual void gemm_strided_batched(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* a,
                                    int64_t lda, int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b,
                                    float beta, float* c, int64_t ldc, int64_t stride_c, int64_t batch) = 0;
  // out (N, OC) = inp (N, C) @ weight (OC, C)^T + bias (OC, or null)
  virtual void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t N,
                              int64_t C, int64_t OC) = 0;
  // dinp (N, C) += dout @ weight; dweight (OC, C) += dout^T @ inp; dbias (OC) += column sums of dout
  virtual void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                               const float* weight, int64_t N, int64_t C, int64_t OC) = 0;
  virtual void bias_backward(float* dbias, const float* dout, int64_t N, int64_t OC) = 0;   // dbias += sum_n dout

  // ---- normalisation ----
  virtual void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                                 const float* bias, int64_t N, int64_t C, float eps) = 0;
  virtual void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                                  const float* weight, const float* mean, const float* rstd, int64_t N,
                                  int64_t C) = 0;
  virtual void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int64_t N, int64_t C,
                               float eps) = 0;
  virtual void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                                const float* rstd, int64_t N, int64_t C) = 0;

  // ---- elementwise (n values) ----
  virtual void gelu_forward(float* out, const float* inp, int64_t n) = 0;
  virtual void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t n) = 0;
  virtual void swiglu_forward(float* out, const float* gate, const float* up, int64_t n) = 0;
  virtual void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                               int64_t n) = 0;
  virtual void add(float* out, const float* a, const float* b, int64_t n) = 0;   // out may alias a or b
  virtual void axpy(float* y, const float* x, float alpha, int64_t n) = 0;       // y += alpha x
  virtual void add_bias_rows(float* x, const float* bias, int64_t rows, int64_t C) = 0;   // x (rows, C) += bias (C)
  virtual void scale(float* x, float s, int64_t n) = 0;
  // dst (n) = src (n) converted; F32 -> BF16 rounds to nearest even (NaN stays NaN)
  virtual void cast(void* dst, DType dst_type, const void* src, DType src_type, int64_t n) = 0;

  // ---- position, attention ----
  virtual void rope_forward(float* x, int64_t B, int64_t T, int64_t H, int64_t HS, double theta,
                            int64_t pos_offset) = 0;
  virtual void rope_backward(float* dx, int64_t B, int64_t T, int64_t H, int64_t HS, double theta,
                             int64_t pos_offset) = 0;
  virtual void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, int64_t B,
                                 int64_t T, int64_t NH, int64_t NKV, int64_t HS) = 0;
  virtual void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                                  const float* v, const float* out, const float* lse, int64_t B, int64_t T,
                                  int64_t NH, int64_t NKV, int64_t HS) = 0;

  // ---- embeddings (tokens: device int32) ----
  virtual void embedding_forward(float* out, const int32_t* tokens, const float* wte, int64_t N, int64_t C) = 0;
  virtual void embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int64_t N, int64_t C) = 0;
  virtual void positional_forward(float* out, const float* wpe, int64_t B, int64_t T, int64_t C,
                                  int64_t pos_offset) = 0;
  virtual void positional_backward(float* dwpe, const float* dout, int64_t B, int64_t T, int64_t C,
                                   int64_t pos_offset) = 0;
  // vocabulary-parallel: wte_local holds rows [v_begin, v_begin + v_local); rows of tokens
  // outside it are 0 in out / contribute nothing to dwte_local
  virtual void vocab_embedding_forward(float* out, const int32_t* tokens, const float* wte_local, int64_t N, int64_t C,
                                       int64_t v_begin, int64_t v_local) = 0;
  virtual void vocab_embedding_backward(float* dwte_local, const float* dout, const int32_t* tokens, int64_t N,
                                        int64_t C, int64_t v_begin, int64_t v_local) = 0;

  // ---- cross-entropy and the loss ----
  // losses (N) from logits (N, Vp) over the first V columns; targets < 0: loss 0
  virtual void crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int64_t N, int64_t V,
                                    int64_t Vp) = 0;
  virtual void crossentropy_backward(float* dlogits, const float* logits, const int32_t* targets,
                                     const float* dlosses, int64_t N, int64_t V, int64_t Vp) = 0;
  // Vocabulary-parallel pieces (the collectives between them are parallel/tensor_parallel's):
  // logits_local (N, v_local) = columns [v_begin, v_begin + v_local) of the padded vocabulary,
  // columns >= V are padding. 1. row_max (N) over the real local columns; 2. after the max
  // all-reduce, sums (N, 2) doubles = (sum of exp(l - max), the target's logit if local else 0);
  // 3. after the sum all-reduce, losses (N) and stats (N, 2) = (max, sum-exp) for backward.
  virtual void vocab_ce_row_max(float* row_max, const float* logits_local, int64_t N, int64_t v_begin,
                                int64_t v_local, int64_t V) = 0;
  virtual void vocab_ce_row_sums(double* sums, const float* logits_local, const float* row_max,
                                 const int32_t* targets, int64_t N, int64_t v_begin, int64_t v_local, int64_t V) = 0;
  virtual void vocab_ce_finish(float* losses, float* stats, const float* row_max, const double* sums,
                               const int32_t* targets, int64_t N) = 0;
  virtual void vocab_ce_backward(float* dlogits_local, const float* logits_local, const float* stats,
                                 const int32_t* targets, const float* dlosses, int64_t N, int64_t v_begin,
                                 int64_t v_local, int64_t V) = 0;
  // out[0] = mean of losses (N) over the rows whose target is >= 0 (0 when none), summed in double
  virtual void loss_mean(float* out, const float* losses, const int32_t* targets, int64_t N) = 0;
  // out (rows) doubles: each row's mean loss over its T positions with target >= 0 (evaluation)
  virtual void row_loss_means(double* out, const float* losses, const int32_t* targets, int64_t rows, int64_t T) = 0;

  // ---- reductions and the optimizer over the flat buffers ----
  // out[0] (double) = sum over the ranges, in order, of each range's sum of x^2 (in double)
  virtual void sum_squares(double* out, const float* x, const std::vector<FlatRange>& ranges) = 0;
  // one AdamW step over every segment (one call per step for the whole buffer or shard)
  virtual void adamw(float* params, const float* grads, float* m, float* v, const std::vector<AdamWSegment>& segments,
                     const AdamWHyper& h) = 0;
};

// The CPU backend (OpenBLAS + OpenMP, kernels/cpu): the reference. Stateless; one per process.
Backend& cpu_backend();
// A backend of a device kind for this process (launch/ builds it once and passes it by
// reference). Error(Config) naming device.kind when the kind is not compiled into this build or
// no device is usable.
std::unique_ptr<Backend> make_backend(DeviceKind kind);

}  // namespace plinth::device
