// pipeline_schedule.h -- pipeline-parallel schedules as plain data, and their analysis.
// A schedule is, for one pipeline stage (rank along pp), the ordered list of what it does in one
// optimizer step: forward or backward of micro-batch i on its model chunk c, and the point-to-
// point messages around them (receive the input activation before a forward, send the output
// after it; receive the output gradient before a backward, send the input gradient after it).
// Nothing here knows what a model is: the executor in train/ binds the actions to a model.
//
// Virtual stages: with `chunks` = v model chunks per rank (interleaved 1F1B), the network is cut
// into V = pp * v pieces; piece vs = chunk * pp + stage lives on rank `stage`, so activations go
// round the ring of ranks v times. With v = 1, virtual stage == stage.
//
// Schedules (m micro-batches, pp stages):
//   GPipe      all forwards, then all backwards; m activations in flight; bubble (pp-1)/(m+pp-1).
//   1F1B       pp-s-1 warm-up forwards, then one forward / one backward, then the remaining
//              backwards; at most pp - s in flight on stage s; same bubble as GPipe.
//   Interleaved Megatron's interleaved 1F1B over v chunks; needs m % pp == 0; bubble
//              (pp-1)/(v*m+pp-1) when forward and backward cost the same.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "parallel/comm/tags.h"
#include "parallel/parallel_options.h"

namespace plinth::parallel {

enum class ActionKind { RecvAct, Forward, SendAct, RecvGrad, Backward, SendGrad };

struct PipelineShape {
  int stages = 1;          // pp
  int micro_batches = 1;   // m: micro-batches per optimizer step
  int chunks = 1;          // v: model chunks (virtual stages) per rank; > 1 only for Interleaved
  int virtual_stages() const { return stages * chunks; }
};

struct PipelineAction {
  ActionKind kind = ActionKind::Forward;
  int micro = 0;   // micro-batch index
  int chunk = 0;   // this rank's model chunk (virtual stage chunk * stages + stage)
  int peer = -1;   // for messages: the other stage (rank in the pp group)
  int tag = -1;    // for messages: equal on the matching send and receive, unique per receiver within a step,
                   // in [kPipelineTagBase, kPipelineTagBase + kPipelineTagCount) (parallel/comm/tags.h)
  bool operator==(const PipelineAction&) const = default;
};

ScheduleKind schedule_kind_from_name(const std::string& name);   // gpipe | 1f1b | interleaved
const char* schedule_kind_name(ScheduleKind k);

// Throws plinth::Error(Config) naming the parallel.* key: stages < 1, micro-batches < 1,
// 1F1B / interleaved with fewer micro-batches than stages, interleaved with chunks < 2 or
// micro-batches not a multiple of stages, chunks != 1 for GPipe / 1F1B, more messages per step
// than the pipeline's tag range holds (pipeline_tags_validate).
void pipeline_schedule_validate(ScheduleKind kind, const PipelineShape& shape);

// Message tags: one per (receiving chunk, micro-batch, direction) of a step, so a step of m
// micro-batches over v chunks uses 2 m v tags whatever parallel.pp and however long the run.
// The most micro-batches one step (or one forward-only call) may have with `chunks` chunks.
int pipeline_max_micro_batches(int chunks);
// Config error naming parallel.pp_chunks and the micro-batches per step when the shape needs
// more tags than comm::kPipelineTagCount; Comm error when the group's tag_ub cannot hold them.
// A single stage (no messages) passes whatever its micro-batches.
void pipeline_tags_validate(const PipelineShape& shape, int tag_ub = comm::kTagMax);

// The actions of `stage` for one training step (validated first).
std::vector<PipelineAction> pipeline_schedule(ScheduleKind kind, const PipelineShape& shape, int stage);
// Forward passes only (evaluation): every chunk's forwards in micro-batch order with their
// messages; at most pipeline_max_micro_batches(chunks) micro-batches (callers run rounds).
std::vector<PipelineAction> pipeline_forward_schedule(const PipelineShape& shape, int stage);

// The most micro-batches whose forward has run on `chunk` but whose backward has not
// (chunk < 0: summed over the rank's chunks).
int pipeline_peak_in_flight(const std::vector<PipelineAction>& actions, int chunk = -1);

// Runs every stage's action list against the others with unit-free costs: a forward of one chunk
// takes t_forward / chunks, a backward t_backward / chunks, messages are free and sends never
// block. Throws plinth::Error(Internal) if the schedules deadlock or a receive has no send.
struct ScheduleSimulation {
  double makespan = 0;                  // time until the last stage finishes
  std::vector<double> busy;             // per stage: time spent computing
  double bubble_fraction = 0;           // mean over stages of 1 - busy / makespan
};
ScheduleSimulation pipeline_simulate(ScheduleKind kind, const PipelineShape& shape, double t_forward = 1.0,
                                     double t_backward = 1.0);
// The textbook bubble fraction: (pp-1)/(m+pp-1), or (pp-1)/(v*m+pp-1) interleaved.
double pipeline_theoretical_bubble(ScheduleKind kind, const PipelineShape& shape);

std::string pipeline_action_string(const PipelineAction& a);   // e.g. "F3.c1", "recv-act 3.c1 <- 0"

}  // namespace plinth::parallel
