// data_loader.cpp -- deterministic training windows and evenly spaced validation windows.
#include "train/data_loader.h"

#include <cstring>

#include "core/error.h"
#include "core/rng.h"

namespace plinth::train {

DataLoader::DataLoader(const io::Corpus& corpus, int64_t seq_len, int64_t model_vocab, uint64_t seed)
    : corpus_(corpus), T_(seq_len), seed_(seed) {
  const auto& info = corpus.info();
  n_train_ = corpus.n_tokens(io::Split::Train);
  n_val_ = corpus.n_tokens(io::Split::Val);
  PLINTH_CHECK(info.vocab_size <= model_vocab, Input, "corpus ", corpus.path(), " has vocab_size ",
               info.vocab_size, ", larger than model.vocab_size (", model_vocab, ")");
  PLINTH_CHECK(n_train_ >= T_ + 1, Input, "corpus ", corpus.path(), " has ", n_train_,
               " training tokens, fewer than one sequence of model.seq_len + 1 = ", T_ + 1);
  PLINTH_CHECK(n_val_ >= T_ + 1, Input, "corpus ", corpus.path(), " has ", n_val_,
               " validation tokens, fewer than one sequence of model.seq_len + 1 = ", T_ + 1,
               " (prepare it with a larger --val-fraction)");
  window_.resize(static_cast<size_t>(T_ + 1));
}

void DataLoader::read_window(io::Split split, int64_t start, int32_t* tokens, int32_t* targets) const {
  corpus_.read(split, start, T_ + 1, window_.data());
  std::memcpy(tokens, window_.data(), static_cast<size_t>(T_) * sizeof(int32_t));
  std::memcpy(targets, window_.data() + 1, static_cast<size_t>(T_) * sizeof(int32_t));
}

void DataLoader::train_batch(int64_t first_sample, int64_t count, int32_t* tokens, int32_t* targets) const {
  const uint64_t key = hash_combine(seed_, hash_string("train-windows"));
  const uint64_t n_starts = static_cast<uint64_t>(n_train_ - T_);   // starts in [0, n - T - 1]
  for (int64_t j = 0; j < count; ++j) {
    const uint64_t g = static_cast<uint64_t>(first_sample + j);
    const int64_t start = static_cast<int64_t>(splitmix64(hash_combine(key, g)) % n_starts);
    read_window(io::Split::Train, start, tokens + j * T_, targets + j * T_);
  }
}

void DataLoader::val_batch(int64_t first_window, int64_t count, int64_t n_windows, int32_t* tokens,
                           int32_t* targets) const {
  const int64_t span = n_val_ - T_ - 1;   // last valid start
  for (int64_t j = 0; j < count; ++j) {
    const int64_t w = first_window + j;
    const int64_t start = n_windows > 1 ? span * w / (n_windows - 1) : 0;
    read_window(io::Split::Val, start, tokens + j * T_, targets + j * T_);
  }
}

}  // namespace plinth::train
