// window_permutation.h -- a seeded bijection on [0, n) evaluated in O(1) per element.
// The training windows of a corpus are visited in the order perm(0), perm(1), ..., perm(n-1)
// once per epoch, with a different key per (seed, corpus, epoch). Nothing of size n is stored:
// a balanced Feistel network permutes [0, 4^h) (the smallest such domain holding n values,
// so fewer than 4n), and cycle-walking (apply it again until the value falls below n) restricts
// it to [0, n); the expected number of applications is below 4, the worst case is bounded by
// the cycle length of the network and is in practice a few dozen.
#pragma once
#include <cstdint>

namespace plinth::train {

class WindowPermutation {
 public:
  WindowPermutation(uint64_t n, uint64_t key);   // n >= 1

  // The element at position i (0 <= i < n); distinct i give distinct values in [0, n).
  uint64_t operator()(uint64_t i) const;

  uint64_t size() const { return n_; }

 private:
  uint64_t network(uint64_t x) const;   // the Feistel bijection on [0, 4^half_bits_)

  uint64_t n_;
  uint64_t key_;
  int half_bits_ = 0;
  uint64_t mask_ = 0;
};

// Key of the window order of corpus `corpus` in epoch `epoch` of a run seeded with `seed`.
uint64_t window_permutation_key(uint64_t seed, uint64_t corpus, uint64_t epoch);

}  // namespace plinth::train
