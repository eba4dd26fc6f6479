// cuda_ops.h -- internals of the CUDA backend (cuda_backend.cu): the error check and the kernel
// launchers of cuda_elementwise.cu, cuda_norm_loss.cu and cuda_attention.cu. Every launcher takes
// the backend's stream and enqueues on it (nothing here synchronizes or reads a value on the host);
// every pointer is a device pointer; math and conventions are kernels/kernels.h's.
// Determinism: no float atomics anywhere; every output element (or reduction) is owned by one
// thread / one block and summed in a fixed order, so results do not change from run to run.
// Included only by the .cu files of src/device (CUDA headers stay out of host-only code).
#pragma once
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "core/tensor_spec.h"
#include "device/backend.h"

namespace plinth::device::cuda {

// Error(Internal) naming the call, where it was made and CUDA's / cuBLAS's error string.
void check(cudaError_t err, const char* call, const char* file, int line);
void check(cublasStatus_t st, const char* call, const char* file, int line);
#define PLINTH_CUDA_CHECK(call) ::plinth::device::cuda::check((call), #call, __FILE__, __LINE__)
// After a kernel launch: launch configuration errors become Error(Internal) naming the kernel.
#define PLINTH_CUDA_LAUNCHED(name) ::plinth::device::cuda::check(cudaGetLastError(), name, __FILE__, __LINE__)

// Blocks for a grid-stride loop over n items with `threads` per block (n > 0).
inline unsigned grid_for(int64_t n, int threads) {
  const int64_t want = (n + threads - 1) / threads;
  return unsigned(want < (int64_t(1) << 20) ? want : (int64_t(1) << 20));
}

// Scratch memory of the backend, reused by consecutive operations (they are ordered on the one
// stream); grows (after a stream synchronize) when a call needs more.
class Scratch {
 public:
  explicit Scratch(cudaStream_t s) : stream_(s) {}
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  void* get(size_t bytes);
 private:
  cudaStream_t stream_;
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

// ---- cuda_elementwise.cu ----
void fill(cudaStream_t s, float* x, float value, int64_t n);
void add(cudaStream_t s, float* out, const float* a, const float* b, int64_t n);
void axpy(cudaStream_t s, float* y, const float* x, float alpha, int64_t n);
void scale(cudaStream_t s, float* x, float alpha, int64_t n);
void add_bias_rows(cudaStream_t s, float* x, const float* bias, int64_t rows, int64_t C);
void set_rows(cudaStream_t s, float* x, const float* row, int64_t rows, int64_t C);   // every row = row
// c (M, N) with row pitch ldc: c = beta * c (beta 0 writes zeros)
void scale_matrix(cudaStream_t s, float* c, int64_t M, int64_t N, int64_t ldc, int64_t stride, int64_t batch,
                  float beta);
void gelu_forward(cudaStream_t s, float* out, const float* inp, int64_t n);
void gelu_backward(cudaStream_t s, float* dinp, const float* inp, const float* dout, int64_t n);
void swiglu_forward(cudaStream_t s, float* out, const float* gate, const float* up, int64_t n);
void swiglu_backward(cudaStream_t s, float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                     int64_t n);
void cast_f32_to_bf16(cudaStream_t s, uint16_t* dst, const float* src, int64_t n);
void cast_bf16_to_f32(cudaStream_t s, float* dst, const uint16_t* src, int64_t n);
void rope(cudaStream_t s, float* x, int64_t B, int64_t T, int64_t H, int64_t HS, double theta, int64_t pos_offset,
          float sign);
void embedding_forward(cudaStream_t s, float* out, const int32_t* tokens, const float* wte, int64_t N, int64_t C,
                       int64_t v_begin, int64_t v_local);
void embedding_backward(cudaStream_t s, float* dwte, const float* dout, const int32_t* tokens, int64_t N, int64_t C,
                        int64_t v_begin, int64_t v_local);
void positional_forward(cudaStream_t s, float* out, const float* wpe, int64_t B, int64_t T, int64_t C,
                        int64_t pos_offset);
void positional_backward(cudaStream_t s, float* dwpe, const float* dout, int64_t B, int64_t T, int64_t C,
                         int64_t pos_offset);

// ---- cuda_norm_loss.cu ----
void column_sums(cudaStream_t s, float* dsum, const float* x, int64_t N, int64_t C);   // dsum (C) += sum_n x
void layernorm_forward(cudaStream_t s, float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int64_t N, int64_t C, float eps);
void layernorm_backward(cudaStream_t s, float* dinp, float* dweight, float* dbias, const float* dout,
                        const float* inp, const float* weight, const float* mean, const float* rstd, int64_t N,
                        int64_t C);
void rmsnorm_forward(cudaStream_t s, float* out, float* rstd, const float* inp, const float* weight, int64_t N,
                     int64_t C, float eps);
void rmsnorm_backward(cudaStream_t s, float* dinp, float* dweight, const float* dout, const float* inp,
                      const float* weight, const float* rstd, int64_t N, int64_t C);
void crossentropy_forward(cudaStream_t s, float* losses, const float* logits, const int32_t* targets, int64_t N,
                          int64_t V, int64_t Vp);
void crossentropy_backward(cudaStream_t s, float* dlogits, const float* logits, const int32_t* targets,
                           const float* dlosses, int64_t N, int64_t V, int64_t Vp);
void vocab_ce_row_max(cudaStream_t s, float* row_max, const float* logits_local, int64_t N, int64_t v_begin,
                      int64_t v_local, int64_t V);
void vocab_ce_row_sums(cudaStream_t s, double* sums, const float* logits_local, const float* row_max,
                       const int32_t* targets, int64_t N, int64_t v_begin, int64_t v_local, int64_t V);
void vocab_ce_finish(cudaStream_t s, float* losses, float* stats, const float* row_max, const double* sums,
                     const int32_t* targets, int64_t N);
void vocab_ce_backward(cudaStream_t s, float* dlogits_local, const float* logits_local, const float* stats,
                       const int32_t* targets, const float* dlosses, int64_t N, int64_t v_begin, int64_t v_local,
                       int64_t V);
void loss_mean(cudaStream_t s, float* out, const float* losses, const int32_t* targets, int64_t N);
void row_loss_means(cudaStream_t s, double* out, const float* losses, const int32_t* targets, int64_t rows,
                    int64_t T);
void sum_squares(cudaStream_t s, Scratch& scratch, double* out, const float* x, const std::vector<FlatRange>& ranges);
void adamw(cudaStream_t s, float* params, const float* grads, float* m, float* v,
           const std::vector<AdamWSegment>& segments, const AdamWHyper& h);

// ---- cuda_attention.cu ----
void attention_forward(cudaStream_t s, float* out, float* lse, const float* q, const float* k, const float* v,
                       int64_t B, int64_t T, int64_t NH, int64_t NKV, int64_t HS);
void attention_backward(cudaStream_t s, Scratch& scratch, float* dq, float* dk, float* dv, const float* dout,
                        const float* q, const float* k, const float* v, const float* out, const float* lse,
                        int64_t B, int64_t T, int64_t NH, int64_t NKV, int64_t HS);

}  // namespace plinth::device::cuda
