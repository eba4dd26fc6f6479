// lbfgs.h -- a small unconstrained L-BFGS minimiser with a strong-Wolfe line search.
// Used to polish the scaling-law fit. Every stopping rule is invariant under multiplying the
// objective by a positive constant (the bug that made the published Chinchilla intervals too
// narrow was an absolute gradient tolerance on a mean objective):
//   - gradient:  |g|_inf <= grad_rel * |g0|_inf          (relative to the starting gradient)
//   - step:      |x_k+1 - x_k|_inf <= step_tol * (1 + |x_k|_inf)
//   - objective: f_k - f_k+1 <= f_rel * max(|f_k|, |f_k+1|)  on two consecutive iterations
// The first step is -g / |g|_2 (not -g), so the whole trajectory is scale-free.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace plinth::sweep {

// f(x, grad) returns the objective at x and writes its gradient into grad (same size as x).
using Objective = std::function<double(const std::vector<double>& x, std::vector<double>& grad)>;

struct LbfgsOptions {
  int memory = 10;
  int max_iterations = 1000;
  double grad_rel = 1e-12;
  double step_tol = 1e-13;
  double f_rel = 1e-15;
};

enum class LbfgsStop { Gradient, Step, Objective, MaxIterations, LineSearch, NonFinite };
const char* lbfgs_stop_name(LbfgsStop s);

struct LbfgsResult {
  std::vector<double> x;
  double f = 0;
  double grad_norm = 0;   // |g|_inf at x
  int iterations = 0;
  int evaluations = 0;
  LbfgsStop stop = LbfgsStop::MaxIterations;
};

LbfgsResult lbfgs_minimize(const Objective& f, std::vector<double> x0, const LbfgsOptions& options = {});

}  // namespace plinth::sweep
