// trainer.h -- the single-process training loop: micro-batches -> gradients -> clip -> AdamW ->
// metrics -> validation -> checkpoint. Later issues put data-parallel gradient sync, tensor and
// pipeline parallelism around the same step without changing its order.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/aligned_buffer.h"
#include "io/corpus.h"
#include "io/tokenizer.h"
#include "model/model.h"
#include "optim/optim.h"
#include "train/data_loader.h"
#include "train/metrics.h"
#include "train/train_config.h"

namespace plinth::train {

struct TrainResult {
  int64_t first_step = 0;             // 0, or the step resumed from
  int64_t last_step = 0;
  std::vector<float> losses;          // training loss of each step run here (index = step - first_step - 1)
  std::vector<std::pair<int64_t, float>> val_losses;   // (step, val loss)
  double tokens_per_s = 0;
  std::string last_checkpoint;
  std::string sample;                 // decoded text sample, if sample.tokens > 0
};

class Trainer {
 public:
  // config_ini: the resolved configuration text, stored in checkpoints.
  Trainer(const model::ModelConfig& mc, const TrainConfig& tc, std::string config_ini);
  TrainResult run();

  // Mean loss over the held-out windows (eval.batches micro-batches).
  float evaluate();
  const float* params() const { return params_.data(); }
  const model::Model& model() const { return model_; }

 private:
  float train_step(int64_t step, double* grad_norm, float* lr);
  std::string save_checkpoint(int64_t step);
  void resume();

  model::ModelConfig mc_;
  TrainConfig tc_;
  std::string config_ini_;
  io::Corpus corpus_;
  DataLoader data_;                   // validates the corpus before anything large is allocated
  std::unique_ptr<io::Tokenizer> tokenizer_;
  model::Model model_;
  AlignedBuffer<float> params_, grads_;
  optim::AdamW adamw_;
  model::Activations acts_;
  std::vector<int32_t> tokens_, targets_;
  int64_t step_ = 0;                  // optimizer steps completed
  double peak_flops_ = 0;
};

// Measures this machine's single-precision GEMM rate with the current thread setting
// (the practical compute limit for MFU on CPU). Runs about `seconds`.
double measure_sgemm_flops(double seconds);

}  // namespace plinth::train
