// train_guard.cpp -- non-finite step skipping and loss-spike detection (see train_guard.h).
#include "train/train_guard.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/log.h"

namespace plinth::train {

SpikeAction spike_action_parse(const std::string& s) {
  if (s == "log") return SpikeAction::Log;
  if (s == "skip") return SpikeAction::Skip;
  PLINTH_THROW(Config, "train.spike_action: '", s, "' is not log or skip");
}

const char* spike_action_name(SpikeAction a) { return a == SpikeAction::Skip ? "skip" : "log"; }

const char* step_outcome_name(StepOutcome o) {
  switch (o) {
    case StepOutcome::Applied: return "";
    case StepOutcome::SpikeApplied: return "loss_spike_logged";
    case StepOutcome::SkippedSpike: return "loss_spike";
    case StepOutcome::SkippedNonFinite: return "nonfinite";
  }
  return "?";
}

double StepGuard::median() const {
  if (window_.empty()) return 0.0;
  std::vector<double> v(window_.begin(), window_.end());
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  double m = v[mid];
  if (v.size() % 2 == 0) m = 0.5 * (m + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid)));
  return m;
}

StepVerdict StepGuard::classify(double loss, double grad_norm) const {
  if (!std::isfinite(loss) || !std::isfinite(grad_norm)) return StepVerdict::NonFinite;
  // a spike needs a full window of history (the first steps' losses fall fast)
  if (c_.spike_factor > 0 && static_cast<int64_t>(window_.size()) >= c_.spike_window &&
      loss > c_.spike_factor * median())
    return StepVerdict::Spike;
  return StepVerdict::Ok;
}

StepOutcome StepGuard::record(int64_t step, StepVerdict agreed, double loss, double grad_norm) {
  if (agreed == StepVerdict::NonFinite) {
    ++nonfinite_total_;
    ++nonfinite_run_;
    PLINTH_CHECK(nonfinite_run_ < c_.max_nonfinite_steps, Config, "training diverged: ", nonfinite_run_,
                 " consecutive steps with a non-finite loss or gradient norm (steps ", step - nonfinite_run_ + 1,
                 "..", step, "; loss ", loss, ", grad norm ", grad_norm,
                 "); their updates were skipped, so every checkpoint holds finite parameters; lower optim.lr, set "
                 "train.grad_clip, or raise train.max_nonfinite_steps");
    log_info(str_cat("step ", step, ": non-finite loss or gradient norm (loss ", loss, ", grad norm ", grad_norm,
                     ") on some rank: update skipped (", nonfinite_run_, " in a row, ", nonfinite_total_,
                     " in this run; the run stops at ", c_.max_nonfinite_steps, " in a row)"));
    return StepOutcome::SkippedNonFinite;
  }
  nonfinite_run_ = 0;
  if (agreed == StepVerdict::Spike) {
    ++spikes_total_;
    const bool skip = c_.spike_action == SpikeAction::Skip;
    log_info(str_cat("step ", step, ": loss spike ", loss, " > ", c_.spike_factor, " x median ", median(), " of the last ",
                     window_.size(), " steps: ", skip ? "update skipped" : "update applied (train.spike_action = log)",
                     " (", spikes_total_, " spikes in this run)"));
    return skip ? StepOutcome::SkippedSpike : StepOutcome::SpikeApplied;
  }
  window_.push_back(loss);
  while (static_cast<int64_t>(window_.size()) > c_.spike_window) window_.pop_front();
  return StepOutcome::Applied;
}

}  // namespace plinth::train
