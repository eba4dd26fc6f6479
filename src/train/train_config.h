// train_config.h -- every training setting that is not the model's shape, and its validation.
// Values come from launch/ (INI file + command-line overrides); this file knows no parser. The
// member initialisers are the defaults `plinth train` uses (launch/run_config.cpp shows them).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/param_layout.h"
#include "optim/optim.h"
#include "parallel/parallel_options.h"
#include "parallel/pipeline_partition.h"
#include "train/data_coordinator.h"
#include "train/train_guard.h"

namespace plinth::train {

enum class ResumeKind { None, Auto, Path };
enum class FinalCheckpoint { Yes, No };
// Off: a save blocks training until every shard and the index are written. On: the state is
// copied to staging buffers and written by a background thread while training continues; the
// commit (index, rename) happens at the first step boundary where every rank is done.
enum class AsyncSave { Off, On };   // save when the last step is done (tests turn it off)

struct TrainConfig {
  // [data]
  DataConfig data;                    // corpora, blending weights, access mode
  // [parallel] (the grid itself is built in launch/)
  parallel::ZeroStage zero = parallel::ZeroStage::None;
  parallel::SequenceParallel sequence_parallel = parallel::SequenceParallel::Off;
  int64_t bucket_bytes = 4 << 20;     // gradient bucket size for the data-parallel reduction
  parallel::ScheduleKind pp_schedule = parallel::ScheduleKind::OneFOneB;   // pipeline schedule
  int pp_chunks = 1;                  // model chunks (virtual stages) per pipeline rank; > 1: interleaved
  std::string pp_layers;              // explicit layer ranges per virtual stage ("0-3,4-7"), or empty
  // [train]
  int64_t micro_batch = 16;           // sequences per forward/backward on one rank
  int64_t grad_accum = 1;             // micro-batches per optimizer step on one rank
  int64_t global_batch = 0;           // sequences per optimizer step; 0 = micro_batch * grad_accum * dp
  int64_t steps = 200;                // optimizer steps in total
  uint64_t seed = 1337;               // init and data order
  int threads = 0;                    // 0 = all cores
  float grad_clip = 1.0f;             // max global grad norm, 0 = off
  GuardConfig guard;                  // non-finite steps and loss spikes (train_guard.h)
  // fault tests only (world rank 0 only; 0 = off): a NaN written into one gradient element of
  // steps [test_nan_first, test_nan_last] after the data-parallel reduction; the reported loss of
  // test_spike_step multiplied by 10; one parameter set to NaN after the update of test_nan_param_step
  int64_t test_nan_first = 0, test_nan_last = 0;
  int64_t test_spike_step = 0;
  int64_t test_nan_param_step = 0;
  // [optim]
  optim::LrScheduleConfig schedule;   // total_steps is set from steps
  optim::AdamWConfig adamw;
  // [eval]
  int64_t eval_interval = 50;         // steps between validation runs (0 = only at the end)
  int64_t eval_windows = 64;          // held-out sequences per validation (same on every layout)
  // [log]
  int64_t log_interval = 10;
  std::string out_dir = "runs/default";   // metrics.jsonl and checkpoints go here by default
  std::string metrics_file;           // default <out_dir>/metrics.jsonl
  double peak_tflops = 0.0;           // MFU peak per rank (device); 0 = CPU cores x FLOP/cycle x clock
  // [checkpoint]
  std::string ckpt_dir;               // default <out_dir>/checkpoints
  int64_t ckpt_interval = 0;          // steps between saves (0 = only at the end)
  int ckpt_keep = 3;
  AsyncSave ckpt_async = AsyncSave::Off;   // write shards on a background thread
  double ckpt_test_delay_s = 0;       // fault tests: each rank sleeps this long writing its shard / loading on resume
  FinalCheckpoint final_checkpoint = FinalCheckpoint::Yes;
  ResumeKind resume = ResumeKind::None;
  std::string resume_path;
  // [sample]
  int64_t sample_tokens = 200;        // text sample printed at the end (0 = none)
  std::string sample_prompt = "The ";
  float sample_temperature = 0.8f;
  int64_t sample_top_k = 40;
};

// global_batch = micro_batch x grad_accum x dp: when train.global_batch is set, grad_accum is
// derived from it (error naming the keys when it does not divide); otherwise global_batch is.
void train_config_resolve_batch(TrainConfig& t, int dp);

// Pipeline settings checked against the model depth and the resolved batch, before anything is
// allocated (Config errors naming parallel.pp / pp_chunks / pp_layers / pp_schedule): returns
// the layer ranges of every virtual stage (stage s holds ranges s, s + pp, ...).
std::vector<parallel::LayerRange> train_pipeline_partition(int64_t n_layer, const TrainConfig& t, int pp);

// The layer ranges of pipeline stage `stage`'s chunks (chunk 0 first), as the model takes them.
std::vector<model::LayerSpan> pipeline_stage_spans(const std::vector<parallel::LayerRange>& partition, int pp,
                                                   int stage);

// Throws plinth::Error(Config) naming the key (e.g. "optim.lr must be positive, got -1").
void train_config_validate(const TrainConfig& t);

}  // namespace plinth::train
