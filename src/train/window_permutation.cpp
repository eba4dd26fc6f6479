// window_permutation.cpp -- Feistel network with cycle-walking over the next power of four.
#include "train/window_permutation.h"

#include "core/error.h"
#include "core/rng.h"

namespace plinth::train {
namespace {

constexpr int kRounds = 6;   // 4 suffice for a pseudo-random permutation; 6 for good mixing of small domains

}  // namespace

WindowPermutation::WindowPermutation(uint64_t n, uint64_t key) : n_(n), key_(key) {
  PLINTH_ASSERT(n >= 1);
  while (half_bits_ < 32 && (uint64_t{1} << (2 * half_bits_)) < n) ++half_bits_;
  mask_ = (uint64_t{1} << half_bits_) - 1;
}

uint64_t WindowPermutation::network(uint64_t x) const {
  uint64_t left = x >> half_bits_, right = x & mask_;
  for (int r = 0; r < kRounds; ++r) {
    const uint64_t f = splitmix64(hash_combine(hash_combine(key_, static_cast<uint64_t>(r)), right)) & mask_;
    const uint64_t next = left ^ f;
    left = right;
    right = next;
  }
  return (left << half_bits_) | right;
}

uint64_t WindowPermutation::operator()(uint64_t i) const {
  PLINTH_ASSERT(i < n_);
  if (n_ == 1) return 0;
  uint64_t y = network(i);
  while (y >= n_) y = network(y);   // cycle-walking: terminates, as i < n lies on y's cycle
  return y;
}

uint64_t window_permutation_key(uint64_t seed, uint64_t corpus, uint64_t epoch) {
  return hash_combine(hash_combine(hash_combine(seed, hash_string("train-window-order")), corpus), epoch);
}

}  // namespace plinth::train
