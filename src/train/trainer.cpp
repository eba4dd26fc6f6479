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
#include "train/generate.h"
#include "train/peak_flops.h"

namespace plinth::train {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Hands the model's "these gradients are final" reports to the data-parallel reduction, except
// for `held` (a tied embedding copy whose gradient is complete only after the exchange between
// first and last pipeline stage; the trainer reports it then).
class GradSyncObserver final : public model::BackwardObserver {
 public:
  GradSyncObserver(parallel::GradSync& s, FlatRange held) : sync_(s), held_(held) {}
  void on_grads_ready(int64_t begin, int64_t end) override {
    if (held_.size() == 0 || end <= held_.begin || begin >= held_.end) {
      sync_.on_grads_ready(begin, end);
      return;
    }
    if (begin < held_.begin) sync_.on_grads_ready(begin, held_.begin);
    if (held_.end < end) sync_.on_grads_ready(held_.end, end);
  }

 private:
  parallel::GradSync& sync_;
  FlatRange held_;
};

constexpr int kTiedEmbeddingTag = comm::kTiedEmbeddingTag;   // 32000, parallel/comm/tags.h

parallel::ScheduleKind effective_schedule(const TrainConfig& t, int pp) {
  return pp == 1 && t.pp_chunks == 1 ? parallel::ScheduleKind::OneFOneB : t.pp_schedule;
}

// The ranges minus `skip` (which lies inside one tensor, so ranges stay tensor-aligned).
std::vector<FlatRange> ranges_without(const std::vector<FlatRange>& ranges, FlatRange skip) {
  if (skip.size() == 0) return ranges;
  std::vector<FlatRange> out;
  for (const FlatRange& r : ranges) {
    if (r.end <= skip.begin || r.begin >= skip.end) {
      out.push_back(r);
      continue;
    }
    if (r.begin < skip.begin) out.push_back({r.begin, skip.begin});
    if (skip.end < r.end) out.push_back({skip.end, r.end});
  }
  return out;
}

TrainConfig with_defaults(TrainConfig t) {
  if (t.metrics_file.empty()) t.metrics_file = t.out_dir + "/metrics.jsonl";
  if (t.ckpt_dir.empty()) t.ckpt_dir = t.out_dir + "/checkpoints";
  t.schedule.total_steps = t.steps;
  return t;
}

}  // namespace

Trainer::Trainer(const model::ModelConfig& mc, const TrainConfig& tc, std::string config_ini, comm::Communicator& tp,
                 comm::Communicator& pp, comm::Communicator& dp, ResumeCheck resume_check, device::Backend& be)
    : be_(be),
      mc_(mc),
      tc_(with_defaults(tc)),
      config_ini_(std::move(config_ini)),
      resume_check_(std::move(resume_check)),
      tp_(tp),
      pp_(pp),
      dp_(dp),
      partition_(train_pipeline_partition(mc.n_layer, tc_, pp.size())),
      data_(tc.data, dp, mc.seq_len, mc.vocab_size, tc.seed),
      model_(mc, model::TpShard{tp.rank(), tp.size()}, tc.sequence_parallel,
             pipeline_stage_spans(partition_, pp.size(), pp.rank()), be),
      params_(be, static_cast<size_t>(model_.layout().size())),
      grads_(be, static_cast<size_t>(model_.layout().size())),
      grad_sync_(model_.layout(), dp, tc.bucket_bytes, tc.zero, be),
      adamw_(model_.layout(), tc_.adamw, grad_sync_.owned_ranges(), be),
      pipeline_(model_, pp, effective_schedule(tc_, pp.size()), static_cast<int>(tc_.grad_accum), tc_.micro_batch,
                mc.seq_len),
      guard_(tc_.guard) {
  PLINTH_CHECK(tc_.global_batch == tc_.micro_batch * tc_.grad_accum * dp.size(), Internal,
               "train batch not resolved for dp = ", dp.size());
  if (pp.size() > 1 && mc.tie_embeddings == model::TieEmbeddings::Yes && model_.layout().contains("embed.wte")) {
    const TensorSpec& w = model_.layout().at("embed.wte");
    tied_copy_ = {w.offset, w.offset + w.numel()};
  }
  sumsq_dev_.allocate(be_, 1);
  if (tied_copy_.size()) tied_recv_.allocate(be_, static_cast<size_t>(tied_copy_.size()));
  {   // initialised on the host (keyed by global index: the same weights on every layout), copied up once
    std::vector<float> init(params_.size());
    model::model_init_params(model_.layout(), init.data(), tc_.seed);
    be_.copy_to_device(params_.data(), init.data(), init.size() * sizeof(float));
  }
  log_info(str_cat("device: ", be_.info().name));
  const auto counts = model::model_param_counts(mc_);
  const int64_t mib = 1 << 20;
  log_info(str_cat("model: ", model::model_signature(mc_)));
  log_info(str_cat("parameters: ", counts.total, " (", counts.non_embedding(), " without embeddings); per rank: ",
                   "params ", model_.layout().size() * 4 / mib, " MiB, grads ", model_.layout().size() * 4 / mib,
                   " MiB, optimizer state ", adamw_.state_bytes() / mib, " MiB",
                   tc_.zero == parallel::ZeroStage::One ? " (ZeRO-1 shard)" : "", ", activations ",
                   pipeline_.activation_bytes() / mib, " MiB"));
  for (const auto& c : data_.corpora())
    log_info(str_cat("corpus ", c.path, ": ", c.train_tokens, " train / ", c.val_tokens, " val tokens, weight ",
                     c.weight, "; an epoch is ", c.train_windows, " windows of seq_len + 1 tokens"));
  if (tp.size() > 1)
    log_info(str_cat("tensor parallel: tp ", tp.size(), ", this rank holds ", model_.dims().n_head, " of ", mc_.n_head,
                     " heads, ", model_.dims().ffn, " of ", mc_.ffn(), " MLP columns, ", model_.dims().vocab, " of ",
                     mc_.padded_vocab(), " vocabulary rows; sequence parallelism ",
                     model_.dims().sequence_parallel() ? "on" : "off"));
  if (pp.size() > 1) {
    const auto kind = effective_schedule(tc_, pp.size());
    const parallel::PipelineShape shape{pp.size(), static_cast<int>(tc_.grad_accum), tc_.pp_chunks};
    log_info(str_cat("pipeline: pp ", pp.size(), ", schedule ", parallel::schedule_kind_name(kind), ", ",
                     tc_.grad_accum, " micro-batches per step, layers per virtual stage ",
                     parallel::layer_ranges_string(partition_), "; this stage holds ",
                     parallel::layer_ranges_string(parallel::pipeline_stage_chunks(partition_, pp.size(), pp.rank())),
                     model_.chunk_has_embedding(0) ? " + embedding" : "",
                     model_.chunk_has_head(static_cast<int>(model_.chunks().size()) - 1) ? " + head" : "",
                     tied_copy_.size() ? " (tied embedding copy)" : "", "; at most ",
                     parallel::pipeline_peak_in_flight(pipeline_.actions()), " micro-batches in flight; bubble ",
                     parallel::pipeline_theoretical_bubble(kind, shape), " in theory"));
  }
  log_info(str_cat("batch: global ", tc_.global_batch, " sequences = micro_batch ", tc_.micro_batch, " x grad_accum ",
                   tc_.grad_accum, " x dp ", dp.size(), "; gradient buckets: ", grad_sync_.buckets().size(),
                   tc_.zero == parallel::ZeroStage::One ? " (reduce-scatter + all-gather)" : " (all-reduce)"));
  const PeakFlops peak = peak_flops(tc_.peak_tflops, be_.info());
  peak_flops_ = peak.flops_per_s;
  log_info(str_cat("MFU reference: ", peak.derivation));
  if (tc_.resume != ResumeKind::None) resume();
  prepare_checkpoint_root();
}

void Trainer::sync_tied_embedding() {
  // Tied input / output embeddings under pipeline parallelism: the first stage holds embed.wte,
  // the last stage a copy as its head. Their gradients are summed (same order of addition on
  // both, so the copies stay bit-identical) before the data-parallel reduction hears of them.
  if (tied_copy_.size() == 0) return;
  const int peer = pp_.rank() == 0 ? pp_.size() - 1 : 0;
  const int64_t n = tied_copy_.size();
  float* g = grads_.data() + tied_copy_.begin;
  auto recv = pp_.recv_async(tied_recv_.data(), n, comm::DType::F32, peer, kTiedEmbeddingTag);
  auto send = pp_.send_async(g, n, comm::DType::F32, peer, kTiedEmbeddingTag);
  recv->wait();
  send->wait();
  be_.add(g, g, tied_recv_.data(), n);   // a + b == b + a in IEEE arithmetic: both copies stay equal
  grad_sync_.on_grads_ready(tied_copy_.begin, tied_copy_.end);
}

float Trainer::train_step(int64_t step, double* grad_norm, float* lr, double* exposed_s, StepOutcome* outcome) {
  const int64_t B = tc_.micro_batch, T = mc_.seq_len, dp = dp_.size(), m = tc_.grad_accum;
  const float dloss = 1.0f / static_cast<float>(tc_.global_batch * T);
  // this step's micro-batches, on the stages that read data (embedding and head)
  std::vector<MicroBatchData> data(static_cast<size_t>(m));
  const bool reads_data =
      model_.chunk_has_embedding(0) || model_.chunk_has_head(static_cast<int>(model_.chunks().size()) - 1);
  if (reads_data) {
    tokens_.resize(static_cast<size_t>(m * B * T));
    targets_.resize(tokens_.size());
    for (int64_t micro = 0; micro < m; ++micro)
      data_.train_batch(step * tc_.global_batch + micro * B * dp, B, tokens_.data() + micro * B * T,
                        targets_.data() + micro * B * T);
    upload_tokens(m);
    for (int64_t micro = 0; micro < m; ++micro)
      data[static_cast<size_t>(micro)] = {tokens_dev_.data() + micro * B * T, targets_dev_.data() + micro * B * T};
  }
  GradSyncObserver observer(grad_sync_, tied_copy_);
  grads_.zero();
  grad_sync_.begin_step(grads_.data());
  pipeline_.train_step(tp_, params_.data(), grads_.data(), data, dloss, &observer);
  sync_tied_embedding();
  *exposed_s = grad_sync_.finish();
  if (step + 1 >= tc_.test_nan_first && step + 1 <= tc_.test_nan_last && tc_.test_nan_first > 0 && world_rank() == 0 &&
      !grad_sync_.owned_ranges().empty())
    be_.fill(grads_.data() + grad_sync_.owned_ranges().front().begin, std::nanf(""), 1);   // fault tests
  // global gradient norm: every element counted once (ZeRO-1: each rank its own pieces;
  // tensor parallel: split tensors on every tp rank, replicated ones on tp rank 0 only;
  // pipeline: each stage its own tensors, the tied embedding on the first stage only)
  const FlatRange skip = pp_.rank() == 0 ? FlatRange{} : tied_copy_;
  optim::grad_sum_squares(be_, sumsq_dev_.data(), model_.layout(), grads_.data(),
                          ranges_without(grad_sync_.owned_ranges(), skip),
                          tp_.rank() == 0 ? optim::Replicated::Count : optim::Replicated::Skip);
  double loss = 0.0, sumsq = 0.0;
  read_step_scalars(&loss, &sumsq);
  // mean loss over every rank's micro-batches (all hold the same number of tokens); it is known
  // on the stage holding the head
  loss /= static_cast<double>(m);
  if (pp_.size() > 1) pp_.all_reduce(&loss, 1, comm::DType::F64, comm::ReduceOp::Sum);
  dp_.all_reduce(&loss, 1, comm::DType::F64, comm::ReduceOp::Sum);
  loss /= static_cast<double>(dp);
  if (step + 1 == tc_.test_spike_step) loss *= 10.0;   // fault tests: a spike in the reported loss
  if (tp_.size() > 1) tp_.all_reduce(&sumsq, 1, comm::DType::F64, comm::ReduceOp::Sum);
  if (tc_.zero == parallel::ZeroStage::One) dp_.all_reduce(&sumsq, 1, comm::DType::F64, comm::ReduceOp::Sum);
  if (pp_.size() > 1) pp_.all_reduce(&sumsq, 1, comm::DType::F64, comm::ReduceOp::Sum);
  *grad_norm = std::sqrt(sumsq);
  *lr = optim::lr_at(tc_.schedule, step);
  // The guard's verdict, agreed over the grid: without ZeRO-1 the norm is not reduced over dp,
  // so a fault after the gradient reduction is seen by one rank only; every rank applies the
  // update, or none does.
  const auto verdict = static_cast<StepVerdict>(grid_max(static_cast<int32_t>(guard_.classify(loss, *grad_norm))));
  *outcome = guard_.record(step + 1, verdict, loss, *grad_norm);
  if (*outcome == StepOutcome::Applied || *outcome == StepOutcome::SpikeApplied) {
    adamw_.step(params_.data(), grads_.data(), *lr, optim::clip_scale(*grad_norm, tc_.grad_clip), step + 1);
    const auto t_gather = Clock::now();
    grad_sync_.gather_params(params_.data());   // ZeRO-1: nothing hides this all-gather
    *exposed_s += seconds_since(t_gather);
  }
  if (step + 1 == tc_.test_nan_param_step && world_rank() == 0) be_.fill(params_.data(), std::nanf(""), 1);   // fault tests
  return static_cast<float>(loss);
}

void Trainer::read_step_scalars(double* loss_sum, double* sumsq) {
  std::vector<float> losses(static_cast<size_t>(tc_.grad_accum));
  be_.copy_to_host(losses.data(), pipeline_.micro_losses(), losses.size() * sizeof(float));
  be_.copy_to_host(sumsq, sumsq_dev_.data(), sizeof(double));
  *loss_sum = 0.0;
  for (float l : losses) *loss_sum += l;   // in micro-batch order (zeros off the head stage)
}

void Trainer::upload_tokens(int64_t count) {
  const size_t n = static_cast<size_t>(count * tc_.micro_batch * mc_.seq_len);
  model::model_check_tokens(mc_, tokens_.data(), static_cast<int64_t>(n));
  if (tokens_dev_.size() < n) {
    tokens_dev_.allocate(be_, n);
    targets_dev_.allocate(be_, n);
  }
  be_.copy_to_device(tokens_dev_.data(), tokens_.data(), n * sizeof(int32_t));
  be_.copy_to_device(targets_dev_.data(), targets_.data(), n * sizeof(int32_t));
}

float Trainer::evaluate(double* standard_error) {
  const int64_t B = tc_.micro_batch, T = mc_.seq_len, dp = dp_.size();
  const int64_t n_windows = tc_.eval_windows;   // fixed, whatever the layout
  std::vector<int64_t> firsts, sizes;
  for (int64_t first = 0; first < n_windows; first += B * dp) {
    firsts.push_back(first);
    sizes.push_back(std::clamp<int64_t>(n_windows - first - dp_.rank() * B, 0, B));
  }
  const size_t n_micro = firsts.size();
  std::vector<MicroBatchData> data(n_micro);
  const bool reads_data =
      model_.chunk_has_embedding(0) || model_.chunk_has_head(static_cast<int>(model_.chunks().size()) - 1);
  if (reads_data) {
    // every rank of the dp group fetches every batch (the coordinator's delivery is collective)
    tokens_.resize(n_micro * static_cast<size_t>(B * T));
    targets_.resize(tokens_.size());
    for (size_t i = 0; i < n_micro; ++i) {
      const int64_t count = data_.val_batch(firsts[i], B, n_windows, tokens_.data() + i * static_cast<size_t>(B * T),
                                            targets_.data() + i * static_cast<size_t>(B * T));
      PLINTH_CHECK(count == sizes[i], Internal, "validation batch of ", count, " windows, expected ", sizes[i]);
    }
    upload_tokens(static_cast<int64_t>(n_micro));
    for (size_t i = 0; i < n_micro; ++i)
      data[i] = {tokens_dev_.data() + i * static_cast<size_t>(B * T), targets_dev_.data() + i * static_cast<size_t>(B * T)};
  }
  // sums over windows of each window's mean loss, and of its square
  double sums[2] = {0.0, 0.0};
  sums[0] = pipeline_.forward_only(tp_, params_.data(), sizes, data, &sums[1]);
  if (pp_.size() > 1) pp_.all_reduce(sums, 2, comm::DType::F64, comm::ReduceOp::Sum);
  dp_.all_reduce(sums, 2, comm::DType::F64, comm::ReduceOp::Sum);
  const double n = static_cast<double>(n_windows), mean = sums[0] / n;
  if (standard_error) {
    const double var = n > 1 ? std::max(0.0, (sums[1] - n * mean * mean) / (n - 1)) : 0.0;
    *standard_error = std::sqrt(var / n);
  }
  return static_cast<float>(mean);
}

int32_t Trainer::agreed_stop(const volatile std::sig_atomic_t* stop_flag) {
  if (!stop_flag) return 0;   // every rank alike: no flag, no collective
  return grid_max(static_cast<int32_t>(*stop_flag));
}

void Trainer::log_epoch_changes() {
  const std::vector<int64_t> consumed = data_.consumed_per_corpus(step_ * tc_.global_batch);
  for (size_t c = 0; c < consumed.size(); ++c) {
    const CorpusSummary& corpus = data_.corpora()[c];
    const int64_t epoch = consumed[c] / corpus.train_windows;
    if (epoch <= epochs_[c]) continue;
    // the epoch's first sample is in this step, or opens the next one when this step ended the previous epoch
    const int64_t begins = consumed[c] == epoch * corpus.train_windows ? step_ + 1 : step_;
    log_info(str_cat("corpus ", corpus.path, ": epoch ", epoch, " begins at step ", begins, " (pass ", epoch + 1,
                     " over its ", corpus.train_windows, " windows, in a new order)"));
    epochs_[c] = epoch;
  }
}

// The end-of-run sample, on the leader, with the model as this rank holds it: whole only at
// tp = pp = 1 (every data-parallel rank holds every parameter). A model split over tp or pp ranks
// is never gathered onto one rank (it was split because it does not fit one): skipped, with a note.
void Trainer::sample(TrainResult& result) {
  if (tp_.size() > 1 || pp_.size() > 1) {
    log_info(str_cat("sample skipped: the model is split over tp ", tp_.size(), " x pp ", pp_.size(),
                     " ranks; use `plinth generate --checkpoint ", result.last_checkpoint.empty() ? tc_.ckpt_dir
                                                                                              : result.last_checkpoint,
                     "` on the saved checkpoint"));
    return;
  }
  if (!data_.tokenizer()) return;
  GenerateOptions g{.max_new_tokens = tc_.sample_tokens, .temperature = tc_.sample_temperature,
                    .top_k = tc_.sample_top_k, .seed = tc_.seed, .stop_token = -1};
  auto prompt = data_.tokenizer()->encode(tc_.sample_prompt);
  const model::Model whole(mc_, {}, parallel::SequenceParallel::Off, {}, be_);   // tp = pp = 1: this rank's layout is the whole model's
  auto out = generate_tokens(whole, params_.data(), prompt, g);
  result.sample = tc_.sample_prompt + data_.tokenizer()->decode(out);
}

TrainResult Trainer::run(const volatile std::sig_atomic_t* stop_flag) {
  TrainResult result;
  result.first_step = step_;
  const bool leader = is_leader();
  const int64_t world = static_cast<int64_t>(dp_.size()) * tp_.size() * pp_.size();
  MetricsWriter metrics(leader ? tc_.metrics_file : std::string(), resumed_from_.empty() ? -1 : step_);
  const int64_t tokens_per_step = tc_.global_batch * mc_.seq_len;
  const double flops_per_token = model::model_flops_per_token(mc_, mc_.seq_len);
  log_info(str_cat("training steps ", step_ + 1, "..", tc_.steps, ": ", tokens_per_step, " tokens/step",
                   leader ? ", metrics -> " + metrics.path() : std::string()));
  // A stop signal that arrived during start-up (MPI set-up, the checkpoint load): nothing has
  // been trained since the checkpoint this run starts from, so stop without saving.
  if (const int32_t stop = agreed_stop(stop_flag)) {
    log_info(str_cat("stop requested (signal ", stop, ") during start-up, before step ", step_ + 1,
                     ": nothing new to save; stopping"));
    result.stopped = StopReason::Signal;
    result.stop_signal = stop;
    result.last_step = step_;
    result.last_checkpoint = resumed_from_;
    return result;
  }
  if (leader) epochs_ = data_.epochs(step_ * tc_.global_batch);
  auto t_start = Clock::now();
  auto t_window = t_start;
  int64_t window_steps = 0;
  double train_seconds = 0.0, exposed_total = 0.0, exposed_window = 0.0, tp_total = 0.0, pp_total = 0.0;
  // evaluation and checkpoint time: reported on their own, never part of tokens/s or MFU
  double eval_window = 0.0, ckpt_window = 0.0;
  auto keep_path = [&](const std::string& dir) {
    if (!dir.empty()) result.last_checkpoint = dir;
  };
  while (step_ < tc_.steps) {
    auto t0 = Clock::now();
    double grad_norm = 0, exposed = 0;
    float lr = 0;
    StepOutcome outcome = StepOutcome::Applied;
    const double tp_before = tp_.wait_seconds();
    const float loss = train_step(step_, &grad_norm, &lr, &exposed, &outcome);
    tp_total += tp_.wait_seconds() - tp_before;
    pp_total += pipeline_.last_wait_seconds();
    ++step_;
    if (leader) log_epoch_changes();
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
    m.skipped = step_outcome_name(outcome);
    m.nonfinite_steps = guard_.nonfinite_steps();
    m.spike_steps = guard_.spike_steps();
    const bool last = step_ == tc_.steps;
    if ((tc_.eval_interval > 0 && step_ % tc_.eval_interval == 0) || last) {
      const auto t_eval = Clock::now();
      double se = 0.0;
      m.val_loss = evaluate(&se);
      m.val_loss_se = se;
      result.val_losses.emplace_back(step_, *m.val_loss);
      const double dt_eval = seconds_since(t_eval);
      eval_window += dt_eval;
      result.eval_s += dt_eval;
    }
    // checkpoints before this step's record, which reports the time they blocked training
    const bool interval_save = tc_.ckpt_interval > 0 && step_ % tc_.ckpt_interval == 0;
    const bool save_now = interval_save || (last && tc_.final_checkpoint == FinalCheckpoint::Yes);
    const bool ckpt_work = save_now || async_ != nullptr;   // a save, or an asynchronous one in flight
    const auto t_ckpt = Clock::now();
    keep_path(complete_async_save(Wait::No));   // an asynchronous save whose shards are all written
    if (save_now) keep_path(save_checkpoint(step_));
    if (ckpt_work) {
      const double dt_ckpt = seconds_since(t_ckpt);
      ckpt_window += dt_ckpt;
      result.ckpt_s += dt_ckpt;
    }
    if (step_ % tc_.log_interval == 0 || last || m.val_loss) {
      // the window's training time: wall time since the last record less evaluation and saves
      const double dt = std::max(1e-9, seconds_since(t_window) - eval_window - ckpt_window);
      m.tokens_per_s = static_cast<double>(window_steps * tokens_per_step) / dt;
      m.flops_per_s = m.tokens_per_s * flops_per_token;
      m.mfu = m.flops_per_s / (peak_flops_ * static_cast<double>(world));
      m.rss_bytes = process_rss_bytes();
      m.elapsed_s = seconds_since(t_start);
      m.comm_exposed_s = exposed_window;
      m.eval_s = eval_window;
      m.ckpt_s = ckpt_window;
      const double eta = train_seconds / static_cast<double>(step_ - result.first_step) *
                         static_cast<double>(tc_.steps - step_);
      if (leader) {
        log_info(progress_line(m, tc_.steps, eta));
        metrics.write(m);
      }
      t_window = Clock::now();
      window_steps = 0;
      exposed_window = eval_window = ckpt_window = 0.0;
    }
    // A stop request (SIGTERM / SIGUSR1 on any rank) is agreed by every rank at this step
    // boundary: the max over tp, then pp, then dp covers the whole grid.
    const int32_t stop = agreed_stop(stop_flag);
    if (stop && !last) {
      log_info(str_cat("stop requested (signal ", stop, ") at step ", step_, ": saving a checkpoint and stopping"));
      if (!interval_save) keep_path(save_checkpoint(step_));
      keep_path(complete_async_save(Wait::Yes));
      result.stopped = StopReason::Signal;
      result.stop_signal = stop;
      break;
    }
  }
  if (const std::string dir = complete_async_save(Wait::Yes); !dir.empty()) result.last_checkpoint = dir;
  result.last_step = step_;
  result.nonfinite_steps = guard_.nonfinite_steps();
  result.spike_steps = guard_.spike_steps();
  if (train_seconds > 0) {
    result.tokens_per_s = static_cast<double>((step_ - result.first_step) * tokens_per_step) / train_seconds;
    result.comm_exposed_fraction = exposed_total / train_seconds;
    result.tp_comm_fraction = tp_total / train_seconds;
    result.pp_wait_fraction = pp_total / train_seconds;
  }
  if (tc_.sample_tokens > 0 && result.stopped == StopReason::Completed && leader) sample(result);
  return result;
}

}  // namespace plinth::train
