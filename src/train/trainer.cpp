// trainer.cpp -- the training loop, validation, checkpoint save and resume, final sample.
#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "io/checkpoint.h"
#include "io/tokenizer.h"
#include "parallel/comm/single_communicator.h"
#include "parallel/tensor_parallel.h"
#include "kernels/kernels.h"
#include "train/generate.h"

namespace plinth::train {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Hands the model's "these gradients are final" reports to the data-parallel reduction.
class GradSyncObserver final : public model::BackwardObserver {
 public:
  explicit GradSyncObserver(parallel::GradSync& s) : sync_(s) {}
  void on_grads_ready(int64_t begin, int64_t end) override { sync_.on_grads_ready(begin, end); }

 private:
  parallel::GradSync& sync_;
};

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

Trainer::Trainer(const model::ModelConfig& mc, const TrainConfig& tc, std::string config_ini, comm::Communicator& tp,
                 comm::Communicator& dp)
    : mc_(mc),
      tc_(with_defaults(tc)),
      config_ini_(std::move(config_ini)),
      tp_(tp),
      dp_(dp),
      data_(tc.data, dp, mc.seq_len, mc.vocab_size, tc.seed),
      model_(mc, model::TpShard{tp.rank(), tp.size()}, tc.sequence_parallel),
      full_model_(mc),
      params_(static_cast<size_t>(model_.layout().size())),
      grads_(static_cast<size_t>(model_.layout().size())),
      grad_sync_(model_.layout(), dp, tc.bucket_bytes, tc.zero),
      adamw_(model_.layout(), tc_.adamw, grad_sync_.owned_ranges()),
      acts_(model_.allocate_activations(tc.micro_batch, mc.seq_len)) {
  PLINTH_CHECK(tc_.global_batch == tc_.micro_batch * tc_.grad_accum * dp.size(), Internal,
               "train batch not resolved for dp = ", dp.size());
  tokens_.resize(static_cast<size_t>(tc_.micro_batch * mc_.seq_len));
  targets_.resize(tokens_.size());
  model::model_init_params(model_.layout(), params_.data(), tc_.seed);
  const auto counts = model::model_param_counts(mc_);
  const int64_t mib = 1 << 20;
  log_info(str_cat("model: ", model::model_signature(mc_)));
  log_info(str_cat("parameters: ", counts.total, " (", counts.non_embedding(), " without embeddings); per rank: ",
                   "params ", model_.layout().size() * 4 / mib, " MiB, grads ", model_.layout().size() * 4 / mib,
                   " MiB, optimizer state ", adamw_.state_bytes() / mib, " MiB",
                   tc_.zero == parallel::ZeroStage::One ? " (ZeRO-1 shard)" : "", ", activations ",
                   acts_.bytes() / mib, " MiB"));
  for (const auto& c : data_.corpora())
    log_info(str_cat("corpus ", c.path, ": ", c.train_tokens, " train / ", c.val_tokens, " val tokens, weight ",
                     c.weight));
  if (tp.size() > 1)
    log_info(str_cat("tensor parallel: tp ", tp.size(), ", this rank holds ", model_.dims().n_head, " of ", mc_.n_head,
                     " heads, ", model_.dims().ffn, " of ", mc_.ffn(), " MLP columns, ", model_.dims().vocab, " of ",
                     mc_.padded_vocab(), " vocabulary rows; sequence parallelism ",
                     model_.dims().sequence_parallel() ? "on" : "off"));
  log_info(str_cat("batch: global ", tc_.global_batch, " sequences = micro_batch ", tc_.micro_batch, " x grad_accum ",
                   tc_.grad_accum, " x dp ", dp.size(), "; gradient buckets: ", grad_sync_.buckets().size(),
                   tc_.zero == parallel::ZeroStage::One ? " (reduce-scatter + all-gather)" : " (all-reduce)"));
  if (tc_.peak_gflops > 0) {
    peak_flops_ = tc_.peak_gflops * 1e9;
    log_info(str_cat("MFU reference: stated peak ", tc_.peak_gflops, " GFLOP/s per rank (log.peak_gflops)"));
  } else {
    peak_flops_ = measure_sgemm_flops(0.5);
    log_info(str_cat("MFU reference: measured SGEMM rate ", peak_flops_ / 1e9, " GFLOP/s per rank at ",
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
  // Every rank reads the full logical tensors; a ZeRO-1 rank keeps its pieces of the moments.
  const ParamLayout& layout = model_.layout();
  AlignedBuffer<float> m(static_cast<size_t>(layout.size())), v(static_cast<size_t>(layout.size()));
  io::checkpoint_load(dir, {{"model", &layout, params_.data()},
                            {"optim/exp_avg", &layout, m.data()},
                            {"optim/exp_avg_sq", &layout, v.data()}});
  grad_sync_.scatter_owned(m.data(), adamw_.exp_avg().data());
  grad_sync_.scatter_owned(v.data(), adamw_.exp_avg_sq().data());
  step_ = meta.step;
  PLINTH_CHECK(step_ <= tc_.steps, Config, "checkpoint ", dir, " is at step ", step_,
               ", beyond train.steps (", tc_.steps, ")");
  log_info(str_cat("resumed from ", dir, " at step ", step_));
}

std::vector<float> Trainer::full_params() {
  std::vector<float> full(static_cast<size_t>(full_model_.layout().size()));
  parallel::tp_gather_full_tensors(tp_, model_.layout(), params_.data(), full_model_.layout(), full.data());
  return full;
}

std::string Trainer::save_checkpoint(int64_t step) {
  auto t0 = Clock::now();
  const ParamLayout& layout = model_.layout();
  const ParamLayout& full = full_model_.layout();
  // Collective: the optimizer pieces are gathered over dp (ZeRO-1), then every tensor over tp;
  // the rank with tp rank 0 and dp rank 0 writes full logical tensors.
  AlignedBuffer<float> m(static_cast<size_t>(layout.size())), v(static_cast<size_t>(layout.size()));
  grad_sync_.gather_owned(adamw_.exp_avg().data(), m.data());
  grad_sync_.gather_owned(adamw_.exp_avg_sq().data(), v.data());
  AlignedBuffer<float> fp(static_cast<size_t>(full.size())), fm(static_cast<size_t>(full.size())),
      fv(static_cast<size_t>(full.size()));
  parallel::tp_gather_full_tensors(tp_, layout, params_.data(), full, fp.data());
  parallel::tp_gather_full_tensors(tp_, layout, m.data(), full, fm.data());
  parallel::tp_gather_full_tensors(tp_, layout, v.data(), full, fv.data());
  const bool writer = dp_.rank() == 0 && tp_.rank() == 0;
  std::string dir;
  std::string error;
  if (writer) {
    try {
      io::CheckpointMeta meta;
      meta.step = step;
      meta.config_ini = config_ini_;
      meta.model_signature = model::model_signature(mc_);
      meta.tokenizer_kind = data_.tokenizer_kind();
      meta.tokenizer_model = data_.tokenizer_model();
      const auto consumed = data_.consumed_per_corpus(step * tc_.global_batch);
      meta.counters["data.consumed_samples"] = step * tc_.global_batch;
      for (size_t c = 0; c < consumed.size(); ++c)
        meta.counters["data.consumed_samples." + std::to_string(c)] = consumed[c];
      meta.counters["data.seed"] = static_cast<int64_t>(tc_.seed);
      meta.counters["parallel.dp"] = dp_.size();
      meta.counters["parallel.tp"] = tp_.size();
      dir = io::checkpoint_save(tc_.ckpt_dir, meta,
                                {{"model", &full, fp.data()},
                                 {"optim/exp_avg", &full, fm.data()},
                                 {"optim/exp_avg_sq", &full, fv.data()}},
                                tc_.ckpt_keep);
    } catch (const Error& e) {
      error = e.what();
    }
  }
  // Safe order: every rank reaches these broadcasts after the same step's save. The writer's
  // verdict travels over its dp group (to the tp-rank-0 ranks), then over every tp group.
  int32_t failed = error.empty() ? 0 : 1;
  dp_.broadcast(&failed, 1, comm::DType::I32, 0);
  tp_.broadcast(&failed, 1, comm::DType::I32, 0);
  PLINTH_CHECK(!failed, Io, writer ? error : std::string("checkpoint save failed on the writing rank"));
  log_info(str_cat("saved checkpoint ", dir.empty() ? tc_.ckpt_dir : dir, " (step ", step, ") in ",
                   format_duration(seconds_since(t0))));
  return dir;
}

float Trainer::train_step(int64_t step, double* grad_norm, float* lr, double* exposed_s) {
  const int64_t B = tc_.micro_batch, T = mc_.seq_len, dp = dp_.size();
  const float dloss = 1.0f / static_cast<float>(tc_.global_batch * T);
  GradSyncObserver observer(grad_sync_);
  grads_.zero();
  double loss_sum = 0.0;
  for (int64_t micro = 0; micro < tc_.grad_accum; ++micro) {
    const bool last = micro + 1 == tc_.grad_accum;
    data_.train_batch(step * tc_.global_batch + micro * B * dp, B, tokens_.data(), targets_.data());
    loss_sum += model::model_forward(model_, tp_, params_.data(), acts_, tokens_.data(), targets_.data(), B, T);
    if (last) grad_sync_.begin_step(grads_.data());
    model::model_backward(model_, tp_, params_.data(), grads_.data(), acts_, tokens_.data(), targets_.data(), B, T,
                          dloss, last ? &observer : nullptr,
                          last ? model::ReplicatedGrads::Sync : model::ReplicatedGrads::Defer);
  }
  *exposed_s = grad_sync_.finish();
  // mean loss over every rank's micro-batches (all hold the same number of tokens)
  double loss = loss_sum / static_cast<double>(tc_.grad_accum);
  dp_.all_reduce(&loss, 1, comm::DType::F64, comm::ReduceOp::Sum);
  loss /= static_cast<double>(dp);
  PLINTH_CHECK(std::isfinite(loss), Internal, "training loss is not finite at step ", step + 1,
               " (lower optim.lr or enable train.grad_clip)");
  // global gradient norm: every element counted once (ZeRO-1: each rank its own pieces;
  // tensor parallel: split tensors on every tp rank, replicated ones on tp rank 0 only)
  double sumsq = optim::grad_sum_squares(model_.layout(), grads_.data(), grad_sync_.owned_ranges(),
                                         tp_.rank() == 0 ? optim::Replicated::Count : optim::Replicated::Skip);
  if (tp_.size() > 1) tp_.all_reduce(&sumsq, 1, comm::DType::F64, comm::ReduceOp::Sum);
  if (tc_.zero == parallel::ZeroStage::One) dp_.all_reduce(&sumsq, 1, comm::DType::F64, comm::ReduceOp::Sum);
  *grad_norm = std::sqrt(sumsq);
  *lr = optim::lr_at(tc_.schedule, step);
  adamw_.step(params_.data(), grads_.data(), *lr, optim::clip_scale(*grad_norm, tc_.grad_clip), step + 1);
  const auto t_gather = Clock::now();
  grad_sync_.gather_params(params_.data());   // ZeRO-1: nothing hides this all-gather
  *exposed_s += seconds_since(t_gather);
  return static_cast<float>(loss);
}

float Trainer::evaluate() {
  const int64_t B = tc_.micro_batch, T = mc_.seq_len, dp = dp_.size();
  const int64_t n_windows = tc_.eval_windows;   // fixed, whatever the layout
  double sum = 0.0;   // sum over this rank's windows of each window's mean loss
  for (int64_t first = 0; first < n_windows; first += B * dp) {
    const int64_t count = data_.val_batch(first, B, n_windows, tokens_.data(), targets_.data());
    if (count > 0)
      sum += static_cast<double>(count) *
             model::model_forward(model_, tp_, params_.data(), acts_, tokens_.data(), targets_.data(), count, T);
  }
  dp_.all_reduce(&sum, 1, comm::DType::F64, comm::ReduceOp::Sum);
  return static_cast<float>(sum / static_cast<double>(n_windows));
}

TrainResult Trainer::run() {
  TrainResult result;
  result.first_step = step_;
  const bool leader = dp_.rank() == 0 && tp_.rank() == 0;
  MetricsWriter metrics(leader ? tc_.metrics_file : std::string());
  const int64_t tokens_per_step = tc_.global_batch * mc_.seq_len;
  const double flops_per_token = model::model_flops_per_token(mc_, mc_.seq_len);
  log_info(str_cat("training steps ", step_ + 1, "..", tc_.steps, ": ", tokens_per_step, " tokens/step",
                   leader ? ", metrics -> " + metrics.path() : std::string()));
  auto t_start = Clock::now();
  auto t_window = t_start;
  int64_t window_steps = 0;
  double train_seconds = 0.0, exposed_total = 0.0, exposed_window = 0.0, tp_total = 0.0;
  while (step_ < tc_.steps) {
    auto t0 = Clock::now();
    double grad_norm = 0, exposed = 0;
    float lr = 0;
    const double tp_before = tp_.wait_seconds();
    const float loss = train_step(step_, &grad_norm, &lr, &exposed);
    tp_total += tp_.wait_seconds() - tp_before;
    ++step_;
    train_seconds += seconds_since(t0);
    exposed_total += exposed;
    exposed_window += exposed;
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
      m.mfu = peak_flops_ > 0 ? m.flops_per_s / (peak_flops_ * static_cast<double>(dp_.size())) : 0.0;
      m.rss_bytes = process_rss_bytes();
      m.elapsed_s = seconds_since(t_start);
      m.comm_exposed_s = exposed_window;
      const double eta = train_seconds / static_cast<double>(step_ - result.first_step) *
                         static_cast<double>(tc_.steps - step_);
      if (leader) {
        log_info(progress_line(m, tc_.steps, eta));
        metrics.write(m);
      }
      t_window = Clock::now();
      window_steps = 0;
      exposed_window = 0.0;
    }
    if ((tc_.ckpt_interval > 0 && step_ % tc_.ckpt_interval == 0) ||
        (last && tc_.final_checkpoint == FinalCheckpoint::Yes))
      result.last_checkpoint = save_checkpoint(step_);
  }
  result.last_step = step_;
  if (train_seconds > 0) {
    result.tokens_per_s = static_cast<double>((step_ - result.first_step) * tokens_per_step) / train_seconds;
    result.comm_exposed_fraction = exposed_total / train_seconds;
    result.tp_comm_fraction = tp_total / train_seconds;
  }
  if (tc_.sample_tokens > 0) {
    // sampling runs on one rank with the full model; the gather is collective over tp
    std::vector<float> full = tp_.size() > 1 ? full_params() : std::vector<float>();
    if (!(leader && data_.tokenizer())) return result;
    GenerateOptions g{.max_new_tokens = tc_.sample_tokens, .temperature = tc_.sample_temperature,
                      .top_k = tc_.sample_top_k, .seed = tc_.seed, .stop_token = -1};
    auto prompt = data_.tokenizer()->encode(tc_.sample_prompt);
    auto out = generate_tokens(full_model_, tp_.size() > 1 ? full.data() : params_.data(), prompt, g);
    result.sample = tc_.sample_prompt + data_.tokenizer()->decode(out);
  }
  return result;
}

}  // namespace plinth::train
