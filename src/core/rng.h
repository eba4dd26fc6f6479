// rng.h -- deterministic random numbers.
// Counter-based values keyed by (key, index) make parameter init independent of the parallel
// layout: element i of tensor "layers.0.mlp.fc.weight" gets the same value on every layout.
// Rng is a small stateful generator (xoshiro256**) whose state is saved in checkpoints.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

namespace plinth {

uint64_t splitmix64(uint64_t x);
uint64_t hash_string(std::string_view s);            // FNV-1a, 64 bit
uint64_t hash_combine(uint64_t a, uint64_t b);

double uniform_at(uint64_t key, uint64_t index);     // in (0, 1)
float normal_at(uint64_t key, uint64_t index);       // standard normal (Box-Muller)

class Rng {
 public:
  using State = std::array<uint64_t, 4>;
  explicit Rng(uint64_t seed = 0);
  uint64_t next_u64();
  double uniform();                                  // in [0, 1)
  uint64_t below(uint64_t n);                        // in [0, n), unbiased
  State state() const { return s_; }
  void set_state(const State& s) { s_ = s; }

 private:
  State s_;
};

}  // namespace plinth
