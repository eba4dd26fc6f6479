// rope.cpp -- rotary position embedding (LLaMA / Hugging Face "rotate half" pairing).
// For x (B, T, H, HS), element pairs (i, i + HS/2) of every head are rotated by the angle
// (pos_offset + t) * theta^(-2i/HS). The cos/sin table (T, HS/2) is computed once per call in
// double; rows (b, t) are processed in parallel. Backward rotates by the negative angle, which
// is the transpose of the forward rotation (in place, like the forward).
#include <cmath>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/vec_math.h"
#include "kernels/kernels.h"

namespace plinth::kernels {

namespace {

// cos_tab, sin_tab (T, HS/2)
template <typename F>
void rope_tables(std::vector<F>& cos_tab, std::vector<F>& sin_tab, int64_t T, int64_t HS, double theta,
                 int64_t pos_offset) {
  const int64_t half = HS / 2;
  cos_tab.resize(T * half);
  sin_tab.resize(T * half);
  std::vector<double> inv_freq(half);
  for (int64_t i = 0; i < half; ++i) inv_freq[i] = std::pow(theta, -2.0 * double(i) / double(HS));
  for (int64_t t = 0; t < T; ++t) {
    const double pos = double(pos_offset + t);
    for (int64_t i = 0; i < half; ++i) {
      const double ang = pos * inv_freq[i];
      cos_tab[t * half + i] = F(std::cos(ang));
      sin_tab[t * half + i] = F(std::sin(ang));
    }
  }
}

// x (B, T, H, HS) in place: (x0, x1) <- (x0 cos - s x1 sin, s x0 sin + x1 cos), s = +1 forward,
// s = -1 for the inverse rotation.
template <typename F>
void rope_apply(F* x, int64_t B, int64_t T, int64_t H, int64_t HS, double theta, int64_t pos_offset, F sign) {
  PLINTH_CHECK(B >= 0 && T >= 0 && H > 0 && HS > 0 && HS % 2 == 0, Internal, "rope: bad shape B=", B, " T=", T,
               " H=", H, " HS=", HS, " (HS must be even)");
  PLINTH_CHECK(theta > 0, Internal, "rope: theta must be positive (got ", theta, ")");
  const int64_t half = HS / 2;
  std::vector<F> cos_tab, sin_tab;
  rope_tables(cos_tab, sin_tab, T, HS, theta, pos_offset);
#pragma omp parallel for schedule(static) if (B * T * H * HS >= detail::kParallelMin)
  for (int64_t bt = 0; bt < B * T; ++bt) {
    const int64_t t = bt % T;
    const F* cs = cos_tab.data() + t * half;
    const F* sn = sin_tab.data() + t * half;
    for (int64_t h = 0; h < H; ++h) {
      F* x0 = x + (bt * H + h) * HS;  // first half of the head
      F* x1 = x0 + half;              // second half
#pragma omp simd
      for (int64_t i = 0; i < half; ++i) {
        const F a = x0[i], b = x1[i], s = sign * sn[i];
        x0[i] = a * cs[i] - b * s;
        x1[i] = a * s + b * cs[i];
      }
    }
  }
}

}  // namespace

template <typename F>
void rope_forward(F* x, int64_t B, int64_t T, int64_t H, int64_t HS, double theta, int64_t pos_offset) {
  rope_apply<F>(x, B, T, H, HS, theta, pos_offset, F(1));
}

template <typename F>
void rope_backward(F* dx, int64_t B, int64_t T, int64_t H, int64_t HS, double theta, int64_t pos_offset) {
  rope_apply<F>(dx, B, T, H, HS, theta, pos_offset, F(-1));
}

template void rope_forward<float>(float*, int64_t, int64_t, int64_t, int64_t, double, int64_t);
template void rope_forward<double>(double*, int64_t, int64_t, int64_t, int64_t, double, int64_t);
template void rope_backward<float>(float*, int64_t, int64_t, int64_t, int64_t, double, int64_t);
template void rope_backward<double>(double*, int64_t, int64_t, int64_t, int64_t, double, int64_t);

}  // namespace plinth::kernels
