// tensor_parallel.cpp -- tp region collectives, sequence gather/scatter, vocabulary-parallel
// embedding and cross-entropy.
#include "parallel/tensor_parallel.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/error.h"

namespace plinth::parallel {

void tp_copy_region_backward(comm::Communicator& tp, float* dx, int64_t n) {
  if (tp.size() > 1) tp.all_reduce(dx, n, comm::DType::F32, comm::ReduceOp::Sum);
}

void tp_reduce_region_forward(comm::Communicator& tp, float* y, int64_t n) {
  if (tp.size() > 1) tp.all_reduce(y, n, comm::DType::F32, comm::ReduceOp::Sum);
}

void tp_gather_sequence(comm::Communicator& tp, const float* local, float* full, float* scratch, int64_t B, int64_t T,
                        int64_t C) {
  const int R = tp.size();
  const int64_t Tl = T / R, shard = B * Tl * C;
  if (R == 1) {
    std::memcpy(full, local, static_cast<size_t>(shard) * sizeof(float));
    return;
  }
  tp.all_gather(local, scratch, std::vector<int64_t>(static_cast<size_t>(R), shard), comm::DType::F32);
  // scratch (R, B, Tl, C) -> full (B, T, C)
  for (int r = 0; r < R; ++r)
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(full + (b * T + r * Tl) * C, scratch + (r * B + b) * Tl * C, static_cast<size_t>(Tl * C) * sizeof(float));
}

void tp_reduce_scatter_sequence(comm::Communicator& tp, const float* full, float* local, float* scratch, int64_t B,
                                int64_t T, int64_t C) {
  const int R = tp.size();
  const int64_t Tl = T / R, shard = B * Tl * C;
  if (R == 1) {
    std::memcpy(local, full, static_cast<size_t>(shard) * sizeof(float));
    return;
  }
  // full (B, T, C) -> scratch (R, B, Tl, C), then each rank receives its summed (B, Tl, C)
  for (int r = 0; r < R; ++r)
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(scratch + (r * B + b) * Tl * C, full + (b * T + r * Tl) * C, static_cast<size_t>(Tl * C) * sizeof(float));
  tp.reduce_scatter(scratch, local, std::vector<int64_t>(static_cast<size_t>(R), shard), comm::DType::F32,
                    comm::ReduceOp::Sum);
}

void tp_take_sequence_shard(const comm::Communicator& tp, const float* full, float* local, int64_t B, int64_t T,
                            int64_t C) {
  const int64_t Tl = T / tp.size(), r = tp.rank();
  for (int64_t b = 0; b < B; ++b)
    std::memcpy(local + b * Tl * C, full + (b * T + r * Tl) * C, static_cast<size_t>(Tl * C) * sizeof(float));
}

void tp_vocab_embedding_forward(float* out, const int32_t* tokens, const float* wte_local, int64_t N, int64_t C,
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

void tp_vocab_embedding_backward(float* dwte_local, const float* dout, const int32_t* tokens, int64_t N, int64_t C,
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

void tp_vocab_crossentropy_forward(comm::Communicator& tp, float* losses, float* stats, const float* logits_local,
                                   const int32_t* targets, int64_t N, int64_t v_begin, int64_t v_local, int64_t V) {
  const int64_t valid = std::clamp<int64_t>(V - v_begin, 0, v_local);   // real (non-padding) columns here
  std::vector<float> mx(static_cast<size_t>(N));
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* l = logits_local + n * v_local;
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < valid; ++j) m = std::max(m, l[j]);
    mx[n] = m;
  }
  tp.all_reduce(mx.data(), N, comm::DType::F32, comm::ReduceOp::Max);
  std::vector<double> sums(static_cast<size_t>(2 * N));   // (sum-exp, target logit) per row
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* l = logits_local + n * v_local;
    double s = 0.0;
    for (int64_t j = 0; j < valid; ++j) s += std::exp(static_cast<double>(l[j] - mx[n]));
    sums[2 * n] = s;
    const int64_t t = targets[n] - v_begin;
    sums[2 * n + 1] = (targets[n] >= 0 && t >= 0 && t < v_local) ? static_cast<double>(l[t]) : 0.0;
  }
  tp.all_reduce(sums.data(), 2 * N, comm::DType::F64, comm::ReduceOp::Sum);
  for (int64_t n = 0; n < N; ++n) {
    stats[2 * n] = mx[n];
    stats[2 * n + 1] = static_cast<float>(sums[2 * n]);
    losses[n] = targets[n] < 0 ? 0.0f
                               : static_cast<float>(std::log(sums[2 * n]) + mx[n] - sums[2 * n + 1]);
  }
}

void tp_vocab_crossentropy_backward(float* dlogits_local, const float* logits_local, const float* stats,
                                    const int32_t* targets, const float* dlosses, int64_t N, int64_t v_begin,
                                    int64_t v_local, int64_t V) {
  const int64_t valid = std::clamp<int64_t>(V - v_begin, 0, v_local);
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

void tp_gather_full_tensors(comm::Communicator& tp, const ParamLayout& local, const float* local_data,
                            const ParamLayout& full, float* full_data) {
  const int R = tp.size();
  std::vector<float> tmp;
  for (const TensorSpec& s : local.specs()) {
    const TensorSpec& f = full.at(s.name);
    const int64_t n = s.numel();
    if (s.split_dim < 0 || R == 1) {
      PLINTH_ASSERT(n == f.numel());
      std::memcpy(full_data + f.offset, local_data + s.offset, static_cast<size_t>(n) * sizeof(float));
      continue;
    }
    tmp.resize(static_cast<size_t>(n * R));
    // Safe order: every rank iterates the same specs in layout order.
    tp.all_gather(local_data + s.offset, tmp.data(), std::vector<int64_t>(static_cast<size_t>(R), n), comm::DType::F32);
    if (s.split_dim == 0) {   // rank r holds rows [r*rows, (r+1)*rows): shards are consecutive
      std::memcpy(full_data + f.offset, tmp.data(), static_cast<size_t>(n * R) * sizeof(float));
    } else {                  // split_dim 1 of a 2-D tensor: interleave column blocks row by row
      PLINTH_ASSERT(s.local_shape.size() == 2 && s.split_dim == 1);
      const int64_t rows = s.local_shape[0], cols = s.local_shape[1];
      for (int r = 0; r < R; ++r)
        for (int64_t i = 0; i < rows; ++i)
          std::memcpy(full_data + f.offset + i * cols * R + r * cols, tmp.data() + r * n + i * cols,
                      static_cast<size_t>(cols) * sizeof(float));
    }
  }
}

}  // namespace plinth::parallel
