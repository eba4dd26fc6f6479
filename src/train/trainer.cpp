// trainer.cpp -- the trainer's construction, one optimizer step (batches, gradients, the global
// loss and gradient norm, the guarded update), validation and the end-of-run sample. The loop is
// in trainer_run.cpp, checkpoints in checkpoint_manager.cpp.
#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.h"
#include "core/log.h"
#include "io/tokenizer.h"
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

// Tied embeddings under pipeline parallelism: the last stage's copy of embed.wte (its head), or
// an empty range.
FlatRange tied_embedding_copy(const model::ModelConfig& mc, int pp_size, const ParamLayout& layout) {
  if (pp_size == 1 || mc.tie_embeddings != model::TieEmbeddings::Yes || !layout.contains("embed.wte")) return {};
  const TensorSpec& w = layout.at("embed.wte");
  return {w.offset, w.offset + w.numel()};
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
      tp_(tp),
      pp_(pp),
      dp_(dp),
      grid_(tp_, pp, dp),
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
      tied_copy_(tied_embedding_copy(mc, pp.size(), model_.layout())),
      checkpoints_(be, mc_, tc_, config_ini_, grid_, model_.layout(), grad_sync_, tied_copy_, data_,
                   TrainState{params_.data(), adamw_.exp_avg().data(), adamw_.exp_avg_sq().data(),
                              static_cast<int64_t>(adamw_.exp_avg().size())},
                   std::move(resume_check)),
      guard_(tc_.guard) {
  PLINTH_CHECK(tc_.global_batch == tc_.micro_batch * tc_.grad_accum * dp.size(), Internal,
               "train batch not resolved for dp = ", dp.size());
  sumsq_dev_.allocate(be_, 1);
  // this rank's share of the global gradient norm, fixed for the run: every element counted once
  // (ZeRO-1: each rank its own pieces; tensor parallel: split tensors on every tp rank, replicated
  // ones on tp rank 0 only; pipeline: each stage its own tensors, the tied embedding on the first
  // stage only)
  const FlatRange skip = pp.rank() == 0 ? FlatRange{} : tied_copy_;
  norm_pieces_ = optim::tensor_pieces(model_.layout(), ranges_without(grad_sync_.owned_ranges(), skip),
                                      tp.rank() == 0 ? optim::Replicated::Count : optim::Replicated::Skip);
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
  if (tc_.resume != ResumeKind::None) step_ = checkpoints_.resume().step;
  checkpoints_.prepare_checkpoint_root(step_);
}

Trainer::~Trainer() = default;   // the checkpoint manager lets an asynchronous write in flight finish

void Trainer::sync_tied_embedding() {
  // Tied input / output embeddings under pipeline parallelism: the first stage holds embed.wte,
  // the last stage a copy as its head. Their gradients are summed (same order of addition on
  // both, so the copies stay bit-identical) before the data-parallel reduction hears of them.
  if (tied_copy_.size() == 0) return;
  const int peer = pp_.rank() == 0 ? pp_.size() - 1 : 0;
  const int64_t n = tied_copy_.size();
  float* g = grads_.data() + tied_copy_.begin;
  be_.synchronize();   // the communicator reads what backward wrote
  auto recv = pp_.recv_async(tied_recv_.data(), n, comm::DType::F32, peer, kTiedEmbeddingTag);
  auto send = pp_.send_async(g, n, comm::DType::F32, peer, kTiedEmbeddingTag);
  recv->wait();
  send->wait();
  be_.add(g, g, tied_recv_.data(), n);   // a + b == b + a in IEEE arithmetic: both copies stay equal
  grad_sync_.on_grads_ready(tied_copy_.begin, tied_copy_.end);
}

Trainer::StepResult Trainer::train_step(int64_t step) {
  StepResult r;
  const std::vector<MicroBatchData> data = load_train_batches(step);
  compute_gradients(step, data, &r.exposed_s);
  double local_sum = 0.0, local_sumsq = 0.0;
  read_step_scalars(&local_sum, &local_sumsq);
  const double loss = global_mean_loss(step, local_sum);
  r.grad_norm = global_grad_norm(local_sumsq);
  r.lr = optim::lr_at(tc_.schedule, step);
  r.outcome = apply_update(step, loss, r.grad_norm, r.lr, &r.exposed_s);
  if (step + 1 == tc_.test_nan_param_step && grid_.world_rank() == 0)
    be_.fill(params_.data(), std::nanf(""), 1);   // fault tests
  r.loss = static_cast<float>(loss);
  return r;
}

bool Trainer::reads_data() const {
  return model_.chunk_has_embedding(0) || model_.chunk_has_head(static_cast<int>(model_.chunks().size()) - 1);
}

std::vector<MicroBatchData> Trainer::load_train_batches(int64_t step) {
  const int64_t B = tc_.micro_batch, T = mc_.seq_len, dp = dp_.size(), m = tc_.grad_accum;
  std::vector<MicroBatchData> data(static_cast<size_t>(m));
  if (!reads_data()) return data;   // only the stages holding the embedding or the head read data
  tokens_.resize(static_cast<size_t>(m * B * T));
  targets_.resize(tokens_.size());
  for (int64_t micro = 0; micro < m; ++micro)
    data_.train_batch(step * tc_.global_batch + micro * B * dp, B, tokens_.data() + micro * B * T,
                      targets_.data() + micro * B * T);
  upload_tokens(m);
  for (int64_t micro = 0; micro < m; ++micro)
    data[static_cast<size_t>(micro)] = {tokens_dev_.data() + micro * B * T, targets_dev_.data() + micro * B * T};
  return data;
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

void Trainer::compute_gradients(int64_t step, const std::vector<MicroBatchData>& data, double* exposed_s) {
  const float dloss = 1.0f / static_cast<float>(tc_.global_batch * mc_.seq_len);
  GradSyncObserver observer(grad_sync_, tied_copy_);
  grads_.zero();
  grad_sync_.begin_step(grads_.data());
  pipeline_.train_step(tp_, params_.data(), grads_.data(), data, dloss, &observer);
  sync_tied_embedding();
  *exposed_s = grad_sync_.finish();
  if (step + 1 >= tc_.test_nan_first && step + 1 <= tc_.test_nan_last && tc_.test_nan_first > 0 &&
      grid_.world_rank() == 0 && !grad_sync_.owned_ranges().empty())
    be_.fill(grads_.data() + grad_sync_.owned_ranges().front().begin, std::nanf(""), 1);   // fault tests
  be_.sum_squares(sumsq_dev_.data(), grads_.data(), norm_pieces_);   // this rank's share of the norm
}

void Trainer::read_step_scalars(double* loss_sum, double* sumsq) {
  std::vector<float> losses(static_cast<size_t>(tc_.grad_accum));
  be_.copy_to_host(losses.data(), pipeline_.micro_losses(), losses.size() * sizeof(float));
  be_.copy_to_host(sumsq, sumsq_dev_.data(), sizeof(double));
  *loss_sum = 0.0;
  for (float l : losses) *loss_sum += l;   // in micro-batch order (zeros off the head's stage)
}

// The mean loss over every rank's micro-batches (all hold the same number of tokens); it is known
// on the stage holding the head.
double Trainer::global_mean_loss(int64_t step, double local_sum) {
  double loss = local_sum / static_cast<double>(tc_.grad_accum);
  if (pp_.size() > 1) pp_.all_reduce(&loss, 1, comm::DType::F64, comm::ReduceOp::Sum);
  dp_.all_reduce(&loss, 1, comm::DType::F64, comm::ReduceOp::Sum);
  loss /= static_cast<double>(dp_.size());
  if (step + 1 == tc_.test_spike_step) loss *= 10.0;   // fault tests: a spike in the reported loss
  return loss;
}

// The ranks' shares summed over the grid (each element counted once: compute_gradients).
double Trainer::global_grad_norm(double local_sumsq) {
  double sumsq = local_sumsq;
  if (tp_.size() > 1) tp_.all_reduce(&sumsq, 1, comm::DType::F64, comm::ReduceOp::Sum);
  if (tc_.zero == parallel::ZeroStage::One) dp_.all_reduce(&sumsq, 1, comm::DType::F64, comm::ReduceOp::Sum);
  if (pp_.size() > 1) pp_.all_reduce(&sumsq, 1, comm::DType::F64, comm::ReduceOp::Sum);
  return std::sqrt(sumsq);
}

// The guard's verdict, agreed over the grid: without ZeRO-1 the norm is not reduced over dp, so a
// fault after the gradient reduction is seen by one rank only; every rank applies the update, or
// none does.
StepOutcome Trainer::apply_update(int64_t step, double loss, double grad_norm, float lr, double* exposed_s) {
  const auto verdict = static_cast<StepVerdict>(grid_.max(static_cast<int32_t>(guard_.classify(loss, grad_norm))));
  const StepOutcome outcome = guard_.record(step + 1, verdict, loss, grad_norm);
  if (outcome != StepOutcome::Applied && outcome != StepOutcome::SpikeApplied) return outcome;
  adamw_.step(params_.data(), grads_.data(), lr, optim::clip_scale(grad_norm, tc_.grad_clip), step + 1);
  const auto t_gather = Clock::now();
  grad_sync_.gather_params(params_.data());   // ZeRO-1: nothing hides this all-gather
  *exposed_s += seconds_since(t_gather);
  return outcome;
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
  if (reads_data()) {
    // every rank of the dp group fetches every batch (the coordinator's delivery is collective)
    tokens_.resize(n_micro * static_cast<size_t>(B * T));
    targets_.resize(tokens_.size());
    for (size_t i = 0; i < n_micro; ++i) {
      const int64_t count = data_.val_batch(firsts[i], B, n_windows, tokens_.data() + i * static_cast<size_t>(B * T),
                                            targets_.data() + i * static_cast<size_t>(B * T));
      PLINTH_CHECK(count == sizes[i], Internal, "validation batch of ", count, " windows, expected ", sizes[i]);
    }
    upload_tokens(static_cast<int64_t>(n_micro));
    for (size_t i = 0; i < n_micro; ++i) {
      const size_t at = i * static_cast<size_t>(B * T);
      data[i] = {tokens_dev_.data() + at, targets_dev_.data() + at};
    }
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
  const model::Model whole(mc_, {}, parallel::SequenceParallel::Off, {}, be_);   // tp = pp = 1: the whole model
  auto out = generate_tokens(whole, params_.data(), prompt, g);
  result.sample = tc_.sample_prompt + data_.tokenizer()->decode(out);
}

}  // namespace plinth::train
