// trainer_run.cpp -- Trainer::run: the training loop as a sequence of named phases, each reached
// by every rank at every step boundary in the same order (their collectives match across ranks):
//   run_train_step -> maybe_evaluate -> maybe_checkpoint -> maybe_record -> check_stop
// and the time accounting that turns the loop's wall time into tokens/s, MFU and the shares of
// communication (evaluation and checkpoint time are reported on their own, never as training).
#include <algorithm>
#include <chrono>
#include <utility>

#include "core/error.h"
#include "core/log.h"
#include "train/trainer.h"

namespace plinth::train {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

struct Trainer::RunState {
  // The loop's time accounting: whole-run totals (training time excludes evaluation and
  // checkpoints), and the current record window's, reset at each record.
  struct Times {
    Clock::time_point start, window_start;
    double train_s = 0, exposed_s = 0, tp_wait_s = 0, pp_wait_s = 0;   // whole run
    int64_t window_steps = 0;
    double window_exposed_s = 0, window_eval_s = 0, window_ckpt_s = 0;

    void begin() { start = window_start = Clock::now(); }
    void next_window() {
      window_start = Clock::now();
      window_steps = 0;
      window_exposed_s = window_eval_s = window_ckpt_s = 0.0;
    }
  };

  RunState(const std::string& metrics_path, int64_t resumed_step) : metrics(metrics_path, resumed_step) {}
  TrainResult result;
  MetricsWriter metrics;              // the leader's metrics.jsonl (no file elsewhere)
  int64_t tokens_per_step = 0;
  double flops_per_token = 0;
  Times times;
  void keep_path(const std::string& dir) {   // a committed checkpoint ("" : none)
    if (!dir.empty()) result.last_checkpoint = dir;
  }
};

TrainResult Trainer::run(const volatile std::sig_atomic_t* stop_flag) {
  const bool leader = grid_.is_leader();
  const std::string& resumed_from = checkpoints_.resumed_from();
  RunState run(leader ? tc_.metrics_file : std::string(), resumed_from.empty() ? -1 : step_);
  run.result.first_step = step_;
  run.tokens_per_step = tc_.global_batch * mc_.seq_len;
  run.flops_per_token = model::model_flops_per_token(mc_, mc_.seq_len);
  log_info(str_cat("training steps ", step_ + 1, "..", tc_.steps, ": ", run.tokens_per_step, " tokens/step",
                   leader ? ", metrics -> " + run.metrics.path() : std::string()));
  if (stopped_during_start_up(stop_flag, run.result)) return std::move(run.result);
  if (leader) epochs_ = data_.epochs(step_ * tc_.global_batch);
  run.times.begin();
  while (step_ < tc_.steps) {
    StepMetrics m = run_train_step(run);
    maybe_evaluate(m, run);
    maybe_checkpoint(run);   // before this step's record, which reports the time the saves blocked training
    maybe_record(m, run);
    if (check_stop(stop_flag, run)) break;
  }
  finish_run(run);
  return std::move(run.result);
}

// A stop signal that arrived during start-up (MPI set-up, the checkpoint load): nothing has been
// trained since the checkpoint this run starts from, so stop without saving.
bool Trainer::stopped_during_start_up(const volatile std::sig_atomic_t* stop_flag, TrainResult& result) {
  const int32_t stop = agreed_stop(stop_flag);
  if (!stop) return false;
  log_info(str_cat("stop requested (signal ", stop, ") during start-up, before step ", step_ + 1,
                   ": nothing new to save; stopping"));
  result.stopped = StopReason::Signal;
  result.stop_signal = stop;
  result.last_step = step_;
  result.last_checkpoint = checkpoints_.resumed_from();
  return true;
}

StepMetrics Trainer::run_train_step(RunState& run) {
  RunState::Times& t = run.times;
  const auto t0 = Clock::now();
  const double tp_before = tp_.wait_seconds();
  const StepResult r = train_step(step_);
  t.tp_wait_s += tp_.wait_seconds() - tp_before;
  t.pp_wait_s += pipeline_.last_wait_seconds();
  ++step_;
  if (grid_.is_leader()) log_epoch_changes();
  t.train_s += seconds_since(t0);
  t.exposed_s += r.exposed_s;
  t.window_exposed_s += r.exposed_s;
  ++t.window_steps;
  run.result.losses.push_back(r.loss);

  StepMetrics m;
  m.step = step_;
  m.loss = r.loss;
  m.lr = r.lr;
  m.grad_norm = r.grad_norm;
  m.skipped = step_outcome_name(r.outcome);
  m.nonfinite_steps = guard_.nonfinite_steps();
  m.spike_steps = guard_.spike_steps();
  return m;
}

// Every eval.interval steps and after the last: the validation loss into this step's record.
void Trainer::maybe_evaluate(StepMetrics& m, RunState& run) {
  if (!((tc_.eval_interval > 0 && step_ % tc_.eval_interval == 0) || last_step())) return;
  const auto t_eval = Clock::now();
  double se = 0.0;
  m.val_loss = evaluate(&se);
  m.val_loss_se = se;
  run.result.val_losses.emplace_back(step_, *m.val_loss);
  const double dt = seconds_since(t_eval);
  run.times.window_eval_s += dt;
  run.result.eval_s += dt;
}

bool Trainer::interval_save_due() const { return tc_.ckpt_interval > 0 && step_ % tc_.ckpt_interval == 0; }

// Commits an asynchronous save whose shards are all written, and saves every checkpoint.interval
// steps and after the last (unless checkpoint.final is off). The time training was blocked counts
// as checkpoint time.
void Trainer::maybe_checkpoint(RunState& run) {
  const bool save_now = interval_save_due() || (last_step() && tc_.final_checkpoint == FinalCheckpoint::Yes);
  const bool ckpt_work = save_now || checkpoints_.async_pending();   // a save, or an asynchronous one in flight
  const auto t_ckpt = Clock::now();
  run.keep_path(checkpoints_.complete_async_save(CheckpointManager::Wait::No));
  if (save_now) run.keep_path(checkpoints_.save(step_));
  if (!ckpt_work) return;
  const double dt = seconds_since(t_ckpt);
  run.times.window_ckpt_s += dt;
  run.result.ckpt_s += dt;
}

// Every log.interval steps, after the last and with every validation loss: the progress line and
// the metrics.jsonl record (leader), over the window since the previous record.
void Trainer::maybe_record(StepMetrics& m, RunState& run) {
  if (!(step_ % tc_.log_interval == 0 || last_step() || m.val_loss)) return;
  RunState::Times& t = run.times;
  const int64_t world = static_cast<int64_t>(dp_.size()) * tp_.size() * pp_.size();
  // the window's training time: wall time since the last record less evaluation and saves
  const double dt = std::max(1e-9, seconds_since(t.window_start) - t.window_eval_s - t.window_ckpt_s);
  m.tokens_per_s = static_cast<double>(t.window_steps * run.tokens_per_step) / dt;
  m.flops_per_s = m.tokens_per_s * run.flops_per_token;
  m.mfu = m.flops_per_s / (peak_flops_ * static_cast<double>(world));
  m.rss_bytes = process_rss_bytes();
  m.elapsed_s = seconds_since(t.start);
  m.comm_exposed_s = t.window_exposed_s;
  m.eval_s = t.window_eval_s;
  m.ckpt_s = t.window_ckpt_s;
  const double eta =
      t.train_s / static_cast<double>(step_ - run.result.first_step) * static_cast<double>(tc_.steps - step_);
  if (grid_.is_leader()) {
    log_info(progress_line(m, tc_.steps, eta));
    run.metrics.write(m);
  }
  t.next_window();
}

// A stop request (SIGTERM / SIGUSR1 on any rank) is agreed by every rank at this step boundary:
// the max over tp, then pp, then dp covers the whole grid. Before the last step: saves (unless
// this step's interval save just did), waits for the save to commit, and returns true.
bool Trainer::check_stop(const volatile std::sig_atomic_t* stop_flag, RunState& run) {
  const int32_t stop = agreed_stop(stop_flag);
  if (!stop || last_step()) return false;
  log_info(str_cat("stop requested (signal ", stop, ") at step ", step_, ": saving a checkpoint and stopping"));
  if (!interval_save_due()) run.keep_path(checkpoints_.save(step_));
  run.keep_path(checkpoints_.complete_async_save(CheckpointManager::Wait::Yes));
  run.result.stopped = StopReason::Signal;
  run.result.stop_signal = stop;
  return true;
}

// The last asynchronous save committed, the run's totals, and the sample.
void Trainer::finish_run(RunState& run) {
  TrainResult& result = run.result;
  const RunState::Times& t = run.times;
  run.keep_path(checkpoints_.complete_async_save(CheckpointManager::Wait::Yes));
  result.last_step = step_;
  result.nonfinite_steps = guard_.nonfinite_steps();
  result.spike_steps = guard_.spike_steps();
  if (t.train_s > 0) {
    result.tokens_per_s = static_cast<double>((step_ - result.first_step) * run.tokens_per_step) / t.train_s;
    result.comm_exposed_fraction = t.exposed_s / t.train_s;
    result.tp_comm_fraction = t.tp_wait_s / t.train_s;
    result.pp_wait_fraction = t.pp_wait_s / t.train_s;
  }
  if (tc_.sample_tokens > 0 && result.stopped == StopReason::Completed && grid_.is_leader()) sample(result);
}

int32_t Trainer::agreed_stop(const volatile std::sig_atomic_t* stop_flag) {
  if (!stop_flag) return 0;   // every rank alike: no flag, no collective
  return grid_.max(static_cast<int32_t>(*stop_flag));
}

void Trainer::log_epoch_changes() {
  const std::vector<int64_t> consumed = data_.consumed_per_corpus(step_ * tc_.global_batch);
  for (size_t c = 0; c < consumed.size(); ++c) {
    const CorpusSummary& corpus = data_.corpora()[c];
    const int64_t epoch = consumed[c] / corpus.train_windows;
    if (epoch <= epochs_[c]) continue;
    // the epoch's first sample is in this step, or opens the next one when this step ended the previous epoch
    const int64_t begins = consumed[c] == epoch * corpus.train_windows ? step_ + 1 : step_;
    log_info(str_cat("corpus ", corpus.path, ": epoch ", epoch, " begins at step ", begins, " (pass ", epoch + 1,
                     " over its ", corpus.train_windows, " windows, in a new order)"));
    epochs_[c] = epoch;
  }
}

}  // namespace plinth::train
