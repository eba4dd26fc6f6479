// synthetic_corpus.cpp -- Dirichlet rows (Marsaglia-Tsang gamma draws), stationary distribution
// by power iteration, exact entropy rate, sampling, and the corpus written through CorpusWriter.
#include "io/synthetic_corpus.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/rng.h"
#include "io/corpus_writer.h"
#include "io/fs_util.h"
#include "io/h5.h"

namespace plinth::io {
namespace {

double normal(Rng& rng) {   // Box-Muller
  double u1 = rng.uniform(), u2 = rng.uniform();
  if (u1 <= 0) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

double gamma_draw(Rng& rng, double shape) {   // Marsaglia & Tsang (2000), boosted below shape 1
  if (shape < 1.0) {
    double u = rng.uniform();
    if (u <= 0) u = 1e-300;
    return gamma_draw(rng, shape + 1.0) * std::pow(u, 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x = normal(rng), v = 1.0 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const double u = rng.uniform();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

}  // namespace

int32_t synthetic_token(int64_t symbols, int64_t symbol) {
  return static_cast<int32_t>(symbols <= 94 ? 33 + symbol : 1 + symbol);
}

MarkovSource::MarkovSource(const SyntheticOptions& o) : symbols_(o.symbols), order_(o.order) {
  PLINTH_CHECK(o.symbols >= 2 && o.symbols <= 255, Config, "synthetic: --symbols must be in [2, 255], got ",
               o.symbols);
  PLINTH_CHECK(o.order >= 0, Config, "synthetic: --order must be >= 0, got ", o.order);
  PLINTH_CHECK(o.concentration > 0 && std::isfinite(o.concentration), Config,
               "synthetic: --concentration must be positive, got ", o.concentration);
  contexts_ = 1;
  for (int i = 0; i < order_; ++i) {
    contexts_ *= symbols_;
    PLINTH_CHECK(contexts_ <= (int64_t{1} << 22), Config, "synthetic: --symbols ^ --order (", o.symbols, "^",
                 o.order, ") exceeds 2^22 contexts");
  }
  Rng rng(hash_combine(o.seed, hash_string("markov-rows")));
  rows_.assign(static_cast<size_t>(contexts_), std::vector<double>(static_cast<size_t>(symbols_)));
  for (auto& row : rows_) {
    double sum = 0;
    for (double& p : row) sum += (p = gamma_draw(rng, o.concentration));
    if (!(sum > 0)) {   // every draw underflowed: a tiny concentration; fall back to uniform
      std::fill(row.begin(), row.end(), 1.0);
      sum = static_cast<double>(symbols_);
    }
    for (double& p : row) p /= sum;
  }
  // stationary distribution over contexts: context c = (x1..xk) -> (x2..xk, y)
  pi_.assign(static_cast<size_t>(contexts_), 1.0 / static_cast<double>(contexts_));
  std::vector<double> next(pi_.size());
  for (int it = 0; it < 200000; ++it) {
    std::fill(next.begin(), next.end(), 0.0);
    for (int64_t c = 0; c < contexts_; ++c) {
      const int64_t base = (c * symbols_) % contexts_;
      for (int64_t y = 0; y < symbols_; ++y)
        next[static_cast<size_t>(contexts_ == 1 ? 0 : base + y)] += pi_[c] * rows_[c][y];
    }
    double total = 0, change = 0;
    for (double v : next) total += v;
    for (size_t i = 0; i < next.size(); ++i) {
      next[i] /= total;
      change += std::abs(next[i] - pi_[i]);
    }
    pi_.swap(next);
    if (change < 1e-15) break;
  }
  entropy_ = 0;
  for (int64_t c = 0; c < contexts_; ++c) {
    double h = 0;
    for (double p : rows_[c])
      if (p > 0) h -= p * std::log(p);
    entropy_ += pi_[c] * h;
  }
}

std::vector<int32_t> MarkovSource::sample(uint64_t stream_seed, int64_t n) const {
  Rng rng(stream_seed);
  // initial context from the stationary distribution
  auto draw = [&rng](const std::vector<double>& p) {
    double u = rng.uniform(), acc = 0;
    for (size_t i = 0; i < p.size(); ++i)
      if ((acc += p[i]) > u) return static_cast<int64_t>(i);
    return static_cast<int64_t>(p.size() - 1);
  };
  int64_t c = draw(pi_);
  std::vector<int32_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t y = draw(rows_[c]);
    out[i] = static_cast<int32_t>(y);
    c = contexts_ == 1 ? 0 : (c * symbols_) % contexts_ + y;
  }
  return out;
}

SyntheticReport synthetic_corpus_write(const SyntheticOptions& o) {
  PLINTH_CHECK(!o.output.empty(), Config, "synthetic: --output is required");
  PLINTH_CHECK(o.train_tokens >= 2 && o.val_tokens >= 2, Config,
               "synthetic: --train-tokens and --val-tokens must be at least 2");
  const auto t0 = std::chrono::steady_clock::now();
  MarkovSource src(o);
  CorpusHeader h;
  h.tokenizer = TokenizerKind::Byte;
  h.vocab_size = 256;
  h.eod_token = 0;
  h.val_fraction = static_cast<double>(o.val_tokens) / static_cast<double>(o.train_tokens + o.val_tokens);
  h.seed = o.seed;
  h.source_digest = "0000000000000000";
  h.source_files = 0;
  const std::string staged = str_cat(o.output, ".synthetic-", ::getpid());
  SyntheticReport rep;
  try {
    CorpusWriter w(staged, h);
    for (Split split : {Split::Train, Split::Val}) {
      const int64_t n = (split == Split::Train ? o.train_tokens : o.val_tokens) - 1;   // + EOD
      std::vector<int32_t> doc = src.sample(hash_combine(o.seed, split == Split::Train ? 11 : 23), n);
      for (int32_t& t : doc) t = synthetic_token(o.symbols, t);
      w.add_document(split, doc);
    }
    CorpusInfo info = w.commit();
    rep.train_tokens = info.n_tokens_train;
    rep.val_tokens = info.n_tokens_val;
    {
      h5::File f = h5::File::open(staged, h5::FileMode::ReadWrite);
      h5::Group root = f.root();
      root.set_attr("source_kind", "synthetic-markov");
      root.set_attr(kSyntheticEntropyAttr, src.entropy_rate());
      root.set_attr("synthetic_symbols", o.symbols);
      root.set_attr("synthetic_order", static_cast<int64_t>(o.order));
      root.set_attr("synthetic_concentration", o.concentration);
      root.set_attr("synthetic_seed", o.seed);
      f.close();
    }
    fsync_file(staged);
    rename_path(staged, o.output);
    fsync_dir(parent_dir(o.output));
  } catch (...) {
    remove_tree_quietly(staged);
    throw;
  }
  rep.entropy_rate = src.entropy_rate();
  rep.contexts = src.contexts();
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

double corpus_entropy_rate(const std::string& path) {
  PLINTH_CHECK(h5::is_hdf5(path), Input, "corpus '", path, "' is missing or not an HDF5 file");
  h5::File f = h5::File::open(path, h5::FileMode::ReadOnly);
  h5::Group root = f.root();
  if (!root.has_attr(kSyntheticEntropyAttr)) return std::numeric_limits<double>::quiet_NaN();
  return root.attr_double(kSyntheticEntropyAttr);
}

}  // namespace plinth::io
