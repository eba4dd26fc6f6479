// trainer.cpp -- the training loop, validation, checkpoint save and resume, final sample.
#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "io/checkpoint.h"
#include "kernels/kernels.h"
#include "train/generate.h"

namespace plinth::train {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

TrainConfig with_defaults(TrainConfig t) {
  if (t.metrics_file.empty()) t.metrics_file = t.out_dir + "/metrics.jsonl";
  if (t.ckpt_dir.empty()) t.ckpt_dir = t.out_dir + "/checkpoints";
  t.schedule.total_steps = t.steps;
  return t;
}

}  // namespace

double measure_sgemm_flops(double seconds) {
  // Best of repeated 1024^3 products: the peak the BLAS reaches on this machine with the
  // current thread setting (best-of filters out interference from other processes).
  const int64_t n = 1024;
  AlignedBuffer<float> a(n * n), b(n * n), c(n * n);
  for (int64_t i = 0; i < n * n; ++i) a[i] = b[i] = 0.001f * static_cast<float>(i % 97);
  double best = 1e30;
  auto t_begin = Clock::now();
  int reps = 0;
  do {
    auto t0 = Clock::now();
    kernels::gemm(kernels::Trans::No, kernels::Trans::Yes, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f,
                  c.data(), n);
    if (reps++ > 0) best = std::min(best, seconds_since(t0));   // first call warms up
  } while (seconds_since(t_begin) < seconds || reps < 3);
  return 2.0 * static_cast<double>(n * n * n) / best;
}

Trainer::Trainer(const model::ModelConfig& mc, const TrainConfig& tc, std::string config_ini)
    : mc_(mc),
      tc_(with_defaults(tc)),
      config_ini_(std::move(config_ini)),
      corpus_(io::Corpus::open(tc.corpus)),
      data_(corpus_, mc.seq_len, mc.vocab_size, tc.seed),
      model_(mc),
      params_(static_cast<size_t>(model_.layout().size())),
      grads_(static_cast<size_t>(model_.layout().size())),
      adamw_(model_.layout(), tc_.adamw),
      acts_(model::activations_allocate(mc, tc.micro_batch, mc.seq_len)) {
  tokenizer_ = corpus_.load_tokenizer();
  tokens_.resize(static_cast<size_t>(tc_.micro_batch * mc_.seq_len));
  targets_.resize(tokens_.size());
  model::model_init_params(model_.layout(), params_.data(), tc_.seed);
  const auto counts = model::model_param_counts(mc_);
  log_info(str_cat("model: ", model::model_signature(mc_)));
  log_info(str_cat("parameters: ", counts.total, " (", counts.non_embedding(), " without embeddings); ",
                   "params+grads+adam ", (4 * model_.layout().size() * 4) >> 20, " MiB, activations ",
                   acts_.bytes() >> 20, " MiB"));
  log_info(str_cat("corpus ", corpus_.path(), ": ", data_.train_tokens(), " train / ", data_.val_tokens(),
                   " val tokens, tokenizer ", io::tokenizer_kind_name(corpus_.info().tokenizer), " (vocab ", corpus_.info().vocab_size, ")"));
  if (tc_.peak_gflops > 0) {
    peak_flops_ = tc_.peak_gflops * 1e9;
    log_info(str_cat("MFU reference: stated peak ", tc_.peak_gflops, " GFLOP/s (log.peak_gflops)"));
  } else {
    peak_flops_ = measure_sgemm_flops(0.5);
    log_info(str_cat("MFU reference: measured SGEMM rate ", peak_flops_ / 1e9, " GFLOP/s at ",
                     kernels::num_threads(), " threads (set log.peak_gflops to state one)"));
  }
  if (tc_.resume != ResumeKind::None) resume();
}

void Trainer::resume() {
  std::string dir;
  if (tc_.resume == ResumeKind::Auto) {
    dir = io::checkpoint_find_latest_valid(tc_.ckpt_dir);
    if (dir.empty()) {
      log_info(str_cat("resume auto: no valid checkpoint in ", tc_.ckpt_dir, ", starting from step 0"));
      return;
    }
  } else {
    dir = tc_.resume_path;
  }
  io::CheckpointMeta meta = io::checkpoint_read_meta(dir);
  const std::string sig = model::model_signature(mc_);
  PLINTH_CHECK(meta.model_signature == sig, Input, "checkpoint ", dir, " was saved for model '",
               meta.model_signature, "' but the configuration gives '", sig, "'");
  io::checkpoint_load(dir, {{"model", &model_.layout(), params_.data()},
                            {"optim/exp_avg", &model_.layout(), adamw_.exp_avg().data()},
                            {"optim/exp_avg_sq", &model_.layout(), adamw_.exp_avg_sq().data()}});
  step_ = meta.step;
  PLINTH_CHECK(step_ <= tc_.steps, Config, "checkpoint ", dir, " is at step ", step_,
               ", beyond train.steps (", tc_.steps, ")");
  log_info(str_cat("resumed from ", dir, " at step ", step_));
}

std::string Trainer::save_checkpoint(int64_t step) {
  auto t0 = Clock::now();
  io::CheckpointMeta meta;
  meta.step = step;
  meta.config_ini = config_ini_;
  meta.model_signature = model::model_signature(mc_);
  meta.tokenizer_kind = io::tokenizer_kind_name(corpus_.info().tokenizer);
  meta.tokenizer_model = corpus_.tokenizer_model();
  meta.counters["data.consumed_samples"] = step * tc_.micro_batch * tc_.grad_accum;
  meta.counters["data.seed"] = static_cast<int64_t>(tc_.seed);
  std::string dir = io::checkpoint_save(
      tc_.ckpt_dir, meta,
      {{"model", &model_.layout(), params_.data()},
       {"optim/exp_avg", &model_.layout(), adamw_.exp_avg().data()},
       {"optim/exp_avg_sq", &model_.layout(), adamw_.exp_avg_sq().data()}},
      tc_.ckpt_keep);
  log_info(str_cat("saved checkpoint ", dir, " (step ", step, ") in ", format_duration(seconds_since(t0))));
  return dir;
}

float Trainer::train_step(int64_t step, double* grad_norm, float* lr) {
  const int64_t B = tc_.micro_batch, T = mc_.seq_len;
  const int64_t global_batch = B * tc_.grad_accum;
  const float dloss = 1.0f / static_cast<float>(global_batch * T);
  grads_.zero();
  double loss_sum = 0.0;
  for (int64_t micro = 0; micro < tc_.grad_accum; ++micro) {
    data_.train_batch(step * global_batch + micro * B, B, tokens_.data(), targets_.data());
    loss_sum += model::model_forward(model_, params_.data(), acts_, tokens_.data(), targets_.data(), B, T);
    model::model_backward(model_, params_.data(), grads_.data(), acts_, tokens_.data(), targets_.data(), B,
                          T, dloss);
  }
  const float loss = static_cast<float>(loss_sum / static_cast<double>(tc_.grad_accum));
  PLINTH_CHECK(std::isfinite(loss), Internal, "training loss is not finite at step ", step + 1,
               " (lower optim.lr or enable train.grad_clip)");
  *grad_norm = std::sqrt(optim::grad_sum_squares(model_.layout(), grads_.data()));
  *lr = optim::lr_at(tc_.schedule, step);
  adamw_.step(params_.data(), grads_.data(), *lr, optim::clip_scale(*grad_norm, tc_.grad_clip), step + 1);
  return loss;
}

float Trainer::evaluate() {
  const int64_t B = tc_.micro_batch, T = mc_.seq_len;
  const int64_t n_windows = tc_.eval_batches * B;
  double sum = 0.0;
  for (int64_t b = 0; b < tc_.eval_batches; ++b) {
    data_.val_batch(b * B, B, n_windows, tokens_.data(), targets_.data());
    sum += model::model_forward(model_, params_.data(), acts_, tokens_.data(), targets_.data(), B, T);
  }
  return static_cast<float>(sum / static_cast<double>(tc_.eval_batches));
}

TrainResult Trainer::run() {
  TrainResult result;
  result.first_step = step_;
  MetricsWriter metrics(tc_.metrics_file);
  const int64_t tokens_per_step = tc_.micro_batch * tc_.grad_accum * mc_.seq_len;
  const double flops_per_token = model::model_flops_per_token(mc_, mc_.seq_len);
  log_info(str_cat("training steps ", step_ + 1, "..", tc_.steps, ": ", tokens_per_step,
                   " tokens/step (micro_batch ", tc_.micro_batch, " x grad_accum ", tc_.grad_accum, " x seq_len ",
                   mc_.seq_len, "), metrics -> ", metrics.path()));
  auto t_start = Clock::now();
  auto t_window = t_start;
  int64_t window_steps = 0;
  double train_seconds = 0.0;
  while (step_ < tc_.steps) {
    auto t0 = Clock::now();
    double grad_norm = 0;
    float lr = 0;
    const float loss = train_step(step_, &grad_norm, &lr);
    ++step_;
    train_seconds += seconds_since(t0);
    ++window_steps;
    result.losses.push_back(loss);

    StepMetrics m;
    m.step = step_;
    m.loss = loss;
    m.lr = lr;
    m.grad_norm = grad_norm;
    const bool last = step_ == tc_.steps;
    if ((tc_.eval_interval > 0 && step_ % tc_.eval_interval == 0) || last) {
      m.val_loss = evaluate();
      result.val_losses.emplace_back(step_, *m.val_loss);
    }
    if (step_ % tc_.log_interval == 0 || last || m.val_loss) {
      const double dt = seconds_since(t_window);
      m.tokens_per_s = static_cast<double>(window_steps * tokens_per_step) / dt;
      m.flops_per_s = m.tokens_per_s * flops_per_token;
      m.mfu = peak_flops_ > 0 ? m.flops_per_s / peak_flops_ : 0.0;
      m.rss_bytes = process_rss_bytes();
      m.elapsed_s = seconds_since(t_start);
      const double eta = train_seconds / static_cast<double>(step_ - result.first_step) *
                         static_cast<double>(tc_.steps - step_);
      log_info(progress_line(m, tc_.steps, eta));
      metrics.write(m);
      t_window = Clock::now();
      window_steps = 0;
    }
    if ((tc_.ckpt_interval > 0 && step_ % tc_.ckpt_interval == 0) || last)
      result.last_checkpoint = save_checkpoint(step_);
  }
  result.last_step = step_;
  if (train_seconds > 0)
    result.tokens_per_s = static_cast<double>((step_ - result.first_step) * tokens_per_step) / train_seconds;
  if (tc_.sample_tokens > 0) {
    GenerateOptions g{.max_new_tokens = tc_.sample_tokens, .temperature = tc_.sample_temperature,
                      .top_k = tc_.sample_top_k, .seed = tc_.seed, .stop_token = -1};
    auto prompt = tokenizer_->encode(tc_.sample_prompt);
    auto out = generate_tokens(model_, params_.data(), prompt, g);
    result.sample = tc_.sample_prompt + tokenizer_->decode(out);
  }
  return result;
}

}  // namespace plinth::train
