// loss_cast.cpp -- the loss reductions (mean over valid targets, per-sequence means for
// evaluation) and the float <-> bf16 casts. Sums run in double, in row order (deterministic).
#include <cstring>

#include "kernels/kernels.h"

namespace plinth::kernels {

float loss_mean(const float* losses, const int32_t* targets, int64_t N) {
  double sum = 0.0;
  int64_t count = 0;
  for (int64_t i = 0; i < N; ++i)
    if (targets[i] >= 0) {
      sum += losses[i];
      ++count;
    }
  return count ? static_cast<float>(sum / static_cast<double>(count)) : 0.0f;
}

void row_loss_means(double* out, const float* losses, const int32_t* targets, int64_t rows, int64_t T) {
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    int64_t n = 0;
    for (int64_t t = r * T; t < (r + 1) * T; ++t)
      if (targets[t] >= 0) {
        sum += losses[t];
        ++n;
      }
    out[r] = n ? sum / static_cast<double>(n) : 0.0;
  }
}

void cast_f32_to_bf16(uint16_t* dst, const float* src, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, &src[i], sizeof(u));
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) {
      dst[i] = static_cast<uint16_t>((u >> 16) | 0x0040u);   // NaN: keep it a (quiet) NaN
      continue;
    }
    const uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);   // to nearest, ties to even
    dst[i] = static_cast<uint16_t>((u + rounding) >> 16);
  }
}

void cast_bf16_to_f32(float* dst, const uint16_t* src, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t u = static_cast<uint32_t>(src[i]) << 16;
    std::memcpy(&dst[i], &u, sizeof(u));
  }
}

}  // namespace plinth::kernels
