// backend_ops_util.h -- the shared part of the device::Backend conformance harness
// (test_backend_ops*.cpp, one binary): the tolerance table, the registry of backends under test,
// seeded host data, the closeness check and the BackendOps fixture (one backend per instance).
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
#pragma once
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

namespace plinth::device::ops_test {

namespace k = plinth::kernels;

// ---- the tolerance table (see the header comment) ----
struct Tolerances {
  double exact = 0.0;
  double f32_elem = 1e-5;
  double f32_red = 1e-4;
  double f64_sums = 1e-6;
};
inline constexpr Tolerances kTol{};

// ---- the backends under test ----
struct BackendEntry {
  std::string name;
  Backend* be = nullptr;
  std::unique_ptr<Backend> owned;
};

// The backends under test (filled by main before the tests are registered).
std::vector<BackendEntry>& registry();

// ---- host data ----
using Vec = std::vector<double>;
using FVec = std::vector<float>;
using IVec = std::vector<int32_t>;

inline FVec randf(size_t n, uint64_t seed, double stddev = 1.0) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> dist(0.0, stddev);
  FVec out(n);
  for (auto& x : out) x = float(dist(gen));
  return out;
}
inline FVec uniformf(size_t n, uint64_t seed, double lo, double hi) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  FVec out(n);
  for (auto& x : out) x = float(dist(gen));
  return out;
}
inline IVec randi(size_t n, uint64_t seed, int32_t lo, int32_t hi) {   // [lo, hi]
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int32_t> dist(lo, hi);
  IVec out(n);
  for (auto& x : out) x = dist(gen);
  return out;
}
inline Vec D(const FVec& x) { return Vec(x.begin(), x.end()); }
inline FVec F(const Vec& x) {
  FVec out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = float(x[i]);
  return out;
}

inline std::string shape(std::initializer_list<std::pair<const char*, int64_t>> dims) {
  std::string s;
  for (const auto& [n, v] : dims) s += std::string(s.empty() ? "" : " ") + n + "=" + std::to_string(v);
  return s;
}

inline std::string short_num(double x) {
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

}  // namespace plinth::device::ops_test
