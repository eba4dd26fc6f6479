// trainer.h -- the training loop of one rank of the (tp, pp, dp) grid: micro-batches through
// the pipeline schedule -> gradients (bucketed data-parallel reduction overlapping backward;
// tied embeddings summed between first and last stage) -> global-norm clip over every stage ->
// AdamW on this rank's range (ZeRO-1: its shard, then an all-gather) -> metrics -> validation
// -> checkpoint. With groups of one rank this is the single-process reference path.
#pragma once
#include <csignal>
#include <cstdint>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <string>
#include <vector>

#include "device/device_buffer.h"
#include "model/model.h"
#include "io/checkpoint.h"
#include "optim/optim.h"
#include "parallel/comm/communicator.h"
#include "parallel/comm/timed_communicator.h"
#include "parallel/data_parallel.h"
#include "train/data_coordinator.h"
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
  using ResumeCheck = std::function<void(const std::string& stored_ini, const std::string& dir, int64_t step)>;
  // be: the device this rank computes on (params, grads, moments, activations are its buffers).
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
  // One step; the update is applied or skipped as the step guard says (agreed over the grid).
  float train_step(int64_t step, double* grad_norm, float* lr, double* exposed_s, StepOutcome* outcome);
  // Collective: throws Error(Config) naming the step when any rank's parameters are not finite
  // (a save never writes them).
  void check_params_finite(int64_t step);
  void sample(TrainResult& result);   // the end-of-run sample (leader only; skipped when tp or pp > 1)
  // Checkpoints (trainer_checkpoint.cpp). Collective over the grid. Synchronous: returns the
  // committed path. Asynchronous: starts the background write and returns "" (the commit
  // happens in poll_async_save / finish_async_save).
  std::string save_checkpoint(int64_t step);
  // At a step boundary: commits a pending asynchronous save once every rank's shard is written
  // (wait = Yes: waits for it). Returns the committed path or "".
  enum class Wait { No, Yes };
  std::string complete_async_save(Wait wait);
  // Blocked time reported = blocked_s (this rank's time in the save so far) + the commit itself.
  std::string commit_checkpoint(int64_t step, const std::string& temp_dir, bool local_failed,
                                const std::string& local_error, uint64_t shard_checksum, double blocked_s,
                                double t_start_s);
  std::vector<io::ShardPiece> shard_pieces(const float* params, const float* m, const float* v) const;
  bool writes_moments() const;                     // does this rank's shard hold optimizer moments
  struct AsyncWrite;
  void stage_for_async(AsyncWrite& job);
  int32_t grid_max(int32_t value);                 // max over the whole grid (tp, pp, dp)
  // The stop signal any rank received (0: none), agreed over the grid. Collective when stop_flag
  // is set (it is on every rank of a `plinth train` job, or on none).
  int32_t agreed_stop(const volatile std::sig_atomic_t* stop_flag);
  void grid_sum(std::vector<int64_t>& values);     // element-wise sum over the whole grid
  void broadcast_from_leader(int32_t* value);      // from (tp, pp, dp) = (0, 0, 0) to every rank
  void broadcast_from_leader(std::string* value);
  int world_rank() const;
  bool is_leader() const { return world_rank() == 0; }   // (tp, pp, dp) = (0, 0, 0)
  // Runs fn on the leading rank only; every rank then learns whether it threw and, if so, throws
  // the leader's error (its kind and message). Collective over the grid.
  void on_leader(const std::function<void()>& fn);
  void resume();
  // Resume: sets the data position from the checkpoint's per-corpus counts in O(#corpora) and
  // logs each corpus's epoch (a checkpoint without them, or saved at another global_batch:
  // the position is derived from the sample index instead).
  void restore_data_position(const std::map<std::string, int64_t>& counters, const std::string& dir);
  // Leader: logs "corpus X: epoch E begins" for every corpus whose epoch changed in this step.
  void log_epoch_changes();
  // resume=auto: the newest checkpoint under checkpoint.dir that passes full validation (the
  // ranks share the checksum reads), setting damaged ones aside; "" when none. Collective.
  std::string choose_auto_checkpoint();
  // Start-up, after resume: removes temporary directories of saves that died, and refuses
  // (Config error) a checkpoint.dir that holds a checkpoint newer than the starting step, which a
  // later save would collide with. Collective.
  void prepare_checkpoint_root();
  void sync_tied_embedding();
  // The one read of device values per step: the micro-batch losses (summed in order, on the
  // rank holding the head) and this rank's gradient sum of squares.
  void read_step_scalars(double* loss_sum, double* sumsq);
  // Host token windows of `count` micro-batches -> checked -> the device copies (one copy each).
  void upload_tokens(int64_t count);

  device::Backend& be_;
  model::ModelConfig mc_;
  TrainConfig tc_;
  std::string config_ini_;
  ResumeCheck resume_check_;
  comm::TimedCommunicator tp_;        // the tp group, timed: the share of a step spent in TP communication
  comm::Communicator& pp_;
  comm::Communicator& dp_;
  std::vector<parallel::LayerRange> partition_;   // layers of every virtual stage (validated first)
  DataCoordinator data_;              // checks the corpora before anything large is allocated
  model::Model model_;                // this rank's tensor-parallel shard of its pipeline chunks
  device::DeviceBuffer<float> params_, grads_;
  parallel::GradSync grad_sync_;
  optim::AdamW adamw_;
  PipelineExecutor pipeline_;
  FlatRange tied_copy_;               // last stage, tied embeddings, pp > 1: the head's copy of embed.wte
  std::vector<int32_t> tokens_, targets_;   // (micro-batches x B x T) of the current step or validation (host)
  device::DeviceBuffer<int32_t> tokens_dev_, targets_dev_;   // their device copies
  device::DeviceBuffer<double> sumsq_dev_;  // (1) this step's local gradient sum of squares
  device::DeviceBuffer<float> tied_recv_;   // pp > 1, tied embeddings: the peer stage's gradient copy
  std::string resumed_from_;          // protected from keep_last pruning
  struct AsyncWrite {                 // a background shard write in flight
    int64_t step = -1;
    std::string temp_dir;
    std::thread thread;
    std::atomic<int> done{0};
    std::string error;                // set by the thread before done
    uint64_t checksum = 0;            // of the shard file, set by the thread before done
    double blocked_s = 0, started_s = 0;
    // the staging copy of what this rank writes (parameters on dp rank 0; its moments, compact),
    // freed with the job once the checkpoint is committed
    device::HostBuffer<float> params, m, v;
  };
  std::unique_ptr<AsyncWrite> async_;
  int64_t step_ = 0;                  // optimizer steps completed
  std::vector<int64_t> epochs_;       // leader: epoch of each corpus after step_ (for log_epoch_changes)
  double peak_flops_ = 0;             // per rank: the MFU denominator is peak_flops_ x world size
  StepGuard guard_;
};

}  // namespace plinth::train
