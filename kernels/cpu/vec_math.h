// vec_math.h -- internal helpers shared by the CPU kernels (not part of the public contract):
// a branch-free float exp (Cephes polynomial, ~1-2 ulp) that GCC vectorises inside
// `#pragma omp simd` loops, tanh/sigmoid built on it, double overloads that use <cmath>
// (exact, for finite-difference tests), and the size below which loops run serially.
// The math helpers have internal linkage (unnamed namespace) on purpose: this header is compiled
// into every instruction-set variant of the hot kernels (kernels/cpu/isa.h), and an inline
// function with external linkage would be merged across the variants by the linker, so an
// out-of-line AVX-512 copy could end up called from the baseline variant on a CPU without it.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

namespace plinth::kernels::detail {

// Elementwise loops smaller than this many values are not worth waking the OpenMP team.
constexpr int64_t kParallelMin = 1 << 15;

namespace {

// floor(t) for |t| < 2^31. The x86-64 baseline (SSE2) has no vector floor, so GCC would leave
// every loop calling exp_fast scalar there; truncate-and-correct is the same value and vectorises.
inline float floor_small(float t) {
#if defined(__x86_64__) && !defined(__SSE4_1__)
  const float i = static_cast<float>(static_cast<int32_t>(t));
  return i > t ? i - 1.0f : i;
#else
  return std::floor(t);
#endif
}

// exp(x) for float: range reduction x = n ln2 + r, |r| <= ln2/2, degree-6 polynomial in r,
// 2^n built from the exponent bits. Returns 0 for x < -87.3 (including -inf).
inline float exp_fast(float x) {
  constexpr float kLo = -87.33654f, kHi = 88.0f;
  float xc = x < kLo ? kLo : (x > kHi ? kHi : x);
  float n = floor_small(xc * 1.44269504088896341f + 0.5f);
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3333519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  return x < kLo ? 0.0f : p * std::bit_cast<float>(bits);
}

inline float vexp(float x) { return exp_fast(x); }
inline double vexp(double x) { return std::exp(x); }

// tanh(u) = 1 - 2 / (exp(2u) + 1); saturates correctly at both ends.
inline float vtanh(float u) { return 1.0f - 2.0f / (exp_fast(2.0f * u) + 1.0f); }
inline double vtanh(double u) { return std::tanh(u); }

inline float vsigmoid(float x) { return 1.0f / (1.0f + exp_fast(-x)); }
inline double vsigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

inline float vlog(float x) { return std::log(x); }
inline double vlog(double x) { return std::log(x); }

}  // namespace

}  // namespace plinth::kernels::detail
