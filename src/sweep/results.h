// results.h -- a sweep's state and results: what one run's metrics.jsonl says (complete or not,
// final train loss, evaluation loss and its standard error) and DIR/results.csv, one row per
// run: id, status (pending | done | failed | interrupted), exit code, attempts, steps, tokens,
// FLOPs, final train loss, eval loss + SE, wall time, entropy check, message.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sweep/csv_table.h"

namespace plinth::sweep {

struct RunMetrics {
  int64_t last_step = 0;
  double final_train_loss = 0;
  double val_loss = 0, val_loss_se = 0;   // NaN when absent
  double elapsed_s = 0;                   // of the last training process
  bool has_final_eval = false;            // a record at last_step carries val_loss
};

// Reads <path> (JSONL as written by plinth train); a missing file gives last_step 0.
RunMetrics read_run_metrics(const std::string& path);
// Complete when the last record is step `steps` with an evaluation.
bool run_complete(const RunMetrics& m, int64_t steps);

enum class RunStatus { Pending, Done, Failed, Interrupted };
const char* run_status_name(RunStatus s);
RunStatus run_status_parse(const std::string& s, const std::string& origin);

// "ok" | "violation" (loss < H - 4 SE: a bug such as leakage) | "no_se" (loss >= H, no SE in the
// metrics) | "n/a" (no entropy rate: not a synthetic corpus, or no loss)
std::string entropy_check(double val_loss, double val_loss_se, double entropy_rate);

struct RunResult {
  std::string id;
  RunStatus status = RunStatus::Pending;
  int exit_code = 0;
  int attempts = 0;
  int64_t steps = 0, tokens = 0;
  double flops = 0;
  double final_train_loss = 0, val_loss = 0, val_loss_se = 0;
  double wall_s = 0;
  std::string entropy = "n/a";
  std::string message;
};

// results.csv of a sweep directory; ids of the plan without a row come back Pending.
std::vector<RunResult> results_read(const std::string& dir, const std::vector<std::string>& plan_ids);
void results_write(const std::string& dir, const std::vector<RunResult>& results);

}  // namespace plinth::sweep
