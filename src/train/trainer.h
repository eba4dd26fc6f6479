// trainer.h -- the training loop of one rank of the (tp, pp, dp) grid: micro-batches through
// the pipeline schedule -> gradients (bucketed data-parallel reduction overlapping backward;
// tied embeddings summed between first and last stage) -> global-norm clip over every stage ->
// AdamW on this rank's range (ZeRO-1: its shard, then an all-gather) -> metrics -> validation
// -> checkpoint. With groups of one rank this is the single-process reference path.
// trainer.cpp: construction, one optimizer step, validation, the end-of-run sample;
// trainer_run.cpp: run(), a loop of named phases; checkpoints: train/checkpoint_manager.h.
#pragma once
#include <csignal>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "device/device_buffer.h"
#include "model/model.h"
#include "optim/optim.h"
#include "parallel/comm/communicator.h"
#include "parallel/comm/timed_communicator.h"
#include "parallel/data_parallel.h"
#include "train/checkpoint_manager.h"
#include "train/data_coordinator.h"
#include "train/grid_collectives.h"
#include "train/metrics.h"
#include "train/pipeline_executor.h"
#include "train/train_config.h"
#include "train/train_guard.h"

namespace plinth::train {

enum class StopReason { Completed, Signal };

struct TrainResult {
  StopReason stopped = StopReason::Completed;
  int stop_signal = 0;                // the signal number when stopped == Signal
  int64_t first_step = 0;             // 0, or the step resumed from
  int64_t last_step = 0;
  std::vector<float> losses;          // training loss of each step run here (global mean over ranks)
  int64_t nonfinite_steps = 0;        // steps whose update was skipped for a non-finite loss or grad norm
  int64_t spike_steps = 0;            // loss spikes detected (skipped or not, per train.spike_action)
  std::vector<std::pair<int64_t, float>> val_losses;   // (step, val loss)
  double tokens_per_s = 0;            // whole job, training time only (no evaluation or checkpoint)
  double eval_s = 0, ckpt_s = 0;      // time in evaluation and in checkpoint saves (blocked time)
  double comm_exposed_fraction = 0;   // share of step time spent waiting for gradient reduction
  double tp_comm_fraction = 0;        // share of step time spent in tensor-parallel communication
  double pp_wait_fraction = 0;        // share of step time blocked on pipeline messages (bubble + transfer)
  std::string last_checkpoint;
  std::string sample;                 // decoded text sample (rank 0), if sample.tokens > 0
};

class Trainer {
 public:
  // tp, pp, dp: this rank's tensor-, pipeline- and data-parallel groups (world-size-1
  // communicators for one process). tc must have its batch resolved (train_config_resolve_batch).
  // config_ini is stored in checkpoints.
  // resume_check (optional): called on every rank with the stored configuration text, the
  // checkpoint directory and its step before a checkpoint is loaded; throws to refuse it.
  // be: the device this rank computes on (params, grads, moments, activations are its buffers).
  using ResumeCheck = CheckpointManager::ResumeCheck;
  Trainer(const model::ModelConfig& mc, const TrainConfig& tc, std::string config_ini, comm::Communicator& tp,
          comm::Communicator& pp, comm::Communicator& dp, ResumeCheck resume_check = {},
          device::Backend& be = device::cpu_backend());
  // Trains to train.steps. stop_flag (optional; set by a signal handler to a signal number):
  // checked on every rank at every step boundary and agreed across the grid; when any rank's
  // is set, every rank saves a checkpoint and returns with stopped == StopReason::Signal.
  TrainResult run(const volatile std::sig_atomic_t* stop_flag = nullptr);
  ~Trainer();

  // Collective: mean loss over the held-out windows (the same windows on every layout), and the
  // standard error of that mean over windows.
  float evaluate(double* standard_error = nullptr);
  const float* params() const { return params_.data(); }   // this rank's slices (device memory of backend())
  device::Backend& backend() const { return be_; }
  const model::Model& model() const { return model_; }
  int64_t optimizer_state_bytes() const { return adamw_.state_bytes(); }

 private:
  // ---- one optimizer step (trainer.cpp) ----
  struct StepResult {
    float loss = 0;                   // global mean training loss
    double grad_norm = 0;             // global gradient norm, before clipping
    float lr = 0;
    double exposed_s = 0;             // gradient-reduction (and ZeRO-1 gather) wait not hidden by backward
    StepOutcome outcome = StepOutcome::Applied;
  };
  // One step; the update is applied or skipped as the step guard says (agreed over the grid).
  StepResult train_step(int64_t step);
  bool reads_data() const;            // does this rank's pipeline stage read tokens (embedding or head)
  std::vector<MicroBatchData> load_train_batches(int64_t step);   // this step's micro-batches (device)
  // Host token windows of `count` micro-batches -> checked -> their device copies (one copy each).
  void upload_tokens(int64_t count);
  // Forward and backward of every micro-batch, the tied-embedding exchange, the data-parallel
  // reduction, and this rank's share of the gradient's sum of squares (left on the device).
  void compute_gradients(int64_t step, const std::vector<MicroBatchData>& data, double* exposed_s);
  // The one read of device values per step: this rank's sum of micro-batch mean losses (non-zero
  // on the head's stage; summed in micro-batch order) and its gradient sum of squares.
  void read_step_scalars(double* loss_sum, double* sumsq);
  double global_mean_loss(int64_t step, double local_sum);   // collective over pp and dp
  double global_grad_norm(double local_sumsq);               // collective over tp, dp (ZeRO-1), pp
  // The guard's verdict agreed over the grid; AdamW (and the ZeRO-1 gather) when it says so.
  StepOutcome apply_update(int64_t step, double loss, double grad_norm, float lr, double* exposed_s);
  void sync_tied_embedding();
  void sample(TrainResult& result);   // the end-of-run sample (leader only; skipped when tp or pp > 1)

  // ---- the loop's phases (trainer_run.cpp); each is reached by every rank at every step ----
  struct RunState;                    // one run(): its result, metrics file and time accounting
  // A stop signal that arrived during start-up: fills result and returns true (nothing to save).
  bool stopped_during_start_up(const volatile std::sig_atomic_t* stop_flag, TrainResult& result);
  StepMetrics run_train_step(RunState& run);   // step_ + 1, timed; its metrics so far
  void maybe_evaluate(StepMetrics& m, RunState& run);
  bool interval_save_due() const;     // checkpoint.interval divides step_
  void maybe_checkpoint(RunState& run);
  void maybe_record(StepMetrics& m, RunState& run);   // progress line and metrics.jsonl record
  bool check_stop(const volatile std::sig_atomic_t* stop_flag, RunState& run);   // true: stop now
  void finish_run(RunState& run);
  bool last_step() const { return step_ == tc_.steps; }
  // The stop signal any rank received (0: none), agreed over the grid. Collective when stop_flag
  // is set (it is on every rank of a `plinth train` job, or on none).
  int32_t agreed_stop(const volatile std::sig_atomic_t* stop_flag);
  // Leader: logs "corpus X: epoch E begins" for every corpus whose epoch changed in this step.
  void log_epoch_changes();

  device::Backend& be_;
  model::ModelConfig mc_;
  TrainConfig tc_;
  std::string config_ini_;
  comm::TimedCommunicator tp_;        // the tp group, timed: the share of a step spent in TP communication
  comm::Communicator& pp_;
  comm::Communicator& dp_;
  GridCollectives grid_;              // over tp_ (timed), pp_, dp_
  std::vector<parallel::LayerRange> partition_;   // layers of every virtual stage (validated first)
  DataCoordinator data_;              // checks the corpora before anything large is allocated
  model::Model model_;                // this rank's tensor-parallel shard of its pipeline chunks
  device::DeviceBuffer<float> params_, grads_;
  parallel::GradSync grad_sync_;
  optim::AdamW adamw_;
  PipelineExecutor pipeline_;
  FlatRange tied_copy_;               // last stage, tied embeddings, pp > 1: the head's copy of embed.wte
  CheckpointManager checkpoints_;     // borrows the members above
  std::vector<int32_t> tokens_, targets_;   // (micro-batches x B x T) of the current step or validation (host)
  device::DeviceBuffer<int32_t> tokens_dev_, targets_dev_;   // their device copies
  device::DeviceBuffer<double> sumsq_dev_;  // (1) this step's local gradient sum of squares
  std::vector<FlatRange> norm_pieces_;      // the flat pieces that share covers (computed once)
  device::DeviceBuffer<float> tied_recv_;   // pp > 1, tied embeddings: the peer stage's gradient copy
  int64_t step_ = 0;                  // optimizer steps completed
  std::vector<int64_t> epochs_;       // leader: epoch of each corpus after step_ (for log_epoch_changes)
  double peak_flops_ = 0;             // per rank: the MFU denominator is peak_flops_ x world size
  StepGuard guard_;
};

}  // namespace plinth::train
