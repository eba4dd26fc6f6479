// embedding.cpp -- token embedding lookup and learned positional embedding, with backward.
// embedding_forward gathers rows of wte; embedding_backward scatters dout rows back into dwte.
// Repeated tokens would race under a row-parallel scatter, so the backward is parallel over
// column chunks instead (every thread owns a slice of all rows; rows are added in order).
// positional_forward adds wpe rows (pos_offset + t) to every batch; backward sums over batch.
#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "kernels/cpu/vec_math.h"
#include "kernels/kernels.h"

namespace plinth::kernels {

using detail::kParallelMin;

namespace {

void check_tokens(const char* what, const int32_t* tokens, int64_t N) {
  for (int64_t n = 0; n < N; ++n)
    PLINTH_CHECK(tokens[n] >= 0, Input, what, ": negative token id ", tokens[n], " at position ", n);
}

}  // namespace

// out (N, C) = wte (V, C)[tokens (N)]
template <typename F>
void embedding_forward(F* out, const int32_t* tokens, const F* wte, int64_t N, int64_t C) {
  PLINTH_CHECK(N >= 0 && C > 0, Internal, "embedding_forward: bad shape N=", N, " C=", C);
  check_tokens("embedding_forward", tokens, N);
#pragma omp parallel for schedule(static) if (N * C >= kParallelMin)
  for (int64_t n = 0; n < N; ++n) std::memcpy(out + n * C, wte + int64_t(tokens[n]) * C, sizeof(F) * C);
}

// dwte (V, C)[tokens[n]] += dout (N, C)[n]
template <typename F>
void embedding_backward(F* dwte, const F* dout, const int32_t* tokens, int64_t N, int64_t C) {
  PLINTH_CHECK(N >= 0 && C > 0, Internal, "embedding_backward: bad shape N=", N, " C=", C);
  check_tokens("embedding_backward", tokens, N);
  constexpr int64_t kChunk = 64;
  const int64_t nchunks = (C + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (N * C >= kParallelMin && nchunks > 1)
  for (int64_t ch = 0; ch < nchunks; ++ch) {
    const int64_t c0 = ch * kChunk, len = std::min(C, c0 + kChunk) - c0;
    for (int64_t n = 0; n < N; ++n) {
      F* dst = dwte + int64_t(tokens[n]) * C + c0;
      const F* src = dout + n * C + c0;
#pragma omp simd
      for (int64_t c = 0; c < len; ++c) dst[c] += src[c];
    }
  }
}

// out (B, T, C) += wpe (pos_offset + T, C)[pos_offset + t]
template <typename F>
void positional_forward(F* out, const F* wpe, int64_t B, int64_t T, int64_t C, int64_t pos_offset) {
  PLINTH_CHECK(B >= 0 && T >= 0 && C > 0 && pos_offset >= 0, Internal, "positional_forward: bad shape B=", B,
               " T=", T, " C=", C, " pos_offset=", pos_offset);
#pragma omp parallel for schedule(static) if (B * T * C >= kParallelMin)
  for (int64_t bt = 0; bt < B * T; ++bt) {
    F* o = out + bt * C;
    const F* w = wpe + (pos_offset + bt % T) * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) o[c] += w[c];
  }
}

// dwpe (pos_offset + T, C)[pos_offset + t] += sum_b dout (B, T, C)[b, t]
template <typename F>
void positional_backward(F* dwpe, const F* dout, int64_t B, int64_t T, int64_t C, int64_t pos_offset) {
  PLINTH_CHECK(B >= 0 && T >= 0 && C > 0 && pos_offset >= 0, Internal, "positional_backward: bad shape B=", B,
               " T=", T, " C=", C, " pos_offset=", pos_offset);
#pragma omp parallel for schedule(static) if (B * T * C >= kParallelMin)
  for (int64_t t = 0; t < T; ++t) {
    F* w = dwpe + (pos_offset + t) * C;
    for (int64_t b = 0; b < B; ++b) {
      const F* g = dout + (b * T + t) * C;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) w[c] += g[c];
    }
  }
}

#define PLINTH_INSTANTIATE(F)                                                                \
  template void embedding_forward<F>(F*, const int32_t*, const F*, int64_t, int64_t);        \
  template void embedding_backward<F>(F*, const F*, const int32_t*, int64_t, int64_t);       \
  template void positional_forward<F>(F*, const F*, int64_t, int64_t, int64_t, int64_t);     \
  template void positional_backward<F>(F*, const F*, int64_t, int64_t, int64_t, int64_t);
PLINTH_INSTANTIATE(float)
PLINTH_INSTANTIATE(double)
#undef PLINTH_INSTANTIATE

}  // namespace plinth::kernels
