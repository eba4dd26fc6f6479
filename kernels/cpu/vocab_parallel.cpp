// vocab_parallel.cpp -- the arithmetic of the vocabulary-parallel embedding and cross-entropy
// (Megatron's VocabParallelEmbedding / vocab_parallel_cross_entropy): each rank holds a slice of
// the vocabulary's rows; the collectives between the pieces are parallel/tensor_parallel's.
// Rows are independent: OpenMP over rows, each row's sums in a fixed order (deterministic).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/kernels.h"

namespace plinth::kernels {
namespace {

int64_t real_columns(int64_t V, int64_t v_begin, int64_t v_local) { return std::clamp<int64_t>(V - v_begin, 0, v_local); }

}  // namespace

void vocab_ce_row_max(float* row_max, const float* logits_local, int64_t N, int64_t v_begin, int64_t v_local,
                      int64_t V) {
  const int64_t valid = real_columns(V, v_begin, v_local);
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* l = logits_local + n * v_local;
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < valid; ++j) m = std::max(m, l[j]);
    row_max[n] = m;
  }
}

void vocab_ce_row_sums(double* sums, const float* logits_local, const float* row_max, const int32_t* targets,
                       int64_t N, int64_t v_begin, int64_t v_local, int64_t V) {
  const int64_t valid = real_columns(V, v_begin, v_local);
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* l = logits_local + n * v_local;
    double s = 0.0;
    for (int64_t j = 0; j < valid; ++j) s += std::exp(static_cast<double>(l[j] - row_max[n]));
    sums[2 * n] = s;
    const int64_t t = targets[n] - v_begin;
    sums[2 * n + 1] = (targets[n] >= 0 && t >= 0 && t < v_local) ? static_cast<double>(l[t]) : 0.0;
  }
}

void vocab_ce_finish(float* losses, float* stats, const float* row_max, const double* sums, const int32_t* targets,
                     int64_t N) {
  for (int64_t n = 0; n < N; ++n) {
    stats[2 * n] = row_max[n];
    stats[2 * n + 1] = static_cast<float>(sums[2 * n]);
    losses[n] = targets[n] < 0 ? 0.0f : static_cast<float>(std::log(sums[2 * n]) + row_max[n] - sums[2 * n + 1]);
  }
}

void vocab_ce_backward(float* dlogits_local, const float* logits_local, const float* stats, const int32_t* targets,
                       const float* dlosses, int64_t N, int64_t v_begin, int64_t v_local, int64_t V) {
  const int64_t valid = real_columns(V, v_begin, v_local);
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* l = logits_local + n * v_local;
    float* d = dlogits_local + n * v_local;
    if (targets[n] < 0) {
      std::fill(d, d + v_local, 0.0f);
      continue;
    }
    const float m = stats[2 * n], inv = 1.0f / stats[2 * n + 1], g = dlosses[n];
    for (int64_t j = 0; j < valid; ++j) d[j] = g * std::exp(l[j] - m) * inv;
    for (int64_t j = valid; j < v_local; ++j) d[j] = 0.0f;
    const int64_t t = targets[n] - v_begin;
    if (t >= 0 && t < valid) d[t] -= g;
  }
}

void vocab_embedding_forward(float* out, const int32_t* tokens, const float* wte_local, int64_t N, int64_t C,
                             int64_t v_begin, int64_t v_local) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const int64_t v = tokens[n] - v_begin;
    if (v >= 0 && v < v_local)
      std::memcpy(out + n * C, wte_local + v * C, static_cast<size_t>(C) * sizeof(float));
    else
      std::memset(out + n * C, 0, static_cast<size_t>(C) * sizeof(float));
  }
}

void vocab_embedding_backward(float* dwte_local, const float* dout, const int32_t* tokens, int64_t N, int64_t C,
                              int64_t v_begin, int64_t v_local) {
  // sequential over rows: several rows may hit the same token (deterministic order)
  for (int64_t n = 0; n < N; ++n) {
    const int64_t v = tokens[n] - v_begin;
    if (v < 0 || v >= v_local) continue;
    float* d = dwte_local + v * C;
    const float* g = dout + n * C;
    for (int64_t c = 0; c < C; ++c) d[c] += g[c];
  }
}

}  // namespace plinth::kernels
