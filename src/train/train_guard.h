// train_guard.h -- the step guard: decides, from the agreed loss and global gradient norm,
// whether a step's update is applied. A non-finite loss or gradient norm skips the update (and
// is counted; too many in a row is a Config error, exit 2); a loss spike (loss > spike_factor x
// the median of the last spike_window applied steps) is logged, and its update skipped when
// spike_action = skip. The caller agrees the verdict over the grid before acting on it.
#pragma once
#include <cstdint>
#include <deque>
#include <string>

namespace plinth::train {

enum class SpikeAction { Log, Skip };
SpikeAction spike_action_parse(const std::string& s);   // "log" | "skip" (Config error otherwise)
const char* spike_action_name(SpikeAction a);

struct GuardConfig {
  int64_t max_nonfinite_steps = 5;   // consecutive non-finite steps before the run stops
  double spike_factor = 0.0;         // 0 = no spike detection
  int64_t spike_window = 20;         // applied steps in the running median
  SpikeAction spike_action = SpikeAction::Log;
};

// What a step's verdict is, in increasing severity (the grid agrees on the maximum).
enum class StepVerdict : int32_t { Ok = 0, Spike = 1, NonFinite = 2 };
enum class StepOutcome { Applied, SpikeApplied, SkippedSpike, SkippedNonFinite };
const char* step_outcome_name(StepOutcome o);   // "", "loss_spike_logged", "loss_spike", "nonfinite"

class StepGuard {
 public:
  explicit StepGuard(const GuardConfig& c) : c_(c) {}
  // This rank's verdict of a step.
  StepVerdict classify(double loss, double grad_norm) const;
  // Records the agreed verdict of 1-based `step`, logs skips and spikes (one line), and says
  // what to do. Throws Error(Config) naming the steps once max_nonfinite_steps are in a row.
  StepOutcome record(int64_t step, StepVerdict agreed, double loss, double grad_norm);
  int64_t nonfinite_steps() const { return nonfinite_total_; }
  int64_t spike_steps() const { return spikes_total_; }
  double median() const;   // of the window; 0 when empty

 private:
  GuardConfig c_;
  std::deque<double> window_;   // losses of the last applied, non-spike steps
  int64_t nonfinite_run_ = 0, nonfinite_total_ = 0, spikes_total_ = 0;
};

}  // namespace plinth::train
