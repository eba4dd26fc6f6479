// train_config.h -- every training setting that is not the model's shape, and its validation.
// Values come from launch/ (INI file + command-line overrides); this file knows no parser.
#pragma once
#include <cstdint>
#include <string>

#include "optim/optim.h"

namespace plinth::train {

enum class ResumeKind { None, Auto, Path };

struct TrainConfig {
  // [data]
  std::string corpus;                 // HDF5 token corpus written by `plinth prepare`
  // [train]
  int64_t micro_batch = 16;           // sequences per forward/backward
  int64_t grad_accum = 1;             // micro-batches per optimizer step
  int64_t steps = 200;                // optimizer steps in total
  uint64_t seed = 1337;               // init and data order
  int threads = 0;                    // 0 = all cores
  float grad_clip = 1.0f;             // max global grad norm, 0 = off
  // [optim]
  optim::LrScheduleConfig schedule;   // total_steps is set from steps
  optim::AdamWConfig adamw;
  // [eval]
  int64_t eval_interval = 50;         // steps between validation runs (0 = only at the end)
  int64_t eval_batches = 4;           // micro-batches of held-out windows per validation
  // [log]
  int64_t log_interval = 10;
  std::string out_dir = "runs/default";   // metrics.jsonl and checkpoints go here by default
  std::string metrics_file;           // default <out_dir>/metrics.jsonl
  double peak_gflops = 0.0;           // MFU reference; 0 = measure SGEMM at startup
  // [checkpoint]
  std::string ckpt_dir;               // default <out_dir>/checkpoints
  int64_t ckpt_interval = 0;          // steps between saves (0 = only at the end)
  int ckpt_keep = 3;
  ResumeKind resume = ResumeKind::None;
  std::string resume_path;
  // [sample]
  int64_t sample_tokens = 200;        // text sample printed at the end (0 = none)
  std::string sample_prompt = "The ";
  float sample_temperature = 0.8f;
  int64_t sample_top_k = 40;
};

// Throws plinth::Error(Config) naming the key (e.g. "optim.lr must be positive, got -1").
void train_config_validate(const TrainConfig& t);

}  // namespace plinth::train
