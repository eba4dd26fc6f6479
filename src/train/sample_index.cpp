// sample_index.cpp -- greedy blending of corpora and hashed window starts.
#include "train/sample_index.h"

#include <cmath>

#include "core/error.h"
#include "core/rng.h"

namespace plinth::train {

std::vector<double> blend_weights_normalise(const std::vector<double>& weights, size_t n_corpora) {
  PLINTH_CHECK(weights.size() == n_corpora, Config, "data.weights has ", weights.size(),
               " values but data.corpus names ", n_corpora, " corpora");
  double sum = 0.0;
  for (size_t i = 0; i < weights.size(); ++i) {
    PLINTH_CHECK(std::isfinite(weights[i]) && weights[i] >= 0, Config, "data.weights: weight ", i, " (",
                 weights[i], ") must be a non-negative number");
    sum += weights[i];
  }
  PLINTH_CHECK(sum > 0, Config, "data.weights sum to zero: at least one corpus needs a positive weight");
  std::vector<double> out(weights);
  for (double& w : out) w /= sum;
  return out;
}

SampleIndex::SampleIndex(BlendSpec spec) : spec_(std::move(spec)), counts_(spec_.weights.size(), 0) {
  PLINTH_ASSERT(spec_.weights.size() == spec_.train_tokens.size() && !spec_.weights.empty());
  for (int64_t n : spec_.train_tokens) PLINTH_ASSERT(n >= spec_.seq_len + 1);
}

SampleRef SampleIndex::draw() {
  // corpus whose count lags its target weight * (pos + 1) the most; ties -> lowest index
  int32_t best = 0;
  double best_err = -1e300;
  for (size_t c = 0; c < counts_.size(); ++c) {
    if (spec_.weights[c] <= 0) continue;
    const double err = spec_.weights[c] * static_cast<double>(pos_ + 1) - static_cast<double>(counts_[c]);
    if (err > best_err) {
      best_err = err;
      best = static_cast<int32_t>(c);
    }
  }
  const uint64_t k = static_cast<uint64_t>(counts_[best]);
  const uint64_t key = hash_combine(hash_combine(spec_.seed, hash_string("train-windows")), static_cast<uint64_t>(best));
  const uint64_t n_starts = static_cast<uint64_t>(spec_.train_tokens[best] - spec_.seq_len);
  SampleRef r{best, static_cast<int64_t>(splitmix64(hash_combine(key, k)) % n_starts)};
  ++counts_[best];
  ++pos_;
  return r;
}

void SampleIndex::seek(int64_t g) {
  if (g < pos_) {   // rewind: replay from the start (the blend state is a running count)
    pos_ = 0;
    std::fill(counts_.begin(), counts_.end(), 0);
  }
  while (pos_ < g) draw();
}

std::vector<SampleRef> SampleIndex::samples(int64_t first, int64_t count) {
  seek(first);
  std::vector<SampleRef> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) out.push_back(draw());
  return out;
}

std::vector<int64_t> SampleIndex::consumed_per_corpus(int64_t n) {
  seek(n);
  return counts_;
}

}  // namespace plinth::train
