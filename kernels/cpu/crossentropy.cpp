// crossentropy.cpp -- softmax cross-entropy over a (possibly padded) vocabulary.
// logits (N, Vp): only columns [0, V) take part in the softmax; padding columns [V, Vp) are
// never read in the forward and get gradient 0. Each row uses a stable logsumexp
// (max + log sum exp(x - max)); rows run in parallel. A negative target means "ignore":
// loss 0 and an all-zero gradient row. The backward writes dlogits and may alias logits.
// Compiled once per instruction-set variant (kernels/cpu/isa.h); dispatch.cpp checks shapes and
// targets first.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/isa_kernels.inc"
#include "kernels/cpu/vec_math.h"

namespace plinth::kernels::PLINTH_ISA_NS {

using detail::vexp;

namespace {

constexpr int64_t kSumChunk = 2048;  // exp sums: float partials per chunk, added in double

// logsumexp of x[0, V). The sum of exponentials is taken in vectorised chunks whose partial
// sums are added in double, so float keeps ~1e-7 relative accuracy at V = 50k and beyond.

template <typename F>
F row_logsumexp(const F* x, int64_t V) {
  F mx = -std::numeric_limits<F>::infinity();
#pragma omp simd reduction(max : mx)
  for (int64_t i = 0; i < V; ++i) mx = x[i] > mx ? x[i] : mx;
  double total = 0;
  for (int64_t i0 = 0; i0 < V; i0 += kSumChunk) {
    const int64_t i1 = std::min(V, i0 + kSumChunk);
    F sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = i0; i < i1; ++i) sum += vexp(x[i] - mx);
    total += double(sum);
  }
  return F(double(mx) + std::log(total));
}

}  // namespace

// losses (N) = logsumexp(logits[n, :V]) - logits[n, target[n]]  (0 where target < 0)
template <typename F>
void crossentropy_forward(F* losses, const F* logits, const int32_t* targets, int64_t N, int64_t V, int64_t Vp) {
#pragma omp parallel for schedule(static) if (N * V >= detail::kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const F* x = logits + n * Vp;
    const int32_t tgt = targets[n];
    losses[n] = tgt < 0 ? F(0) : row_logsumexp(x, V) - x[tgt];
  }
}

// dlogits (N, Vp) = dlosses[n] * (softmax(logits[n, :V]) - onehot(target[n])); padding and
// ignored rows 0. Writes; dlogits may alias logits (each element is read before it is written).
template <typename F>
void crossentropy_backward(F* dlogits, const F* logits, const int32_t* targets, const F* dlosses, int64_t N,
                           int64_t V, int64_t Vp) {
#pragma omp parallel for schedule(static) if (N * V >= detail::kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const F* x = logits + n * Vp;
    F* d = dlogits + n * Vp;
    const int32_t tgt = targets[n];
    if (tgt < 0) {
      for (int64_t i = 0; i < Vp; ++i) d[i] = F(0);
      continue;
    }
    // d = exp(x - max) (one exp per element), then scaled by dloss / sum.
    F mx = -std::numeric_limits<F>::infinity();
#pragma omp simd reduction(max : mx)
    for (int64_t i = 0; i < V; ++i) mx = x[i] > mx ? x[i] : mx;
    double total = 0;
    for (int64_t i0 = 0; i0 < V; i0 += kSumChunk) {
      const int64_t i1 = std::min(V, i0 + kSumChunk);
      F sum = 0;
      // Exact aliasing (d == x) is safe to vectorise: every lane reads and writes its own index.
#pragma omp simd reduction(+ : sum)
      for (int64_t i = i0; i < i1; ++i) {
        const F e = vexp(x[i] - mx);
        d[i] = e;
        sum += e;
      }
      total += double(sum);
    }
    const F dl = dlosses[n], f = F(double(dl) / total);
#pragma omp simd
    for (int64_t i = 0; i < V; ++i) d[i] *= f;
    d[tgt] -= dl;
    for (int64_t i = V; i < Vp; ++i) d[i] = F(0);
  }
}

template void crossentropy_forward<float>(float*, const float*, const int32_t*, int64_t, int64_t, int64_t);
template void crossentropy_forward<double>(double*, const double*, const int32_t*, int64_t, int64_t, int64_t);
template void crossentropy_backward<float>(float*, const float*, const int32_t*, const float*, int64_t, int64_t,
                                           int64_t);
template void crossentropy_backward<double>(double*, const double*, const int32_t*, const double*, int64_t,
                                            int64_t, int64_t);

}  // namespace plinth::kernels::PLINTH_ISA_NS
