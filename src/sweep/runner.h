// runner.h -- `plinth sweep run`: executes a planned sweep locally, one training job at a time
// (`mpirun -n R plinth train --config DIR/runs/<id>/config.ini --checkpoint.resume=auto`),
// keeping the sweep's state in DIR/results.csv after every run:
//   - a run whose metrics show its final step with an evaluation is done (also when it was
//     trained elsewhere, e.g. by a Slurm array task) and is not run again;
//   - an interrupted run (killed, or exit 75 after a checkpoint on SIGTERM) resumes from its
//     newest checkpoint;
//   - a failed run is reported with its exit code and log, and is retried only when asked.
// SIGINT / SIGTERM to the sweep are forwarded to the running job (which checkpoints) and stop
// the sweep after it; the run is left "interrupted".
#pragma once
#include <string>
#include <vector>

#include "sweep/results.h"

namespace plinth::sweep {

enum class RetryFailed { No, Yes };
enum class UseMpirun { Yes, No };   // No: run `plinth train` directly (one rank)

struct RunOptions {
  int ranks = 0;                       // 0 = sweep.ranks of the sweep configuration
  UseMpirun use_mpirun = UseMpirun::Yes;
  std::string mpirun = "mpirun";
  std::vector<std::string> mpirun_args;   // extra arguments before the program
  std::string plinth_exe;              // the plinth binary to run
  RetryFailed retry = RetryFailed::No;
  std::vector<std::string> only;       // run only these ids (empty = all)
  std::vector<std::string> train_args; // extra --key=value for every run (e.g. --train.threads=1)
};

struct RunSummary {
  int total = 0, done = 0, failed = 0, interrupted = 0, pending = 0, ran = 0, violations = 0;
  int selected_unfinished = 0;   // runs this call was asked to run (all, or --only) that are not done
};

RunSummary sweep_run_local(const std::string& dir, const RunOptions& o);

// Refreshes results.csv from the runs' metrics without running anything (after Slurm jobs).
RunSummary sweep_collect(const std::string& dir);

// The argv of the job for one run (for tests and for the Slurm hook's documentation).
std::vector<std::string> run_command(const std::string& dir, const std::string& id, const RunOptions& o, int ranks);

}  // namespace plinth::sweep
