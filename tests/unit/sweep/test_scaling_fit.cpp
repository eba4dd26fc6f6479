// test_scaling_fit.cpp -- the Approach 3 machinery: closed-form allocation against brute force,
// noise-free recovery, scale invariance of the fit, the analytic gradient, L-BFGS, bootstrap
// intervals and the "E not identified" rule.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "sweep/lbfgs.h"
#include "sweep/scaling_fit.h"

namespace plinth::sweep {
namespace {

const ScalingParams kHoffmann{1.69, 406.4, 410.7, 0.34, 0.28};

// argmin over ln N of L(N, D(N, C)) by a fine grid and golden-section refinement
double brute_force_n_opt(const ScalingParams& p, double c, const FlopsModel& fm) {
  auto loss = [&](double x) { return scaling_loss(p, std::exp(x), fm.tokens(std::exp(x), c)); };
  double best = 0, best_l = 1e300;
  for (double x = 0; x <= 60; x += 0.01)
    if (loss(x) < best_l) best_l = loss(x), best = x;
  double a = best - 0.01, b = best + 0.01;
  const double g = (std::sqrt(5.0) - 1) / 2;
  for (int i = 0; i < 200; ++i) {
    const double x1 = b - g * (b - a), x2 = a + g * (b - a);
    (loss(x1) < loss(x2) ? b : a) = loss(x1) < loss(x2) ? x2 : x1;
  }
  return std::exp(0.5 * (a + b));
}

TEST(ClosedForm, HoffmannAllocationMatchesBruteForce) {
  for (const FlopsModel fm : {FlopsModel{6.0, 1.0}, FlopsModel{9.5, 0.93}}) {
    for (double c : {1e18, 5.76e23, 1e26}) {
      const Allocation al = optimal_allocation(kHoffmann, c, fm);
      const double n_bf = brute_force_n_opt(kHoffmann, c, fm);
      EXPECT_NEAR(al.n_opt / n_bf, 1.0, 1e-6) << "C = " << c << " f0 = " << fm.f0;
      EXPECT_NEAR(fm.compute(al.n_opt, al.d_opt) / c, 1.0, 1e-12);
      EXPECT_NEAR(al.loss_opt, scaling_loss(kHoffmann, n_bf, fm.tokens(n_bf, c)), 1e-10);
    }
  }
  // with C = 6ND the allocation exponents are a = beta/(alpha+beta), b = alpha/(alpha+beta)
  const Allocation a1 = optimal_allocation(kHoffmann, 1e20), a2 = optimal_allocation(kHoffmann, 1e22);
  EXPECT_NEAR(std::log(a2.n_opt / a1.n_opt) / std::log(100.0), kHoffmann.a_exponent(), 1e-12);
  EXPECT_NEAR(std::log(a2.d_opt / a1.d_opt) / std::log(100.0), kHoffmann.b_exponent(), 1e-12);
  EXPECT_NEAR(kHoffmann.a_exponent(), 0.28 / 0.62, 1e-15);
}

TEST(ClosedForm, NoInteriorOptimumGivesNaN) {
  ScalingParams p = kHoffmann;
  p.alpha = 0;
  EXPECT_TRUE(std::isnan(optimal_allocation(p, 1e20).n_opt));
}

// isoFLOP design: 5 budgets x 7 sizes around the optimum
std::vector<Observation> isoflop_design(const ScalingParams& p, double noise, uint64_t seed) {
  std::vector<Observation> obs;
  Rng rng(seed);
  for (double c : {1e18, 1e19, 1e20, 1e21, 1e22}) {
    const double n0 = optimal_allocation(p, c).n_opt;
    for (int k = -3; k <= 3; ++k) {
      const double n = n0 * std::pow(2.0, k), d = c / (6 * n);
      const double eps = noise * (2 * rng.uniform() - 1);
      obs.push_back({n, d, scaling_loss(p, n, d) * std::exp(eps)});
    }
  }
  return obs;
}

TEST(Fit, NoiseFreeRecovery) {
  const std::vector<Observation> obs = isoflop_design(kHoffmann, 0.0, 1);
  FitOptions o;
  FitResult r = fit_scaling_law(obs, o);
  EXPECT_NEAR(r.params.alpha, kHoffmann.alpha, 1e-6);
  EXPECT_NEAR(r.params.beta, kHoffmann.beta, 1e-6);
  EXPECT_NEAR(r.params.E / kHoffmann.E, 1.0, 1e-6);
  EXPECT_NEAR(std::log(r.params.A), std::log(kHoffmann.A), 1e-5);
  EXPECT_NEAR(std::log(r.params.B), std::log(kHoffmann.B), 1e-5);
  EXPECT_GT(r.fraction_at_best, 0.0);
  EXPECT_LE(r.fraction_at_best, 1.0);
  EXPECT_EQ(r.starts, 4500);
}

TEST(Fit, AnalyticGradientMatchesFiniteDifferences) {
  const std::vector<Observation> obs = isoflop_design(kHoffmann, 0.05, 2);   // both Huber regimes
  FitOptions o;
  const std::vector<double> th = {5.5, 6.2, 0.4, 0.3, 0.35};
  std::vector<double> g;
  huber_log_objective(th, obs, o, &g);
  for (int i = 0; i < 5; ++i) {
    std::vector<double> p = th, m = th;
    const double h = 1e-6;
    p[i] += h, m[i] -= h;
    const double fd = (huber_log_objective(p, obs, o, nullptr) - huber_log_objective(m, obs, o, nullptr)) / (2 * h);
    EXPECT_NEAR(g[i], fd, 1e-6 * std::max(1.0, std::abs(fd))) << "component " << i;
  }
}

TEST(Fit, ScaleInvariance) {
  // noisy data (residuals of both Huber regimes): summed, averaged and x1000 objectives give one fit
  const std::vector<Observation> obs = isoflop_design(kHoffmann, 0.02, 3);
  FitOptions sum, mean, big;
  mean.norm = ObjectiveNorm::Mean;
  big.objective_scale = 1000;
  const FitResult a = fit_scaling_law(obs, sum), b = fit_scaling_law(obs, mean), c = fit_scaling_law(obs, big);
  for (const FitResult* r : {&b, &c}) {
    EXPECT_NEAR(r->params.alpha, a.params.alpha, 1e-6);
    EXPECT_NEAR(r->params.beta, a.params.beta, 1e-6);
    EXPECT_NEAR(r->params.E / a.params.E, 1.0, 1e-6);
    EXPECT_NEAR(std::log(r->params.A), std::log(a.params.A), 1e-5);
    EXPECT_NEAR(std::log(r->params.B), std::log(a.params.B), 1e-5);
  }
  EXPECT_NEAR(b.objective * static_cast<double>(obs.size()) / a.objective, 1.0, 1e-9);
  EXPECT_NEAR(c.objective / (1000 * a.objective), 1.0, 1e-9);
}

TEST(Lbfgs, RosenbrockAndScaleFreeTrajectory) {
  auto rosen = [](double s) {
    return Objective([s](const std::vector<double>& x, std::vector<double>& g) {
      const double a = 1 - x[0], b = x[1] - x[0] * x[0];
      g = {s * (-2 * a - 400 * x[0] * b), s * 200 * b};
      return s * (a * a + 100 * b * b);
    });
  };
  const LbfgsResult r1 = lbfgs_minimize(rosen(1.0), {-1.2, 1.0});
  const LbfgsResult r2 = lbfgs_minimize(rosen(1e-6), {-1.2, 1.0});
  EXPECT_NEAR(r1.x[0], 1.0, 1e-7);
  EXPECT_NEAR(r1.x[1], 1.0, 1e-7);
  EXPECT_NEAR(r2.x[0], 1.0, 1e-7);   // an absolute gradient tolerance would stop this one early
  EXPECT_NEAR(r2.x[1], 1.0, 1e-7);
  EXPECT_LE(std::abs(r1.iterations - r2.iterations), 2);
}

TEST(Bootstrap, IntervalsCoverTruthAndAreOrdered) {
  const std::vector<Observation> obs = isoflop_design(kHoffmann, 0.01, 4);
  FitOptions o;
  o.polish_best_starts = 20;
  const FitResult full = fit_scaling_law(obs, o);
  BootstrapOptions b;
  b.resamples = 60;
  b.budgets = {1e20};
  const BootstrapResult br = bootstrap_scaling_law(obs, o, full, b);
  ASSERT_EQ(br.names.size(), br.intervals.size());
  for (const Interval& iv : br.intervals) {
    EXPECT_EQ(iv.n, 60);
    EXPECT_LE(iv.p2_5, iv.p10);
    EXPECT_LE(iv.p10, iv.p50);
    EXPECT_LE(iv.p50, iv.p90);
    EXPECT_LE(iv.p90, iv.p97_5);
  }
  const Interval* al = br.find("alpha");
  ASSERT_NE(al, nullptr);
  EXPECT_LT(al->p2_5, kHoffmann.alpha + 0.05);
  EXPECT_GT(al->p97_5, kHoffmann.alpha - 0.05);
  EXPECT_LT(al->p97_5 - al->p2_5, 0.2);
  ASSERT_NE(br.find("N_opt@1e+20"), nullptr);
  EXPECT_EQ(e_identified(br, full.params.E, 0.5), Identified::Yes);
}

TEST(Bootstrap, UnidentifiedE) {
  // losses far above E, with noise comparable to E's contribution: E cannot be pinned down
  const ScalingParams p{0.05, 406.4, 410.7, 0.34, 0.28};
  std::vector<Observation> obs;
  Rng rng(9);
  for (double n : {1e3, 3e3, 1e4})
    for (double d : {1e3, 3e3, 1e4}) obs.push_back({n, d, scaling_loss(p, n, d) * std::exp(0.05 * (2 * rng.uniform() - 1))});
  FitOptions o;
  o.polish_best_starts = 20;
  const FitResult full = fit_scaling_law(obs, o);
  BootstrapOptions b;
  b.resamples = 60;
  const BootstrapResult br = bootstrap_scaling_law(obs, o, full, b);
  EXPECT_EQ(e_identified(br, full.params.E, 0.5), Identified::No);
}

TEST(Intervals, PercentilesByInterpolation) {
  std::vector<double> v;
  for (int i = 0; i <= 100; ++i) v.push_back(100 - i);
  v.push_back(NAN);
  const Interval iv = interval_of(v);
  EXPECT_EQ(iv.n, 101);
  EXPECT_DOUBLE_EQ(iv.p2_5, 2.5);
  EXPECT_DOUBLE_EQ(iv.p10, 10.0);
  EXPECT_DOUBLE_EQ(iv.p50, 50.0);
  EXPECT_DOUBLE_EQ(iv.p97_5, 97.5);
}

TEST(Fit, TooFewRunsIsAnInputError) {
  std::vector<Observation> obs(4, Observation{1e3, 1e4, 3.0});
  EXPECT_THROW(fit_scaling_law(obs, FitOptions{}), Error);
}

}  // namespace
}  // namespace plinth::sweep
