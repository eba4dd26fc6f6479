// matmul.cpp -- the linear layer: out = inp @ weight^T + bias, and its backward.
// Forward is one GEMM: the bias is broadcast into `out` first and the GEMM accumulates (beta=1).
// Backward is two GEMMs (dinp, dweight, both accumulating) plus the bias gradient as column
// sums of dout, parallel over column chunks (deterministic, independent of the thread count).
#include <algorithm>

#include "core/error.h"
#include "kernels/cpu/vec_math.h"
#include "kernels/kernels.h"

namespace plinth::kernels {

using detail::kParallelMin;

// out (N, OC) = inp (N, C) @ weight (OC, C)^T + bias (OC)
template <typename F>
void matmul_forward(F* out, const F* inp, const F* weight, const F* bias, int64_t N, int64_t C, int64_t OC) {
  PLINTH_CHECK(N >= 0 && C > 0 && OC > 0, Internal, "matmul_forward: bad shape N=", N, " C=", C, " OC=", OC);
  F beta = 0;
  if (bias) {
#pragma omp parallel for schedule(static) if (N * OC >= kParallelMin)
    for (int64_t n = 0; n < N; ++n) std::copy(bias, bias + OC, out + n * OC);
    beta = 1;
  }
  gemm<F>(Trans::No, Trans::Yes, N, OC, C, F(1), inp, C, weight, C, beta, out, OC);
}

// dinp (N, C) += dout (N, OC) @ weight (OC, C)
// dweight (OC, C) += dout^T @ inp (N, C)
// dbias (OC) += sum_n dout[n, :]
template <typename F>
void matmul_backward(F* dinp, F* dweight, F* dbias, const F* dout, const F* inp, const F* weight, int64_t N,
                     int64_t C, int64_t OC) {
  PLINTH_CHECK(N >= 0 && C > 0 && OC > 0, Internal, "matmul_backward: bad shape N=", N, " C=", C, " OC=", OC);
  if (dinp) gemm<F>(Trans::No, Trans::No, N, C, OC, F(1), dout, OC, weight, C, F(1), dinp, C);
  if (dweight) gemm<F>(Trans::Yes, Trans::No, OC, C, N, F(1), dout, OC, inp, C, F(1), dweight, C);
  if (dbias) {
    constexpr int64_t kChunk = 64;   // columns per task: contiguous, vectorisable inner loop
    const int64_t nchunks = (OC + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (N * OC >= kParallelMin && nchunks > 1)
    for (int64_t ch = 0; ch < nchunks; ++ch) {
      const int64_t c0 = ch * kChunk, c1 = std::min(OC, c0 + kChunk);
      F acc[kChunk] = {};
      for (int64_t n = 0; n < N; ++n) {
        const F* row = dout + n * OC;
#pragma omp simd
        for (int64_t c = c0; c < c1; ++c) acc[c - c0] += row[c];
      }
      for (int64_t c = c0; c < c1; ++c) dbias[c] += acc[c - c0];
    }
  }
}

template void matmul_forward<float>(float*, const float*, const float*, const float*, int64_t, int64_t, int64_t);
template void matmul_forward<double>(double*, const double*, const double*, const double*, int64_t, int64_t,
                                     int64_t);
template void matmul_backward<float>(float*, float*, float*, const float*, const float*, const float*, int64_t,
                                     int64_t, int64_t);
template void matmul_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                      int64_t, int64_t, int64_t);

}  // namespace plinth::kernels
