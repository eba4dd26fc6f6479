// test_backend_ops_loss.cpp -- embeddings (incl. vocabulary-parallel), cross-entropy and its vocabulary-parallel pieces, loss means, sums of squares and AdamW on every backend under test.
// Part of the conformance harness of device::Backend (tolerances, references: backend_ops_util.h).
#include "backend_ops_util.h"

namespace plinth::device::ops_test {
namespace {

// ======================================================================================
// embeddings
// ======================================================================================

TEST_P(BackendOps, EmbeddingForwardBackward) {
  int seed = 0;
  const int64_t V = 50;
  for (int64_t N : {1, 3, 37})
    for (int64_t C : {1, 5, 48}) {
      ++seed;
      const std::string s = shape({{"N", N}, {"C", C}, {"V", V}});
      const FVec wte = randf(V * C, 20000 + seed);
      IVec tok = randi(N, 20100 + seed, 0, int32_t(V - 1));
      if (N > 2) tok[2] = tok[0];   // a repeated token: its gradients add up
      if (N > 1) tok[N - 1] = int32_t(V - 1);
      DeviceBuffer<float> dw = dev(wte), out = dev(randf(N * C, 20200 + seed));
      DeviceBuffer<int32_t> dt = dev(tok);
      be().embedding_forward(out.data(), dt.data(), dw.data(), N, C);
      Vec want(N * C);
      k::embedding_forward<double>(want.data(), tok.data(), D(wte).data(), N, C);
      expect_close(host(out), want, kTol.exact, ctx("embedding_forward", s));
      const FVec dout = randf(N * C, 20300 + seed), g0 = randf(V * C, 20400 + seed);
      DeviceBuffer<float> ddo = dev(dout), g = dev(g0);
      be().embedding_backward(g.data(), ddo.data(), dt.data(), N, C);
      Vec wg = D(g0);
      k::embedding_backward<double>(wg.data(), D(dout).data(), tok.data(), N, C);
      expect_close(host(g), wg, kTol.f32_elem, ctx("embedding_backward", s));
    }
}

TEST_P(BackendOps, PositionalForwardBackward) {
  int seed = 0;
  for (int64_t B : {1, 2})
    for (int64_t T : {1, 13})
      for (int64_t C : {1, 5, 48})
        for (int64_t pos : {0, 3}) {
          ++seed;
          const std::string s = shape({{"B", B}, {"T", T}, {"C", C}, {"pos_offset", pos}});
          const int64_t maxT = pos + T + 2;   // wpe rows beyond the window stay untouched
          const FVec wpe = randf(maxT * C, 21000 + seed), out0 = randf(B * T * C, 21100 + seed);
          DeviceBuffer<float> dw = dev(wpe), out = dev(out0);
          be().positional_forward(out.data(), dw.data(), B, T, C, pos);
          Vec want = D(out0);
          k::positional_forward<double>(want.data(), D(wpe).data(), B, T, C, pos);
          expect_close(host(out), want, kTol.f32_elem, ctx("positional_forward (accumulating)", s));
          const FVec dout = randf(B * T * C, 21200 + seed), g0 = randf(maxT * C, 21300 + seed);
          DeviceBuffer<float> ddo = dev(dout), g = dev(g0);
          be().positional_backward(g.data(), ddo.data(), B, T, C, pos);
          Vec wg = D(g0);
          k::positional_backward<double>(wg.data(), D(dout).data(), B, T, C, pos);
          expect_close(host(g), wg, kTol.f32_elem, ctx("positional_backward", s));
        }
}

// The vocabulary [0, Vp) split into ranges [begin, begin + local), the last one padded.
using Ranges = std::vector<std::pair<int64_t, int64_t>>;
std::vector<Ranges> vocab_splits(int64_t Vp) {
  std::vector<Ranges> out;
  out.push_back({{0, Vp}});
  const int64_t h = Vp / 2;
  out.push_back({{0, h}, {h, Vp - h}});
  const int64_t a = Vp / 3, b = (2 * Vp) / 3 + 1;
  out.push_back({{0, a}, {a, b - a}, {b, Vp - b}});
  return out;
}

std::string ranges_name(const Ranges& r) {
  std::string s = "ranges=";
  for (const auto& [b, l] : r) s += "[" + std::to_string(b) + "," + std::to_string(b + l) + ")";
  return s;
}

TEST_P(BackendOps, VocabEmbeddingForwardBackward) {
  int seed = 0;
  for (int64_t V : {50, 67})
    for (int64_t C : {1, 5, 48})
      for (int64_t N : {1, 3, 37}) {
        ++seed;
        const int64_t Vp = (V + 15) / 16 * 16;
        const FVec wte = randf(Vp * C, 22000 + seed), dout = randf(N * C, 22100 + seed);
        IVec tok = randi(N, 22200 + seed, 0, int32_t(V - 1));
        if (N > 2) tok[2] = tok[0];
        DeviceBuffer<int32_t> dt = dev(tok);
        DeviceBuffer<float> ddo = dev(dout);
        for (const Ranges& split : vocab_splits(Vp)) {
          Vec sum_out(N * C, 0.0);
          for (const auto& [vb, vl] : split) {
            const std::string s = shape({{"N", N}, {"C", C}, {"V", V}, {"v_begin", vb}, {"v_local", vl}});
            const FVec local(wte.begin() + vb * C, wte.begin() + (vb + vl) * C);
            DeviceBuffer<float> dw = dev(local), out = dev(randf(N * C, 22300 + seed));
            be().vocab_embedding_forward(out.data(), dt.data(), dw.data(), N, C, vb, vl);
            Vec want(N * C, 0.0);
            for (int64_t n = 0; n < N; ++n)
              if (tok[n] >= vb && tok[n] < vb + vl)
                for (int64_t c = 0; c < C; ++c) want[n * C + c] = double(local[(tok[n] - vb) * C + c]);
            const FVec got = host(out);
            expect_close(got, want, kTol.exact, ctx("vocab_embedding_forward", s));
            for (size_t i = 0; i < got.size(); ++i) sum_out[i] += got[i];
            const FVec g0 = randf(vl * C, 22400 + seed);
            DeviceBuffer<float> g = dev(g0);
            be().vocab_embedding_backward(g.data(), ddo.data(), dt.data(), N, C, vb, vl);
            Vec wg = D(g0);
            for (int64_t n = 0; n < N; ++n)
              if (tok[n] >= vb && tok[n] < vb + vl)
                for (int64_t c = 0; c < C; ++c) wg[(tok[n] - vb) * C + c] += double(dout[n * C + c]);
            expect_close(host(g), wg, kTol.f32_elem, ctx("vocab_embedding_backward", s));
          }
          // the all-reduce (sum) of the pieces is the whole embedding
          Vec full(N * C);
          k::embedding_forward<double>(full.data(), tok.data(), D(wte).data(), N, C);
          expect_close(sum_out, full, kTol.exact,
                       ctx("vocab_embedding_forward summed over ranges", shape({{"N", N}, {"C", C}, {"V", V}}) + " " +
                                                                           ranges_name(split)));
        }
      }
}

// ======================================================================================
// cross-entropy and the loss
// ======================================================================================

// naive double references (logits (N, Vp), the first V real)
Vec ref_ce_forward(const Vec& logits, const IVec& tgt, int64_t N, int64_t V, int64_t Vp) {
  Vec out(N, 0.0);
  for (int64_t n = 0; n < N; ++n) {
    if (tgt[n] < 0) continue;
    const double* l = logits.data() + n * Vp;
    double mx = -INFINITY, s = 0;
    for (int64_t j = 0; j < V; ++j) mx = std::max(mx, l[j]);
    for (int64_t j = 0; j < V; ++j) s += std::exp(l[j] - mx);
    out[n] = mx + std::log(s) - l[tgt[n]];
  }
  return out;
}
Vec ref_ce_backward(const Vec& logits, const IVec& tgt, const Vec& dloss, int64_t N, int64_t V, int64_t Vp) {
  Vec d(N * Vp, 0.0);
  for (int64_t n = 0; n < N; ++n) {
    if (tgt[n] < 0) continue;
    const double* l = logits.data() + n * Vp;
    double mx = -INFINITY, s = 0;
    for (int64_t j = 0; j < V; ++j) mx = std::max(mx, l[j]);
    for (int64_t j = 0; j < V; ++j) s += std::exp(l[j] - mx);
    for (int64_t j = 0; j < V; ++j) d[n * Vp + j] = dloss[n] * std::exp(l[j] - mx) / s;
    d[n * Vp + tgt[n]] -= dloss[n];
  }
  return d;
}

struct CeShape { int64_t N, V, Vp; };
const CeShape kCeShapes[] = {{1, 50, 64}, {3, 67, 128}, {37, 257, 320}, {13, 64, 64}};

// logits with padding columns holding large values (a backend that lets padding into the
// softmax gets them wrong) and targets with ignored (-1) rows, the first and last real column
void ce_inputs(const CeShape& c, uint64_t seed, FVec& logits, IVec& tgt, FVec& dloss) {
  logits = randf(c.N * c.Vp, seed, 2.0);
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t j = c.V; j < c.Vp; ++j) logits[n * c.Vp + j] = 1e4f;
  tgt = randi(c.N, seed + 1, 0, int32_t(c.V - 1));
  if (c.N > 1) tgt[1] = -1;
  if (c.N > 2) tgt[2] = int32_t(c.V - 1);
  if (c.N > 3) tgt[3] = 0;
  for (int64_t n = 7; n < c.N; n += 5) tgt[n] = -1;
  dloss = uniformf(c.N, seed + 2, 0.1, 1.5);
}

TEST(ReferenceCheck, NaiveCrossEntropyBackwardIsTheGradientOfTheForward) {
  // the naive double references used below, against central finite differences
  const CeShape c{5, 11, 16};
  FVec lf, df;
  IVec tgt;
  ce_inputs(c, 99, lf, tgt, df);
  Vec l = D(lf);
  const Vec dl = D(df);
  const Vec g = ref_ce_backward(l, tgt, dl, c.N, c.V, c.Vp);
  auto loss = [&] {
    const Vec ls = ref_ce_forward(l, tgt, c.N, c.V, c.Vp);
    double s = 0;
    for (int64_t n = 0; n < c.N; ++n) s += dl[n] * ls[n];
    return s;
  };
  for (size_t i = 0; i < l.size(); ++i) {
    const double o = l[i], eps = 1e-6;
    l[i] = o + eps;
    const double lp = loss();
    l[i] = o - eps;
    const double lm = loss();
    l[i] = o;
    EXPECT_NEAR((lp - lm) / (2 * eps), g[i], 1e-6) << "naive cross-entropy reference, element " << i;
  }
}

TEST_P(BackendOps, CrossentropyForwardBackward) {
  int seed = 0;
  for (const CeShape c : kCeShapes) {
    ++seed;
    const std::string s = shape({{"N", c.N}, {"V", c.V}, {"Vp", c.Vp}});
    FVec logits, dloss;
    IVec tgt;
    ce_inputs(c, 23000 + 10 * seed, logits, tgt, dloss);
    DeviceBuffer<float> dl = dev(logits), losses = dev(randf(c.N, 23100 + seed)), dd = dev(dloss);
    DeviceBuffer<int32_t> dt = dev(tgt);
    be().crossentropy_forward(losses.data(), dl.data(), dt.data(), c.N, c.V, c.Vp);
    const Vec ld = D(logits);
    Vec want(c.N);
    k::crossentropy_forward<double>(want.data(), ld.data(), tgt.data(), c.N, c.V, c.Vp);
    expect_close(host(losses), want, kTol.f32_red, ctx("crossentropy_forward", s));
    expect_close(host(losses), ref_ce_forward(ld, tgt, c.N, c.V, c.Vp), kTol.f32_red,
                 ctx("crossentropy_forward (naive reference)", s));
    // backward WRITES: dlogits starts as garbage; padding and ignored rows must come out 0
    DeviceBuffer<float> g = dev(randf(c.N * c.Vp, 23200 + seed, 5.0));
    be().crossentropy_backward(g.data(), dl.data(), dt.data(), dd.data(), c.N, c.V, c.Vp);
    Vec wg(c.N * c.Vp);
    k::crossentropy_backward<double>(wg.data(), ld.data(), tgt.data(), D(dloss).data(), c.N, c.V, c.Vp);
    expect_close(host(g), wg, kTol.f32_red, ctx("crossentropy_backward", s));
    // in place: dlogits aliases logits
    DeviceBuffer<float> alias = dev(logits);
    be().crossentropy_backward(alias.data(), alias.data(), dt.data(), dd.data(), c.N, c.V, c.Vp);
    expect_close(host(alias), wg, kTol.f32_red, ctx("crossentropy_backward (dlogits aliases logits)", s));
  }
}

TEST_P(BackendOps, VocabParallelCrossEntropyEqualsUnsplit) {
  int seed = 0;
  for (const CeShape c : kCeShapes) {
    ++seed;
    FVec logits, dloss;
    IVec tgt;
    ce_inputs(c, 24000 + 10 * seed, logits, tgt, dloss);
    const Vec ld = D(logits);
    const Vec want_loss = ref_ce_forward(ld, tgt, c.N, c.V, c.Vp);
    const Vec want_grad = ref_ce_backward(ld, tgt, D(dloss), c.N, c.V, c.Vp);
    DeviceBuffer<int32_t> dt = dev(tgt);
    DeviceBuffer<float> dd = dev(dloss);
    std::vector<Ranges> splits = vocab_splits(c.Vp);
    if (c.Vp - c.V >= 8)   // the last range holds padding only
      splits.push_back({{0, c.V - 3}, {c.V - 3, 5}, {c.V + 2, c.Vp - c.V - 2}});
    for (const Ranges& split : splits) {
      const std::string s = shape({{"N", c.N}, {"V", c.V}, {"Vp", c.Vp}}) + " " + ranges_name(split);
      // each rank's local logits
      std::vector<DeviceBuffer<float>> local;
      std::vector<FVec> local_host;
      for (const auto& [vb, vl] : split) {
        FVec lh(c.N * vl);
        for (int64_t n = 0; n < c.N; ++n)
          std::copy(logits.begin() + n * c.Vp + vb, logits.begin() + n * c.Vp + vb + vl, lh.begin() + n * vl);
        local.push_back(dev(lh));
        local_host.push_back(lh);
      }
      // 1. row_max per range; the "all-reduce" (max) on the host
      FVec gmax(c.N, -INFINITY);
      for (size_t r = 0; r < split.size(); ++r) {
        const auto [vb, vl] = split[r];
        DeviceBuffer<float> rm = dev_zero<float>(c.N);
        be().vocab_ce_row_max(rm.data(), local[r].data(), c.N, vb, vl, c.V);
        const FVec got = host(rm, c.N);
        Vec want(c.N, -INFINITY);
        for (int64_t n = 0; n < c.N; ++n)
          for (int64_t j = vb; j < std::min(vb + vl, c.V); ++j) want[n] = std::max(want[n], ld[n * c.Vp + j]);
        expect_close(got, want, kTol.exact, ctx("vocab_ce_row_max", s + " range " + std::to_string(r)));
        for (int64_t n = 0; n < c.N; ++n) gmax[n] = std::max(gmax[n], got[n]);
      }
      // 2. row_sums against the global max; the "all-reduce" (sum) on the host
      DeviceBuffer<float> dmax = dev(gmax);
      std::vector<double> gsums(2 * c.N, 0.0);
      for (size_t r = 0; r < split.size(); ++r) {
        const auto [vb, vl] = split[r];
        DeviceBuffer<double> sums = dev_zero<double>(2 * c.N);
        be().vocab_ce_row_sums(sums.data(), local[r].data(), dmax.data(), dt.data(), c.N, vb, vl, c.V);
        const Vec got = host(sums, 2 * c.N);
        Vec want(2 * c.N, 0.0);
        for (int64_t n = 0; n < c.N; ++n) {
          for (int64_t j = vb; j < std::min(vb + vl, c.V); ++j) want[2 * n] += std::exp(ld[n * c.Vp + j] - gmax[n]);
          if (tgt[n] >= vb && tgt[n] < vb + vl) want[2 * n + 1] = ld[n * c.Vp + tgt[n]];
        }
        expect_close(got, want, kTol.f64_sums, ctx("vocab_ce_row_sums", s + " range " + std::to_string(r)));
        for (int64_t i = 0; i < 2 * c.N; ++i) gsums[i] += got[i];
      }
      // 3. finish: the losses equal the unsplit cross-entropy
      DeviceBuffer<double> dsums = dev(gsums);
      DeviceBuffer<float> losses = dev(randf(c.N, 24100 + seed)), stats = dev_zero<float>(2 * c.N);
      be().vocab_ce_finish(losses.data(), stats.data(), dmax.data(), dsums.data(), dt.data(), c.N);
      expect_close(host(losses), want_loss, kTol.f32_red, ctx("vocab_ce_finish losses vs unsplit cross-entropy", s));
      const FVec st = host(stats);
      Vec want_stats(2 * c.N);
      for (int64_t n = 0; n < c.N; ++n) {
        double mx = -INFINITY, se = 0;
        for (int64_t j = 0; j < c.V; ++j) mx = std::max(mx, ld[n * c.Vp + j]);
        for (int64_t j = 0; j < c.V; ++j) se += std::exp(ld[n * c.Vp + j] - mx);
        want_stats[2 * n] = mx;
        want_stats[2 * n + 1] = se;
      }
      expect_close(st, want_stats, kTol.f32_red, ctx("vocab_ce_finish stats (max, sum-exp)", s));
      // 4. backward per range (writes; garbage first), concatenated = the unsplit gradient
      DeviceBuffer<float> dstats = dev(st);
      for (size_t r = 0; r < split.size(); ++r) {
        const auto [vb, vl] = split[r];
        DeviceBuffer<float> g = dev(randf(c.N * vl, 24200 + r, 5.0));
        be().vocab_ce_backward(g.data(), local[r].data(), dstats.data(), dt.data(), dd.data(), c.N, vb, vl, c.V);
        Vec want(c.N * vl);
        for (int64_t n = 0; n < c.N; ++n)
          for (int64_t j = 0; j < vl; ++j) want[n * vl + j] = want_grad[n * c.Vp + vb + j];
        expect_close(host(g), want, kTol.f32_red,
                     ctx("vocab_ce_backward vs unsplit gradient", s + " range " + std::to_string(r)));
        // in place
        be().vocab_ce_backward(local[r].data(), local[r].data(), dstats.data(), dt.data(), dd.data(), c.N, vb, vl,
                               c.V);
        expect_close(host(local[r]), want, kTol.f32_red,
                     ctx("vocab_ce_backward (dlogits aliases logits)", s + " range " + std::to_string(r)));
      }
    }
  }
}

TEST_P(BackendOps, LossMean) {
  int seed = 0;
  for (int64_t N : {1, 3, 37, 1000})
    for (int ignore : {0, 1, 2}) {   // none ignored, some ignored, all ignored
      ++seed;
      const std::string s =
          shape({{"N", N}}) + (ignore == 0 ? " none ignored" : ignore == 1 ? " some ignored" : " all ignored");
      const FVec losses = uniformf(N, 25000 + seed, 0.0, 11.0);
      IVec tgt = randi(N, 25100 + seed, 0, 49);
      if (ignore == 1)
        for (int64_t n = 1; n < N; n += 3) tgt[n] = -1;
      if (ignore == 2) std::fill(tgt.begin(), tgt.end(), -1);
      DeviceBuffer<float> dl = dev(losses), out = dev(FVec{7.0f});
      DeviceBuffer<int32_t> dt = dev(tgt);
      be().loss_mean(out.data(), dl.data(), dt.data(), N);
      double sum = 0;
      int64_t cnt = 0;
      for (int64_t n = 0; n < N; ++n)
        if (tgt[n] >= 0) sum += losses[n], ++cnt;
      expect_close(host(out, 1), Vec{cnt ? sum / double(cnt) : 0.0}, kTol.f32_red, ctx("loss_mean", s));
    }
}

TEST_P(BackendOps, RowLossMeans) {
  int seed = 0;
  for (auto [rows, T] : {std::pair<int64_t, int64_t>{1, 1}, {3, 13}, {5, 1}, {4, 37}}) {
    ++seed;
    const std::string s = shape({{"rows", rows}, {"T", T}});
    const FVec losses = uniformf(rows * T, 26000 + seed, 0.0, 11.0);
    IVec tgt = randi(rows * T, 26100 + seed, 0, 49);
    for (int64_t i = 2; i < rows * T; i += 4) tgt[i] = -1;
    if (rows > 1)
      for (int64_t t = 0; t < T; ++t) tgt[1 * T + t] = -1;   // a row with nothing to average: 0
    DeviceBuffer<float> dl = dev(losses);
    DeviceBuffer<int32_t> dt = dev(tgt);
    DeviceBuffer<double> out = dev(Vec(rows, 7.0));
    be().row_loss_means(out.data(), dl.data(), dt.data(), rows, T);
    Vec want(rows);
    for (int64_t r = 0; r < rows; ++r) {
      double sum = 0;
      int64_t cnt = 0;
      for (int64_t t = 0; t < T; ++t)
        if (tgt[r * T + t] >= 0) sum += losses[r * T + t], ++cnt;
      want[r] = cnt ? sum / double(cnt) : 0.0;
    }
    expect_close(host(out), want, kTol.f64_sums, ctx("row_loss_means", s));
  }
}

// ======================================================================================
// reductions and the optimizer
// ======================================================================================

TEST_P(BackendOps, SumSquaresOverRanges) {
  const int64_t n = 5000;
  const FVec x = randf(n, 27000, 3.0);
  DeviceBuffer<float> dx = dev(x);
  const std::vector<std::vector<FlatRange>> cases = {
      {}, {{0, 1}}, {{0, n}}, {{0, 3}, {10, 37}, {37, 37} /* empty */, {100, 1100}}, {{4000, 5000}, {0, 5}, {7, 8}}};
  for (const auto& ranges : cases) {
    std::string s = "ranges=";
    for (const FlatRange& r : ranges) s += "[" + std::to_string(r.begin) + "," + std::to_string(r.end) + ")";
    DeviceBuffer<double> out = dev(Vec{-1.0});
    be().sum_squares(out.data(), dx.data(), ranges);
    double want = 0;
    for (const FlatRange& r : ranges)
      for (int64_t i = r.begin; i < r.end; ++i) want += double(x[i]) * double(x[i]);
    expect_close(host(out), Vec{want}, kTol.f64_sums, ctx("sum_squares", s));
  }
}

TEST_P(BackendOps, AdamwOverSegments) {
  const int64_t np = 160, ns = 90;
  // segments with different weight decay, state offsets not equal to begin, a gap [42, 100)
  // and [137, 150), [151, 160) in params that no segment covers, moments [80, 90) unused
  const std::vector<AdamWSegment> segs = {
      {0, 5, 0, 0.1f}, {5, 42, 42, 0.0f}, {100, 137, 5, 0.01f}, {150, 151, 79, 0.5f}};
  const std::string s = "np=160 ns=90 segments=[0,5)@0 wd=0.1 [5,42)@42 wd=0 [100,137)@5 wd=0.01 [150,151)@79 wd=0.5";
  FVec p = randf(np, 28000), m = randf(ns, 28001, 0.1), v = uniformf(ns, 28002, 0.0, 0.02);
  Vec pd = D(p), md = D(m), vd = D(v);
  DeviceBuffer<float> dp = dev(p), dm = dev(m), dv = dev(v);
  for (int64_t step = 1; step <= 3; ++step) {
    const FVec g = randf(np, 28100 + step);
    DeviceBuffer<float> dg = dev(g);
    AdamWHyper h;
    h.lr = 1e-2f;
    h.beta1 = 0.9f;
    h.beta2 = 0.95f;
    h.eps = 1e-8f;
    h.step = step;
    h.grad_scale = step == 2 ? 0.7f : 1.0f;
    be().adamw(dp.data(), dg.data(), dm.data(), dv.data(), segs, h);
    // naive double AdamW (decoupled weight decay), state carried in double
    const double b1 = h.beta1, b2 = h.beta2;
    const double bc1 = 1.0 - std::pow(b1, double(step)), bc2 = 1.0 - std::pow(b2, double(step));
    for (const AdamWSegment& sg : segs)
      for (int64_t i = sg.begin; i < sg.end; ++i) {
        const int64_t j = sg.state_offset + (i - sg.begin);
        const double gi = double(g[i]) * double(h.grad_scale);
        md[j] = b1 * md[j] + (1 - b1) * gi;
        vd[j] = b2 * vd[j] + (1 - b2) * gi * gi;
        pd[i] -= double(h.lr) * ((md[j] / bc1) / (std::sqrt(vd[j] / bc2) + double(h.eps)) +
                                 double(sg.weight_decay) * pd[i]);
      }
    const std::string st = s + " step=" + std::to_string(step);
    expect_close(host(dp), pd, kTol.f32_elem, ctx("adamw params", st));
    expect_close(host(dm), md, kTol.f32_elem, ctx("adamw m", st));
    expect_close(host(dv), vd, kTol.f32_elem, ctx("adamw v", st));
  }
}



}  // namespace
}  // namespace plinth::device::ops_test
