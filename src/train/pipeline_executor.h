// pipeline_executor.h -- runs a pipeline schedule on this rank's model chunks: the only place
// where a model stage meets point-to-point messages.
// Every receive of a step is posted when the step starts, into a buffer of its own, so sends
// always find their receive and a send never waits for the peer's program to reach it (the
// schedule then cannot deadlock: parallel/pipeline_schedule's simulation checks the same
// property with free sends). A received activation or gradient is swapped (not copied) into the
// micro-batch's activation slot. Sends are non-blocking and waited on only before their slot is
// written again, so communication overlaps the next compute action.
// Memory: per chunk, peak-in-flight activation slots (1F1B: pp - stage; GPipe: m), plus one
// (Ns, C) receive buffer per incoming message of a step.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "device/device_buffer.h"
#include "model/model.h"
#include "parallel/comm/communicator.h"
#include "parallel/pipeline_schedule.h"

namespace plinth::train {

// One micro-batch's data, (B, T) int32 each: tokens are read where a chunk holds the embedding,
// targets where one holds the head (null elsewhere is fine).
struct MicroBatchData {
  const int32_t* tokens = nullptr;
  const int32_t* targets = nullptr;
};

class PipelineExecutor {
 public:
  // model: this rank's chunks (model.chunks()[c] is virtual stage c * pp + stage); pp: the
  // pipeline group (rank = stage); micro_batches and (B, T): the shape of one training step.
  PipelineExecutor(const model::Model& model, comm::Communicator& pp, parallel::ScheduleKind kind, int micro_batches,
                   int64_t B, int64_t T);
  ~PipelineExecutor();
  PipelineExecutor(const PipelineExecutor&) = delete;
  PipelineExecutor& operator=(const PipelineExecutor&) = delete;

  // One training step's forward and backward passes by the schedule; parameter gradients
  // accumulate into grads. The observer (and, under sequence parallelism, the tp reduction of
  // replicated gradients) acts in each chunk's backward of the last micro-batch. Each
  // micro-batch's mean loss is left on the device in micro_losses() (on the rank holding the
  // head; zeros elsewhere): nothing is read to the host here. Pointers are device pointers.
  void train_step(comm::Communicator& tp, const float* params, float* grads, const std::vector<MicroBatchData>& data,
                  float dloss, model::BackwardObserver* observer);
  // (micro_batches) floats on the model's device, written by train_step
  const float* micro_losses() const { return micro_losses_.data(); }

  // Forward passes only (evaluation): micro-batch i holds sizes[i] <= B sequences (0: skipped
  // by every stage alike), any number of them (run in rounds the pipeline's tags allow). On the
  // rank holding the head: the sum over sequences of each sequence's mean loss, and in *sum_sq
  // the sum of their squares (standard errors), read to the host once per round; 0 elsewhere.
  double forward_only(comm::Communicator& tp, const float* params, const std::vector<int64_t>& sizes,
                      const std::vector<MicroBatchData>& data, double* sum_sq);

  const std::vector<parallel::PipelineAction>& actions() const { return actions_; }
  double last_wait_seconds() const { return last_wait_s_; }   // time the last call spent blocked on receives
  int64_t activation_bytes() const;

 private:
  struct Slot {
    model::Activations acts;
    std::vector<std::unique_ptr<comm::Work>> sends;   // in flight from this slot's buffers
  };
  double run(comm::Communicator& tp, const float* params, float* grads, const std::vector<parallel::PipelineAction>& acts,
             const std::vector<int64_t>& sizes, const std::vector<MicroBatchData>& data, float dloss,
             model::BackwardObserver* observer, double* sum_sq);
  Slot& slot(int chunk, int micro);

  const model::Model& model_;
  comm::Communicator& pp_;
  parallel::PipelineShape shape_;
  int64_t B_, T_;
  std::vector<parallel::PipelineAction> actions_;
  std::vector<std::vector<Slot>> slots_;                // [chunk][micro % slots]
  std::vector<device::DeviceBuffer<float>> recv_buffers_;   // one per receive of the current call
  device::DeviceBuffer<float> micro_losses_;            // (micro_batches) the last step's losses
  device::DeviceBuffer<double> row_means_;              // evaluation: each sequence's mean loss
  double last_wait_s_ = 0;
};

}  // namespace plinth::train
