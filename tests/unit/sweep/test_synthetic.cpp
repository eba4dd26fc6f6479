// test_synthetic.cpp -- the Markov source: stationary distribution, exact entropy rate against an
// independent computation and against the empirical conditional entropy of a sample, and the
// corpus file (readable, attributes, tokens inside the alphabet).
#include <gtest/gtest.h>

#include "core/error.h"

#include <cmath>
#include <map>

#include "io/corpus.h"
#include "io/fs_util.h"
#include "io/synthetic_corpus.h"

namespace plinth::io {
namespace {

TEST(Synthetic, StationaryAndEntropyRate) {
  SyntheticOptions o;
  o.symbols = 5, o.order = 2, o.concentration = 0.3, o.seed = 3;
  MarkovSource m(o);
  ASSERT_EQ(m.contexts(), 25);
  // pi P = pi, with context c = (x1, x2) -> (x2, y)
  std::vector<double> next(25, 0.0);
  for (int c = 0; c < 25; ++c)
    for (int y = 0; y < 5; ++y) next[(c * 5) % 25 + y] += m.stationary()[c] * m.row(c)[y];
  double h = 0;
  for (int c = 0; c < 25; ++c) {
    EXPECT_NEAR(next[c], m.stationary()[c], 1e-13);
    for (double p : m.row(c)) h -= m.stationary()[c] * (p > 0 ? p * std::log(p) : 0);
  }
  EXPECT_NEAR(m.entropy_rate(), h, 1e-13);
  EXPECT_GT(h, 0.0);
  EXPECT_LT(h, std::log(5.0));
  // empirical conditional entropy of a long sample (plug-in estimate, 25 x 5 cells)
  const std::vector<int32_t> s = m.sample(99, 2'000'000);
  std::map<int, std::vector<double>> counts;
  for (size_t i = 2; i < s.size(); ++i) {
    auto& v = counts[s[i - 2] * 5 + s[i - 1]];
    v.resize(5);
    v[s[i]] += 1;
  }
  double emp = 0;
  const double total = static_cast<double>(s.size() - 2);
  for (auto& [c, v] : counts) {
    double n = 0;
    for (double x : v) n += x;
    for (double x : v)
      if (x > 0) emp -= x / total * std::log(x / n);
  }
  EXPECT_NEAR(emp, h, 0.01);
}

TEST(Synthetic, TwoStateChainClosedForm) {
  SyntheticOptions o;
  o.symbols = 2, o.order = 1, o.concentration = 1.0, o.seed = 5;
  MarkovSource m(o);
  const double a = m.row(0)[1], b = m.row(1)[0];   // P(0 -> 1), P(1 -> 0)
  const double pi0 = b / (a + b);
  auto hb = [](double p) { return -(p * std::log(p) + (1 - p) * std::log(1 - p)); };
  EXPECT_NEAR(m.stationary()[0], pi0, 1e-13);
  EXPECT_NEAR(m.entropy_rate(), pi0 * hb(a) + (1 - pi0) * hb(b), 1e-13);
}

TEST(Synthetic, CorpusFile) {
  const std::string dir = make_temp_dir("plinth-synthetic-");
  SyntheticOptions o;
  o.symbols = 16, o.order = 1, o.train_tokens = 5000, o.val_tokens = 700, o.output = dir + "/s.h5";
  const SyntheticReport r = synthetic_corpus_write(o);
  Corpus c = Corpus::open(o.output);
  EXPECT_EQ(c.info().vocab_size, 256);
  EXPECT_EQ(c.n_tokens(Split::Train), 5000);
  EXPECT_EQ(c.n_tokens(Split::Val), 700);
  EXPECT_NEAR(corpus_entropy_rate(o.output), r.entropy_rate, 0.0);
  EXPECT_NEAR(r.entropy_rate, MarkovSource(o).entropy_rate(), 0.0);   // seeded: same chain
  for (int32_t t : c.read(Split::Train, 0, 4999)) {
    EXPECT_GE(t, 33);
    EXPECT_LT(t, 33 + 16);
  }
  EXPECT_EQ(c.read(Split::Train, 4999, 1)[0], 0);   // one EOD at the end of the split
  EXPECT_TRUE(list_dir(dir).size() == 1u);          // no temporary file left
  EXPECT_THROW(synthetic_corpus_write(SyntheticOptions{.symbols = 1, .output = dir + "/x.h5"}), Error);
  remove_tree_quietly(dir);
}

}  // namespace
}  // namespace plinth::io
