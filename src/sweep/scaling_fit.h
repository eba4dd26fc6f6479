// scaling_fit.h -- the parametric loss surface L(N, D) = E + A/N^alpha + B/D^beta (Hoffmann et al.
// 2022, Approach 3): closed-form compute-optimal allocation, the Huber fit in log space, and
// bootstrap intervals.
//
// Fit: parameters theta = (a, b, e, alpha, beta) with A = exp(a), B = exp(b), E = exp(e);
// log L^ = logsumexp(a - alpha log N, b - beta log D, e); the objective is the Huber loss
// (delta = 1e-3) of r = log L^ - log L, summed (not averaged) over runs, with its analytic
// gradient. A grid of starts (Hoffmann's: alpha, beta in {0, .5, .., 2}, e in {-1, -.5, .., 1},
// a, b in {0, 5, .., 25}) is polished by L-BFGS with scale-free stopping rules (lbfgs.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sweep/lbfgs.h"

namespace plinth::sweep {

struct ScalingParams {
  double E = 0, A = 0, B = 0, alpha = 0, beta = 0;
  double a_exponent() const { return beta / (alpha + beta); }   // N_opt ~ C^a  (C ~ N D)
  double b_exponent() const { return alpha / (alpha + beta); }  // D_opt ~ C^b
};

double scaling_loss(const ScalingParams& p, double n, double d);

// How compute relates to N and D: C = f0 * N^phi * D. (6, 1) is the 6ND rule; a sweep fits
// (f0, phi) to its architecture's FLOPs per token over its shapes (flops.h).
struct FlopsModel {
  double f0 = 6.0, phi = 1.0;
  double compute(double n, double d) const;
  double tokens(double n, double c) const;   // D with compute(n, D) = c
};

struct Allocation {
  double n_opt = 0, d_opt = 0, loss_opt = 0;   // NaN when alpha or beta <= 0
};

// argmin over N of L(N, D(N, C)), in closed form:
// N_opt = (alpha A / (phi beta B))^(1/(alpha + phi beta)) (C/f0)^(beta/(alpha + phi beta)).
Allocation optimal_allocation(const ScalingParams& p, double c, const FlopsModel& fm = {});

struct Observation {
  double n = 0, d = 0, loss = 0;
};

enum class ObjectiveNorm { Sum, Mean };   // the objective is Sum; Mean exists for the test

struct FitOptions {
  double huber_delta = 1e-3;
  ObjectiveNorm norm = ObjectiveNorm::Sum;
  double objective_scale = 1.0;      // extra factor (tests: x1000 gives the same fit)
  int polish_best_starts = 0;        // 0 = polish every grid start; k > 0 = the k best by objective
  LbfgsOptions lbfgs;
};

// Objective at theta = (a, b, e, alpha, beta); writes its gradient when grad is non-null.
double huber_log_objective(const std::vector<double>& theta, const std::vector<Observation>& obs,
                           const FitOptions& o, std::vector<double>* grad);

ScalingParams params_from_theta(const std::vector<double>& theta);
std::vector<double> theta_from_params(const ScalingParams& p);

struct FitResult {
  ScalingParams params;
  std::vector<double> theta;
  double objective = 0;
  double grad_norm = 0;             // |gradient|_inf at the optimum
  int iterations = 0;               // L-BFGS iterations of the best start
  std::string stop;                 // why the best start stopped
  int starts = 0;                   // starts polished
  double fraction_at_best = 0;      // starts ending within 1e-6 relative of the best objective
};

// extra_starts are polished too (the bootstrap passes the full-data optimum).
FitResult fit_scaling_law(const std::vector<Observation>& obs, const FitOptions& o,
                          const std::vector<std::vector<double>>& extra_starts = {});

// Percentiles of one quantity over bootstrap fits.
struct Interval {
  double p2_5 = 0, p10 = 0, p50 = 0, p90 = 0, p97_5 = 0;
  int n = 0;   // finite samples
};
Interval interval_of(std::vector<double> samples);

struct BootstrapOptions {
  int resamples = 200;
  uint64_t seed = 1;
  int polish_best_starts = 12;
  std::vector<double> budgets;      // N_opt, D_opt intervals at these C
  FlopsModel flops;
};

struct BootstrapResult {
  // names: E A B alpha beta a b, then N_opt@<C> and D_opt@<C> for every budget
  std::vector<std::string> names;
  std::vector<Interval> intervals;
  int resamples = 0;
  const Interval* find(const std::string& name) const;
};

BootstrapResult bootstrap_scaling_law(const std::vector<Observation>& obs, const FitOptions& o,
                                      const FitResult& full, const BootstrapOptions& b);

// E is identified when its 2.5-97.5% interval is no wider than max_relative_width * E.
enum class Identified { Yes, No };
Identified e_identified(const BootstrapResult& b, double e_point, double max_relative_width);

}  // namespace plinth::sweep
