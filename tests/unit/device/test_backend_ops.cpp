// test_backend_ops.cpp -- conformance of every device::Backend operation (after ggml's
// test-backend-ops): each backend under test computes in float on device buffers (inputs in by
// copy_to_device, results out by copy_to_host; device pointers are never dereferenced), and the
// result is compared with a CPU DOUBLE-precision reference on the same inputs (float values
// widened to double): kernels::<op><double> where the kernel is templated, a naive double loop
// in this file for the float-only ops (vocab-parallel cross-entropy and embedding, loss
// reductions, casts, AdamW, sum_squares, add_bias_rows, the memory operations). Backwards are
// checked against the double kernel's backward, and the naive references of the float-only
// cross-entropy pieces are themselves checked against finite differences.
//
// Backends: the CPU backend always; every other kind make_backend() can build (today CUDA
// throws Error(Config) and is skipped; a CUDA backend is picked up as soon as it exists).
// PLINTH_TEST_BACKENDS selects: unset or "all" = every available backend; "gpu" = every
// available non-CPU backend; otherwise a comma list of kinds ("cpu", "cuda"). When the
// selection leaves no backend the binary prints SKIP and exits 77 (ctest: skipped); the ctest
// test_backend_ops_cuda runs it with PLINTH_TEST_BACKENDS=gpu.
//
// Tolerances (kTol below, one table): the error of an element is |got - want| / (1 + |want|)
// ("relative-ish": absolute near 0), the maximum over all elements of a result must not exceed
//   exact     0      memory ops, gathers/scatters without sums, bf16 casts (against an
//                    independent round-to-nearest-even function), ignored rows, padding
//   f32 elem  1e-5   f32 elementwise ops, norms, rope, positional/embedding sums, AdamW (3 steps)
//   f32 red   1e-4   f32 GEMM / matmul / bias sums (K up to 67), attention, cross-entropy (V up
//                    to 257) and its vocabulary-parallel pieces, loss means
//   f64 sums  1e-6   double outputs summed from float data (sum_squares, row_loss_means,
//                    vocab_ce_row_sums): a backend may square/exp in float before the double sum
// Every failure message names the backend, the op and the shape.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iomanip>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "device/backend.h"
#include "device/device_buffer.h"
#include "kernels/kernels.h"

namespace plinth::device {
namespace {

namespace k = plinth::kernels;

// ---- the tolerance table (see the header comment) ----
struct Tolerances {
  double exact = 0.0;
  double f32_elem = 1e-5;
  double f32_red = 1e-4;
  double f64_sums = 1e-6;
};
constexpr Tolerances kTol{};

// ---- the backends under test ----
struct BackendEntry {
  std::string name;
  Backend* be = nullptr;
  std::unique_ptr<Backend> owned;
};

std::vector<BackendEntry>& registry() {
  static std::vector<BackendEntry> r;
  return r;
}

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
using FVec = std::vector<float>;
using IVec = std::vector<int32_t>;

FVec randf(size_t n, uint64_t seed, double stddev = 1.0) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> dist(0.0, stddev);
  FVec out(n);
  for (auto& x : out) x = float(dist(gen));
  return out;
}
FVec uniformf(size_t n, uint64_t seed, double lo, double hi) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  FVec out(n);
  for (auto& x : out) x = float(dist(gen));
  return out;
}
IVec randi(size_t n, uint64_t seed, int32_t lo, int32_t hi) {   // [lo, hi]
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int32_t> dist(lo, hi);
  IVec out(n);
  for (auto& x : out) x = dist(gen);
  return out;
}
Vec D(const FVec& x) { return Vec(x.begin(), x.end()); }
FVec F(const Vec& x) {
  FVec out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = float(x[i]);
  return out;
}

std::string shape(std::initializer_list<std::pair<const char*, int64_t>> dims) {
  std::string s;
  for (const auto& [n, v] : dims) s += std::string(s.empty() ? "" : " ") + n + "=" + std::to_string(v);
  return s;
}

std::string short_num(double x) {
  std::ostringstream os;
  os << std::setprecision(3) << x;
  return os.str();
}

// The worst element of got against want, |got - want| / (1 + |want|), must be <= tol. NaN in
// got where want is not NaN (or the reverse) fails; both NaN passes.
template <typename G, typename W>
void expect_close(const std::vector<G>& got, const std::vector<W>& want, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what << ": size";
  double worst = 0;
  size_t worst_i = 0, bad = 0;
  bool any = false;
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = double(got[i]), w = double(want[i]);
    double err;
    if (std::isnan(g) || std::isnan(w)) err = (std::isnan(g) && std::isnan(w)) ? 0.0 : INFINITY;
    else if (std::isinf(g) || std::isinf(w)) err = (g == w) ? 0.0 : INFINITY;
    else err = std::abs(g - w) / (1.0 + std::abs(w));
    if (err > tol) ++bad;
    if (!any || err > worst) {
      worst = err;
      worst_i = i;
      any = true;
    }
  }
  if (bad)
    ADD_FAILURE() << what << ": " << bad << " of " << got.size() << " elements beyond tolerance " << short_num(tol)
                  << "; worst [" << worst_i << "] got " << double(got[worst_i]) << " want " << double(want[worst_i])
                  << " (error " << short_num(worst) << ")";
}

// ---- the fixture: one backend per instantiation ----
class BackendOps : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    for (auto& e : registry())
      if (e.name == GetParam()) be_ = e.be;
    ASSERT_NE(be_, nullptr) << GetParam();
  }
  Backend& be() { return *be_; }
  // "[cpu] gemm M=3 ...": the prefix of every failure message
  std::string ctx(const std::string& op, const std::string& shp) const {
    return "[" + GetParam() + "] " + op + " " + shp;
  }

  template <typename T>
  DeviceBuffer<T> dev(const std::vector<T>& host) {
    DeviceBuffer<T> b(*be_, std::max<size_t>(host.size(), 1));
    if (!host.empty()) be_->copy_to_device(b.data(), host.data(), host.size() * sizeof(T));
    return b;
  }
  template <typename T>
  DeviceBuffer<T> dev_zero(size_t n) {
    return DeviceBuffer<T>(*be_, std::max<size_t>(n, 1));
  }
  template <typename T>
  std::vector<T> host(const DeviceBuffer<T>& b, size_t n) {
    std::vector<T> out(n);
    if (n) be_->copy_to_host(out.data(), b.data(), n * sizeof(T));
    return out;
  }
  template <typename T>
  std::vector<T> host(const DeviceBuffer<T>& b) {
    return host(b, b.size());
  }

  Backend* be_ = nullptr;
};

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

std::string param_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

INSTANTIATE_TEST_SUITE_P(Backends, BackendOps, ::testing::ValuesIn(backend_names()), param_name);

}  // namespace
}  // namespace plinth::device

int main(int argc, char** argv) {
  plinth::device::build_registry();
  if (plinth::device::registry().empty()) {
    const char* env = std::getenv("PLINTH_TEST_BACKENDS");
    std::printf("SKIP: no backend selected by PLINTH_TEST_BACKENDS=%s is available\n", env ? env : "");
    return 77;
  }
  std::printf("backends under test:");
  for (const auto& e : plinth::device::registry()) std::printf(" %s (%s)", e.name.c_str(), e.be->info().name.c_str());
  std::printf("\n");
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
