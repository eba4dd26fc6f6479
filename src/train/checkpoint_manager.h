// checkpoint_manager.h -- one rank's checkpoints: save (synchronous, or asynchronous through a
// staging copy written by a background thread), commit by the leader, keep-last pruning, resume
// on any (tp, pp, dp) layout (load, the data position, the caller's resume check), the choice of
// checkpoint for resume=auto, and the start-up check of checkpoint.dir.
//
// The trainer owns the state; the manager borrows it: the grid's collectives, the parameter
// layout, the configuration, the corpus coordinator (the data position is part of a checkpoint)
// and a TrainState of pointers to this rank's parameters and optimizer moments. The state is read
// in two places only: stage_for_async (the copy into the staging buffers) and shard_pieces (what
// a shard file is written from); a resume writes it in load_state.
//
// Every public call is collective over the whole grid and reached by every rank at the same
// point of the run (the training loop's order).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/tensor_spec.h"
#include "device/device_buffer.h"
#include "io/checkpoint.h"
#include "model/model.h"
#include "parallel/data_parallel.h"
#include "train/data_coordinator.h"
#include "train/grid_collectives.h"
#include "train/train_config.h"

namespace plinth::train {

// This rank's training state, by pointer (stable for the trainer's lifetime): device memory of
// the manager's backend.
struct TrainState {
  float* params = nullptr;       // layout.size() floats: this rank's tensor-parallel slices
  float* exp_avg = nullptr;      // the AdamW moments as the optimizer holds them: the ranges of
  float* exp_avg_sq = nullptr;   // grad_sync.owned_ranges() back to back, moment_size floats each
  int64_t moment_size = 0;
};

// What a resume found: the step to continue from (0: no checkpoint) and its directory.
struct ResumePoint {
  int64_t step = 0;
  std::string dir;
};

class CheckpointManager {
 public:
  // Called on every rank with the stored configuration text, the checkpoint directory and its
  // step before a checkpoint is loaded; throws to refuse it.
  using ResumeCheck = std::function<void(const std::string& stored_ini, const std::string& dir, int64_t step)>;
  // tied_copy: the last pipeline stage's copy of a tied embedding (empty when none); it is never
  // written (the first stage writes the embedding). tc: checkpoint.*, the batch, seed and steps.
  // be: the backend the state lives on (staging and loads go through host buffers of it).
  CheckpointManager(device::Backend& be, const model::ModelConfig& mc, const TrainConfig& tc,
                    const std::string& config_ini,
                    GridCollectives& grid, const ParamLayout& layout, const parallel::GradSync& grad_sync,
                    FlatRange tied_copy, DataCoordinator& data, TrainState state, ResumeCheck resume_check);
  // An asynchronous write still in flight (e.g. an error unwinds the run) is let finish; its
  // temporary directory is never committed, so no checkpoint appears.
  ~CheckpointManager();
  CheckpointManager(const CheckpointManager&) = delete;
  CheckpointManager& operator=(const CheckpointManager&) = delete;

  // Start-up (train.resume != none): finds the checkpoint (resume=auto: choose_auto_checkpoint),
  // checks it, loads this rank's slices into the state and sets the data position. {0, ""} when
  // resume=auto finds none.
  ResumePoint resume();
  // Start-up, after resume: removes temporary directories of saves that died, and refuses
  // (Config error) a checkpoint.dir that holds a checkpoint newer than start_step, which a later
  // save would collide with.
  void prepare_checkpoint_root(int64_t start_step);
  const std::string& resumed_from() const { return resumed_from_; }   // "" unless resumed

  // Saves the state after `step` optimizer steps. Synchronous: returns the committed path.
  // Asynchronous: starts the background write and returns "" (the commit happens in
  // complete_async_save). Waits for a previous asynchronous save first; throws Error(Config) when
  // any rank's parameters are not finite.
  std::string save(int64_t step);
  // At a step boundary: commits a pending asynchronous save once every rank's shard is written
  // (wait = Yes: waits for it). Returns the committed path or "". Collective only while a save is
  // pending (async_pending() is the same on every rank).
  enum class Wait { No, Yes };
  std::string complete_async_save(Wait wait);
  bool async_pending() const { return async_ != nullptr; }

 private:
  struct AsyncWrite;
  // resume=auto: the newest checkpoint under checkpoint.dir that passes full validation (the
  // ranks share the checksum reads), setting damaged ones aside; "" when none.
  std::string choose_auto_checkpoint();
  // Reads this rank's slices of the parameters and (its pieces of) the moments into the state.
  // Returns this rank's read time in seconds.
  double load_state(const std::string& dir);
  // Sets the data position from the checkpoint's per-corpus counts in O(#corpora) and logs each
  // corpus's epoch (a checkpoint without them, or saved at another global_batch: the position is
  // derived from the sample index instead).
  void restore_data_position(int64_t step, const std::map<std::string, int64_t>& counters, const std::string& dir);
  // Throws Error(Config) naming the step when any rank's parameters are not finite.
  void check_params_finite(int64_t step);
  bool writes_params() const { return grid_.dp_rank() == 0; }   // data-parallel rank 0 of each (tp, pp)
  bool writes_moments() const;                             // does this rank's shard hold moments
  // The staging copy (device -> host buffers): this rank's parameters if it writes them, its
  // moments if it writes them (compact: its ZeRO-1 pieces only). Asynchronous saves, and
  // synchronous ones on a backend whose memory the host cannot read.
  void stage_for_async(const float* params, const float* exp_avg, const float* exp_avg_sq, AsyncWrite& job) const;
  // What this rank's shard file holds, pointing into params (read only where this rank writes
  // parameters) and m, v (the moments as the optimizer holds them; read only where this rank
  // writes moments).
  std::vector<io::ShardPiece> shard_pieces(const float* params, const float* m, const float* v) const;
  void start_async_write(int64_t step, const std::string& temp_dir, double t_start_s);
  // Agreement on the shards, then the leader writes the index, commits and prunes (keep_last).
  // Blocked time reported = blocked_s (this rank's time in the save so far) + the commit itself.
  std::string commit_checkpoint(int64_t step, const std::string& temp_dir, bool local_failed,
                                const std::string& local_error, uint64_t shard_checksum, double blocked_s,
                                double t_start_s);
  io::CheckpointMeta checkpoint_meta(int64_t step) const;   // the index's metadata (leader)

  device::Backend& be_;
  const model::ModelConfig& mc_;
  const TrainConfig& tc_;
  const std::string& config_ini_;
  GridCollectives& grid_;
  const ParamLayout& layout_;
  const parallel::GradSync& grad_sync_;
  const FlatRange tied_copy_;
  DataCoordinator& data_;
  const TrainState state_;
  ResumeCheck resume_check_;
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
};

}  // namespace plinth::train
