// synthetic_corpus.h -- a corpus drawn from a source of known entropy: a seeded order-k Markov
// chain over S symbols whose transition rows are Dirichlet(concentration) draws. The entropy
// rate H = sum_s pi(s) H(P(.|s)) (nats per token; pi the stationary distribution over the S^k
// contexts, found by power iteration to machine precision) is stored in the corpus' root
// attributes, so every evaluation on it can be checked against loss >= H - 4 SE.
// Tokens use the byte tokenizer (vocab 256, EOD 0): symbol i is byte 33 + i (printable ASCII)
// when S <= 94, else byte 1 + i. Each split is one long document (one EOD at its end), so the
// stream is the chain itself; train and val are independent stretches of the same chain.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace plinth::io {

struct SyntheticOptions {
  int64_t symbols = 32;              // S, in [2, 255]
  int order = 2;                     // k, context length; S^k <= 2^22
  double concentration = 0.5;        // Dirichlet parameter of every transition row
  int64_t train_tokens = 4'000'000;
  int64_t val_tokens = 200'000;
  uint64_t seed = 1234;
  std::string output;
};

class MarkovSource {
 public:
  explicit MarkovSource(const SyntheticOptions& o);
  int64_t symbols() const { return symbols_; }
  int order() const { return order_; }
  int64_t contexts() const { return contexts_; }
  const std::vector<double>& row(int64_t context) const { return rows_[static_cast<size_t>(context)]; }
  const std::vector<double>& stationary() const { return pi_; }
  double entropy_rate() const { return entropy_; }   // nats per symbol
  // n symbols (0..S-1) continuing from a context drawn from the stationary distribution.
  std::vector<int32_t> sample(uint64_t stream_seed, int64_t n) const;

 private:
  int64_t symbols_;
  int order_;
  int64_t contexts_;
  std::vector<std::vector<double>> rows_;
  std::vector<double> pi_;
  double entropy_ = 0;
};

// Token id of a symbol and back.
int32_t synthetic_token(int64_t symbols, int64_t symbol);

// The attribute names written on the corpus root.
inline constexpr const char* kSyntheticEntropyAttr = "synthetic_entropy_rate_nats";

struct SyntheticReport {
  double entropy_rate = 0;           // nats per token
  int64_t contexts = 0;
  int64_t train_tokens = 0, val_tokens = 0;   // EOD included
  double seconds = 0;
};

// Writes the corpus atomically (temporary name, attributes, fsync, rename).
SyntheticReport synthetic_corpus_write(const SyntheticOptions& o);

// H stored in a corpus; NaN when the corpus carries no synthetic-source attributes.
double corpus_entropy_rate(const std::string& path);

}  // namespace plinth::io
