// test_embedding_ce.cpp -- token / positional embeddings and softmax cross-entropy with a
// padded vocabulary (Vp > V) and ignored targets (-1). Float forwards against double loops,
// double backwards against central finite differences (eps 1e-6, tolerance 1e-6).
#include <limits>

#include "kernel_test_util.h"
#include "kernels/kernels.h"

namespace plinth::kernels::test {
namespace {

TEST(Embedding, ForwardGathersRows) {
  const int64_t V = 11, C = 130, N = 40;
  const Vec wte = randn(V * C, 1);
  std::vector<int32_t> tok(N);
  for (int64_t n = 0; n < N; ++n) tok[n] = int32_t((n * 7) % V);
  std::vector<float> out(N * C);
  embedding_forward<float>(out.data(), tok.data(), cast<float>(wte).data(), N, C);
  Vec want(N * C);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) want[n * C + c] = double(float(wte[tok[n] * C + c]));
  expect_close(out, want, 0.0, "embedding_forward");
  tok[3] = -2;
  EXPECT_THROW(embedding_forward<float>(out.data(), tok.data(), cast<float>(wte).data(), N, C), std::exception);
}

TEST(Embedding, BackwardFiniteDifferencesRepeatedTokens) {
  const int64_t V = 6, C = 5, N = 9;
  const std::vector<int32_t> tok{0, 3, 3, 5, 1, 3, 0, 2, 5};  // repeats must add up
  Vec wte = randn(V * C, 2);
  const Vec R = randn(N * C, 3);
  auto loss = [&] {
    Vec out(N * C);
    embedding_forward<double>(out.data(), tok.data(), wte.data(), N, C);
    return dot(out, R);
  };
  Vec dw(V * C);
  embedding_backward<double>(dw.data(), R.data(), tok.data(), N, C);
  check_grad("embedding dwte", wte, dw, loss);
  Vec dw2 = dw;
  embedding_backward<double>(dw2.data(), R.data(), tok.data(), N, C);
  expect_scaled(dw2, dw, 2.0, "embedding dwte twice");
}

TEST(Embedding, BackwardParallelMatchesSerial) {
  const int64_t V = 50, C = 300, N = 512;
  std::vector<int32_t> tok(N);
  for (int64_t n = 0; n < N; ++n) tok[n] = int32_t((n * n) % V);
  const Vec g = randn(N * C, 4);
  Vec want(V * C);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) want[tok[n] * C + c] += g[n * C + c];
  set_num_threads(2);
  Vec dw(V * C);
  embedding_backward<double>(dw.data(), g.data(), tok.data(), N, C);
  set_num_threads(1);
  expect_close(dw, want, 0.0, "embedding_backward parallel");
}

TEST(Positional, ForwardAndBackwardWithOffset) {
  const int64_t B = 3, T = 7, C = 6, off = 4, maxT = off + T + 2;
  Vec wpe = randn(maxT * C, 5);
  const Vec x = randn(B * T * C, 6);
  std::vector<float> out = cast<float>(x);
  positional_forward<float>(out.data(), cast<float>(wpe).data(), B, T, C, off);
  Vec want(B * T * C);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < C; ++c) want[(b * T + t) * C + c] = x[(b * T + t) * C + c] + wpe[(off + t) * C + c];
  expect_close(out, want, 1e-6, "positional_forward");

  const Vec R = randn(B * T * C, 7);
  auto loss = [&] {
    Vec y = x;
    positional_forward<double>(y.data(), wpe.data(), B, T, C, off);
    return dot(y, R);
  };
  Vec dwpe(maxT * C);
  positional_backward<double>(dwpe.data(), R.data(), B, T, C, off);
  check_grad("positional dwpe", wpe, dwpe, loss);  // rows outside [off, off+T) must stay 0
  Vec d2 = dwpe;
  positional_backward<double>(d2.data(), R.data(), B, T, C, off);
  expect_scaled(d2, dwpe, 2.0, "positional dwpe twice");
}

// ---- cross-entropy ----

// losses (N) over logits (N, Vp), first V columns real
Vec ref_crossentropy(const Vec& logits, const std::vector<int32_t>& tgt, int64_t N, int64_t V, int64_t Vp) {
  Vec losses(N, 0.0);
  for (int64_t n = 0; n < N; ++n) {
    if (tgt[n] < 0) continue;
    double mx = -1e300, sum = 0;
    for (int64_t i = 0; i < V; ++i) mx = std::max(mx, logits[n * Vp + i]);
    for (int64_t i = 0; i < V; ++i) sum += std::exp(logits[n * Vp + i] - mx);
    losses[n] = mx + std::log(sum) - logits[n * Vp + tgt[n]];
  }
  return losses;
}

TEST(CrossEntropy, ForwardMatchesNaive) {
  const int64_t N = 9, V = 1000, Vp = 1024;
  const Vec logits = randn(N * Vp, 10, 4.0);
  std::vector<int32_t> tgt{0, 999, 5, -1, 123, 777, 1, 998, 500};
  std::vector<float> losses(N, 9.0f);
  crossentropy_forward<float>(losses.data(), cast<float>(logits).data(), tgt.data(), N, V, Vp);
  expect_close(losses, ref_crossentropy(logits, tgt, N, V, Vp), 1e-5, "crossentropy_forward");
  EXPECT_EQ(losses[3], 0.0f);
  tgt[0] = int32_t(V);  // a padding column is not a valid target
  EXPECT_THROW(crossentropy_forward<float>(losses.data(), cast<float>(logits).data(), tgt.data(), N, V, Vp),
               std::exception);
}

TEST(CrossEntropy, LargeVocabularyFloat) {
  const int64_t N = 8, V = 50257, Vp = 50304;
  const Vec logits = randn(N * Vp, 11, 3.0);
  std::vector<int32_t> tgt{0, 50256, 17, 3000, -1, 42, 40000, 1};
  set_num_threads(2);
  std::vector<float> losses(N);
  crossentropy_forward<float>(losses.data(), cast<float>(logits).data(), tgt.data(), N, V, Vp);
  std::vector<float> d = cast<float>(logits);
  const std::vector<float> dl(N, 0.5f);
  crossentropy_backward<float>(d.data(), d.data(), tgt.data(), dl.data(), N, V, Vp);  // in place
  set_num_threads(1);
  expect_close(losses, ref_crossentropy(logits, tgt, N, V, Vp), 1e-5, "crossentropy_forward V=50257");
  Vec dd(N * Vp);
  crossentropy_backward<double>(dd.data(), logits.data(), tgt.data(), Vec(N, 0.5).data(), N, V, Vp);
  expect_close(d, dd, 1e-6, "crossentropy_backward float in place vs double");
}

TEST(CrossEntropy, PaddingColumnsNeverWin) {
  const int64_t N = 4, V = 10, Vp = 16;
  const Vec base = randn(N * V, 12);
  Vec padded(N * Vp);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < Vp; ++i) padded[n * Vp + i] = i < V ? base[n * V + i] : 1e30;  // huge garbage
  const std::vector<int32_t> tgt{3, 9, -1, 0};
  Vec l_unpadded(N), l_padded(N);
  crossentropy_forward<double>(l_unpadded.data(), base.data(), tgt.data(), N, V, V);
  crossentropy_forward<double>(l_padded.data(), padded.data(), tgt.data(), N, V, Vp);
  expect_close(l_padded, l_unpadded, 1e-15, "padded loss == unpadded loss");
  Vec d(N * Vp, 5.0);
  crossentropy_backward<double>(d.data(), padded.data(), tgt.data(), Vec(N, 1.0).data(), N, V, Vp);
  for (int64_t n = 0; n < N; ++n) {
    double row = 0;
    for (int64_t i = 0; i < Vp; ++i) {
      if (i >= V || tgt[n] < 0) {
        EXPECT_EQ(d[n * Vp + i], 0.0) << n << "," << i;
      }
      row += d[n * Vp + i];
    }
    EXPECT_NEAR(row, 0.0, 1e-12);  // softmax - onehot sums to zero
  }
}

TEST(CrossEntropy, BackwardFiniteDifferencesPaddedIgnored) {
  const int64_t N = 5, V = 7, Vp = 9;
  Vec logits = randn(N * Vp, 13, 2.0);
  const std::vector<int32_t> tgt{2, -1, 6, 0, 3};
  const Vec dl = randn(N, 14);
  auto loss = [&] {
    Vec l(N);
    crossentropy_forward<double>(l.data(), logits.data(), tgt.data(), N, V, Vp);
    return dot(l, dl);
  };
  Vec d(N * Vp, 3.0);  // writes, so the initial garbage must vanish
  crossentropy_backward<double>(d.data(), logits.data(), tgt.data(), dl.data(), N, V, Vp);
  check_grad("crossentropy dlogits", logits, d, loss);
  for (int64_t i = 0; i < Vp; ++i) EXPECT_EQ(d[1 * Vp + i], 0.0);  // the ignored row
  Vec aliased = logits;
  crossentropy_backward<double>(aliased.data(), aliased.data(), tgt.data(), dl.data(), N, V, Vp);
  expect_close(aliased, d, 1e-15, "crossentropy_backward aliased");
}

}  // namespace
}  // namespace plinth::kernels::test
