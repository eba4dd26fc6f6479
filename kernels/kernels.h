// kernels.h -- backend-neutral declarations of every compute kernel plinth's model uses.
// The CPU implementations in kernels/cpu/ are the reference; kernels/cuda/ mirrors file names.
// Kernels know nothing of MPI, models or configs: plain pointers plus sizes, shapes documented.
// Templates are instantiated for float (training) and double (finite-difference tests).
//
// Conventions
//   N = rows (B*T), C = channels, OC = output channels, V = vocab, Vp = padded vocab
//   B batch, T sequence, NH query heads, NKV key/value heads (NH % NKV == 0), HS head size
//   Every *_backward ACCUMULATES (+=) into each gradient output it is given; callers zero them.
//   (Exception: crossentropy_backward writes dlogits and may alias logits.) Null gradient
//   pointers mean "not needed". All tensors are row-major and contiguous.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace plinth::kernels {

// ---- compute setup ----
void set_num_threads(int n);        // OpenMP loops and BLAS
int num_threads();
std::string compute_setup();        // "threads=2 blas=OpenBLAS 0.3.21 (OPENMP, core Haswell) simd=avx512 kernels=avx512"

// ---- instruction sets ----
// The variant of the hot CPU loops (activations, norms, attention, cross-entropy, AdamW) this
// process runs: "avx512", "avx2" or "baseline", the widest the CPU supports, chosen once (the
// environment variable PLINTH_CPU_ISA=baseline|avx2|avx512 pins one; an unknown or unsupported
// name throws Error(Config)); "native" in a -DPLINTH_NATIVE=ON build, which has one variant.
std::string cpu_isa_name();
// The x86 features this build needs on every CPU that runs it, beyond x86-64: empty for the
// portable build; for -DPLINTH_NATIVE=ON the vector extensions compiled in, widest first, from
// {avx512f, avx2, fma, avx, sse4_2}.
std::vector<std::string> build_isa_requirements();
// fp32 lanes of the widest vector FMA this CPU supports, whatever variant the hot loops pinned
// (OpenBLAS's GEMM dispatches on its own and may use it): 16 with AVX-512F, 8 with AVX2 + FMA,
// 4 otherwise (SSE / 128-bit NEON). The MFU peak is derived from it (train/peak_flops.h).
int cpu_widest_fp32_lanes();
// Its name: "avx512", "avx2+fma" or "128-bit".
std::string cpu_widest_vector_name();

// ---- GEMM wrapper (BLAS) ----
// c (M, N) = alpha * op(a) @ op(b) + beta * c, row-major; op = transpose when trans_* is true.
enum class Trans { No, Yes };
template <typename F>
void gemm(Trans trans_a, Trans trans_b, int64_t M, int64_t N, int64_t K, F alpha, const F* a,
          int64_t lda, const F* b, int64_t ldb, F beta, F* c, int64_t ldc);

// ---- linear layer ----
// out (N, OC) = inp (N, C) @ weight^T + bias;  weight (OC, C), bias (OC) or nullptr
template <typename F>
void matmul_forward(F* out, const F* inp, const F* weight, const F* bias, int64_t N, int64_t C, int64_t OC);
// dinp (N, C) += dout @ weight; dweight (OC, C) += dout^T @ inp; dbias (OC) += sum_n dout
template <typename F>
void matmul_backward(F* dinp, F* dweight, F* dbias, const F* dout, const F* inp, const F* weight,
                     int64_t N, int64_t C, int64_t OC);

// ---- normalisation ----
// out (N, C) = (inp - mean) * rstd * weight + bias; mean, rstd (N) saved for backward
template <typename F>
void layernorm_forward(F* out, F* mean, F* rstd, const F* inp, const F* weight, const F* bias,
                       int64_t N, int64_t C, F eps);
template <typename F>
void layernorm_backward(F* dinp, F* dweight, F* dbias, const F* dout, const F* inp, const F* weight,
                        const F* mean, const F* rstd, int64_t N, int64_t C);
// out (N, C) = inp * rstd * weight, rstd = 1/sqrt(mean(inp^2) + eps) saved (N)
template <typename F>
void rmsnorm_forward(F* out, F* rstd, const F* inp, const F* weight, int64_t N, int64_t C, F eps);
template <typename F>
void rmsnorm_backward(F* dinp, F* dweight, const F* dout, const F* inp, const F* weight, const F* rstd,
                      int64_t N, int64_t C);

// ---- activations (elementwise over n values) ----
// GELU, tanh approximation (GPT-2): out = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
template <typename F> void gelu_forward(F* out, const F* inp, int64_t n);
template <typename F> void gelu_backward(F* dinp, const F* inp, const F* dout, int64_t n);
// SwiGLU: out = silu(gate) * up, silu(x) = x * sigmoid(x)
template <typename F> void swiglu_forward(F* out, const F* gate, const F* up, int64_t n);
template <typename F>
void swiglu_backward(F* dgate, F* dup, const F* dout, const F* gate, const F* up, int64_t n);
// out = a + b (out may alias a or b)
template <typename F> void add_forward(F* out, const F* a, const F* b, int64_t n);
// y += alpha * x
template <typename F> void axpy(F* y, const F* x, F alpha, int64_t n);

// ---- rotary position embedding (LLaMA, "rotate half" pairing as in Hugging Face) ----
// x (B, T, H, HS) rotated in place: pair (i, i + HS/2) by angle pos * theta^(-2i/HS),
// pos = pos_offset + t. rope_backward rotates a gradient by the negative angle (in place).
template <typename F>
void rope_forward(F* x, int64_t B, int64_t T, int64_t H, int64_t HS, double theta, int64_t pos_offset);
template <typename F>
void rope_backward(F* dx, int64_t B, int64_t T, int64_t H, int64_t HS, double theta, int64_t pos_offset);

// ---- causal self-attention, blocked with online softmax (memory linear in T) ----
// q (B, T, NH, HS), k, v (B, T, NKV, HS) -> out (B, T, NH, HS), lse (B, NH, T) (log-sum-exp of
// the scaled scores of each query row, saved for backward). Query head h reads kv head
// h / (NH / NKV). Scale 1/sqrt(HS). No (T, T) matrix is materialised: scratch is O(block^2).
template <typename F>
void attention_forward(F* out, F* lse, const F* q, const F* k, const F* v, int64_t B, int64_t T,
                       int64_t NH, int64_t NKV, int64_t HS);
// Recomputes scores blockwise from q, k, lse; accumulates dq (B,T,NH,HS), dk, dv (B,T,NKV,HS).
template <typename F>
void attention_backward(F* dq, F* dk, F* dv, const F* dout, const F* q, const F* k, const F* v,
                        const F* out, const F* lse, int64_t B, int64_t T, int64_t NH, int64_t NKV,
                        int64_t HS);

// ---- embeddings ----
// out (N, C) = wte[tokens[n]] (tokens int32 in [0, V))
template <typename F>
void embedding_forward(F* out, const int32_t* tokens, const F* wte, int64_t N, int64_t C);
template <typename F>
void embedding_backward(F* dwte, const F* dout, const int32_t* tokens, int64_t N, int64_t C);
// out (B, T, C) += wpe (T, C) broadcast over B (positions pos_offset .. pos_offset + T)
template <typename F>
void positional_forward(F* out, const F* wpe, int64_t B, int64_t T, int64_t C, int64_t pos_offset);
template <typename F>
void positional_backward(F* dwpe, const F* dout, int64_t B, int64_t T, int64_t C, int64_t pos_offset);

// ---- softmax cross-entropy over (possibly padded) vocabulary ----
// logits (N, Vp); only the first V columns are real (padding never wins the softmax).
// losses (N) = logsumexp(logits[n, :V]) - logits[n, target]; target < 0 means "ignore" (loss 0).
template <typename F>
void crossentropy_forward(F* losses, const F* logits, const int32_t* targets, int64_t N, int64_t V,
                          int64_t Vp);
// dlogits (N, Vp) = dlosses[n] * (softmax(logits[n, :V]) - onehot(target)); padding columns 0.
// WRITES (does not accumulate); dlogits may alias logits.
template <typename F>
void crossentropy_backward(F* dlogits, const F* logits, const int32_t* targets, const F* dlosses,
                           int64_t N, int64_t V, int64_t Vp);

// ---- vocabulary-parallel cross-entropy pieces (float; parallel/tensor_parallel all-reduces between them) ----
// logits_local (N, v_local): columns [v_begin, v_begin + v_local) of the padded vocabulary; the
// columns >= V are padding and never enter the softmax.
// row_max (N) = max over the real local columns (-inf when there are none)
void vocab_ce_row_max(float* row_max, const float* logits_local, int64_t N, int64_t v_begin, int64_t v_local, int64_t V);
// sums (N, 2) = (sum_j exp(l[j] - row_max) in double, the target's logit when it is local else 0)
void vocab_ce_row_sums(double* sums, const float* logits_local, const float* row_max, const int32_t* targets,
                       int64_t N, int64_t v_begin, int64_t v_local, int64_t V);
// from the all-reduced max and sums: losses (N) (0 where target < 0), stats (N, 2) = (max, sum-exp)
void vocab_ce_finish(float* losses, float* stats, const float* row_max, const double* sums, const int32_t* targets,
                     int64_t N);
// dlogits_local = dlosses[n] * (softmax - onehot) on the local columns (padding 0). Writes; may alias.
void vocab_ce_backward(float* dlogits_local, const float* logits_local, const float* stats, const int32_t* targets,
                       const float* dlosses, int64_t N, int64_t v_begin, int64_t v_local, int64_t V);
// out (N, C) = wte_local[tokens[n] - v_begin] for the rows whose token is local, else 0
void vocab_embedding_forward(float* out, const int32_t* tokens, const float* wte_local, int64_t N, int64_t C,
                             int64_t v_begin, int64_t v_local);
// dwte_local += the rows of dout (N, C) whose token is local (rows in order: deterministic)
void vocab_embedding_backward(float* dwte_local, const float* dout, const int32_t* tokens, int64_t N, int64_t C,
                              int64_t v_begin, int64_t v_local);

// ---- loss reductions ----
// mean of losses (N) over the rows with target >= 0, summed in double (0 when none)
float loss_mean(const float* losses, const int32_t* targets, int64_t N);
// out (rows): each row's mean over its T positions with target >= 0, in double (0 when none)
void row_loss_means(double* out, const float* losses, const int32_t* targets, int64_t rows, int64_t T);

// ---- casts ----
// bf16 stored as uint16_t (the upper half of a float); to_bf16 rounds to nearest even, NaN stays NaN
void cast_f32_to_bf16(uint16_t* dst, const float* src, int64_t n);
void cast_bf16_to_f32(float* dst, const uint16_t* src, int64_t n);

// ---- reductions and optimizer ----
template <typename F> double sum_squares(const F* x, int64_t n);   // sum x^2 in double
template <typename F> void scale(F* x, F s, int64_t n);

struct AdamWArgs {
  float lr;
  float beta1;
  float beta2;
  float eps;
  float weight_decay;   // applied as p -= lr * wd * p (decoupled), only where the caller says
  int64_t step;         // 1-based, for bias correction
  float grad_scale;     // gradients are multiplied by this first (clipping), 1 = none
};
// p, g, m, v (n): one AdamW step over a range of the flat buffers.
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWArgs& args);

}  // namespace plinth::kernels
