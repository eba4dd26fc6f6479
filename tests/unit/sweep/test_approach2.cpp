// test_approach2.cpp -- per-budget parabolas: interior vertices recovered, edge minima and
// non-convex fits refused with a message, power laws across budgets.
#include <gtest/gtest.h>

#include <cmath>

#include "sweep/approach2.h"

namespace plinth::sweep {
namespace {

BudgetRuns parabola_runs(double c, double n_star, std::vector<double> ns, double curvature = 0.1) {
  BudgetRuns b;
  b.c = c;
  for (double n : ns) {
    const double x = std::log(n) - std::log(n_star);
    b.runs.push_back({n, c / (6 * n), 3.0 + curvature * x * x});
  }
  return b;
}

TEST(Approach2, InteriorVertexRecovered) {
  const BudgetMinimum m = budget_minimum(parabola_runs(1e18, 1e5, {2e4, 5e4, 1e5, 2e5, 5e5}), FlopsModel{});
  ASSERT_EQ(m.status, VertexStatus::Interior) << m.message;
  EXPECT_NEAR(m.n_opt / 1e5, 1.0, 1e-9);
  EXPECT_NEAR(m.d_opt, 1e18 / (6 * m.n_opt), 1e-6 * m.d_opt);
  EXPECT_NEAR(m.loss_opt, 3.0, 1e-9);
}

TEST(Approach2, EdgeMinimumRefused) {
  // every sampled size is below the optimum: the lowest loss sits at the largest size
  const BudgetMinimum m = budget_minimum(parabola_runs(1e18, 1e6, {1e4, 2e4, 5e4, 1e5, 2e5}), FlopsModel{});
  EXPECT_EQ(m.status, VertexStatus::Edge);
  EXPECT_NE(m.message.find("edge"), std::string::npos) << m.message;
  EXPECT_NE(m.message.find("larger"), std::string::npos) << m.message;
  const BudgetMinimum s = budget_minimum(parabola_runs(1e18, 1e3, {1e4, 2e4, 5e4, 1e5}), FlopsModel{});
  EXPECT_EQ(s.status, VertexStatus::Edge);
  EXPECT_NE(s.message.find("smaller"), std::string::npos) << s.message;
}

TEST(Approach2, ConcaveAndTooFewRefused) {
  EXPECT_EQ(budget_minimum(parabola_runs(1e18, 1e5, {2e4, 1e5, 5e5}, -0.1), FlopsModel{}).status,
            VertexStatus::NotConvex);
  EXPECT_EQ(budget_minimum(parabola_runs(1e18, 1e5, {2e4, 5e5}), FlopsModel{}).status, VertexStatus::TooFewPoints);
}

TEST(Approach2, PowerLawsAcrossBudgets) {
  std::vector<BudgetRuns> budgets;
  for (double c : {1e18, 1e19, 1e20, 1e21}) {
    const double n_star = 2.0 * std::pow(c, 0.45);
    budgets.push_back(parabola_runs(c, n_star, {n_star / 4, n_star / 2, n_star, n_star * 2, n_star * 4}));
  }
  budgets.push_back(parabola_runs(1e22, 1e12, {1e5, 2e5, 4e5}));   // an edge budget is left out
  const Approach2Result r = approach2(budgets, FlopsModel{});
  EXPECT_EQ(r.n_opt.points, 4);
  EXPECT_NEAR(r.n_opt.exponent, 0.45, 1e-9);
  EXPECT_NEAR(r.n_opt.k, 2.0, 1e-6);
  EXPECT_NEAR(r.d_opt.exponent, 0.55, 1e-9);   // D = C / (6 N)
  EXPECT_EQ(r.budgets.back().status, VertexStatus::Edge);
}

}  // namespace
}  // namespace plinth::sweep
