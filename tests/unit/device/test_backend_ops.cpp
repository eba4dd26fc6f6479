// test_backend_ops.cpp -- conformance of every device::Backend operation (after ggml's
// test-backend-ops): each backend under test computes in float on device buffers (inputs in by
// copy_to_device, results out by copy_to_host; device pointers are never dereferenced), and the
// result is compared with a CPU DOUBLE-precision reference on the same inputs (float values
// widened to double): kernels::<op><double> where the kernel is templated, a naive double loop
// in these files for the float-only ops (vocab-parallel cross-entropy and embedding, loss
// reductions, casts, AdamW, sum_squares, add_bias_rows, the memory operations). Backwards are
// checked against the double kernel's backward, and the naive references of the float-only
// cross-entropy pieces are themselves checked against finite differences.
//
// Backends: the CPU backend always; every other kind make_backend() can build (CUDA where a
// usable GPU exists; elsewhere make_backend(cuda) throws Error(Config) and it is skipped).
// PLINTH_TEST_BACKENDS selects: unset or "all" = every available backend; "gpu" = every
// available non-CPU backend; otherwise a comma list of kinds ("cpu", "cuda"). When the
// selection leaves no backend the binary prints SKIP and exits 77 (ctest: skipped); the ctest
// test_backend_ops_cuda runs it with PLINTH_TEST_BACKENDS=gpu.
// This file: the backends under test and main; memory and queue, linear algebra and
// normalisation. test_backend_ops_elementwise.cpp: elementwise, casts, RoPE, attention;
// test_backend_ops_loss.cpp: embeddings, cross-entropy and the loss, reductions, AdamW.
// Tolerances and the shared helpers: backend_ops_util.h.
#include "backend_ops_util.h"

namespace plinth::device::ops_test {

std::vector<BackendEntry>& registry() {
  static std::vector<BackendEntry> r;
  return r;
}

namespace {

bool selected(const std::string& sel, const std::string& name, bool is_cpu) {
  if (sel.empty() || sel == "all") return true;
  if (sel == "gpu") return !is_cpu;
  std::stringstream ss(sel);
  std::string item;
  while (std::getline(ss, item, ','))
    if (item == name) return true;
  return false;
}

// The backends to test: always the CPU backend, plus every other kind that make_backend builds.
void build_registry() {
  const char* env = std::getenv("PLINTH_TEST_BACKENDS");
  const std::string sel = env ? env : "";
  auto& r = registry();
  if (selected(sel, "cpu", true)) r.push_back({"cpu", &cpu_backend(), nullptr});
  for (DeviceKind kind : {DeviceKind::Cuda}) {
    const std::string name = device_kind_name(kind);
    if (!selected(sel, name, false)) continue;
    try {
      std::unique_ptr<Backend> be = make_backend(kind);
      Backend* raw = be.get();
      r.push_back({name, raw, std::move(be)});
    } catch (const Error& e) {
      std::printf("note: backend %s not available, not tested: %s\n", name.c_str(), e.what());
    }
  }
}

std::vector<std::string> backend_names() {
  std::vector<std::string> names;
  for (const auto& e : registry()) names.push_back(e.name);
  return names;
}

// ---- host data ----
using Vec = std::vector<double>;

// ======================================================================================
// memory and the queue
// ======================================================================================

TEST_P(BackendOps, InfoNamesTheBackend) {
  const DeviceInfo info = be().info();
  EXPECT_FALSE(info.name.empty()) << ctx("info", "");
  EXPECT_EQ(device_kind_name(be().kind()), GetParam()) << ctx("kind", "");
  EXPECT_GE(info.threads, 1) << ctx("info", "");
}

TEST_P(BackendOps, AllocateZeroFills) {
  for (size_t bytes : {size_t(1), size_t(3), size_t(37 * 4), size_t(4099), size_t(1 << 20)}) {
    // dirty memory first, so that a recycled block has to be zeroed again
    {
      DeviceBuffer<uint8_t> dirty(be(), bytes);
      std::vector<uint8_t> ff(bytes, 0xAB);
      be().copy_to_device(dirty.data(), ff.data(), bytes);
    }
    DeviceBuffer<uint8_t> b(be(), bytes);
    std::vector<uint8_t> got(bytes, 0x5A);
    be().copy_to_host(got.data(), b.data(), bytes);
    const std::string s = shape({{"bytes", int64_t(bytes)}});
    EXPECT_EQ(std::count(got.begin(), got.end(), uint8_t(0)), int64_t(bytes)) << ctx("allocate", s) << ": not zeroed";
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 64, 0u) << ctx("allocate", s) << ": not 64-byte aligned";
    HostBuffer<uint8_t> h(be(), bytes);
    EXPECT_EQ(std::count(h.data(), h.data() + bytes, uint8_t(0)), int64_t(bytes)) << ctx("allocate_host", s);
  }
  DeviceBuffer<float> z(be(), 37);
  be().copy_to_device(z.data(), randf(37, 1).data(), 37 * sizeof(float));
  z.zero();
  expect_close(host(z), FVec(37, 0.0f), kTol.exact, ctx("DeviceBuffer::zero", "n=37"));
}

TEST_P(BackendOps, CopyRoundTrips) {
  for (int64_t n : {1, 3, 37, 1025}) {
    const std::string s = shape({{"n", n}});
    const FVec x = randf(n, 100 + n);
    // host -> device -> host
    DeviceBuffer<float> a = dev(x);
    expect_close(host(a), x, kTol.exact, ctx("copy_to_device/copy_to_host", s));
    // into the middle of a larger buffer: the rest untouched
    const FVec big0 = randf(n + 10, 200 + n);
    DeviceBuffer<float> big = dev(big0);
    be().copy_to_device(big.data() + 5, x.data(), n * sizeof(float));
    FVec want = big0;
    std::copy(x.begin(), x.end(), want.begin() + 5);
    expect_close(host(big), want, kTol.exact, ctx("copy_to_device at offset 5", s));
    // out of the middle
    FVec part(n);
    be().copy_to_host(part.data(), big.data() + 5, n * sizeof(float));
    expect_close(part, x, kTol.exact, ctx("copy_to_host from offset 5", s));
    // device -> device, at offsets
    DeviceBuffer<float> c = dev(big0);
    be().copy(c.data() + 3, a.data(), n * sizeof(float));
    want = big0;
    std::copy(x.begin(), x.end(), want.begin() + 3);
    expect_close(host(c), want, kTol.exact, ctx("copy", s));
    // odd byte counts
    std::vector<uint8_t> bytes(n * 4 + 3);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(i * 37 + n);
    DeviceBuffer<uint8_t> db = dev(bytes), dc = dev_zero<uint8_t>(bytes.size());
    be().copy(dc.data(), db.data(), bytes.size());
    EXPECT_EQ(host(dc), bytes) << ctx("copy (bytes)", shape({{"bytes", int64_t(bytes.size())}}));
  }
  be().synchronize();
}

TEST_P(BackendOps, Copy2d) {
  struct Case { size_t rows, width, src_pitch, dst_pitch; };
  for (const Case c : {Case{1, 4, 4, 4}, Case{5, 12, 20, 28}, Case{7, 3, 3, 5}, Case{13, 40, 64, 40}}) {
    const std::string s = shape({{"rows", int64_t(c.rows)}, {"width", int64_t(c.width)},
                                 {"src_pitch", int64_t(c.src_pitch)}, {"dst_pitch", int64_t(c.dst_pitch)}});
    std::vector<uint8_t> src(c.rows * c.src_pitch), dst0(c.rows * c.dst_pitch);
    for (size_t i = 0; i < src.size(); ++i) src[i] = uint8_t(i * 13 + 1);
    for (size_t i = 0; i < dst0.size(); ++i) dst0[i] = uint8_t(0xC0 + i % 7);
    DeviceBuffer<uint8_t> ds = dev(src), dd = dev(dst0);
    be().copy_2d(dd.data(), c.dst_pitch, ds.data(), c.src_pitch, c.width, c.rows);
    std::vector<uint8_t> want = dst0;
    for (size_t r = 0; r < c.rows; ++r)
      std::memcpy(want.data() + r * c.dst_pitch, src.data() + r * c.src_pitch, c.width);
    EXPECT_EQ(host(dd), want) << ctx("copy_2d", s);
  }
}

TEST_P(BackendOps, ZeroAndFill) {
  for (int64_t n : {1, 3, 37, 1000}) {
    const std::string s = shape({{"n", n}});
    const FVec x0 = randf(n + 8, 300 + n);
    DeviceBuffer<float> a = dev(x0);
    be().zero(a.data() + 4, n * sizeof(float));
    FVec want = x0;
    std::fill(want.begin() + 4, want.begin() + 4 + n, 0.0f);
    expect_close(host(a), want, kTol.exact, ctx("zero at offset 4", s));
    for (float value : {1.5f, -0.0f, 3e-39f /* subnormal */}) {
      DeviceBuffer<float> b = dev(x0);
      be().fill(b.data() + 3, value, n);
      want = x0;
      std::fill(want.begin() + 3, want.begin() + 3 + n, value);
      const FVec got = host(b);
      EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0)
          << ctx("fill at offset 3", s + " value=" + std::to_string(value)) << ": not bit-exact";
    }
  }
  be().synchronize();
}

// ======================================================================================
// linear algebra
// ======================================================================================

struct GemmShape { int64_t M, N, K; };
const GemmShape kGemmShapes[] = {{1, 1, 1}, {3, 5, 7}, {37, 13, 48}, {1, 67, 5}};

const char* tname(Trans t) { return t == Trans::Yes ? "T" : "N"; }
k::Trans kt(Trans t) { return t == Trans::Yes ? k::Trans::Yes : k::Trans::No; }

TEST_P(BackendOps, GemmAllTransposesAndLeadingDims) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  int seed = 0;
  for (const GemmShape g : kGemmShapes)
    for (Trans ta : {Trans::No, Trans::Yes})
      for (Trans tb : {Trans::No, Trans::Yes})
        for (float beta : {0.0f, -0.5f}) {
          ++seed;
          const int64_t a_rows = ta == Trans::Yes ? g.K : g.M, a_cols = ta == Trans::Yes ? g.M : g.K;
          const int64_t b_rows = tb == Trans::Yes ? g.N : g.K, b_cols = tb == Trans::Yes ? g.K : g.N;
          const int64_t lda = a_cols + 3, ldb = b_cols + 1, ldc = g.N + 2;
          const std::string s = std::string("ta=") + tname(ta) + " tb=" + tname(tb) + " " +
                                shape({{"M", g.M}, {"N", g.N}, {"K", g.K}, {"lda", lda}, {"ldb", ldb}, {"ldc", ldc}}) +
                                " beta=" + std::to_string(beta);
          FVec a = randf(a_rows * lda, 1000 + seed), b = randf(b_rows * ldb, 2000 + seed);
          FVec c = randf(g.M * ldc, 3000 + seed);
          // padding of a and b: NaN (must never be read); of c: must stay untouched
          for (int64_t r = 0; r < a_rows; ++r)
            for (int64_t j = a_cols; j < lda; ++j) a[r * lda + j] = nan;
          for (int64_t r = 0; r < b_rows; ++r)
            for (int64_t j = b_cols; j < ldb; ++j) b[r * ldb + j] = nan;
          for (int64_t r = 0; r < g.M; ++r)
            for (int64_t j = g.N; j < ldc; ++j) c[r * ldc + j] = 12345.0f;
          const float alpha = 0.7f;
          DeviceBuffer<float> da = dev(a), db = dev(b), dc = dev(c);
          be().gemm(ta, tb, g.M, g.N, g.K, alpha, da.data(), lda, db.data(), ldb, beta, dc.data(), ldc);
          Vec want = D(c);
          k::gemm<double>(kt(ta), kt(tb), g.M, g.N, g.K, alpha, D(a).data(), lda, D(b).data(), ldb, beta,
                          want.data(), ldc);
          expect_close(host(dc), want, kTol.f32_red, ctx("gemm", s));
        }
}

TEST_P(BackendOps, GemmStridedBatched) {
  int seed = 0;
  for (const GemmShape g : {GemmShape{1, 1, 1}, GemmShape{3, 5, 7}, GemmShape{13, 6, 37}})
    for (Trans ta : {Trans::No, Trans::Yes})
      for (Trans tb : {Trans::No, Trans::Yes}) {
        ++seed;
        const int64_t batch = 3;
        const int64_t a_rows = ta == Trans::Yes ? g.K : g.M, a_cols = ta == Trans::Yes ? g.M : g.K;
        const int64_t b_rows = tb == Trans::Yes ? g.N : g.K, b_cols = tb == Trans::Yes ? g.K : g.N;
        const int64_t lda = a_cols + 1, ldb = b_cols + 2, ldc = g.N + 1;
        const int64_t sa = a_rows * lda + 5, sb = b_rows * ldb + 3, sc = g.M * ldc + 7;
        const std::string s = std::string("ta=") + tname(ta) + " tb=" + tname(tb) + " " +
                              shape({{"M", g.M}, {"N", g.N}, {"K", g.K}, {"batch", batch}, {"stride_a", sa},
                                     {"stride_b", sb}, {"stride_c", sc}});
        const FVec a = randf(batch * sa, 4000 + seed), b = randf(batch * sb, 5000 + seed);
        const FVec c = randf(batch * sc, 6000 + seed);
        DeviceBuffer<float> da = dev(a), db = dev(b), dc = dev(c);
        const float alpha = -1.25f, beta = 0.5f;
        be().gemm_strided_batched(ta, tb, g.M, g.N, g.K, alpha, da.data(), lda, sa, db.data(), ldb, sb, beta,
                                  dc.data(), ldc, sc, batch);
        Vec want = D(c);
        const Vec ad = D(a), bd = D(b);
        for (int64_t i = 0; i < batch; ++i)
          k::gemm<double>(kt(ta), kt(tb), g.M, g.N, g.K, alpha, ad.data() + i * sa, lda, bd.data() + i * sb, ldb,
                          beta, want.data() + i * sc, ldc);
        // elements between the strided matrices (and C's row padding) must be untouched:
        // `want` carries them over from c, so the comparison covers them.
        expect_close(host(dc), want, kTol.f32_red, ctx("gemm_strided_batched", s));
      }
}

struct MatShape { int64_t N, C, OC; };
const MatShape kMatShapes[] = {{1, 1, 1}, {3, 5, 7}, {37, 48, 67}, {13, 1, 5}};

TEST_P(BackendOps, MatmulForward) {
  int seed = 0;
  for (const MatShape m : kMatShapes)
    for (bool with_bias : {true, false}) {
      ++seed;
      const std::string s = shape({{"N", m.N}, {"C", m.C}, {"OC", m.OC}}) + (with_bias ? " bias" : " no-bias");
      const FVec inp = randf(m.N * m.C, 7000 + seed), w = randf(m.OC * m.C, 7100 + seed, 0.3);
      const FVec bias = randf(m.OC, 7200 + seed);
      DeviceBuffer<float> di = dev(inp), dw = dev(w), db = dev(bias), dout = dev(randf(m.N * m.OC, 7300 + seed));
      be().matmul_forward(dout.data(), di.data(), dw.data(), with_bias ? db.data() : nullptr, m.N, m.C, m.OC);
      Vec want(m.N * m.OC);
      const Vec bd = D(bias);
      k::matmul_forward<double>(want.data(), D(inp).data(), D(w).data(), with_bias ? bd.data() : nullptr, m.N, m.C,
                                m.OC);
      expect_close(host(dout), want, kTol.f32_red, ctx("matmul_forward", s));
    }
}

TEST_P(BackendOps, MatmulBackwardAccumulates) {
  int seed = 0;
  for (const MatShape m : kMatShapes)
    for (int which = 0; which < 4; ++which) {   // 0: all grads; 1: dinp only; 2: dweight only; 3: dbias only
      ++seed;
      const bool gi = which == 0 || which == 1, gw = which == 0 || which == 2, gb = which == 0 || which == 3;
      const std::string s = shape({{"N", m.N}, {"C", m.C}, {"OC", m.OC}}) + (gi ? " dinp" : "") +
                            (gw ? " dweight" : "") + (gb ? " dbias" : "");
      const FVec inp = randf(m.N * m.C, 8000 + seed), w = randf(m.OC * m.C, 8100 + seed, 0.3);
      const FVec dout = randf(m.N * m.OC, 8200 + seed);
      // the gradients start non-zero: backward accumulates
      const FVec dinp0 = randf(m.N * m.C, 8300 + seed), dw0 = randf(m.OC * m.C, 8400 + seed);
      const FVec db0 = randf(m.OC, 8500 + seed);
      DeviceBuffer<float> di = dev(inp), dw = dev(w), ddo = dev(dout);
      DeviceBuffer<float> gdi = dev(dinp0), gdw = dev(dw0), gdb = dev(db0);
      be().matmul_backward(gi ? gdi.data() : nullptr, gw ? gdw.data() : nullptr, gb ? gdb.data() : nullptr,
                           ddo.data(), di.data(), dw.data(), m.N, m.C, m.OC);
      Vec wdi = D(dinp0), wdw = D(dw0), wdb = D(db0);
      k::matmul_backward<double>(gi ? wdi.data() : nullptr, gw ? wdw.data() : nullptr, gb ? wdb.data() : nullptr,
                                 D(dout).data(), D(inp).data(), D(w).data(), m.N, m.C, m.OC);
      expect_close(host(gdi), wdi, gi ? kTol.f32_red : kTol.exact, ctx("matmul_backward dinp", s));
      expect_close(host(gdw), wdw, gw ? kTol.f32_red : kTol.exact, ctx("matmul_backward dweight", s));
      expect_close(host(gdb), wdb, gb ? kTol.f32_red : kTol.exact, ctx("matmul_backward dbias", s));
    }
}

TEST_P(BackendOps, BiasBackwardAccumulates) {
  int seed = 0;
  for (auto [N, OC] : {std::pair<int64_t, int64_t>{1, 1}, {3, 5}, {37, 67}, {13, 130}}) {
    ++seed;
    const std::string s = shape({{"N", N}, {"OC", OC}});
    const FVec dout = randf(N * OC, 9000 + seed), db0 = randf(OC, 9100 + seed);
    DeviceBuffer<float> ddo = dev(dout), gdb = dev(db0);
    be().bias_backward(gdb.data(), ddo.data(), N, OC);
    Vec want = D(db0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < OC; ++o) want[o] += double(dout[n * OC + o]);
    expect_close(host(gdb), want, kTol.f32_red, ctx("bias_backward", s));
  }
}

// ======================================================================================
// normalisation
// ======================================================================================

struct RowShape { int64_t N, C; };
const RowShape kRowShapes[] = {{1, 1}, {3, 5}, {37, 48}, {1, 67}, {5, 257}};

TEST_P(BackendOps, LayernormForwardBackward) {
  int seed = 0;
  for (const RowShape r : kRowShapes) {
    ++seed;
    const int64_t N = r.N, C = r.C;
    const std::string s = shape({{"N", N}, {"C", C}});
    const float eps = 1e-5f;
    const FVec inp = randf(N * C, 10000 + seed, 2.0), w = randf(C, 10100 + seed), b = randf(C, 10200 + seed);
    DeviceBuffer<float> di = dev(inp), dw = dev(w), db = dev(b);
    DeviceBuffer<float> out = dev_zero<float>(N * C), mean = dev_zero<float>(N), rstd = dev_zero<float>(N);
    be().layernorm_forward(out.data(), mean.data(), rstd.data(), di.data(), dw.data(), db.data(), N, C, eps);
    Vec wout(N * C), wmean(N), wrstd(N);
    const Vec inpd = D(inp), wd = D(w), bd = D(b);
    k::layernorm_forward<double>(wout.data(), wmean.data(), wrstd.data(), inpd.data(), wd.data(), bd.data(), N, C,
                                 double(eps));
    expect_close(host(out, N * C), wout, kTol.f32_elem, ctx("layernorm_forward out", s));
    expect_close(host(mean, N), wmean, kTol.f32_elem, ctx("layernorm_forward mean", s));
    // rstd can be ~300 for C = 1 (1/sqrt(eps)): compare relatively
    {
      FVec got = host(rstd, N);
      Vec rel(N), one(N, 1.0);
      for (int64_t i = 0; i < N; ++i) rel[i] = double(got[i]) / wrstd[i];
      expect_close(rel, one, kTol.f32_elem, ctx("layernorm_forward rstd (ratio)", s));
    }
    // backward from the reference's saved statistics (as float), accumulating
    const FVec fmean = F(wmean), frstd = F(wrstd);
    const FVec dout = randf(N * C, 10300 + seed), gi0 = randf(N * C, 10400 + seed), gw0 = randf(C, 10500 + seed),
               gb0 = randf(C, 10600 + seed);
    DeviceBuffer<float> ddo = dev(dout), dm = dev(fmean), dr = dev(frstd);
    DeviceBuffer<float> gi = dev(gi0), gw = dev(gw0), gb = dev(gb0);
    be().layernorm_backward(gi.data(), gw.data(), gb.data(), ddo.data(), di.data(), dw.data(), dm.data(), dr.data(), N,
                            C);
    Vec wgi = D(gi0), wgw = D(gw0), wgb = D(gb0);
    k::layernorm_backward<double>(wgi.data(), wgw.data(), wgb.data(), D(dout).data(), inpd.data(), wd.data(),
                                  D(fmean).data(), D(frstd).data(), N, C);
    // dinp scales with rstd (large for C = 1, where it is exactly 0 in exact arithmetic)
    expect_close(host(gi), wgi, C == 1 ? 1e-3 : kTol.f32_elem, ctx("layernorm_backward dinp", s));
    expect_close(host(gw), wgw, kTol.f32_red, ctx("layernorm_backward dweight", s));
    expect_close(host(gb), wgb, kTol.f32_red, ctx("layernorm_backward dbias", s));
  }
}

TEST_P(BackendOps, RmsnormForwardBackward) {
  int seed = 0;
  for (const RowShape r : kRowShapes) {
    ++seed;
    const int64_t N = r.N, C = r.C;
    const std::string s = shape({{"N", N}, {"C", C}});
    const float eps = 1e-6f;
    const FVec inp = randf(N * C, 11000 + seed, 2.0), w = randf(C, 11100 + seed);
    DeviceBuffer<float> di = dev(inp), dw = dev(w);
    DeviceBuffer<float> out = dev_zero<float>(N * C), rstd = dev_zero<float>(N);
    be().rmsnorm_forward(out.data(), rstd.data(), di.data(), dw.data(), N, C, eps);
    Vec wout(N * C), wrstd(N);
    const Vec inpd = D(inp), wd = D(w);
    k::rmsnorm_forward<double>(wout.data(), wrstd.data(), inpd.data(), wd.data(), N, C, double(eps));
    expect_close(host(out, N * C), wout, kTol.f32_elem, ctx("rmsnorm_forward out", s));
    expect_close(host(rstd, N), wrstd, kTol.f32_elem, ctx("rmsnorm_forward rstd", s));
    const FVec frstd = F(wrstd);
    const FVec dout = randf(N * C, 11300 + seed), gi0 = randf(N * C, 11400 + seed), gw0 = randf(C, 11500 + seed);
    DeviceBuffer<float> ddo = dev(dout), dr = dev(frstd), gi = dev(gi0), gw = dev(gw0);
    be().rmsnorm_backward(gi.data(), gw.data(), ddo.data(), di.data(), dw.data(), dr.data(), N, C);
    Vec wgi = D(gi0), wgw = D(gw0);
    k::rmsnorm_backward<double>(wgi.data(), wgw.data(), D(dout).data(), inpd.data(), wd.data(), D(frstd).data(), N,
                                C);
    expect_close(host(gi), wgi, kTol.f32_elem, ctx("rmsnorm_backward dinp", s));
    expect_close(host(gw), wgw, kTol.f32_red, ctx("rmsnorm_backward dweight", s));
  }
}


std::string param_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

// one instantiation for the tests of all three files
INSTANTIATE_TEST_SUITE_P(Backends, BackendOps, ::testing::ValuesIn(backend_names()), param_name);
}  // namespace
}  // namespace plinth::device::ops_test

int main(int argc, char** argv) {
  plinth::device::ops_test::build_registry();
  if (plinth::device::ops_test::registry().empty()) {
    const char* env = std::getenv("PLINTH_TEST_BACKENDS");
    std::printf("SKIP: no backend selected by PLINTH_TEST_BACKENDS=%s is available\n", env ? env : "");
    return 77;
  }
  std::printf("backends under test:");
  for (const auto& e : plinth::device::ops_test::registry()) std::printf(" %s (%s)", e.name.c_str(), e.be->info().name.c_str());
  std::printf("\n");
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
