// sample_index.h -- the deterministic global sample index over blended corpora.
// Sample g of a run (g = step * global_batch + j) is drawn from corpus c(g), chosen greedily so
// that the counts drawn from each corpus track the blending weights as closely as possible
// (Megatron's blending rule), and is the k-th sample of that corpus. Corpus c's training split
// of N_c tokens holds n_c = (N_c - 1) / T fixed, non-overlapping windows: window w is the T + 1
// tokens from w * T (T inputs; the targets are the next tokens, so consecutive windows share one
// token). Its k-th sample is window perm_{seed,c,e}(k mod n_c) of epoch e = k / n_c, a seeded
// bijection on [0, n_c) (WindowPermutation): every epoch visits every window exactly once, in an
// order that differs per seed, corpus and epoch. Pure arithmetic: no I/O, no communication,
// the same on every rank and layout.
// The blend state at sample g is (g, samples drawn per corpus before g): checkpoints store it,
// so a resume sets it in O(#corpora) (restore) instead of replaying from sample 0; the latest
// kRecentAnchors states seen every kAnchorStride samples are kept, so a rewind within them replays
// at most kAnchorStride samples (further back: from the nearest restored state, or from 0).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace plinth::train {

struct SampleRef {
  int32_t corpus = 0;   // index into the blend
  int64_t start = 0;    // first token of the (T+1)-token window in that corpus's train split
};

struct BlendSpec {
  std::vector<double> weights;        // normalised to sum 1
  std::vector<int64_t> train_tokens;  // per corpus
  int64_t seq_len = 0;
  uint64_t seed = 0;
};

// Validates and normalises weights: throws Config naming data.weights when one is negative,
// not finite, or they sum to zero, or their count differs from the corpus count.
std::vector<double> blend_weights_normalise(const std::vector<double>& weights, size_t n_corpora);

// Non-overlapping training windows of T + 1 tokens (stride T) in a split of n_tokens tokens.
int64_t windows_in_split(int64_t n_tokens, int64_t seq_len);

// Window start of the k-th sample drawn from a corpus of n_windows windows (k >= 0).
int64_t window_start_of_sample(uint64_t seed, int32_t corpus, int64_t n_windows, int64_t seq_len, int64_t k);

class SampleIndex {
 public:
  static constexpr int64_t kAnchorStride = 4096;
  static constexpr size_t kRecentAnchors = 64;

  explicit SampleIndex(BlendSpec spec);

  // Samples [first, first + count) of the run, in order. Cost O(count * #corpora) when read
  // in increasing order (the usual case); a rewind replays at most kAnchorStride samples.
  std::vector<SampleRef> samples(int64_t first, int64_t count);

  // Samples drawn from each corpus among the first n samples of the run.
  std::vector<int64_t> consumed_per_corpus(int64_t n);

  // Sets the blend state at sample n to `consumed` (a checkpoint's data.consumed_samples.<c>):
  // O(#corpora). Throws Input when the counts do not fit (wrong count, negative, sum != n).
  void restore(int64_t n, const std::vector<int64_t>& consumed);

  int64_t windows(int32_t corpus) const { return windows_[static_cast<size_t>(corpus)]; }
  // Epoch of each corpus after n samples: consumed / windows (0 = the first pass).
  std::vector<int64_t> epochs(int64_t n);

  const BlendSpec& spec() const { return spec_; }

 private:
  struct Cursor {
    int64_t pos = 0;
    std::vector<int64_t> counts;   // samples drawn per corpus before pos
  };
  void seek(Cursor& cur, int64_t g);   // position cur at sample g
  int32_t step(Cursor& cur);           // the corpus of sample cur.pos; advances cur

  BlendSpec spec_;
  std::vector<int64_t> windows_;       // n_c per corpus
  Cursor read_, count_;                // samples() and consumed_per_corpus() advance separately
  std::map<int64_t, std::vector<int64_t>> fixed_;    // position -> counts: 0 and restored states
  std::map<int64_t, std::vector<int64_t>> recent_;   // the latest kRecentAnchors states on the stride
};

}  // namespace plinth::train
