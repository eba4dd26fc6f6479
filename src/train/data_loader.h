// data_loader.h -- which token windows each optimizer step trains on, and the held-out windows.
// Training sample g (the g-th sequence of the run, g = step * global_batch + j) is a window of
// T+1 tokens starting at a position that is a pure function of (seed, g): changing the number
// of ranks or micro-batches at a fixed global batch trains on the same samples, and a resumed
// run continues on exactly the samples it would have seen. Windows are read by hyperslab; the
// corpus is never loaded whole.
#pragma once
#include <cstdint>
#include <vector>

#include "io/corpus.h"

namespace plinth::train {

class DataLoader {
 public:
  // Validates the corpus against the run: vocabulary fits the model, enough tokens for one
  // window in each split. Throws plinth::Error naming the corpus file.
  DataLoader(const io::Corpus& corpus, int64_t seq_len, int64_t model_vocab, uint64_t seed);

  // Fills tokens/targets (count, T) with training samples first_sample .. first_sample+count-1.
  void train_batch(int64_t first_sample, int64_t count, int32_t* tokens, int32_t* targets) const;

  // Held-out window i of the validation set (deterministic, evenly spread over the split).
  void val_batch(int64_t first_window, int64_t count, int64_t n_windows, int32_t* tokens,
                 int32_t* targets) const;

  int64_t train_tokens() const { return n_train_; }
  int64_t val_tokens() const { return n_val_; }

 private:
  void read_window(io::Split split, int64_t start, int32_t* tokens, int32_t* targets) const;

  const io::Corpus& corpus_;
  int64_t T_;
  uint64_t seed_;
  int64_t n_train_, n_val_;
  mutable std::vector<int32_t> window_;
};

}  // namespace plinth::train
