// test_linear_norm.cpp -- gemm, matmul (linear layer), LayerNorm and RMSNorm.
// Forward kernels (float) are compared with naive double loops written here (tolerance 1e-5
// relative-ish); backward kernels (double) with central finite differences of
// L = sum(out * R) (eps 1e-6, tolerance 1e-6 relative-ish), plus accumulate semantics.
#include "kernel_test_util.h"
#include "kernels/kernels.h"

namespace plinth::kernels::test {
namespace {

// ---- naive references (double) ----

// out (N, OC) = inp (N, C) @ w (OC, C)^T + bias
Vec ref_matmul(const Vec& inp, const Vec& w, const Vec* bias, int64_t N, int64_t C, int64_t OC) {
  Vec out(N * OC);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < OC; ++o) {
      double s = bias ? (*bias)[o] : 0.0;
      for (int64_t c = 0; c < C; ++c) s += inp[n * C + c] * w[o * C + c];
      out[n * OC + o] = s;
    }
  return out;
}

Vec ref_layernorm(const Vec& x, const Vec& w, const Vec& b, int64_t N, int64_t C, double eps, Vec* mean, Vec* rstd) {
  Vec out(N * C);
  for (int64_t n = 0; n < N; ++n) {
    double mu = 0, var = 0;
    for (int64_t c = 0; c < C; ++c) mu += x[n * C + c];
    mu /= C;
    for (int64_t c = 0; c < C; ++c) var += (x[n * C + c] - mu) * (x[n * C + c] - mu);
    const double rs = 1.0 / std::sqrt(var / C + eps);
    for (int64_t c = 0; c < C; ++c) out[n * C + c] = (x[n * C + c] - mu) * rs * w[c] + b[c];
    (*mean)[n] = mu;
    (*rstd)[n] = rs;
  }
  return out;
}

Vec ref_rmsnorm(const Vec& x, const Vec& w, int64_t N, int64_t C, double eps, Vec* rstd) {
  Vec out(N * C);
  for (int64_t n = 0; n < N; ++n) {
    double ss = 0;
    for (int64_t c = 0; c < C; ++c) ss += x[n * C + c] * x[n * C + c];
    const double rs = 1.0 / std::sqrt(ss / C + eps);
    for (int64_t c = 0; c < C; ++c) out[n * C + c] = x[n * C + c] * rs * w[c];
    (*rstd)[n] = rs;
  }
  return out;
}

// ---- gemm ----

TEST(Gemm, AllTransposesStridedAgainstNaive) {
  const int64_t M = 13, N = 11, K = 9, pad = 3;
  for (Trans ta : {Trans::No, Trans::Yes})
    for (Trans tb : {Trans::No, Trans::Yes}) {
      const bool at = ta == Trans::Yes, bt = tb == Trans::Yes;
      const int64_t arows = at ? K : M, acols = at ? M : K, brows = bt ? N : K, bcols = bt ? K : N;
      const int64_t lda = acols + pad, ldb = bcols + pad, ldc = N + pad;
      const Vec a = randn(arows * lda, 1), b = randn(brows * ldb, 2), c0 = randn(M * ldc, 3);
      std::vector<float> c = cast<float>(c0);
      gemm<float>(ta, tb, M, N, K, 0.5f, cast<float>(a).data(), lda, cast<float>(b).data(), ldb, 2.0f, c.data(), ldc);
      Vec want = c0;
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double s = 0;
          for (int64_t kk = 0; kk < K; ++kk)
            s += (at ? a[kk * lda + i] : a[i * lda + kk]) * (bt ? b[j * ldb + kk] : b[kk * ldb + j]);
          want[i * ldc + j] = 0.5 * s + 2.0 * c0[i * ldc + j];
        }
      // Padding columns of c (j >= N) must be untouched: they equal c0 in `want`.
      expect_close(c, want, 1e-5, "gemm ta=" + std::to_string(at) + " tb=" + std::to_string(bt));
    }
}

// ---- matmul ----

TEST(Matmul, ForwardMatchesNaive) {
  const int64_t N = 37, C = 64, OC = 48;
  const Vec x = randn(N * C, 11), w = randn(OC * C, 12, 0.2), b = randn(OC, 13);
  for (bool with_bias : {true, false}) {
    std::vector<float> out(N * OC, 123.0f);  // garbage: forward overwrites
    matmul_forward<float>(out.data(), cast<float>(x).data(), cast<float>(w).data(),
                          with_bias ? cast<float>(b).data() : nullptr, N, C, OC);
    expect_close(out, ref_matmul(x, w, with_bias ? &b : nullptr, N, C, OC), 1e-5, "matmul_forward");
  }
}

TEST(Matmul, BackwardFiniteDifferencesAndAccumulates) {
  const int64_t N = 6, C = 7, OC = 5;
  Vec x = randn(N * C, 21), w = randn(OC * C, 22), b = randn(OC, 23);
  const Vec R = randn(N * OC, 24);
  auto loss = [&] {
    Vec out(N * OC);
    matmul_forward<double>(out.data(), x.data(), w.data(), b.data(), N, C, OC);
    return dot(out, R);
  };
  Vec dx(N * C), dw(OC * C), db(OC);
  matmul_backward<double>(dx.data(), dw.data(), db.data(), R.data(), x.data(), w.data(), N, C, OC);
  check_grad("matmul dinp", x, dx, loss);
  check_grad("matmul dweight", w, dw, loss);
  check_grad("matmul dbias", b, db, loss);
  Vec dx2 = dx, dw2 = dw, db2 = db;
  matmul_backward<double>(dx2.data(), dw2.data(), db2.data(), R.data(), x.data(), w.data(), N, C, OC);
  expect_scaled(dx2, dx, 2.0, "matmul dinp twice");
  expect_scaled(dw2, dw, 2.0, "matmul dweight twice");
  expect_scaled(db2, db, 2.0, "matmul dbias twice");
}

TEST(Matmul, BiasGradientLargeParallel) {
  // Enough columns for several chunks and the parallel path; compare with a plain column sum.
  const int64_t N = 300, C = 4, OC = 333;
  const Vec g = randn(N * OC, 25), x = randn(N * C, 26), w = randn(OC * C, 27);
  set_num_threads(2);
  Vec db(OC, 1.0);
  matmul_backward<double>(nullptr, nullptr, db.data(), g.data(), x.data(), w.data(), N, C, OC);
  set_num_threads(1);
  Vec want(OC, 1.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < OC; ++o) want[o] += g[n * OC + o];
  expect_close(db, want, 1e-12, "matmul dbias (parallel)");
}

// ---- layernorm ----

TEST(LayerNorm, ForwardMatchesNaive) {
  const int64_t N = 19, C = 96;
  const Vec x = randn(N * C, 31, 2.0), w = randn(C, 32), b = randn(C, 33);
  Vec mean(N), rstd(N);
  const Vec want = ref_layernorm(x, w, b, N, C, 1e-5, &mean, &rstd);
  std::vector<float> out(N * C), m(N), r(N);
  layernorm_forward<float>(out.data(), m.data(), r.data(), cast<float>(x).data(), cast<float>(w).data(),
                           cast<float>(b).data(), N, C, 1e-5f);
  expect_close(out, want, 1e-5, "layernorm out");
  expect_close(m, mean, 1e-5, "layernorm mean");
  expect_close(r, rstd, 1e-5, "layernorm rstd");
}

TEST(LayerNorm, BackwardFiniteDifferencesAndAccumulates) {
  const int64_t N = 5, C = 9;
  Vec x = randn(N * C, 41), w = randn(C, 42), b = randn(C, 43);
  const Vec R = randn(N * C, 44);
  Vec out(N * C), mean(N), rstd(N);
  auto loss = [&] {
    layernorm_forward<double>(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C, 1e-5);
    return dot(out, R);
  };
  loss();
  Vec dx(N * C), dw(C), db(C);
  layernorm_backward<double>(dx.data(), dw.data(), db.data(), R.data(), x.data(), w.data(), mean.data(),
                             rstd.data(), N, C);
  const Vec mean0 = mean, rstd0 = rstd;
  check_grad("layernorm dinp", x, dx, loss);
  check_grad("layernorm dweight", w, dw, loss);
  check_grad("layernorm dbias", b, db, loss);
  Vec dx2 = dx, dw2 = dw, db2 = db;
  layernorm_backward<double>(dx2.data(), dw2.data(), db2.data(), R.data(), x.data(), w.data(), mean0.data(),
                             rstd0.data(), N, C);
  expect_scaled(dx2, dx, 2.0, "layernorm dinp twice");
  expect_scaled(dw2, dw, 2.0, "layernorm dweight twice");
  expect_scaled(db2, db, 2.0, "layernorm dbias twice");
}

// ---- rmsnorm ----

TEST(RmsNorm, ForwardMatchesNaive) {
  const int64_t N = 23, C = 80;
  const Vec x = randn(N * C, 51, 3.0), w = randn(C, 52);
  Vec rstd(N);
  const Vec want = ref_rmsnorm(x, w, N, C, 1e-6, &rstd);
  std::vector<float> out(N * C), r(N);
  rmsnorm_forward<float>(out.data(), r.data(), cast<float>(x).data(), cast<float>(w).data(), N, C, 1e-6f);
  expect_close(out, want, 1e-5, "rmsnorm out");
  expect_close(r, rstd, 1e-5, "rmsnorm rstd");
}

TEST(RmsNorm, BackwardFiniteDifferencesAndAccumulates) {
  const int64_t N = 5, C = 11;
  Vec x = randn(N * C, 61), w = randn(C, 62);
  const Vec R = randn(N * C, 63);
  Vec out(N * C), rstd(N);
  auto loss = [&] {
    rmsnorm_forward<double>(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-6);
    return dot(out, R);
  };
  loss();
  const Vec rstd0 = rstd;
  Vec dx(N * C), dw(C);
  rmsnorm_backward<double>(dx.data(), dw.data(), R.data(), x.data(), w.data(), rstd0.data(), N, C);
  check_grad("rmsnorm dinp", x, dx, loss);
  check_grad("rmsnorm dweight", w, dw, loss);
  Vec dx2 = dx, dw2 = dw;
  rmsnorm_backward<double>(dx2.data(), dw2.data(), R.data(), x.data(), w.data(), rstd0.data(), N, C);
  expect_scaled(dx2, dx, 2.0, "rmsnorm dinp twice");
  expect_scaled(dw2, dw, 2.0, "rmsnorm dweight twice");
}

TEST(Norms, ParamGradsIndependentOfThreadCount) {
  // Large enough for the parallel paths; column sums are done in row order, so bitwise equal.
  const int64_t N = 256, C = 200;
  const Vec x = randn(N * C, 71), w = randn(C, 72), b = randn(C, 73), g = randn(N * C, 74);
  auto run = [&](int threads) {
    set_num_threads(threads);
    Vec out(N * C), mean(N), rstd(N), dx(N * C), dw(C), db(C);
    layernorm_forward<double>(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C, 1e-5);
    layernorm_backward<double>(dx.data(), dw.data(), db.data(), g.data(), x.data(), w.data(), mean.data(),
                               rstd.data(), N, C);
    set_num_threads(1);
    Vec all = out;
    all.insert(all.end(), dx.begin(), dx.end());
    all.insert(all.end(), dw.begin(), dw.end());
    all.insert(all.end(), db.begin(), db.end());
    return all;
  };
  EXPECT_EQ(run(1), run(2));
}

}  // namespace
}  // namespace plinth::kernels::test
