// test_window_epochs.cpp -- epochs over non-overlapping windows (issue 15): the seeded window
// permutation is a bijection for every size, orders differ per epoch and seed, blended corpora
// each cycle through their windows, and a restored or rewound index gives the same samples.
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "train/sample_index.h"
#include "train/window_permutation.h"

using namespace plinth;
using namespace plinth::train;

namespace {

BlendSpec one_corpus(int64_t n_windows, int64_t seq_len, uint64_t seed) {
  BlendSpec s;
  s.weights = {1.0};
  s.train_tokens = {n_windows * seq_len + 1};
  s.seq_len = seq_len;
  s.seed = seed;
  return s;
}

BlendSpec spec3() {
  BlendSpec s;
  s.weights = blend_weights_normalise({1.0, 2.0, 1.0}, 3);
  s.train_tokens = {1000, 5000, 300};   // 62, 312 and 18 windows of 16 + 1 tokens
  s.seq_len = 16;
  s.seed = 42;
  return s;
}

int same_positions(const std::vector<SampleRef>& a, const std::vector<SampleRef>& b) {
  int same = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) same += a[i].corpus == b[i].corpus && a[i].start == b[i].start;
  return same;
}

TEST(WindowPermutation, IsABijectionForEverySize) {
  for (uint64_t n : {1, 2, 3, 4, 5, 7, 8, 16, 31, 97, 100, 1000, 4097, 65537}) {
    for (uint64_t key : {0ull, 1ull, 0x9e3779b97f4a7c15ull}) {
      WindowPermutation p(n, key);
      std::vector<int> seen(n, 0);
      for (uint64_t i = 0; i < n; ++i) {
        const uint64_t v = p(i);
        ASSERT_LT(v, n);
        ++seen[v];
      }
      for (uint64_t v = 0; v < n; ++v) ASSERT_EQ(seen[v], 1) << "n " << n << " key " << key << " value " << v;
    }
  }
}

TEST(WindowPermutation, HugeDomainsNeedNoTable) {
  const uint64_t n = 1'000'000'000'003ull;   // a 10^12-window corpus: O(1) per query, nothing materialised
  WindowPermutation p(n, 5);
  std::set<uint64_t> values;
  for (uint64_t i = 0; i < 2000; ++i) {
    const uint64_t v = p(i * 7919);
    ASSERT_LT(v, n);
    values.insert(v);
  }
  EXPECT_EQ(values.size(), 2000u);
}

TEST(WindowPermutation, KeysGiveDifferentOrders) {
  WindowPermutation a(1000, window_permutation_key(1, 0, 0)), b(1000, window_permutation_key(1, 0, 1)),
      c(1000, window_permutation_key(2, 0, 0)), d(1000, window_permutation_key(1, 1, 0));
  int ab = 0, ac = 0, ad = 0, fixed = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    ab += a(i) == b(i);
    ac += a(i) == c(i);
    ad += a(i) == d(i);
    fixed += a(i) == i;
  }
  EXPECT_LT(ab, 20);     // a random pair agrees at ~1 position
  EXPECT_LT(ac, 20);
  EXPECT_LT(ad, 20);
  EXPECT_LT(fixed, 20);  // not the identity
}

TEST(SampleIndex, EveryEpochIsAPermutationInANewOrder) {
  for (int64_t n : {1, 2, 5, 17, 64, 100}) {
    SampleIndex idx(one_corpus(n, 8, 3));
    auto refs = idx.samples(0, 3 * n);
    std::vector<std::vector<SampleRef>> epochs(3);
    for (int64_t e = 0; e < 3; ++e) {
      std::vector<int> seen(static_cast<size_t>(n), 0);
      for (int64_t i = 0; i < n; ++i) {
        const SampleRef& r = refs[static_cast<size_t>(e * n + i)];
        ASSERT_EQ(r.start % 8, 0);
        ++seen[static_cast<size_t>(r.start / 8)];
        epochs[static_cast<size_t>(e)].push_back(r);
      }
      for (int64_t w = 0; w < n; ++w) ASSERT_EQ(seen[static_cast<size_t>(w)], 1) << "n " << n << " epoch " << e;
    }
    if (n >= 64) {
      EXPECT_LT(same_positions(epochs[0], epochs[1]), n / 5) << n;
      EXPECT_LT(same_positions(epochs[1], epochs[2]), n / 5) << n;
    }
    EXPECT_EQ(idx.epochs(3 * n)[0], 3);
    EXPECT_EQ(idx.epochs(3 * n - 1)[0], 2);
  }
}

TEST(SampleIndex, SeedsGiveDifferentOrders) {
  SampleIndex a(one_corpus(500, 4, 1)), b(one_corpus(500, 4, 2));
  EXPECT_LT(same_positions(a.samples(0, 500), b.samples(0, 500)), 50);
}

TEST(SampleIndex, BlendedCorporaEachCycleThroughTheirWindows) {
  SampleIndex idx(spec3());
  auto refs = idx.samples(0, 4000);   // 1000 / 2000 / 1000 samples: 16, 6 and 55 epochs
  std::vector<std::vector<int64_t>> starts(3);
  for (const auto& r : refs) starts[static_cast<size_t>(r.corpus)].push_back(r.start);
  EXPECT_EQ(starts[0].size(), 1000u);
  EXPECT_EQ(starts[1].size(), 2000u);
  EXPECT_EQ(starts[2].size(), 1000u);
  for (int32_t c = 0; c < 3; ++c) {
    const int64_t n = idx.windows(c);
    EXPECT_EQ(n, (idx.spec().train_tokens[static_cast<size_t>(c)] - 1) / 16);
    const auto& s = starts[static_cast<size_t>(c)];
    for (size_t e = 0; (e + 1) * static_cast<size_t>(n) <= s.size(); ++e) {
      std::set<int64_t> one(s.begin() + static_cast<long>(e * n), s.begin() + static_cast<long>((e + 1) * n));
      ASSERT_EQ(one.size(), static_cast<size_t>(n)) << "corpus " << c << " epoch " << e;
      ASSERT_EQ(*one.rbegin() + 17, (n - 1) * 16 + 17);   // the last window is in the set and fits
    }
  }
}

TEST(SampleIndex, RestoredAndRewoundIndexesGiveTheSameSamples) {
  SampleIndex whole(spec3());
  const auto all = whole.samples(0, 20000);
  // a resume: the state at 12345 set from the stored counts, no replay
  SampleIndex resumed(spec3());
  resumed.restore(12345, whole.consumed_per_corpus(12345));
  auto after = resumed.samples(12345, 500);
  for (size_t i = 0; i < after.size(); ++i) {
    ASSERT_EQ(after[i].corpus, all[12345 + i].corpus) << i;
    ASSERT_EQ(after[i].start, all[12345 + i].start) << i;
  }
  // jumps forward, rewinds behind the restored state and across anchors
  for (int64_t g : {19999, 3, 8192, 4095, 4096, 12344, 12345, 15000, 0, 19000, 100}) {
    auto one = resumed.samples(g, 1);
    EXPECT_EQ(one[0].corpus, all[static_cast<size_t>(g)].corpus) << g;
    EXPECT_EQ(one[0].start, all[static_cast<size_t>(g)].start) << g;
    std::vector<int64_t> expect(3, 0);
    for (int64_t i = 0; i < g; ++i) ++expect[static_cast<size_t>(all[static_cast<size_t>(i)].corpus)];
    EXPECT_EQ(resumed.consumed_per_corpus(g), expect) << g;
  }
}

TEST(SampleIndex, RestoreRefusesCountsThatDoNotFit) {
  SampleIndex idx(spec3());
  EXPECT_THROW(idx.restore(10, {3, 3, 3}), Error);      // sum 9
  EXPECT_THROW(idx.restore(10, {5, 5}), Error);         // two corpora
  EXPECT_THROW(idx.restore(10, {-1, 6, 5}), Error);
  EXPECT_NO_THROW(idx.restore(10, {3, 5, 2}));
}

}  // namespace
