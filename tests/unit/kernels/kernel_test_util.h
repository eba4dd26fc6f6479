// kernel_test_util.h -- helpers for the kernel tests: seeded random tensors, closeness checks
// that report the worst element, and a central finite-difference gradient checker (double).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace plinth::kernels::test {

using Vec = std::vector<double>;

// n values ~ N(0, stddev^2), deterministic in seed.
template <typename F = double>
std::vector<F> randn(size_t n, uint64_t seed, double stddev = 1.0) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> dist(0.0, stddev);
  std::vector<F> out(n);
  for (auto& x : out) x = F(dist(gen));
  return out;
}

template <typename To, typename From>
std::vector<To> cast(const std::vector<From>& x) {
  return std::vector<To>(x.begin(), x.end());
}

// Expects |got - want| <= tol * (1 + |want|) element-wise ("relative-ish": absolute near 0).
template <typename A, typename B>
void expect_close(const std::vector<A>& got, const std::vector<B>& want, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double worst = 0;
  size_t worst_i = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::abs(double(got[i]) - double(want[i])) / (1.0 + std::abs(double(want[i])));
    if (!(err <= worst)) {  // also catches NaN
      worst = err;
      worst_i = i;
      if (std::isnan(err)) break;
    }
  }
  EXPECT_LE(worst, tol) << what << ": worst element " << worst_i << " got " << got[worst_i] << " want "
                        << want[worst_i];
}

// Expects got == factor * want up to a tiny relative error (accumulation checks).
inline void expect_scaled(const Vec& got, const Vec& want, double factor, const std::string& what) {
  Vec scaled(want.size());
  for (size_t i = 0; i < want.size(); ++i) scaled[i] = factor * want[i];
  expect_close(got, scaled, 1e-12, what);
}

inline double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Central finite differences of loss() with respect to x, compared with grad:
// |fd - grad| <= tol * max(1, |grad|) for every checked coordinate (all coordinates when
// x.size() <= max_coords, otherwise max_coords random ones), plus one random direction d:
// (L(x + eps d) - L(x - eps d)) / (2 eps) against grad . d. x is restored afterwards.
inline void check_grad(const std::string& what, Vec& x, const Vec& grad, const std::function<double()>& loss,
                       size_t max_coords = 4000, double eps = 1e-6, double tol = 1e-6) {
  ASSERT_EQ(x.size(), grad.size()) << what;
  std::vector<size_t> coords(x.size());
  std::iota(coords.begin(), coords.end(), size_t(0));
  if (coords.size() > max_coords) {
    std::mt19937_64 gen(x.size() * 7919 + max_coords);
    std::shuffle(coords.begin(), coords.end(), gen);
    coords.resize(max_coords);
  }
  int failures = 0;
  for (size_t i : coords) {
    const double orig = x[i];
    x[i] = orig + eps;
    const double lp = loss();
    x[i] = orig - eps;
    const double lm = loss();
    x[i] = orig;
    const double fd = (lp - lm) / (2 * eps);
    if (!(std::abs(fd - grad[i]) <= tol * std::max(1.0, std::abs(grad[i])))) {
      if (++failures <= 5)
        ADD_FAILURE() << what << "[" << i << "]: finite difference " << fd << " vs analytic " << grad[i];
    }
  }
  EXPECT_EQ(failures, 0) << what << ": " << failures << " of " << coords.size() << " coordinates differ";
  const Vec d = randn(x.size(), x.size() + 17);
  const Vec orig = x;
  for (size_t i = 0; i < x.size(); ++i) x[i] = orig[i] + eps * d[i];
  const double lp = loss();
  for (size_t i = 0; i < x.size(); ++i) x[i] = orig[i] - eps * d[i];
  const double lm = loss();
  x = orig;
  const double fd = (lp - lm) / (2 * eps), an = dot(grad, d);
  double mag = 0;
  for (size_t i = 0; i < x.size(); ++i) mag += std::abs(grad[i] * d[i]);
  EXPECT_LE(std::abs(fd - an), tol * std::max(1.0, mag)) << what << ": directional derivative " << fd << " vs " << an;
}

}  // namespace plinth::kernels::test
