// plan.h -- expanding a sweep into runs and writing the run table before anything runs.
// isoFLOP design: per budget C, the predicted optimum N* solves C = F(N*) * tokens_per_param * N*
// (F = FLOPs per token of the shape family, interpolated in log-log between candidate shapes);
// sizes_per_budget targets log-spaced over [N*/sqrt(span), N* sqrt(span)] are mapped to the
// nearest distinct candidate shapes (width = min_width, min_width + width_step, ..; layers =
// width / aspect clamped; heads = width / head_size), and D = C / F(shape), rounded to whole
// steps. Grid design: every listed shape at every listed token count.
// Output (sweep_plan_write): DIR/plan.csv, DIR/sweep.ini (the sweep configuration as given),
// DIR/runs/<id>/config.ini (a complete `plinth train` configuration, log.out_dir = DIR/runs/<id>).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/model_config.h"
#include "sweep/csv_table.h"
#include "sweep/scaling_fit.h"
#include "sweep/sweep_config.h"

namespace plinth::sweep {

// What launch/ resolves from a run's INI text with the real `plinth train` parser (so every key
// is checked exactly as training will check it).
struct ResolvedRun {
  model::ModelConfig model;
  int64_t micro_batch = 0, grad_accum = 1, global_batch = 0;
  double lr = 0;
  uint64_t seed = 0;
};
using RunResolver = std::function<ResolvedRun(const std::string& ini_text, const std::string& origin)>;

struct PlannedRun {
  std::string id;                  // r000, r001, ... in plan order
  int budget_index = -1;           // isoflop: index into budgets; grid: -1
  double budget = 0;               // target C (isoflop); NaN for grid
  std::string shape;               // "L2-d64-h4"
  int64_t n_layer = 0, n_embd = 0, n_head = 0, seq_len = 0;
  int64_t params = 0, params_non_embedding = 0;
  double flops_per_token = 0;
  int64_t global_batch = 0, steps = 0, tokens = 0;
  double compute = 0, compute_6nd = 0;   // F * D and 6 * N(total) * D
  double lr = 0, min_lr = 0;
  int64_t warmup = 0, checkpoint_interval = 0;
  uint64_t seed = 0;
  std::string config_ini;          // the run's complete training configuration
};

struct Plan {
  std::vector<PlannedRun> runs;
  FlopsFormula flops = FlopsFormula::Causal;
  SizeMeasure size_measure = SizeMeasure::Total;
  std::string corpus;              // absolute path
  FlopsModel flops_model;          // C = f0 N^phi D fitted over the shapes (N as size_measure)
};

double run_size(const PlannedRun& r, SizeMeasure m);   // N used by the fit

Plan sweep_plan(const SweepConfig& c, const std::string& out_dir, const RunResolver& resolve);
Table plan_table(const Plan& p);
// Writes plan.csv, sweep.ini and every runs/<id>/config.ini. Refuses (Config error) a directory
// that already holds a different plan.csv; an identical one is left as it is (results kept).
void sweep_plan_write(const Plan& p, const SweepConfig& c, const std::string& out_dir);

// FlopsModel by least squares of log F on log N over the distinct shapes of a plan table.
FlopsModel flops_model_fit(const std::vector<double>& n, const std::vector<double>& flops_per_token);

}  // namespace plinth::sweep
