// approach2.h -- Hoffmann et al.'s Approach 2 as a cross-check of the parametric fit: per compute
// budget a parabola of the loss in log N; its vertex is the budget's optimal N only when it is
// an interior minimum (convex, inside the sampled sizes, and the lowest observed loss is not at
// an end of the sizes). Otherwise the budget is refused with a message, never a number. Power
// laws N_opt = k_N C^a and D_opt = k_D C^b are then fitted across the accepted budgets.
#pragma once
#include <string>
#include <vector>

#include "sweep/scaling_fit.h"

namespace plinth::sweep {

struct BudgetRuns {
  double c = 0;                               // the budget (FLOPs)
  std::vector<Observation> runs;              // N, D, final evaluation loss
};

enum class VertexStatus { Interior, Edge, NotConvex, TooFewPoints };
const char* vertex_status_name(VertexStatus s);

struct BudgetMinimum {
  double c = 0;
  VertexStatus status = VertexStatus::TooFewPoints;
  double c0 = 0, c1 = 0, c2 = 0;              // L = c0 + c1 x + c2 x^2, x = ln N
  double n_opt = 0, d_opt = 0, loss_opt = 0;  // meaningful only when Interior
  std::string message;                        // why a budget was refused
};

// Least-squares parabola and the vertex check. D_opt = flops.tokens(N_opt, c).
BudgetMinimum budget_minimum(const BudgetRuns& b, const FlopsModel& flops);

struct PowerLaw {
  double k = 0, exponent = 0;                 // y = k x^exponent
  int points = 0;                             // 0 when fewer than two budgets were accepted
  double at(double x) const;
};
PowerLaw fit_power_law(const std::vector<double>& x, const std::vector<double>& y);

struct Approach2Result {
  std::vector<BudgetMinimum> budgets;
  PowerLaw n_opt, d_opt;                      // over the Interior budgets
};

Approach2Result approach2(const std::vector<BudgetRuns>& budgets, const FlopsModel& flops);

}  // namespace plinth::sweep
