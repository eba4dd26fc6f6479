// parallel_options.h -- the parallel settings a configuration names, as plain enums: no
// communicator, no MPI, nothing from parallel/comm. The configuration structs (model/, train/,
// launch/) include this instead of the headers that implement the parallelism.
#pragma once

namespace plinth::parallel {

// Tensor parallelism: norms on a sequence shard over tp (parallel/tensor_parallel.h).
enum class SequenceParallel { Off, On };

// Data parallelism: None all-reduces every gradient bucket; One reduce-scatters them and shards
// the optimizer state over dp (ZeRO-1, parallel/data_parallel.h).
enum class ZeroStage { None, One };

// Pipeline schedules (parallel/pipeline_schedule.h): GPipe, 1F1B, interleaved 1F1B.
enum class ScheduleKind { GPipe, OneFOneB, Interleaved };

}  // namespace plinth::parallel
