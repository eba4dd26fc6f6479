// test_backend_ops_elementwise.cpp -- elementwise operations, bf16 casts, RoPE and attention on every backend under test.
// Part of the conformance harness of device::Backend (tolerances, references: backend_ops_util.h).
#include "backend_ops_util.h"

namespace plinth::device::ops_test {
namespace {

// ======================================================================================
// elementwise
// ======================================================================================

const int64_t kElemSizes[] = {1, 3, 37, 1000, 4099, 40000};   // 40000: the threaded path

TEST_P(BackendOps, GeluForwardBackward) {
  for (int64_t n : kElemSizes) {
    const std::string s = shape({{"n", n}});
    const FVec x = randf(n, 12000 + n, 3.0), dout = randf(n, 12100 + n), g0 = randf(n, 12200 + n);
    DeviceBuffer<float> dx = dev(x), out = dev_zero<float>(n), ddo = dev(dout), g = dev(g0);
    be().gelu_forward(out.data(), dx.data(), n);
    Vec want(n);
    k::gelu_forward<double>(want.data(), D(x).data(), n);
    expect_close(host(out, n), want, kTol.f32_elem, ctx("gelu_forward", s));
    be().gelu_backward(g.data(), dx.data(), ddo.data(), n);
    Vec wg = D(g0);
    k::gelu_backward<double>(wg.data(), D(x).data(), D(dout).data(), n);
    expect_close(host(g), wg, kTol.f32_elem, ctx("gelu_backward (accumulating)", s));
  }
}

TEST_P(BackendOps, SwigluForwardBackward) {
  for (int64_t n : kElemSizes) {
    const std::string s = shape({{"n", n}});
    const FVec gate = randf(n, 13000 + n, 3.0), up = randf(n, 13100 + n), dout = randf(n, 13200 + n);
    const FVec dg0 = randf(n, 13300 + n), du0 = randf(n, 13400 + n);
    DeviceBuffer<float> dgate = dev(gate), dup = dev(up), out = dev_zero<float>(n), ddo = dev(dout);
    DeviceBuffer<float> gg = dev(dg0), gu = dev(du0);
    be().swiglu_forward(out.data(), dgate.data(), dup.data(), n);
    Vec want(n);
    k::swiglu_forward<double>(want.data(), D(gate).data(), D(up).data(), n);
    expect_close(host(out, n), want, kTol.f32_elem, ctx("swiglu_forward", s));
    be().swiglu_backward(gg.data(), gu.data(), ddo.data(), dgate.data(), dup.data(), n);
    Vec wgg = D(dg0), wgu = D(du0);
    k::swiglu_backward<double>(wgg.data(), wgu.data(), D(dout).data(), D(gate).data(), D(up).data(), n);
    expect_close(host(gg), wgg, kTol.f32_elem, ctx("swiglu_backward dgate (accumulating)", s));
    expect_close(host(gu), wgu, kTol.f32_elem, ctx("swiglu_backward dup (accumulating)", s));
  }
}

TEST_P(BackendOps, AddIncludingAliasing) {
  for (int64_t n : kElemSizes) {
    const std::string s = shape({{"n", n}});
    const FVec a = randf(n, 14000 + n), b = randf(n, 14100 + n);
    Vec want(n);
    for (int64_t i = 0; i < n; ++i) want[i] = double(a[i]) + double(b[i]);
    {
      DeviceBuffer<float> da = dev(a), db = dev(b), out = dev_zero<float>(n);
      be().add(out.data(), da.data(), db.data(), n);
      expect_close(host(out, n), want, kTol.f32_elem, ctx("add", s));
    }
    {
      DeviceBuffer<float> da = dev(a), db = dev(b);
      be().add(da.data(), da.data(), db.data(), n);   // out == a
      expect_close(host(da, n), want, kTol.f32_elem, ctx("add (out aliases a)", s));
    }
    {
      DeviceBuffer<float> da = dev(a), db = dev(b);
      be().add(db.data(), da.data(), db.data(), n);   // out == b
      expect_close(host(db, n), want, kTol.f32_elem, ctx("add (out aliases b)", s));
    }
    {
      DeviceBuffer<float> da = dev(a);
      be().add(da.data(), da.data(), da.data(), n);   // out == a == b
      Vec w2(n);
      for (int64_t i = 0; i < n; ++i) w2[i] = 2.0 * double(a[i]);
      expect_close(host(da, n), w2, kTol.f32_elem, ctx("add (out == a == b)", s));
    }
  }
}

TEST_P(BackendOps, AxpyAndScale) {
  for (int64_t n : kElemSizes) {
    const std::string s = shape({{"n", n}});
    const FVec x = randf(n, 15000 + n), y0 = randf(n, 15100 + n);
    for (float alpha : {-0.3f, 1.0f, 0.0f}) {
      DeviceBuffer<float> dx = dev(x), dy = dev(y0);
      be().axpy(dy.data(), dx.data(), alpha, n);
      Vec want = D(y0);
      k::axpy<double>(want.data(), D(x).data(), double(alpha), n);
      expect_close(host(dy, n), want, kTol.f32_elem, ctx("axpy", s + " alpha=" + std::to_string(alpha)));
    }
    for (float sc : {0.37f, -2.0f, 0.0f}) {
      DeviceBuffer<float> dx = dev(x);
      be().scale(dx.data(), sc, n);
      Vec want = D(x);
      k::scale<double>(want.data(), double(sc), n);
      expect_close(host(dx, n), want, kTol.f32_elem, ctx("scale", s + " s=" + std::to_string(sc)));
    }
  }
}

TEST_P(BackendOps, AddBiasRows) {
  int seed = 0;
  for (int64_t rows : {1, 3, 37})
    for (int64_t C : {1, 5, 48, 67}) {
      ++seed;
      const std::string s = shape({{"rows", rows}, {"C", C}});
      const FVec x = randf(rows * C + 4, 16000 + seed), bias = randf(C, 16100 + seed);
      DeviceBuffer<float> dx = dev(x), db = dev(bias);
      be().add_bias_rows(dx.data(), db.data(), rows, C);
      Vec want = D(x);   // the 4 values past the last row stay
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < C; ++c) want[r * C + c] += double(bias[c]);
      expect_close(host(dx), want, kTol.f32_elem, ctx("add_bias_rows", s));
    }
}

// ---- bf16 casts: against an independent round-to-nearest-even ----
uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
bool bf16_is_nan(uint16_t h) { return (h & 0x7f80u) == 0x7f80u && (h & 0x007fu) != 0; }

// The bf16 nearest to f (ties to the even mantissa), by comparing distances in double: the two
// candidates are f truncated to bf16 and the next bf16 away from zero (past the largest finite
// value that is infinity, at distance as if it were 2^128). NaN is handled by the caller.
uint16_t reference_bf16(float f) {
  const uint32_t u = bits(f);
  const uint32_t sign = u & 0x80000000u, mag = u & 0x7fffffffu;
  if (mag >= 0x7f800000u) return uint16_t((u >> 16));   // +-inf (NaN not asked)
  const uint32_t lo = mag >> 16, hi = lo + 1;
  const double x = double(from_bits(mag));
  const double vlo = double(from_bits(lo << 16));
  const double vhi = hi == 0x7f80u ? std::ldexp(1.0, 128) : double(from_bits(hi << 16));
  const double dlo = x - vlo, dhi = vhi - x;
  uint32_t pick;
  if (dlo < dhi) pick = lo;
  else if (dhi < dlo) pick = hi;
  else pick = (lo & 1u) ? hi : lo;
  return uint16_t((sign >> 16) | pick);
}

TEST_P(BackendOps, CastF32ToBf16RoundsToNearestEven) {
  std::vector<float> x;
  for (uint32_t u : {0x00000000u, 0x80000000u, 0x3f800000u, 0x3f808000u /* tie, even below: down */,
                     0x3f818000u /* tie, odd below: up */, 0x3f808001u /* just above tie: up */,
                     0x3f807fffu /* just below tie: down */, 0xbf808000u, 0xbf818000u, 0xbf808001u,
                     0x7f7fffffu /* max float: rounds to inf */, 0x7f7f7fffu /* stays finite */,
                     0x7f7f8000u /* tie at the top: up to inf */, 0xff7fffffu, 0x7f800000u /* inf */,
                     0xff800000u /* -inf */, 0x00000001u /* smallest subnormal */, 0x00008000u, 0x00018000u,
                     0x807fffffu, 0x00800000u, 0x3fffffffu, 0x4effffffu, 0x0000ffffu})
    x.push_back(from_bits(u));
  const FVec r = randf(3000, 17000, 10.0);
  x.insert(x.end(), r.begin(), r.end());
  std::mt19937 gen(17001);
  for (int i = 0; i < 2000; ++i) {   // random bit patterns (every exponent), NaNs excluded here
    uint32_t u = gen();
    if ((u & 0x7f800000u) == 0x7f800000u) u &= 0xbfffffffu;
    x.push_back(from_bits(u));
  }
  for (int i = 0; i < 500; ++i) {   // exact ties with random upper halves
    const uint32_t u = (gen() & 0xffff0000u & ~0x40000000u) | 0x8000u;
    x.push_back(from_bits(u));
  }
  const int64_t n = int64_t(x.size());
  DeviceBuffer<float> dx = dev(x);
  DeviceBuffer<uint16_t> dh = dev_zero<uint16_t>(n);
  be().cast(dh.data(), DType::BF16, dx.data(), DType::F32, n);
  const std::vector<uint16_t> got = host(dh, n);
  int bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t want = reference_bf16(x[i]);
    if (got[i] != want && ++bad <= 5)
      ADD_FAILURE() << ctx("cast f32->bf16", shape({{"n", n}})) << ": element " << i << " f32 bits 0x" << std::hex
                    << bits(x[i]) << " got bf16 0x" << got[i] << " want 0x" << want << std::dec;
  }
  EXPECT_EQ(bad, 0) << ctx("cast f32->bf16", shape({{"n", n}})) << ": " << bad
                    << " elements not rounded to nearest even";
}

TEST_P(BackendOps, CastNaNStaysNaN) {
  std::vector<float> x;
  for (uint32_t u : {0x7fc00000u, 0xffc00000u, 0x7f800001u /* signalling, low bits only */, 0xff800001u,
                     0x7f80ffffu, 0x7fffffffu, 0xffffffffu, 0x7f810000u})
    x.push_back(from_bits(u));
  const int64_t n = int64_t(x.size());
  DeviceBuffer<float> dx = dev(x);
  DeviceBuffer<uint16_t> dh = dev_zero<uint16_t>(n);
  be().cast(dh.data(), DType::BF16, dx.data(), DType::F32, n);
  const std::vector<uint16_t> got = host(dh, n);
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_TRUE(bf16_is_nan(got[i])) << ctx("cast f32->bf16 NaN", shape({{"n", n}})) << ": f32 0x" << std::hex
                                     << bits(x[i]) << " -> bf16 0x" << got[i] << " is not NaN" << std::dec;
    EXPECT_EQ(got[i] & 0x8000u, (bits(x[i]) >> 16) & 0x8000u) << ctx("cast f32->bf16 NaN", "") << ": sign";
  }
}

TEST_P(BackendOps, CastBf16RoundTripsExactly) {
  // every bf16 value -> f32 (exact: the upper half) -> bf16 (the same value; NaN stays NaN)
  const int64_t n = 65536;
  std::vector<uint16_t> h(n);
  for (int64_t i = 0; i < n; ++i) h[i] = uint16_t(i);
  DeviceBuffer<uint16_t> dh = dev(h), dh2 = dev_zero<uint16_t>(n);
  DeviceBuffer<float> df = dev_zero<float>(n);
  be().cast(df.data(), DType::F32, dh.data(), DType::BF16, n);
  const FVec f = host(df, n);
  int bad = 0;
  for (int64_t i = 0; i < n; ++i)
    if (bits(f[i]) != (uint32_t(h[i]) << 16) && !(bf16_is_nan(h[i]) && std::isnan(f[i])) && ++bad <= 5)
      ADD_FAILURE() << ctx("cast bf16->f32", shape({{"n", n}})) << ": bf16 0x" << std::hex << h[i] << " -> f32 0x"
                    << bits(f[i]) << std::dec;
  EXPECT_EQ(bad, 0) << ctx("cast bf16->f32", shape({{"n", n}}));
  be().cast(dh2.data(), DType::BF16, df.data(), DType::F32, n);
  const std::vector<uint16_t> back = host(dh2, n);
  bad = 0;
  for (int64_t i = 0; i < n; ++i)
    if (back[i] != h[i] && !(bf16_is_nan(h[i]) && bf16_is_nan(back[i])) && ++bad <= 5)
      ADD_FAILURE() << ctx("cast bf16->f32->bf16", shape({{"n", n}})) << ": 0x" << std::hex << h[i] << " -> 0x"
                    << back[i] << std::dec;
  EXPECT_EQ(bad, 0) << ctx("cast bf16->f32->bf16 round trip", shape({{"n", n}}));
  // same-type casts are copies
  for (int64_t m : {1, 3, 37}) {
    const FVec x = randf(m, 17500 + m);
    DeviceBuffer<float> a = dev(x), b = dev_zero<float>(m);
    be().cast(b.data(), DType::F32, a.data(), DType::F32, m);
    expect_close(host(b, m), x, kTol.exact, ctx("cast f32->f32", shape({{"n", m}})));
    std::vector<uint16_t> hx(h.begin() + 1000, h.begin() + 1000 + m);
    DeviceBuffer<uint16_t> c = dev(hx), d = dev_zero<uint16_t>(m);
    be().cast(d.data(), DType::BF16, c.data(), DType::BF16, m);
    EXPECT_EQ(host(d, m), hx) << ctx("cast bf16->bf16", shape({{"n", m}}));
  }
}

// ======================================================================================
// position, attention
// ======================================================================================

TEST_P(BackendOps, RopeForwardBackward) {
  int seed = 0;
  struct S { int64_t B, T, H, HS, pos; };
  for (const S r : {S{1, 1, 1, 2, 0}, S{2, 13, 3, 8, 0}, S{1, 13, 2, 16, 5}, S{3, 1, 4, 6, 37}}) {
    ++seed;
    const std::string s = shape({{"B", r.B}, {"T", r.T}, {"H", r.H}, {"HS", r.HS}, {"pos_offset", r.pos}});
    const double theta = 10000.0;
    const size_t n = r.B * r.T * r.H * r.HS;
    const FVec x = randf(n, 18000 + seed);
    DeviceBuffer<float> dx = dev(x);
    be().rope_forward(dx.data(), r.B, r.T, r.H, r.HS, theta, r.pos);
    Vec want = D(x);
    k::rope_forward<double>(want.data(), r.B, r.T, r.H, r.HS, theta, r.pos);
    expect_close(host(dx), want, kTol.f32_elem, ctx("rope_forward", s));
    const FVec g = randf(n, 18100 + seed);
    DeviceBuffer<float> dg = dev(g);
    be().rope_backward(dg.data(), r.B, r.T, r.H, r.HS, theta, r.pos);
    Vec wg = D(g);
    k::rope_backward<double>(wg.data(), r.B, r.T, r.H, r.HS, theta, r.pos);
    expect_close(host(dg), wg, kTol.f32_elem, ctx("rope_backward", s));
  }
}

TEST_P(BackendOps, AttentionForwardBackward) {
  int seed = 0;
  struct S { int64_t B, T, NH, NKV, HS; };
  for (const S a : {S{1, 1, 1, 1, 4}, S{2, 13, 4, 2, 8} /* GQA */, S{1, 13, 3, 3, 5}, S{2, 1, 6, 2, 8},
                    S{1, 70, 2, 1, 8} /* MQA, crosses a 64-row block */}) {
    ++seed;
    const std::string s = shape({{"B", a.B}, {"T", a.T}, {"NH", a.NH}, {"NKV", a.NKV}, {"HS", a.HS}});
    const size_t nq = a.B * a.T * a.NH * a.HS, nkv = a.B * a.T * a.NKV * a.HS, nl = a.B * a.NH * a.T;
    const FVec q = randf(nq, 19000 + seed), kk = randf(nkv, 19100 + seed), v = randf(nkv, 19200 + seed);
    DeviceBuffer<float> dq = dev(q), dk = dev(kk), dv = dev(v);
    DeviceBuffer<float> out = dev_zero<float>(nq), lse = dev_zero<float>(nl);
    be().attention_forward(out.data(), lse.data(), dq.data(), dk.data(), dv.data(), a.B, a.T, a.NH, a.NKV, a.HS);
    Vec wout(nq), wlse(nl);
    const Vec qd = D(q), kd = D(kk), vd = D(v);
    k::attention_forward<double>(wout.data(), wlse.data(), qd.data(), kd.data(), vd.data(), a.B, a.T, a.NH, a.NKV,
                                 a.HS);
    expect_close(host(out, nq), wout, kTol.f32_red, ctx("attention_forward out", s));
    expect_close(host(lse, nl), wlse, kTol.f32_red, ctx("attention_forward lse", s));
    // backward from the reference's out and lse (as float), accumulating into non-zero grads
    const FVec fout = F(wout), flse = F(wlse), dout = randf(nq, 19300 + seed);
    const FVec gq0 = randf(nq, 19400 + seed), gk0 = randf(nkv, 19500 + seed), gv0 = randf(nkv, 19600 + seed);
    DeviceBuffer<float> dfo = dev(fout), dfl = dev(flse), ddo = dev(dout);
    DeviceBuffer<float> gq = dev(gq0), gk = dev(gk0), gv = dev(gv0);
    be().attention_backward(gq.data(), gk.data(), gv.data(), ddo.data(), dq.data(), dk.data(), dv.data(), dfo.data(),
                            dfl.data(), a.B, a.T, a.NH, a.NKV, a.HS);
    Vec wgq = D(gq0), wgk = D(gk0), wgv = D(gv0);
    k::attention_backward<double>(wgq.data(), wgk.data(), wgv.data(), D(dout).data(), qd.data(), kd.data(), vd.data(),
                                  D(fout).data(), D(flse).data(), a.B, a.T, a.NH, a.NKV, a.HS);
    expect_close(host(gq), wgq, kTol.f32_red, ctx("attention_backward dq", s));
    expect_close(host(gk), wgk, kTol.f32_red, ctx("attention_backward dk", s));
    expect_close(host(gv), wgv, kTol.f32_red, ctx("attention_backward dv", s));
  }
}


}  // namespace
}  // namespace plinth::device::ops_test
