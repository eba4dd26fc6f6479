// approach2.cpp -- per-budget parabolas in log N with interior-minimum checks, power laws across
// budgets (ordinary least squares in log-log).
#include "sweep/approach2.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace plinth::sweep {

const char* vertex_status_name(VertexStatus s) {
  switch (s) {
    case VertexStatus::Interior: return "interior";
    case VertexStatus::Edge: return "edge";
    case VertexStatus::NotConvex: return "not_convex";
    case VertexStatus::TooFewPoints: return "too_few_points";
  }
  return "?";
}

double PowerLaw::at(double x) const { return k * std::pow(x, exponent); }

BudgetMinimum budget_minimum(const BudgetRuns& b, const FlopsModel& flops) {
  BudgetMinimum m;
  m.c = b.c;
  std::vector<Observation> runs = b.runs;
  std::sort(runs.begin(), runs.end(), [](const Observation& x, const Observation& y) { return x.n < y.n; });
  // distinct sizes
  size_t distinct = 0;
  for (size_t i = 0; i < runs.size(); ++i)
    if (i == 0 || runs[i].n != runs[i - 1].n) ++distinct;
  if (distinct < 3) {
    m.message = str_cat("budget C = ", b.c, ": ", distinct, " distinct sizes, a parabola needs at least 3");
    return m;
  }
  // least squares on centred x: L = q0 + q1 u + q2 u^2, u = x - xm
  double xm = 0;
  for (const auto& r : runs) xm += std::log(r.n);
  xm /= static_cast<double>(runs.size());
  double S[5] = {0, 0, 0, 0, 0}, T[3] = {0, 0, 0};
  for (const auto& r : runs) {
    const double u = std::log(r.n) - xm;
    double p = 1;
    for (int k = 0; k < 5; ++k) {
      S[k] += p;
      if (k < 3) T[k] += p * r.loss;
      p *= u;
    }
  }
  // solve [[S0 S1 S2][S1 S2 S3][S2 S3 S4]] q = T by Cramer's rule
  auto det3 = [](double a, double b, double c, double d, double e, double f, double g, double h, double i) {
    return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  };
  const double D = det3(S[0], S[1], S[2], S[1], S[2], S[3], S[2], S[3], S[4]);
  const double q0 = det3(T[0], S[1], S[2], T[1], S[2], S[3], T[2], S[3], S[4]) / D;
  const double q1 = det3(S[0], T[0], S[2], S[1], T[1], S[3], S[2], T[2], S[4]) / D;
  const double q2 = det3(S[0], S[1], T[0], S[1], S[2], T[1], S[2], S[3], T[2]) / D;
  m.c2 = q2;
  m.c1 = q1 - 2 * q2 * xm;
  m.c0 = q0 - q1 * xm + q2 * xm * xm;
  const double x_lo = std::log(runs.front().n), x_hi = std::log(runs.back().n);
  if (!(q2 > 0)) {
    m.status = VertexStatus::NotConvex;
    m.message = str_cat("budget C = ", b.c, ": the parabola in log N opens downwards (curvature ", q2,
                        "); no minimum to report");
    return m;
  }
  const double xv = xm - q1 / (2 * q2);
  size_t i_min = 0;
  for (size_t i = 1; i < runs.size(); ++i)
    if (runs[i].loss < runs[i_min].loss) i_min = i;
  const bool lowest_at_end = runs[i_min].n == runs.front().n || runs[i_min].n == runs.back().n;
  if (!(xv > x_lo && xv < x_hi) || lowest_at_end) {
    m.status = VertexStatus::Edge;
    m.message = str_cat("budget C = ", b.c, ": the minimum is on the edge of the sampled sizes (N = ",
                        runs.front().n, " .. ", runs.back().n, ", parabola vertex at N = ", std::exp(xv),
                        ", lowest loss at N = ", runs[i_min].n,
                        "); not reported: extend the sizes of this budget towards ",
                        (xv <= x_lo || runs[i_min].n == runs.front().n) ? "smaller" : "larger", " models");
    return m;
  }
  m.status = VertexStatus::Interior;
  m.n_opt = std::exp(xv);
  m.d_opt = flops.tokens(m.n_opt, b.c);
  m.loss_opt = m.c0 + m.c1 * xv + m.c2 * xv * xv;
  return m;
}

PowerLaw fit_power_law(const std::vector<double>& x, const std::vector<double>& y) {
  PLINTH_ASSERT(x.size() == y.size());
  PowerLaw p;
  if (x.size() < 2) return p;
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += std::log(x[i]), my += std::log(y[i]);
  mx /= static_cast<double>(x.size());
  my /= static_cast<double>(x.size());
  double sxx = 0, sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxx += (std::log(x[i]) - mx) * (std::log(x[i]) - mx);
    sxy += (std::log(x[i]) - mx) * (std::log(y[i]) - my);
  }
  if (!(sxx > 0)) return p;
  p.exponent = sxy / sxx;
  p.k = std::exp(my - p.exponent * mx);
  p.points = static_cast<int>(x.size());
  return p;
}

Approach2Result approach2(const std::vector<BudgetRuns>& budgets, const FlopsModel& flops) {
  Approach2Result r;
  std::vector<double> cs, ns, ds;
  for (const BudgetRuns& b : budgets) {
    r.budgets.push_back(budget_minimum(b, flops));
    const BudgetMinimum& m = r.budgets.back();
    if (m.status == VertexStatus::Interior) cs.push_back(m.c), ns.push_back(m.n_opt), ds.push_back(m.d_opt);
  }
  r.n_opt = fit_power_law(cs, ns);
  r.d_opt = fit_power_law(cs, ds);
  return r;
}

}  // namespace plinth::sweep
