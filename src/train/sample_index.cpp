// sample_index.cpp -- greedy blending of corpora; epochs of permuted non-overlapping windows.
#include "train/sample_index.h"

#include <cmath>
#include <iterator>

#include "core/error.h"
#include "train/window_permutation.h"

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

int64_t windows_in_split(int64_t n_tokens, int64_t seq_len) {
  PLINTH_ASSERT(seq_len > 0);
  return n_tokens >= seq_len + 1 ? (n_tokens - 1) / seq_len : 0;
}

int64_t window_start_of_sample(uint64_t seed, int32_t corpus, int64_t n_windows, int64_t seq_len, int64_t k) {
  PLINTH_ASSERT(n_windows >= 1 && k >= 0);
  const uint64_t epoch = static_cast<uint64_t>(k / n_windows);
  const WindowPermutation perm(static_cast<uint64_t>(n_windows),
                               window_permutation_key(seed, static_cast<uint64_t>(corpus), epoch));
  return static_cast<int64_t>(perm(static_cast<uint64_t>(k % n_windows))) * seq_len;
}

SampleIndex::SampleIndex(BlendSpec spec) : spec_(std::move(spec)) {
  PLINTH_ASSERT(spec_.weights.size() == spec_.train_tokens.size() && !spec_.weights.empty());
  for (int64_t n : spec_.train_tokens) {
    PLINTH_ASSERT(n >= spec_.seq_len + 1);
    windows_.push_back(windows_in_split(n, spec_.seq_len));
  }
  const std::vector<int64_t> zeros(spec_.weights.size(), 0);
  read_.counts = count_.counts = zeros;
  fixed_[0] = zeros;
}

int32_t SampleIndex::step(Cursor& cur) {
  // corpus whose count lags its target weight * (pos + 1) the most; ties -> lowest index
  int32_t best = 0;
  double best_err = -1e300;
  for (size_t c = 0; c < cur.counts.size(); ++c) {
    if (spec_.weights[c] <= 0) continue;
    const double err = spec_.weights[c] * static_cast<double>(cur.pos + 1) - static_cast<double>(cur.counts[c]);
    if (err > best_err) {
      best_err = err;
      best = static_cast<int32_t>(c);
    }
  }
  ++cur.counts[static_cast<size_t>(best)];
  ++cur.pos;
  if (cur.pos % kAnchorStride == 0 && !recent_.count(cur.pos)) {
    recent_[cur.pos] = cur.counts;
    if (recent_.size() > kRecentAnchors) recent_.erase(recent_.begin());
  }
  return best;
}

void SampleIndex::seek(Cursor& cur, int64_t g) {
  PLINTH_ASSERT(g >= 0);
  // the nearest known state at or before g; used when it is closer than cur (or cur is past g)
  auto nearest = [g](const std::map<int64_t, std::vector<int64_t>>& m) {
    auto it = m.upper_bound(g);
    return it == m.begin() ? m.end() : std::prev(it);
  };
  const auto f = nearest(fixed_), r = nearest(recent_);
  const auto& best = (r != recent_.end() && r->first > f->first) ? *r : *f;   // fixed_ holds 0
  if (cur.pos > g || best.first > cur.pos) {
    cur.pos = best.first;
    cur.counts = best.second;
  }
  while (cur.pos < g) step(cur);
}

std::vector<SampleRef> SampleIndex::samples(int64_t first, int64_t count) {
  seek(read_, first);
  std::vector<SampleRef> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const int32_t c = step(read_);
    const int64_t kth = read_.counts[static_cast<size_t>(c)] - 1;   // ordinal of this sample within corpus c
    out.push_back({c, window_start_of_sample(spec_.seed, c, windows_[static_cast<size_t>(c)], spec_.seq_len, kth)});
  }
  return out;
}

std::vector<int64_t> SampleIndex::consumed_per_corpus(int64_t n) {
  seek(count_, n);
  return count_.counts;
}

std::vector<int64_t> SampleIndex::epochs(int64_t n) {
  std::vector<int64_t> out = consumed_per_corpus(n);
  for (size_t c = 0; c < out.size(); ++c) out[c] /= windows_[c];
  return out;
}

void SampleIndex::restore(int64_t n, const std::vector<int64_t>& consumed) {
  PLINTH_CHECK(consumed.size() == spec_.weights.size(), Input, "the checkpoint counts samples of ", consumed.size(),
               " corpora but data.corpus names ", spec_.weights.size());
  int64_t sum = 0;
  for (size_t c = 0; c < consumed.size(); ++c) {
    PLINTH_CHECK(consumed[c] >= 0, Input, "the checkpoint says ", consumed[c], " samples were drawn from corpus ", c);
    sum += consumed[c];
  }
  PLINTH_CHECK(sum == n, Input, "the checkpoint's samples per corpus add up to ", sum, ", not data.consumed_samples = ",
               n);
  // the restored state replaces whatever this index derived after n (they agree unless the blend changed)
  fixed_.erase(fixed_.upper_bound(n), fixed_.end());
  fixed_[n] = consumed;
  recent_.clear();
  read_ = count_ = Cursor{n, consumed};
}

}  // namespace plinth::train
