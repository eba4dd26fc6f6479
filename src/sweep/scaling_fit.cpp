// scaling_fit.cpp -- closed-form allocation, Huber log-space objective with analytic gradient,
// multi-start L-BFGS fit and the bootstrap over runs.
#include "sweep/scaling_fit.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/rng.h"

namespace plinth::sweep {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

double scaling_loss(const ScalingParams& p, double n, double d) {
  return p.E + p.A / std::pow(n, p.alpha) + p.B / std::pow(d, p.beta);
}

double FlopsModel::compute(double n, double d) const { return f0 * std::pow(n, phi) * d; }
double FlopsModel::tokens(double n, double c) const { return c / (f0 * std::pow(n, phi)); }

Allocation optimal_allocation(const ScalingParams& p, double c, const FlopsModel& fm) {
  Allocation a{kNaN, kNaN, kNaN};
  if (!(p.alpha > 0 && p.beta > 0 && p.A > 0 && p.B > 0 && c > 0)) return a;
  const double den = p.alpha + fm.phi * p.beta;
  // in logs, so that extreme budgets do not overflow
  const double log_n = (std::log(p.alpha * p.A / (fm.phi * p.beta * p.B)) + p.beta * std::log(c / fm.f0)) / den;
  a.n_opt = std::exp(log_n);
  a.d_opt = fm.tokens(a.n_opt, c);
  a.loss_opt = scaling_loss(p, a.n_opt, a.d_opt);
  return a;
}

ScalingParams params_from_theta(const std::vector<double>& t) {
  return {std::exp(t[2]), std::exp(t[0]), std::exp(t[1]), t[3], t[4]};
}

std::vector<double> theta_from_params(const ScalingParams& p) {
  return {std::log(p.A), std::log(p.B), std::log(p.E), p.alpha, p.beta};
}

double huber_log_objective(const std::vector<double>& th, const std::vector<Observation>& obs, const FitOptions& o,
                           std::vector<double>* grad) {
  const double a = th[0], b = th[1], e = th[2], al = th[3], be = th[4];
  const double delta = o.huber_delta;
  const double w = o.objective_scale * (o.norm == ObjectiveNorm::Mean ? 1.0 / static_cast<double>(obs.size()) : 1.0);
  double f = 0;
  if (grad) grad->assign(5, 0.0);
  for (const Observation& ob : obs) {
    const double ln = std::log(ob.n), ld = std::log(ob.d);
    const double t1 = a - al * ln, t2 = b - be * ld, t3 = e;
    const double m = std::max({t1, t2, t3});
    const double x1 = std::exp(t1 - m), x2 = std::exp(t2 - m), x3 = std::exp(t3 - m);
    const double s = x1 + x2 + x3;
    const double r = m + std::log(s) - std::log(ob.loss);
    const double ar = std::abs(r);
    f += ar <= delta ? 0.5 * r * r : delta * (ar - 0.5 * delta);
    if (grad) {
      const double psi = std::clamp(r, -delta, delta);   // d huber / d r
      const double p1 = x1 / s, p2 = x2 / s, p3 = x3 / s;
      (*grad)[0] += psi * p1;
      (*grad)[1] += psi * p2;
      (*grad)[2] += psi * p3;
      (*grad)[3] -= psi * p1 * ln;
      (*grad)[4] -= psi * p2 * ld;
    }
  }
  if (grad)
    for (double& g : *grad) g *= w;
  return w * f;
}

FitResult fit_scaling_law(const std::vector<Observation>& obs, const FitOptions& o,
                          const std::vector<std::vector<double>>& extra_starts) {
  PLINTH_CHECK(obs.size() >= 5, Input, "scaling-law fit: ", obs.size(),
               " finished runs, at least 5 are needed for 5 parameters");
  for (const Observation& ob : obs)
    PLINTH_CHECK(ob.n > 0 && ob.d > 0 && ob.loss > 0 && std::isfinite(ob.loss), Input,
                 "scaling-law fit: a run has N = ", ob.n, ", D = ", ob.d, ", loss = ", ob.loss,
                 " (all must be positive and finite)");
  // Hoffmann et al.'s grid of initialisations
  std::vector<std::vector<double>> starts;
  for (double al = 0; al <= 2.0001; al += 0.5)
    for (double be = 0; be <= 2.0001; be += 0.5)
      for (double e = -1; e <= 1.0001; e += 0.5)
        for (double a = 0; a <= 25.0001; a += 5)
          for (double b = 0; b <= 25.0001; b += 5) starts.push_back({a, b, e, al, be});
  if (o.polish_best_starts > 0 && o.polish_best_starts < static_cast<int>(starts.size())) {
    std::vector<std::pair<double, size_t>> ranked;
    for (size_t i = 0; i < starts.size(); ++i) {
      double f = huber_log_objective(starts[i], obs, o, nullptr);
      ranked.emplace_back(std::isfinite(f) ? f : std::numeric_limits<double>::infinity(), i);
    }
    std::partial_sort(ranked.begin(), ranked.begin() + o.polish_best_starts, ranked.end());
    std::vector<std::vector<double>> best;
    for (int i = 0; i < o.polish_best_starts; ++i) best.push_back(starts[ranked[i].second]);
    starts = std::move(best);
  }
  for (const auto& s : extra_starts) starts.push_back(s);

  const Objective f = [&](const std::vector<double>& x, std::vector<double>& g) {
    return huber_log_objective(x, obs, o, &g);
  };
  std::vector<LbfgsResult> results;
  results.reserve(starts.size());
  size_t best = 0;
  for (size_t i = 0; i < starts.size(); ++i) {
    results.push_back(lbfgs_minimize(f, starts[i], o.lbfgs));
    const double fi = results.back().f;
    if (std::isfinite(fi) && (!std::isfinite(results[best].f) || fi < results[best].f)) best = i;
  }
  const LbfgsResult& rb = results[best];
  PLINTH_CHECK(std::isfinite(rb.f), Internal, "scaling-law fit: no start reached a finite objective");
  FitResult fr;
  fr.theta = rb.x;
  fr.params = params_from_theta(rb.x);
  fr.objective = rb.f;
  fr.grad_norm = rb.grad_norm;
  fr.iterations = rb.iterations;
  fr.stop = lbfgs_stop_name(rb.stop);
  fr.starts = static_cast<int>(results.size());
  int at_best = 0;
  for (const LbfgsResult& r : results)
    if (std::isfinite(r.f) && r.f - rb.f <= 1e-6 * std::abs(rb.f) + 1e-300) ++at_best;
  fr.fraction_at_best = static_cast<double>(at_best) / static_cast<double>(results.size());
  return fr;
}

Interval interval_of(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
  Interval iv{kNaN, kNaN, kNaN, kNaN, kNaN, static_cast<int>(v.size())};
  if (v.empty()) return iv;
  std::sort(v.begin(), v.end());
  auto pct = [&](double q) {   // linear interpolation between order statistics
    const double pos = q * static_cast<double>(v.size() - 1);
    const size_t i = static_cast<size_t>(std::floor(pos));
    const double frac = pos - static_cast<double>(i);
    return i + 1 < v.size() ? v[i] * (1 - frac) + v[i + 1] * frac : v[i];
  };
  iv.p2_5 = pct(0.025), iv.p10 = pct(0.10), iv.p50 = pct(0.5), iv.p90 = pct(0.9), iv.p97_5 = pct(0.975);
  return iv;
}

const Interval* BootstrapResult::find(const std::string& name) const {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return &intervals[i];
  return nullptr;
}

BootstrapResult bootstrap_scaling_law(const std::vector<Observation>& obs, const FitOptions& o,
                                      const FitResult& full, const BootstrapOptions& b) {
  BootstrapResult br;
  br.names = {"E", "A", "B", "alpha", "beta", "a", "b"};
  for (double c : b.budgets) {
    br.names.push_back(str_cat("N_opt@", c));
    br.names.push_back(str_cat("D_opt@", c));
  }
  std::vector<std::vector<double>> samples(br.names.size());
  FitOptions ob = o;
  ob.polish_best_starts = b.polish_best_starts;
  Rng rng(b.seed);
  std::vector<Observation> re(obs.size());
  for (int k = 0; k < b.resamples; ++k) {
    for (auto& x : re) x = obs[rng.below(obs.size())];
    FitResult fr;
    try {
      fr = fit_scaling_law(re, ob, {full.theta});
    } catch (const Error&) {
      continue;   // a degenerate resample (no finite start) is left out, counted in Interval::n
    }
    const ScalingParams& p = fr.params;
    std::vector<double> q = {p.E, p.A, p.B, p.alpha, p.beta, p.a_exponent(), p.b_exponent()};
    for (double c : b.budgets) {
      Allocation al = optimal_allocation(p, c, b.flops);
      q.push_back(al.n_opt);
      q.push_back(al.d_opt);
    }
    for (size_t i = 0; i < q.size(); ++i) samples[i].push_back(q[i]);
  }
  br.resamples = b.resamples;
  for (auto& s : samples) br.intervals.push_back(interval_of(std::move(s)));
  return br;
}

Identified e_identified(const BootstrapResult& b, double e_point, double max_relative_width) {
  const Interval* e = b.find("E");
  if (!e || e->n < 2 || !std::isfinite(e->p2_5) || !(e_point > 0)) return Identified::No;
  return (e->p97_5 - e->p2_5) <= max_relative_width * e_point ? Identified::Yes : Identified::No;
}

}  // namespace plinth::sweep
