// norms.cpp -- LayerNorm and RMSNorm, forward and backward.
// Rows are independent: forward and the dinp part of backward run in parallel over rows.
// dweight/dbias are sums over rows; they are computed in a second pass parallel over column
// chunks (each column summed in row order), so results do not depend on the thread count.
// Row statistics use two-pass mean/variance in the kernel's precision.
// Compiled once per instruction-set variant (kernels/cpu/isa.h); dispatch.cpp checks shapes.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/isa_kernels.inc"
#include "kernels/cpu/vec_math.h"

namespace plinth::kernels::PLINTH_ISA_NS {

using detail::kParallelMin;

namespace {

constexpr int64_t kColChunk = 64;

// For each column c: dweight[c] += sum_n dout[n,c] * norm[n,c], dbias[c] += sum_n dout[n,c],
// norm[n,c] = (inp[n,c] - mean[n]) * rstd[n] (mean == nullptr for RMSNorm: no centring).
template <typename F>
void norm_param_grads(F* dweight, F* dbias, const F* dout, const F* inp, const F* mean, const F* rstd,
                      int64_t N, int64_t C) {
  if (!dweight && !dbias) return;
  const int64_t nchunks = (C + kColChunk - 1) / kColChunk;
#pragma omp parallel for schedule(static) if (N * C >= kParallelMin && nchunks > 1)
  for (int64_t ch = 0; ch < nchunks; ++ch) {
    const int64_t c0 = ch * kColChunk, len = std::min(C, c0 + kColChunk) - c0;
    F dw[kColChunk] = {}, db[kColChunk] = {};
    for (int64_t n = 0; n < N; ++n) {
      const F* x = inp + n * C + c0;
      const F* g = dout + n * C + c0;
      const F mu = mean ? mean[n] : F(0), rs = rstd[n];
#pragma omp simd
      for (int64_t c = 0; c < len; ++c) {
        dw[c] += g[c] * ((x[c] - mu) * rs);
        db[c] += g[c];
      }
    }
    for (int64_t c = 0; c < len; ++c) {
      if (dweight) dweight[c0 + c] += dw[c];
      if (dbias) dbias[c0 + c] += db[c];
    }
  }
}

}  // namespace

// out (N, C) = (inp - mean) * rstd * weight + bias; mean, rstd (N)
template <typename F>
void layernorm_forward(F* out, F* mean, F* rstd, const F* inp, const F* weight, const F* bias, int64_t N,
                       int64_t C, F eps) {
#pragma omp parallel for schedule(static) if (N * C >= kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const F* x = inp + n * C;
    F* y = out + n * C;
    F sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t c = 0; c < C; ++c) sum += x[c];
    const F mu = sum / F(C);
    F var = 0;
#pragma omp simd reduction(+ : var)
    for (int64_t c = 0; c < C; ++c) var += (x[c] - mu) * (x[c] - mu);
    const F rs = F(1) / std::sqrt(var / F(C) + eps);
    if (bias) {
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) y[c] = (x[c] - mu) * rs * weight[c] + bias[c];
    } else {
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) y[c] = (x[c] - mu) * rs * weight[c];
    }
    if (mean) mean[n] = mu;
    if (rstd) rstd[n] = rs;
  }
}

// dinp (N, C) += rstd * (w*dout - mean_c(w*dout) - norm * mean_c(w*dout*norm))
// dweight (C) += sum_n dout * norm;  dbias (C) += sum_n dout
template <typename F>
void layernorm_backward(F* dinp, F* dweight, F* dbias, const F* dout, const F* inp, const F* weight,
                        const F* mean, const F* rstd, int64_t N, int64_t C) {
  if (dinp) {
#pragma omp parallel for schedule(static) if (N * C >= kParallelMin)
    for (int64_t n = 0; n < N; ++n) {
      const F* x = inp + n * C;
      const F* g = dout + n * C;
      F* dx = dinp + n * C;
      const F mu = mean[n], rs = rstd[n];
      F s1 = 0, s2 = 0;
#pragma omp simd reduction(+ : s1, s2)
      for (int64_t c = 0; c < C; ++c) {
        const F wg = weight[c] * g[c];
        s1 += wg;
        s2 += wg * ((x[c] - mu) * rs);
      }
      s1 /= F(C);
      s2 /= F(C);
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) dx[c] += rs * (weight[c] * g[c] - s1 - ((x[c] - mu) * rs) * s2);
    }
  }
  norm_param_grads(dweight, dbias, dout, inp, mean, rstd, N, C);
}

// out (N, C) = inp * rstd * weight, rstd (N) = 1 / sqrt(mean_c(inp^2) + eps)
template <typename F>
void rmsnorm_forward(F* out, F* rstd, const F* inp, const F* weight, int64_t N, int64_t C, F eps) {
#pragma omp parallel for schedule(static) if (N * C >= kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const F* x = inp + n * C;
    F* y = out + n * C;
    F ss = 0;
#pragma omp simd reduction(+ : ss)
    for (int64_t c = 0; c < C; ++c) ss += x[c] * x[c];
    const F rs = F(1) / std::sqrt(ss / F(C) + eps);
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) y[c] = x[c] * rs * weight[c];
    if (rstd) rstd[n] = rs;
  }
}

// dinp (N, C) += rstd * (w*dout - norm * mean_c(w*dout*norm)), norm = inp * rstd
// dweight (C) += sum_n dout * norm
template <typename F>
void rmsnorm_backward(F* dinp, F* dweight, const F* dout, const F* inp, const F* weight, const F* rstd,
                      int64_t N, int64_t C) {
  if (dinp) {
#pragma omp parallel for schedule(static) if (N * C >= kParallelMin)
    for (int64_t n = 0; n < N; ++n) {
      const F* x = inp + n * C;
      const F* g = dout + n * C;
      F* dx = dinp + n * C;
      const F rs = rstd[n];
      F s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t c = 0; c < C; ++c) s += weight[c] * g[c] * (x[c] * rs);
      s /= F(C);
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) dx[c] += rs * (weight[c] * g[c] - (x[c] * rs) * s);
    }
  }
  norm_param_grads<F>(dweight, nullptr, dout, inp, nullptr, rstd, N, C);
}

template void layernorm_forward<float>(float*, float*, float*, const float*, const float*, const float*, int64_t,
                                       int64_t, float);
template void layernorm_forward<double>(double*, double*, double*, const double*, const double*, const double*,
                                        int64_t, int64_t, double);
template void layernorm_backward<float>(float*, float*, float*, const float*, const float*, const float*,
                                        const float*, const float*, int64_t, int64_t);
template void layernorm_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                         const double*, const double*, int64_t, int64_t);
template void rmsnorm_forward<float>(float*, float*, const float*, const float*, int64_t, int64_t, float);
template void rmsnorm_forward<double>(double*, double*, const double*, const double*, int64_t, int64_t, double);
template void rmsnorm_backward<float>(float*, float*, const float*, const float*, const float*, const float*,
                                      int64_t, int64_t);
template void rmsnorm_backward<double>(double*, double*, const double*, const double*, const double*,
                                       const double*, int64_t, int64_t);

}  // namespace plinth::kernels::PLINTH_ISA_NS
