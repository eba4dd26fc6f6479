// analysis.h -- `plinth sweep fit`: everything a sweep's finished runs say about the loss
// surface: the Approach 3 fit with its bootstrap intervals, the compute-optimal allocation at
// requested budgets, Approach 2 per budget, residuals, and the source entropy H (synthetic
// corpora) beside the fitted E. Writes DIR/fit.csv (parameters and intervals) and DIR/fit.md.
#pragma once
#include <string>
#include <vector>

#include "sweep/approach2.h"
#include "sweep/plan.h"
#include "sweep/results.h"
#include "sweep/scaling_fit.h"
#include "sweep/sweep_config.h"

namespace plinth::sweep {

struct AnalysedRun {
  std::string id, shape, status, entropy;
  int budget_index = -1;
  double budget = 0;
  double n = 0, n_total = 0, n_non_embedding = 0, d = 0, c = 0, c_6nd = 0;
  double train_loss = 0, loss = 0, loss_se = 0, wall_s = 0;
  double predicted = 0, residual = 0;   // fit's L(N, D) and log(L^) - log(L) (finished runs)
};

struct SweepAnalysis {
  std::string dir;
  SweepConfig config;
  std::vector<AnalysedRun> runs;        // every planned run, in plan order
  double entropy = 0;                   // NaN when the corpus is not synthetic
  FlopsModel flops_model;
  int finished = 0;
  FitResult fit;
  BootstrapResult boot;
  Identified e_identified = Identified::No;
  std::vector<double> budgets;          // where the allocation is reported
  std::vector<Allocation> allocation;   // point estimates at budgets
  Approach2Result approach2;
  bool have_approach2 = false;          // isoflop design only
  int violations = 0;                   // runs with loss < H - 4 SE
};

SweepAnalysis sweep_analyse(const std::string& dir);
void sweep_fit_write(const SweepAnalysis& a);
std::string sweep_fit_markdown(const SweepAnalysis& a);   // the fit section of the report

// "1.23e+12"-style short number for tables.
std::string short_num(double v, int digits = 3);

}  // namespace plinth::sweep
