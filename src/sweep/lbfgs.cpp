// lbfgs.cpp -- L-BFGS two-loop recursion with a strong-Wolfe line search (Nocedal & Wright,
// algorithms 3.5 / 3.6 and 7.4); interpolation in the zoom phase is a safeguarded cubic.
#include "sweep/lbfgs.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

namespace plinth::sweep {
namespace {

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

double norm_inf(const std::vector<double>& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::abs(v));
  return m;
}

struct Point {
  double t = 0, f = 0, d = 0;   // step, objective, directional derivative
};

// Minimiser of the cubic through (a.t, a.f, a.d) and (b.t, b.f, b.d), kept inside the
// middle 80% of [a.t, b.t]; bisection when the cubic has no usable minimum.
double cubic_step(const Point& a, const Point& b) {
  const double lo = std::min(a.t, b.t), hi = std::max(a.t, b.t), w = hi - lo;
  const double d1 = a.d + b.d - 3 * (a.f - b.f) / (a.t - b.t);
  const double disc = d1 * d1 - a.d * b.d;
  double t = 0.5 * (a.t + b.t);
  if (disc >= 0) {
    const double d2 = std::copysign(std::sqrt(disc), b.t - a.t);
    const double den = b.d - a.d + 2 * d2;
    if (den != 0) {
      const double c = b.t - (b.t - a.t) * (b.d + d2 - d1) / den;
      if (std::isfinite(c)) t = c;
    }
  }
  return std::clamp(t, lo + 0.1 * w, hi - 0.1 * w);
}

class LineSearch {
 public:
  LineSearch(const Objective& f, const std::vector<double>& x, const std::vector<double>& p, int* evals)
      : f_(f), x_(x), p_(p), evals_(evals), xt_(x.size()), gt_(x.size()) {}

  Point eval(double t) {
    for (size_t i = 0; i < x_.size(); ++i) xt_[i] = x_[i] + t * p_[i];
    ++*evals_;
    Point q;
    q.t = t;
    q.f = f_(xt_, gt_);
    q.d = dot(gt_, p_);
    if (!std::isfinite(q.f) || !std::isfinite(q.d)) q.f = q.d = std::numeric_limits<double>::infinity();
    return q;
  }

  // Returns true and leaves the accepted point in xt_/gt_ on success.
  bool search(const Point& p0, double t1, Point* out) {
    constexpr double c1 = 1e-4, c2 = 0.9;
    Point prev = p0;
    double t = t1;
    for (int i = 0; i < 40; ++i) {
      Point cur = eval(t);
      if (cur.f > p0.f + c1 * t * p0.d || (i > 0 && cur.f >= prev.f)) return zoom(p0, prev, cur, out);
      if (std::abs(cur.d) <= -c2 * p0.d) return (*out = cur, true);
      if (cur.d >= 0) return zoom(p0, cur, prev, out);
      prev = cur;
      t *= 4;
    }
    return false;
  }

  const std::vector<double>& x() const { return xt_; }
  const std::vector<double>& g() const { return gt_; }

 private:
  bool zoom(const Point& p0, Point lo, Point hi, Point* out) {
    constexpr double c1 = 1e-4, c2 = 0.9;
    for (int i = 0; i < 60; ++i) {
      if (std::abs(hi.t - lo.t) <= 1e-16 * std::max(1.0, std::abs(lo.t))) break;
      const double t = std::isfinite(hi.f) ? cubic_step(lo, hi) : 0.5 * (lo.t + hi.t);
      Point cur = eval(t);
      if (cur.f > p0.f + c1 * t * p0.d || cur.f >= lo.f) {
        hi = cur;
      } else {
        if (std::abs(cur.d) <= -c2 * p0.d) return (*out = cur, true);
        if (cur.d * (hi.t - lo.t) >= 0) hi = lo;
        lo = cur;
      }
    }
    // Accept the best sufficient-decrease point found, if it moved at all.
    if (lo.t > 0 && lo.f < p0.f) {
      *out = eval(lo.t);
      return true;
    }
    return false;
  }

  const Objective& f_;
  const std::vector<double>& x_;
  const std::vector<double>& p_;
  int* evals_;
  std::vector<double> xt_, gt_;
};

}  // namespace

const char* lbfgs_stop_name(LbfgsStop s) {
  switch (s) {
    case LbfgsStop::Gradient: return "gradient";
    case LbfgsStop::Step: return "step";
    case LbfgsStop::Objective: return "objective";
    case LbfgsStop::MaxIterations: return "max_iterations";
    case LbfgsStop::LineSearch: return "line_search";
    case LbfgsStop::NonFinite: return "non_finite";
  }
  return "?";
}

LbfgsResult lbfgs_minimize(const Objective& f, std::vector<double> x0, const LbfgsOptions& o) {
  const size_t n = x0.size();
  LbfgsResult r;
  r.x = std::move(x0);
  std::vector<double> g(n), p(n), q(n);
  r.f = f(r.x, g);
  r.evaluations = 1;
  r.grad_norm = norm_inf(g);
  if (!std::isfinite(r.f)) {
    r.stop = LbfgsStop::NonFinite;
    return r;
  }
  const double g0 = r.grad_norm;
  if (g0 == 0) {
    r.stop = LbfgsStop::Gradient;
    return r;
  }
  std::deque<std::vector<double>> S, Y;
  std::deque<double> rho;
  int small_f = 0;
  for (r.iterations = 0; r.iterations < o.max_iterations;) {
    // two-loop recursion: p = -H g
    q = g;
    std::vector<double> alpha(S.size());
    for (size_t k = S.size(); k-- > 0;) {
      alpha[k] = rho[k] * dot(S[k], q);
      for (size_t i = 0; i < n; ++i) q[i] -= alpha[k] * Y[k][i];
    }
    double gamma = 1.0;
    if (!S.empty()) gamma = dot(S.back(), Y.back()) / dot(Y.back(), Y.back());
    else gamma = 1.0 / std::sqrt(dot(g, g));   // first step has unit length: scale-free
    for (size_t i = 0; i < n; ++i) q[i] *= gamma;
    for (size_t k = 0; k < S.size(); ++k) {
      const double beta = rho[k] * dot(Y[k], q);
      for (size_t i = 0; i < n; ++i) q[i] += S[k][i] * (alpha[k] - beta);
    }
    for (size_t i = 0; i < n; ++i) p[i] = -q[i];
    double d0 = dot(g, p);
    if (!(d0 < 0)) {   // not a descent direction: restart from steepest descent
      S.clear(), Y.clear(), rho.clear();
      const double gn = std::sqrt(dot(g, g));
      for (size_t i = 0; i < n; ++i) p[i] = -g[i] / gn;
      d0 = dot(g, p);
    }
    LineSearch ls(f, r.x, p, &r.evaluations);
    Point accepted;
    if (!ls.search({0.0, r.f, d0}, 1.0, &accepted)) {
      r.stop = LbfgsStop::LineSearch;
      break;
    }
    ++r.iterations;
    std::vector<double> s(n), y(n);
    double step = 0;
    for (size_t i = 0; i < n; ++i) {
      s[i] = ls.x()[i] - r.x[i];
      y[i] = ls.g()[i] - g[i];
      step = std::max(step, std::abs(s[i]));
    }
    const double x_scale = 1.0 + norm_inf(r.x);
    const double f_old = r.f;
    r.x = ls.x();
    g = ls.g();
    r.f = accepted.f;
    r.grad_norm = norm_inf(g);
    const double sy = dot(s, y);
    if (sy > 1e-300) {
      S.push_back(std::move(s)), Y.push_back(std::move(y)), rho.push_back(1.0 / sy);
      if (static_cast<int>(S.size()) > o.memory) S.pop_front(), Y.pop_front(), rho.pop_front();
    }
    if (r.grad_norm <= o.grad_rel * g0) {
      r.stop = LbfgsStop::Gradient;
      return r;
    }
    if (step <= o.step_tol * x_scale) {
      r.stop = LbfgsStop::Step;
      return r;
    }
    small_f = (f_old - r.f <= o.f_rel * std::max(std::abs(f_old), std::abs(r.f))) ? small_f + 1 : 0;
    if (small_f >= 2) {
      r.stop = LbfgsStop::Objective;
      return r;
    }
  }
  if (r.iterations >= o.max_iterations) r.stop = LbfgsStop::MaxIterations;
  return r;
}

}  // namespace plinth::sweep
