// sweep_config.h -- a scaling-law sweep's configuration (configs/sweeps/NAME.ini) and the small
// INI reader behind it. Sections:
//   [sweep]   name, design (isoflop | grid), budgets, sizes_per_budget, size_span,
//             tokens_per_param, flops (causal | hoffmann | 6n), size_measure (total | non_embedding),
//             lr_width_exponent, lr_reference_width, warmup_fraction, min_lr_fraction,
//             checkpoints_per_run, ranks
//   [shapes]  head_size, aspect, min_layers, max_layers, min_width, max_width, width_step
//   [grid]    shapes (LxD list, e.g. 2x32,4x64), tokens (list)         -- design = grid only
//   [train]   the base training configuration: any `plinth train` key as section.key = value
//   [fit]     bootstrap, bootstrap_seed, huber_delta, budgets, e_max_relative_width
// Unknown keys and malformed values are Config errors naming the key and the file.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sweep/flops.h"

namespace plinth::sweep {

// section -> key -> value, in file order of sections; a key appears once per section.
struct IniFile {
  std::string origin;
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> sections;
  const std::vector<std::pair<std::string, std::string>>* section(const std::string& name) const;
};
IniFile ini_parse(const std::string& text, const std::string& origin);

enum class Design { IsoFlop, Grid };
enum class SizeMeasure { Total, NonEmbedding };
const char* size_measure_name(SizeMeasure m);

struct ShapeRule {
  int64_t head_size = 16;
  double aspect = 32;            // n_embd / n_layer
  int64_t min_layers = 1, max_layers = 12;
  int64_t min_width = 16, max_width = 512, width_step = 16;
};

struct GridShape {
  int64_t n_layer = 0, n_embd = 0;
};

struct SweepConfig {
  std::string origin;            // the file it came from
  std::string text;              // its text, copied into the sweep directory
  std::string name = "sweep";
  Design design = Design::IsoFlop;
  std::vector<double> budgets;   // isoflop: FLOPs per run
  int sizes_per_budget = 5;
  double size_span = 8;          // largest / smallest N of a budget
  double tokens_per_param = 20;  // D / N at the predicted optimum (centre of each budget)
  FlopsFormula flops = FlopsFormula::Causal;
  SizeMeasure size_measure = SizeMeasure::Total;
  double lr_width_exponent = 0;  // lr = optim.lr * (lr_reference_width / n_embd)^exponent
  double lr_reference_width = 64;
  double warmup_fraction = 0.05;
  double min_lr_fraction = 0.1;  // optim.min_lr = lr * this
  int checkpoints_per_run = 4;
  int ranks = 1;
  ShapeRule shapes;
  std::vector<GridShape> grid_shapes;
  std::vector<double> grid_tokens;
  std::vector<std::pair<std::string, std::string>> train;   // "section.key" -> value
  int bootstrap = 200;
  uint64_t bootstrap_seed = 1;
  double huber_delta = 1e-3;
  std::vector<double> fit_budgets;   // report N_opt, D_opt at these (default: the sweep's budgets)
  double e_max_relative_width = 1.0;

  std::string train_value(const std::string& key, const std::string& fallback) const;
};

SweepConfig sweep_config_parse(const std::string& text, const std::string& origin);
SweepConfig sweep_config_load(const std::string& path);

// "1e12,2e12" -> numbers; Config error naming key on a malformed item.
std::vector<double> parse_number_list(const std::string& s, const std::string& key);

}  // namespace plinth::sweep
