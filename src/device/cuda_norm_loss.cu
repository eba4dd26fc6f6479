// cuda_norm_loss.cu -- the CUDA backend's reductions: layernorm / rmsnorm forward and backward,
// column sums (bias and norm parameter gradients), softmax cross-entropy and its vocabulary-parallel
// pieces, the loss means, sum of squares over ranges and the AdamW step over segments.
// Deterministic by construction (no atomics): a row reduction is one block of 256 threads, each
// thread summing a fixed strided subset, then a fixed shared-memory tree; a column reduction is one
// thread per column walking the rows in order (the CPU's order, so column sums match it bit for
// bit); sums of losses, exps (cross-entropy) and squares run in double. Results are written to
// device memory: nothing here reads a value back on the host.
// Status: compiled, not yet run on a GPU.
#include <cmath>

#include "core/error.h"
#include "device/cuda_ops.h"
#include "kernels/cuda/cuda_kernels.h"

namespace plinth::device::cuda {
namespace {

constexpr int kThreads = 256;   // block size of every kernel here: a power of two (the trees)

// Sum / max over the block, the same value returned to every thread. sh: kThreads entries.
template <typename T>
__device__ T block_sum(T v, T* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w >>= 1) {
    if (int(threadIdx.x) < w) sh[threadIdx.x] += sh[threadIdx.x + w];
    __syncthreads();
  }
  const T r = sh[0];
  __syncthreads();
  return r;
}
__device__ float block_max(float v, float* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w >>= 1) {
    if (int(threadIdx.x) < w) sh[threadIdx.x] = fmaxf(sh[threadIdx.x], sh[threadIdx.x + w]);
    __syncthreads();
  }
  const float r = sh[0];
  __syncthreads();
  return r;
}

unsigned rows_grid(int64_t rows) { return unsigned(rows < (int64_t(1) << 20) ? rows : (int64_t(1) << 20)); }

#define ROWS(n, N) for (int64_t n = blockIdx.x; n < (N); n += gridDim.x)
#define COLS(c, C) for (int64_t c = threadIdx.x; c < (C); c += kThreads)

// A row's softmax statistics over its first V columns, for the whole block: *mx = the row max,
// returned: the sum of exp(x - max) in double (fixed order).
__device__ double softmax_stats(const float* x, int64_t V, float* shf, double* shd, float* mx_out) {
  float mx = -INFINITY;
  COLS(i, V) mx = fmaxf(mx, x[i]);
  mx = block_max(mx, shf);
  double s = 0.0;
  COLS(i, V) s += double(expf(x[i] - mx));
  *mx_out = mx;
  return block_sum(s, shd);
}


// ---- norms: one block per row ----
__global__ void layernorm_forward_k(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                                    const float* bias, int64_t N, int64_t C, float eps) {
  __shared__ float sh[kThreads];
  ROWS(n, N) {
    const float* x = inp + n * C;
    float* y = out + n * C;
    float s = 0.0f;
    COLS(c, C) s += x[c];
    const float mu = block_sum(s, sh) / float(C);
    float var = 0.0f;
    COLS(c, C) var += (x[c] - mu) * (x[c] - mu);
    const float rs = 1.0f / sqrtf(block_sum(var, sh) / float(C) + eps);
    COLS(c, C) y[c] = (x[c] - mu) * rs * weight[c] + (bias ? bias[c] : 0.0f);
    if (threadIdx.x == 0) {
      if (mean) mean[n] = mu;
      if (rstd) rstd[n] = rs;
    }
  }
}
// mean null: rmsnorm (x_hat = x * rstd)
__global__ void norm_backward_dinp_k(float* dinp, const float* dout, const float* inp, const float* weight,
                                     const float* mean, const float* rstd, int64_t N, int64_t C) {
  __shared__ float sh[kThreads];
  ROWS(n, N) {
    const float* x = inp + n * C;
    const float* g = dout + n * C;
    float* dx = dinp + n * C;
    const float mu = mean ? mean[n] : 0.0f, rs = rstd[n];
    float s1 = 0.0f, s2 = 0.0f;
    COLS(c, C) {
      const float wg = weight[c] * g[c];
      s1 += wg;
      s2 += wg * ((x[c] - mu) * rs);
    }
    s1 = mean ? block_sum(s1, sh) / float(C) : 0.0f;   // rmsnorm has no mean term
    s2 = block_sum(s2, sh) / float(C);
    COLS(c, C) dx[c] += rs * (weight[c] * g[c] - s1 - ((x[c] - mu) * rs) * s2);
  }
}
__global__ void rmsnorm_forward_k(float* out, float* rstd, const float* inp, const float* weight, int64_t N,
                                  int64_t C, float eps) {
  __shared__ float sh[kThreads];
  ROWS(n, N) {
    const float* x = inp + n * C;
    float* y = out + n * C;
    float ss = 0.0f;
    COLS(c, C) ss += x[c] * x[c];
    const float rs = 1.0f / sqrtf(block_sum(ss, sh) / float(C) + eps);
    COLS(c, C) y[c] = x[c] * rs * weight[c];
    if (threadIdx.x == 0 && rstd) rstd[n] = rs;
  }
}

// ---- column reductions: one thread per column, rows in order ----
__global__ void norm_param_grads_k(float* dweight, float* dbias, const float* dout, const float* inp,
                                   const float* mean, const float* rstd, int64_t N, int64_t C) {
  for (int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; c < C; c += int64_t(gridDim.x) * blockDim.x) {
    float dw = 0.0f, db = 0.0f;
    for (int64_t n = 0; n < N; ++n) {
      const float g = dout[n * C + c];
      dw += g * ((inp[n * C + c] - (mean ? mean[n] : 0.0f)) * rstd[n]);
      db += g;
    }
    if (dweight) dweight[c] += dw;
    if (dbias) dbias[c] += db;
  }
}
__global__ void column_sums_k(float* dsum, const float* x, int64_t N, int64_t C) {
  for (int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; c < C; c += int64_t(gridDim.x) * blockDim.x) {
    float acc = 0.0f;
    for (int64_t n = 0; n < N; ++n) acc += x[n * C + c];
    dsum[c] += acc;
  }
}

// ---- cross-entropy: one block per row ----
__global__ void crossentropy_forward_k(float* losses, const float* logits, const int32_t* targets, int64_t N,
                                       int64_t V, int64_t Vp) {
  __shared__ float shf[kThreads];
  __shared__ double shd[kThreads];
  ROWS(n, N) {
    const int32_t tgt = targets[n];
    if (tgt < 0) {   // uniform over the block
      if (threadIdx.x == 0) losses[n] = 0.0f;
      continue;
    }
    const float* x = logits + n * Vp;
    float mx;
    const double total = softmax_stats(x, V, shf, shd, &mx);
    if (threadIdx.x == 0) losses[n] = float(double(mx) + log(total)) - x[tgt];
  }
}
// Writes; dlogits may alias logits: every read of the row (max, sum) is done before the block's
// first write (the trees end with a barrier), and the write pass reads and writes the same element.
__global__ void crossentropy_backward_k(float* dlogits, const float* logits, const int32_t* targets,
                                        const float* dlosses, int64_t N, int64_t V, int64_t Vp) {
  __shared__ float shf[kThreads];
  __shared__ double shd[kThreads];
  ROWS(n, N) {
    const float* x = logits + n * Vp;
    float* d = dlogits + n * Vp;
    const int32_t tgt = targets[n];
    if (tgt < 0) {
      COLS(i, Vp) d[i] = 0.0f;
      continue;
    }
    float mx;
    const double total = softmax_stats(x, V, shf, shd, &mx);
    const float dl = dlosses[n], f = float(double(dl) / total);
    COLS(i, Vp) {
      if (i < V) {
        const float e = expf(x[i] - mx) * f;
        d[i] = i == tgt ? e - dl : e;
      } else {
        d[i] = 0.0f;
      }
    }
  }
}

__device__ int64_t real_columns(int64_t V, int64_t v_begin, int64_t v_local) {
  const int64_t r = V - v_begin;
  return r < 0 ? 0 : (r > v_local ? v_local : r);
}

__global__ void vocab_ce_row_max_k(float* row_max, const float* logits_local, int64_t N, int64_t v_begin,
                                   int64_t v_local, int64_t V) {
  __shared__ float sh[kThreads];
  const int64_t valid = real_columns(V, v_begin, v_local);
  ROWS(n, N) {
    const float* l = logits_local + n * v_local;
    float m = -INFINITY;
    COLS(j, valid) m = fmaxf(m, l[j]);
    m = block_max(m, sh);
    if (threadIdx.x == 0) row_max[n] = m;
  }
}
__global__ void vocab_ce_row_sums_k(double* sums, const float* logits_local, const float* row_max,
                                    const int32_t* targets, int64_t N, int64_t v_begin, int64_t v_local, int64_t V) {
  __shared__ double sh[kThreads];
  const int64_t valid = real_columns(V, v_begin, v_local);
  ROWS(n, N) {
    const float* l = logits_local + n * v_local;
    double s = 0.0;
    COLS(j, valid) s += exp(double(l[j] - row_max[n]));
    s = block_sum(s, sh);
    if (threadIdx.x == 0) {
      sums[2 * n] = s;
      const int64_t t = int64_t(targets[n]) - v_begin;
      sums[2 * n + 1] = (targets[n] >= 0 && t >= 0 && t < v_local) ? double(l[t]) : 0.0;
    }
  }
}
__global__ void vocab_ce_finish_k(float* losses, float* stats, const float* row_max, const double* sums,
                                  const int32_t* targets, int64_t N) {
  for (int64_t n = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; n < N; n += int64_t(gridDim.x) * blockDim.x) {
    stats[2 * n] = row_max[n];
    stats[2 * n + 1] = float(sums[2 * n]);
    losses[n] = targets[n] < 0 ? 0.0f : float(log(sums[2 * n]) + row_max[n] - sums[2 * n + 1]);
  }
}
// One thread per element (reads and writes its own element: may alias)
__global__ void vocab_ce_backward_k(float* dlogits_local, const float* logits_local, const float* stats,
                                   const int32_t* targets, const float* dlosses, int64_t N, int64_t v_begin,
                                   int64_t v_local, int64_t V) {
  const int64_t valid = real_columns(V, v_begin, v_local);
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < N * v_local;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = i / v_local, j = i % v_local;
    if (targets[n] < 0 || j >= valid) {
      dlogits_local[i] = 0.0f;
      continue;
    }
    const float m = stats[2 * n], inv = 1.0f / stats[2 * n + 1], g = dlosses[n];
    float d = g * expf(logits_local[i] - m) * inv;
    if (j == int64_t(targets[n]) - v_begin) d -= g;
    dlogits_local[i] = d;
  }
}

// ---- loss means: double sums, fixed order ----
__global__ void loss_mean_k(float* out, const float* losses, const int32_t* targets, int64_t N) {
  __shared__ double sh[kThreads];
  double s = 0.0, cnt = 0.0;
  COLS(i, N) if (targets[i] >= 0) {
    s += double(losses[i]);
    cnt += 1.0;
  }
  s = block_sum(s, sh);
  cnt = block_sum(cnt, sh);
  if (threadIdx.x == 0) out[0] = cnt > 0.0 ? float(s / cnt) : 0.0f;
}
__global__ void row_loss_means_k(double* out, const float* losses, const int32_t* targets, int64_t rows, int64_t T) {
  __shared__ double sh[kThreads];
  ROWS(r, rows) {
    double s = 0.0, cnt = 0.0;
    COLS(t, T) if (targets[r * T + t] >= 0) {
      s += double(losses[r * T + t]);
      cnt += 1.0;
    }
    s = block_sum(s, sh);
    cnt = block_sum(cnt, sh);
    if (threadIdx.x == 0) out[r] = cnt > 0.0 ? s / cnt : 0.0;
  }
}

// ---- sum of squares: kPartials blocks per range write partials, one block adds them in order ----
constexpr int kPartials = 256;   // == kThreads: the final tree takes one partial per thread
__global__ void sum_squares_partial_k(double* partial, const float* x, int64_t n) {
  __shared__ double sh[kThreads];
  double s = 0.0;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    s += double(x[i]) * double(x[i]);
  s = block_sum(s, sh);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}
__global__ void sum_squares_final_k(double* out, const double* partial, int64_t nranges) {
  __shared__ double sh[kThreads];
  double total = 0.0;
  for (int64_t r = 0; r < nranges; ++r) total += block_sum(partial[r * kPartials + threadIdx.x], sh);
  if (threadIdx.x == 0) out[0] = total;
}

}  // namespace

#define LAUNCHED(name) PLINTH_CUDA_LAUNCHED(name)

void column_sums(cudaStream_t s, float* dsum, const float* x, int64_t N, int64_t C) {
  if (!dsum || N <= 0 || C <= 0) return;
  column_sums_k<<<grid_for(C, kThreads), kThreads, 0, s>>>(dsum, x, N, C);
  LAUNCHED("column_sums_k");
}
void layernorm_forward(cudaStream_t s, float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int64_t N, int64_t C, float eps) {
  if (N <= 0 || C <= 0) return;
  layernorm_forward_k<<<rows_grid(N), kThreads, 0, s>>>(out, mean, rstd, inp, weight, bias, N, C, eps);
  LAUNCHED("layernorm_forward_k");
}
void layernorm_backward(cudaStream_t s, float* dinp, float* dweight, float* dbias, const float* dout,
                        const float* inp, const float* weight, const float* mean, const float* rstd, int64_t N,
                        int64_t C) {
  if (N <= 0 || C <= 0) return;
  if (dinp) {
    norm_backward_dinp_k<<<rows_grid(N), kThreads, 0, s>>>(dinp, dout, inp, weight, mean, rstd, N, C);
    LAUNCHED("norm_backward_dinp_k (layernorm)");
  }
  if (dweight || dbias) {
    norm_param_grads_k<<<grid_for(C, kThreads), kThreads, 0, s>>>(dweight, dbias, dout, inp, mean, rstd, N, C);
    LAUNCHED("norm_param_grads_k (layernorm)");
  }
}
void rmsnorm_forward(cudaStream_t s, float* out, float* rstd, const float* inp, const float* weight, int64_t N,
                     int64_t C, float eps) {
  if (N <= 0 || C <= 0) return;
  rmsnorm_forward_k<<<rows_grid(N), kThreads, 0, s>>>(out, rstd, inp, weight, N, C, eps);
  LAUNCHED("rmsnorm_forward_k");
}
void rmsnorm_backward(cudaStream_t s, float* dinp, float* dweight, const float* dout, const float* inp,
                      const float* weight, const float* rstd, int64_t N, int64_t C) {
  if (N <= 0 || C <= 0) return;
  if (dinp) {
    norm_backward_dinp_k<<<rows_grid(N), kThreads, 0, s>>>(dinp, dout, inp, weight, nullptr, rstd, N, C);
    LAUNCHED("norm_backward_dinp_k (rmsnorm)");
  }
  if (dweight) {
    norm_param_grads_k<<<grid_for(C, kThreads), kThreads, 0, s>>>(dweight, nullptr, dout, inp, nullptr, rstd, N, C);
    LAUNCHED("norm_param_grads_k (rmsnorm)");
  }
}
void crossentropy_forward(cudaStream_t s, float* losses, const float* logits, const int32_t* targets, int64_t N,
                          int64_t V, int64_t Vp) {
  if (N <= 0) return;
  crossentropy_forward_k<<<rows_grid(N), kThreads, 0, s>>>(losses, logits, targets, N, V, Vp);
  LAUNCHED("crossentropy_forward_k");
}
void crossentropy_backward(cudaStream_t s, float* dlogits, const float* logits, const int32_t* targets,
                           const float* dlosses, int64_t N, int64_t V, int64_t Vp) {
  if (N <= 0) return;
  crossentropy_backward_k<<<rows_grid(N), kThreads, 0, s>>>(dlogits, logits, targets, dlosses, N, V, Vp);
  LAUNCHED("crossentropy_backward_k");
}
void vocab_ce_row_max(cudaStream_t s, float* row_max, const float* logits_local, int64_t N, int64_t v_begin,
                      int64_t v_local, int64_t V) {
  if (N <= 0) return;
  vocab_ce_row_max_k<<<rows_grid(N), kThreads, 0, s>>>(row_max, logits_local, N, v_begin, v_local, V);
  LAUNCHED("vocab_ce_row_max_k");
}
void vocab_ce_row_sums(cudaStream_t s, double* sums, const float* logits_local, const float* row_max,
                       const int32_t* targets, int64_t N, int64_t v_begin, int64_t v_local, int64_t V) {
  if (N <= 0) return;
  vocab_ce_row_sums_k<<<rows_grid(N), kThreads, 0, s>>>(sums, logits_local, row_max, targets, N, v_begin, v_local, V);
  LAUNCHED("vocab_ce_row_sums_k");
}
void vocab_ce_finish(cudaStream_t s, float* losses, float* stats, const float* row_max, const double* sums,
                     const int32_t* targets, int64_t N) {
  if (N <= 0) return;
  vocab_ce_finish_k<<<grid_for(N, kThreads), kThreads, 0, s>>>(losses, stats, row_max, sums, targets, N);
  LAUNCHED("vocab_ce_finish_k");
}
void vocab_ce_backward(cudaStream_t s, float* dlogits_local, const float* logits_local, const float* stats,
                       const int32_t* targets, const float* dlosses, int64_t N, int64_t v_begin, int64_t v_local,
                       int64_t V) {
  if (N <= 0 || v_local <= 0) return;
  vocab_ce_backward_k<<<grid_for(N * v_local, kThreads), kThreads, 0, s>>>(dlogits_local, logits_local, stats, targets,
                                                                             dlosses, N, v_begin, v_local, V);
  LAUNCHED("vocab_ce_backward_k");
}
void loss_mean(cudaStream_t s, float* out, const float* losses, const int32_t* targets, int64_t N) {
  loss_mean_k<<<1, kThreads, 0, s>>>(out, losses, targets, N < 0 ? 0 : N);   // N == 0 writes 0
  LAUNCHED("loss_mean_k");
}
void row_loss_means(cudaStream_t s, double* out, const float* losses, const int32_t* targets, int64_t rows,
                    int64_t T) {
  if (rows <= 0) return;
  row_loss_means_k<<<rows_grid(rows), kThreads, 0, s>>>(out, losses, targets, rows, T);
  LAUNCHED("row_loss_means_k");
}

void sum_squares(cudaStream_t s, Scratch& scratch, double* out, const float* x, const std::vector<FlatRange>& ranges) {
  int64_t nonempty = 0;
  for (const FlatRange& r : ranges) nonempty += r.size() > 0;
  if (nonempty == 0) {
    PLINTH_CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(double), s));   // 0.0 is all zero bits
    return;
  }
  auto* partial = static_cast<double*>(scratch.get(size_t(nonempty) * kPartials * sizeof(double)));
  int64_t i = 0;
  for (const FlatRange& r : ranges) {   // one launch per range, in order; each block's partial in its slot
    if (r.size() <= 0) continue;
    sum_squares_partial_k<<<kPartials, kThreads, 0, s>>>(partial + i * kPartials, x + r.begin, r.size());
    LAUNCHED("sum_squares_partial_k");
    ++i;
  }
  sum_squares_final_k<<<1, kThreads, 0, s>>>(out, partial, nonempty);
  LAUNCHED("sum_squares_final_k");
}

// One launch per segment (the table stays on the host: no copy, no synchronize); bias
// corrections in double on the host, like kernels/cuda/adamw.cu.
void adamw(cudaStream_t s, float* params, const float* grads, float* m, float* v,
           const std::vector<AdamWSegment>& segments, const AdamWHyper& h) {
  // one launch per segment of the kernel the project already has (kernels/cuda/adamw.cu)
  for (const AdamWSegment& seg : segments) {
    const int64_t n = seg.end - seg.begin;
    PLINTH_CHECK(n >= 0, Internal, "adamw: segment [", seg.begin, ", ", seg.end, ") has negative length");
    const kernels::AdamWArgs args{.lr = h.lr,
                                  .beta1 = h.beta1,
                                  .beta2 = h.beta2,
                                  .eps = h.eps,
                                  .weight_decay = seg.weight_decay,
                                  .step = h.step,
                                  .grad_scale = h.grad_scale};
    kernels::cuda::adamw_update(params + seg.begin, grads + seg.begin, m + seg.state_offset, v + seg.state_offset, n,
                                args, s);
  }
}

}  // namespace plinth::device::cuda
