// sample_index.h -- the deterministic global sample index over blended corpora.
// Sample g of a run (g = step * global_batch + j) is drawn from corpus c(g), chosen greedily so
// that the counts drawn from each corpus track the blending weights as closely as possible
// (Megatron's blending rule), and is the k-th sample of that corpus, whose window start is a
// hash of (seed, c, k). Pure arithmetic: no I/O, no communication, the same on every rank.
// The position in the index (samples consumed per corpus) is part of the training state.
#pragma once
#include <cstddef>
#include <cstdint>
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

class SampleIndex {
 public:
  explicit SampleIndex(BlendSpec spec);

  // Samples [first, first + count) of the run, in order. Cost O(count) after the first call
  // at a position (the blend state is advanced incrementally and cached for sequential use).
  std::vector<SampleRef> samples(int64_t first, int64_t count);

  // Samples drawn from each corpus among the first n samples of the run.
  std::vector<int64_t> consumed_per_corpus(int64_t n);

  const BlendSpec& spec() const { return spec_; }

 private:
  void seek(int64_t g);          // position the blend state at sample g
  SampleRef draw();              // the sample at the current position; advances it

  BlendSpec spec_;
  int64_t pos_ = 0;
  std::vector<int64_t> counts_;  // samples drawn per corpus before pos_
};

}  // namespace plinth::train
