// train_config.cpp -- validation of the training settings.
#include "train/train_config.h"

#include "core/error.h"
#include "parallel/pipeline_schedule.h"

namespace plinth::train {

void train_config_resolve_batch(TrainConfig& t, int dp) {
  const int64_t per_step = t.micro_batch * dp;
  if (t.global_batch == 0) {
    t.global_batch = t.micro_batch * t.grad_accum * dp;
    return;
  }
  PLINTH_CHECK(t.global_batch % per_step == 0, Config, "train.global_batch (", t.global_batch,
               ") is not divisible by train.micro_batch (", t.micro_batch, ") x dp (", dp, ") = ", per_step);
  t.grad_accum = t.global_batch / per_step;
}

std::vector<parallel::LayerRange> train_pipeline_partition(int64_t n_layer, const TrainConfig& t, int pp) {
  auto ranges = parallel::pipeline_partition(n_layer, pp, t.pp_chunks, t.pp_layers);
  if (pp > 1 || t.pp_chunks > 1)
    parallel::pipeline_schedule_validate(t.pp_schedule,
                                         parallel::PipelineShape{pp, static_cast<int>(t.grad_accum), t.pp_chunks});
  return ranges;
}

std::vector<model::LayerSpan> pipeline_stage_spans(const std::vector<parallel::LayerRange>& partition, int pp,
                                                   int stage) {
  std::vector<model::LayerSpan> out;
  for (const parallel::LayerRange& r : parallel::pipeline_stage_chunks(partition, pp, stage))
    out.push_back({r.begin, r.end});
  return out;
}

void train_config_validate(const TrainConfig& t) {
  PLINTH_CHECK(!t.data.corpora.empty(), Config, "data.corpus is not set (path of an HDF5 corpus from `plinth prepare`)");
  if (!t.data.weights.empty()) blend_weights_normalise(t.data.weights, t.data.corpora.size());
  PLINTH_CHECK(t.bucket_bytes > 0, Config, "parallel.bucket_mb must be positive");
  PLINTH_CHECK(t.global_batch >= 0, Config, "train.global_batch must be >= 0, got ", t.global_batch);
  PLINTH_CHECK(t.micro_batch > 0, Config, "train.micro_batch must be positive, got ", t.micro_batch);
  PLINTH_CHECK(t.grad_accum > 0, Config, "train.grad_accum must be positive, got ", t.grad_accum);
  PLINTH_CHECK(t.steps > 0, Config, "train.steps must be positive, got ", t.steps);
  PLINTH_CHECK(t.threads >= 0, Config, "train.threads must be >= 0, got ", t.threads);
  PLINTH_CHECK(t.grad_clip >= 0, Config, "train.grad_clip must be >= 0, got ", t.grad_clip);
  PLINTH_CHECK(t.schedule.lr > 0, Config, "optim.lr must be positive, got ", t.schedule.lr);
  PLINTH_CHECK(t.schedule.min_lr >= 0 && t.schedule.min_lr <= t.schedule.lr, Config,
               "optim.min_lr must be in [0, optim.lr], got ", t.schedule.min_lr);
  PLINTH_CHECK(t.schedule.warmup_steps >= 0, Config, "optim.warmup_steps must be >= 0, got ",
               t.schedule.warmup_steps);
  PLINTH_CHECK(t.schedule.cooldown_steps >= 0, Config, "optim.cooldown_steps must be >= 0, got ",
               t.schedule.cooldown_steps);
  PLINTH_CHECK(t.adamw.beta1 >= 0 && t.adamw.beta1 < 1, Config, "optim.beta1 must be in [0, 1), got ", t.adamw.beta1);
  PLINTH_CHECK(t.adamw.beta2 >= 0 && t.adamw.beta2 < 1, Config, "optim.beta2 must be in [0, 1), got ", t.adamw.beta2);
  PLINTH_CHECK(t.adamw.eps > 0, Config, "optim.eps must be positive, got ", t.adamw.eps);
  PLINTH_CHECK(t.adamw.weight_decay >= 0, Config, "optim.weight_decay must be >= 0, got ", t.adamw.weight_decay);
  PLINTH_CHECK(t.eval_interval >= 0, Config, "eval.interval must be >= 0, got ", t.eval_interval);
  PLINTH_CHECK(t.eval_windows > 0, Config, "eval.windows must be positive, got ", t.eval_windows);
  PLINTH_CHECK(t.log_interval > 0, Config, "log.interval must be positive, got ", t.log_interval);
  PLINTH_CHECK(t.peak_tflops >= 0, Config, "log.peak_tflops must be >= 0, got ", t.peak_tflops);
  PLINTH_CHECK(t.guard.max_nonfinite_steps >= 1, Config, "train.max_nonfinite_steps must be >= 1, got ",
               t.guard.max_nonfinite_steps);
  PLINTH_CHECK(t.guard.spike_factor == 0 || t.guard.spike_factor > 1, Config,
               "train.spike_factor must be 0 (off) or > 1, got ", t.guard.spike_factor);
  PLINTH_CHECK(t.guard.spike_window >= 1, Config, "train.spike_window must be >= 1, got ", t.guard.spike_window);
  PLINTH_CHECK(t.test_nan_first >= 0 && t.test_nan_last >= t.test_nan_first, Config,
               "train.test_nan_steps: expected N or A-B with 1 <= A <= B");
  PLINTH_CHECK(t.ckpt_interval >= 0, Config, "checkpoint.interval must be >= 0, got ", t.ckpt_interval);
  PLINTH_CHECK(t.ckpt_keep >= 1, Config, "checkpoint.keep must be >= 1, got ", t.ckpt_keep);
  PLINTH_CHECK(t.sample_tokens >= 0, Config, "sample.tokens must be >= 0, got ", t.sample_tokens);
  PLINTH_CHECK(t.sample_temperature >= 0, Config, "sample.temperature must be >= 0, got ", t.sample_temperature);
  PLINTH_CHECK(t.sample_top_k >= 0, Config, "sample.top_k must be >= 0, got ", t.sample_top_k);
  PLINTH_CHECK(t.resume != ResumeKind::Path || !t.resume_path.empty(), Config,
               "checkpoint.resume: empty path");
}

}  // namespace plinth::train
