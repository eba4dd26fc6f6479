// checkpoint_manager.cpp -- the trainer's checkpoints: every rank writes the blocks it owns into
// its own shard file (no collective I/O, nothing written twice), the leader commits the index;
// synchronous (the pieces point at the live state: nothing is copied) or asynchronous (a staging
// copy of exactly what this rank writes, written by a background thread and freed after the
// commit); resume on any (tp, pp, dp) layout, with or without ZeRO-1, by reading each rank's
// slices through the index.
//
// Who writes what (so that no element is written twice):
//   parameters          data-parallel rank 0 of every (tp, pp) position: its tensor-parallel
//                       slices; tensors replicated over tp by tp rank 0 only; the last stage's
//                       copy of a tied embedding not at all (the first stage writes it);
//   optimizer moments   without ZeRO-1 as the parameters; with ZeRO-1 every data-parallel rank
//                       writes the flat pieces it owns (cut into rectangles of the tensors),
//                       straight from the optimizer's compact buffers: a rank never holds a
//                       full-size copy of the moments.
#include "train/checkpoint_manager.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "optim/optim.h"

namespace plinth::train {
namespace {

using Clock = std::chrono::steady_clock;
// "0.042s", "12.345s": save and load times are often well under the progress log's 0.1 s
std::string seconds_ms(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fs", s);
  return buf;
}

double now_s() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

// The newest step_* under root whose index, metadata and shard list are sound; every newer one
// is set aside (leader only).
std::string newest_sound_checkpoint(const std::string& root) {
  for (const std::string& dir : io::checkpoint_candidates(root)) {
    try {
      io::checkpoint_validate(dir, io::Validation::Structure);
      return dir;
    } catch (const Error& e) {
      const std::string moved = io::checkpoint_quarantine(dir, e.what());
      log_warn(str_cat("skipping invalid checkpoint '", dir, "': ", e.what(), "; set aside as '", moved, "'"));
    }
  }
  return "";
}

}  // namespace

CheckpointManager::CheckpointManager(device::Backend& be, const model::ModelConfig& mc, const TrainConfig& tc,
                                     const std::string& config_ini, GridCollectives& grid, const ParamLayout& layout,
                                     const parallel::GradSync& grad_sync, FlatRange tied_copy, DataCoordinator& data,
                                     TrainState state, ResumeCheck resume_check)
    : be_(be),
      mc_(mc),
      tc_(tc),
      config_ini_(config_ini),
      grid_(grid),
      layout_(layout),
      grad_sync_(grad_sync),
      tied_copy_(tied_copy),
      data_(data),
      state_(state),
      resume_check_(std::move(resume_check)) {}

CheckpointManager::~CheckpointManager() {
  if (async_ && async_->thread.joinable()) async_->thread.join();
}

// ---- resume ----

std::string CheckpointManager::choose_auto_checkpoint() {
  const int world = grid_.world_size();
  for (;;) {
    std::string dir;
    grid_.on_leader([&] { dir = newest_sound_checkpoint(tc_.ckpt_dir); });
    grid_.broadcast_from_leader(&dir);
    if (dir.empty()) return "";
    // every shard file's checksum, each rank reading its share of the files
    std::string damage;
    try {
      io::checkpoint_validate(dir, io::Validation::Full, {grid_.world_rank(), world});
    } catch (const Error& e) {
      damage = e.what();
      log_warn(str_cat("skipping invalid checkpoint '", dir, "': ", damage));
    }
    const int32_t bad_rank = grid_.max(damage.empty() ? -1 : grid_.world_rank());   // a rank that found damage
    if (bad_rank < 0) {
      grid_.on_leader([&] { io::checkpoint_publish_latest(dir); });
      return dir;
    }
    grid_.on_leader([&] {
      if (damage.empty()) {   // rank bad_rank found it: read that rank's share again, for the reason
        try {
          io::checkpoint_validate(dir, io::Validation::Full, {bad_rank, world});
          damage = str_cat("rank ", bad_rank, " found a checksum mismatch (see its log)");
        } catch (const Error& e) {
          damage = e.what();
        }
      }
      const std::string moved = io::checkpoint_quarantine(dir, damage);
      log_warn(str_cat("checkpoint '", dir, "' is damaged; set aside as '", moved, "'"));
    });
  }
}

ResumePoint CheckpointManager::resume() {
  std::string dir;
  if (tc_.resume == ResumeKind::Auto) {
    dir = choose_auto_checkpoint();
    grid_.on_leader([&] {
      if (dir.empty())
        log_info(str_cat("resume auto: no valid checkpoint in ", tc_.ckpt_dir, ", starting from step 0"));
      else
        log_info(str_cat("resume auto: using ", dir));
    });
  } else {
    grid_.on_leader([&] { dir = io::checkpoint_resolve(tc_.resume_path, io::ResumeMode::ExactPath); });
    grid_.broadcast_from_leader(&dir);
  }
  if (dir.empty()) return {};

  io::CheckpointMeta meta = io::checkpoint_read_meta(dir);
  const std::string sig = model::model_signature(mc_);
  PLINTH_CHECK(meta.model_signature == sig, Input, "checkpoint ", dir, " was saved for model '",
               meta.model_signature, "' but the configuration gives '", sig, "'");
  if (resume_check_) resume_check_(meta.config_ini, dir, meta.step);   // the same run, not a changed one
  const double load_s = load_state(dir);
  // the slowest rank's read time (milliseconds, max over the grid: a collective on every rank)
  const int32_t load_ms = grid_.max(static_cast<int32_t>(std::min(2.0e9, load_s * 1e3)));
  const int64_t step = meta.step;
  PLINTH_CHECK(step <= tc_.steps, Config, "checkpoint ", dir, " is at step ", step, ", beyond train.steps (",
               tc_.steps, ")");
  resumed_from_ = dir;
  restore_data_position(step, meta.counters, dir);
  auto counter = [&](const char* k) { return meta.counters.count(k) ? std::to_string(meta.counters.at(k)) : "?"; };
  log_info(str_cat("resumed from ", dir, " at step ", step, " (saved at tp ", counter("parallel.tp"), ", pp ",
                   counter("parallel.pp"), ", dp ", counter("parallel.dp"), ", zero ", counter("parallel.zero"),
                   "; now tp ", grid_.tp_size(), ", pp ", grid_.pp_size(), ", dp ", grid_.dp_size(), "); loaded in ",
                   seconds_ms(load_ms * 1e-3), " (slowest rank)"));
  return {step, dir};
}

// Every rank reads the slices of its own layout; a ZeRO-1 rank keeps its pieces of the moments.
// Returns this rank's read time in seconds.
double CheckpointManager::load_state(const std::string& dir) {
  const auto coverage = grid_.pp_size() > 1 ? io::TensorCoverage::Subset : io::TensorCoverage::All;
  // host staging: the moments (full layout; this rank keeps its ranges), and the parameters where
  // the device is not host-accessible (else they load in place)
  const size_t n = static_cast<size_t>(layout_.size());
  device::HostBuffer<float> m(be_, n), v(be_, n), p_host;
  float* p_dst = state_.params;
  if (!be_.host_accessible()) {
    p_host.allocate(be_, n);
    p_dst = p_host.data();
  }
  const double t_load = now_s();
  if (tc_.ckpt_test_delay_s > 0) sleep_s(tc_.ckpt_test_delay_s);   // fault tests: a slow load (a signal during it)
  const bool zero = tc_.zero == parallel::ZeroStage::One && grid_.dp_size() > 1;
  const std::vector<FlatRange>* owned = zero ? &grad_sync_.owned_ranges() : nullptr;   // ZeRO-1: own moments only
  io::checkpoint_load(dir, {{"model", &layout_, p_dst, coverage},
                            {"optim/exp_avg", &layout_, m.data(), coverage, owned},
                            {"optim/exp_avg_sq", &layout_, v.data(), coverage, owned}});
  if (p_dst != state_.params) be_.copy_to_device(state_.params, p_dst, n * sizeof(float));
  if (be_.host_accessible()) {   // this rank's ranges straight into the optimizer's compact moments
    grad_sync_.scatter_owned(m.data(), state_.exp_avg);
    grad_sync_.scatter_owned(v.data(), state_.exp_avg_sq);
  } else {                       // up to the device first (one full-size device buffer, freed here)
    device::DeviceBuffer<float> full(be_, n);
    be_.copy_to_device(full.data(), m.data(), n * sizeof(float));
    grad_sync_.scatter_owned(full.data(), state_.exp_avg);
    be_.copy_to_device(full.data(), v.data(), n * sizeof(float));
    grad_sync_.scatter_owned(full.data(), state_.exp_avg_sq);
  }
  return now_s() - t_load;
}

void CheckpointManager::restore_data_position(int64_t step, const std::map<std::string, int64_t>& counters,
                                              const std::string& dir) {
  const int64_t n = step * tc_.global_batch;
  const size_t n_corpora = data_.corpora().size();
  std::vector<int64_t> consumed;
  auto found = counters.find("data.consumed_samples");
  bool usable = found != counters.end() && found->second == n;
  for (size_t c = 0; usable && c < n_corpora; ++c) {
    auto it = counters.find("data.consumed_samples." + std::to_string(c));
    usable = it != counters.end();
    if (usable) consumed.push_back(it->second);
  }
  usable = usable && !counters.count("data.consumed_samples." + std::to_string(n_corpora));   // same corpus count
  if (usable) data_.restore(n, consumed);   // every rank holds the same counters: the same position everywhere
  else
    log_warn(str_cat("checkpoint ", dir, " does not record the samples drawn per corpus at sample ", n,
                     " (another global_batch or corpus list?): deriving the data position from the sample index"));
  const std::vector<int64_t> epochs = data_.epochs(n);
  const std::vector<int64_t> now = data_.consumed_per_corpus(n);
  if (!grid_.is_leader()) return;   // the leader logs the epochs
  for (size_t c = 0; c < n_corpora; ++c) {
    const CorpusSummary& corpus = data_.corpora()[c];
    log_info(str_cat("corpus ", corpus.path, ": resuming in epoch ", epochs[c], " at window ",
                     now[c] - epochs[c] * corpus.train_windows, " of ", corpus.train_windows));
  }
}

void CheckpointManager::prepare_checkpoint_root(int64_t start_step) {
  grid_.on_leader([&] {
    for (const std::string& t : io::checkpoint_remove_stale_temps(tc_.ckpt_dir))
      log_warn(str_cat("removed '", t, "', left by a save that did not finish"));
    const std::vector<std::string> newer = io::checkpoint_newer_than(tc_.ckpt_dir, start_step);
    if (newer.empty()) return;
    PLINTH_THROW(Config, "checkpoint.dir '", tc_.ckpt_dir, "' already holds ", newer.front(),
                 newer.size() > 1 ? str_cat(" (and ", newer.size() - 1, " more)") : std::string(),
                 ", newer than this run's starting step ", start_step,
                 ": continue that run with --checkpoint.resume=auto, or give this run another checkpoint.dir "
                 "(or log.out_dir)");
  });
}

// ---- what a shard holds ----

bool CheckpointManager::writes_moments() const {
  // ZeRO-1 (dp > 1): every data-parallel rank its own pieces; otherwise data-parallel rank 0
  return (tc_.zero == parallel::ZeroStage::One && grid_.dp_size() > 1) || grid_.dp_rank() == 0;
}

std::vector<io::ShardPiece> CheckpointManager::shard_pieces(const float* params, const float* m, const float* v) const {
  const bool write_params = writes_params(), write_moments = writes_moments();
  const std::vector<FlatRange>& owned = grad_sync_.owned_ranges();
  std::vector<io::ShardPiece> out;
  for (const TensorSpec& spec : layout_.specs()) {
    const bool head_copy = tied_copy_.size() && grid_.pp_rank() != 0 && spec.offset == tied_copy_.begin;
    if (head_copy) continue;                                    // the first stage writes the tied embedding
    if (spec.split_dim < 0 && grid_.tp_rank() != 0) continue;   // replicated over tp: tp rank 0 writes it
    if (write_params) io::shard_pieces_of_range("model", spec, params + spec.offset, 0, spec.numel(), out);
    if (!write_moments) continue;
    int64_t base = 0;   // where range r starts in m and v
    for (const FlatRange& r : owned) {
      const int64_t lo = std::max(r.begin, spec.offset), hi = std::min(r.end, spec.offset + spec.numel());
      if (lo < hi) {
        const int64_t at = base + (lo - r.begin);
        io::shard_pieces_of_block("optim/exp_avg", spec, m + at, lo - spec.offset, hi - spec.offset, out);
        io::shard_pieces_of_block("optim/exp_avg_sq", spec, v + at, lo - spec.offset, hi - spec.offset, out);
      }
      base += r.size();
    }
  }
  return out;
}

void CheckpointManager::stage_for_async(const float* params, const float* exp_avg, const float* exp_avg_sq,
                                        AsyncWrite& job) const {
  auto copy = [&](device::HostBuffer<float>& to, const float* from, size_t n) {
    to.allocate(be_, n);
    be_.copy_to_host(to.data(), from, n * sizeof(float));
  };
  if (writes_params()) copy(job.params, params, static_cast<size_t>(layout_.size()));
  if (!writes_moments()) return;
  copy(job.m, exp_avg, static_cast<size_t>(state_.moment_size));
  copy(job.v, exp_avg_sq, static_cast<size_t>(state_.moment_size));
}

// ---- save ----

void CheckpointManager::check_params_finite(int64_t step) {
  const double sumsq = optim::grad_sum_squares(layout_, state_.params, 0, -1, be_);
  const int32_t bad_rank = grid_.max(std::isfinite(sumsq) ? -1 : grid_.world_rank());
  PLINTH_CHECK(bad_rank < 0, Config, "checkpoint step ", step, " not saved: the parameters of rank ", bad_rank,
               " are not finite (training diverged; lower optim.lr or set train.grad_clip); the previous "
               "checkpoint is unchanged");
}

std::string CheckpointManager::save(int64_t step) {
  complete_async_save(Wait::Yes);   // the next save waits for the previous one
  check_params_finite(step);        // never write NaN / Inf weights that resume would pick
  const double t0 = now_s();
  // 1. the leader prepares the temporary directory; everyone learns whether it could
  grid_.on_leader([&] { io::checkpoint_prepare(tc_.ckpt_dir, step); });
  const std::string temp_dir = io::checkpoint_temp_dir(tc_.ckpt_dir, step);

  // 2. this rank's shard: parameters and moments as they are (asynchronous: a copy of them)
  if (tc_.ckpt_async == AsyncSave::On) {
    start_async_write(step, temp_dir, t0);
    return "";
  }
  uint64_t checksum = 0;
  std::string error;
  try {
    if (tc_.ckpt_test_delay_s > 0) sleep_s(tc_.ckpt_test_delay_s);
    if (be_.host_accessible()) {   // straight from the live buffers: nothing is copied
      checksum = io::checkpoint_write_shard(temp_dir, grid_.world_rank(),
                                            shard_pieces(state_.params, state_.exp_avg, state_.exp_avg_sq))
                     .checksum;
    } else {                       // through host staging, freed after the write
      AsyncWrite staged;
      stage_for_async(state_.params, state_.exp_avg, state_.exp_avg_sq, staged);
      checksum = io::checkpoint_write_shard(temp_dir, grid_.world_rank(),
                                            shard_pieces(staged.params.data(), staged.m.data(), staged.v.data()))
                     .checksum;
    }
  } catch (const Error& e) {
    error = e.what();
  }
  return commit_checkpoint(step, temp_dir, !error.empty(), error, checksum, now_s() - t0, t0);
}

void CheckpointManager::start_async_write(int64_t step, const std::string& temp_dir, double t_start_s) {
  auto job = std::make_unique<AsyncWrite>();
  stage_for_async(state_.params, state_.exp_avg, state_.exp_avg_sq, *job);
  job->step = step;
  job->temp_dir = temp_dir;
  job->started_s = t_start_s;
  job->blocked_s = now_s() - t_start_s;
  AsyncWrite* w = job.get();
  std::vector<io::ShardPiece> pieces = shard_pieces(w->params.data(), w->m.data(), w->v.data());
  w->thread = std::thread([w, pieces = std::move(pieces), temp_dir, rank = grid_.world_rank(),
                           delay = tc_.ckpt_test_delay_s] {
    try {
      if (delay > 0) sleep_s(delay);
      w->checksum = io::checkpoint_write_shard(temp_dir, rank, pieces).checksum;
    } catch (const std::exception& e) {
      w->error = e.what();
    }
    w->done.store(1);
  });
  async_ = std::move(job);
}

io::CheckpointMeta CheckpointManager::checkpoint_meta(int64_t step) const {
  io::CheckpointMeta meta;
  meta.step = step;
  meta.config_ini = config_ini_;
  meta.model_signature = model::model_signature(mc_);
  meta.tokenizer_kind = data_.tokenizer_kind();
  meta.tokenizer_model = data_.tokenizer_model();
  const auto consumed = data_.consumed_per_corpus(step * tc_.global_batch);
  meta.counters["data.consumed_samples"] = step * tc_.global_batch;
  for (size_t c = 0; c < consumed.size(); ++c) {
    meta.counters["data.consumed_samples." + std::to_string(c)] = consumed[c];
    meta.counters["data.epoch." + std::to_string(c)] = consumed[c] / data_.corpora()[c].train_windows;
  }
  meta.counters["data.seed"] = static_cast<int64_t>(tc_.seed);
  meta.counters["train.global_batch"] = tc_.global_batch;
  meta.counters["parallel.tp"] = grid_.tp_size();
  meta.counters["parallel.pp"] = grid_.pp_size();
  meta.counters["parallel.dp"] = grid_.dp_size();
  meta.counters["parallel.zero"] = tc_.zero == parallel::ZeroStage::One ? 1 : 0;
  meta.counters["parallel.pp_chunks"] = tc_.pp_chunks;
  // Initialisation and the sample order are pure functions of this seed (no RNG advances
  // during training: no dropout), so it is the whole random state of the run.
  meta.rng_states["train.seed"] = {static_cast<uint64_t>(tc_.seed)};
  return meta;
}

std::string CheckpointManager::commit_checkpoint(int64_t step, const std::string& temp_dir, bool local_failed,
                                                 const std::string& local_error, uint64_t shard_checksum,
                                                 double blocked_s, double t_start_s) {
  const double t_commit = now_s();
  // 3. every shard written? then the leader writes the index and commits
  const int32_t any_failed = grid_.max(local_failed ? 1 : 0);
  // every shard file's checksum, as its writer computed it: slot r holds rank r's (the others
  // add zeros), so the leader does not read every shard back
  std::vector<int64_t> sums(static_cast<size_t>(grid_.world_size()), 0);
  sums[static_cast<size_t>(grid_.world_rank())] = std::bit_cast<int64_t>(shard_checksum);
  grid_.sum(sums);
  if (local_failed)
    log_error(str_cat("writing checkpoint shard ", grid_.world_rank(), " of step ", step, " failed: ", local_error));
  std::string dir;
  grid_.on_leader([&] {
    if (any_failed) {
      std::error_code ec;
      std::filesystem::remove_all(temp_dir, ec);
      PLINTH_THROW(Io, "checkpoint step ", step, ": a rank failed to write its shard (see its log)",
                   local_failed ? ": " + local_error : std::string());
    }
    std::vector<uint64_t> checksums(sums.size());
    for (size_t r = 0; r < sums.size(); ++r) checksums[r] = std::bit_cast<uint64_t>(sums[r]);
    dir = io::checkpoint_commit(tc_.ckpt_dir, temp_dir, checkpoint_meta(step), checksums, tc_.ckpt_keep,
                                resumed_from_);
  });
  const double total = now_s() - t_start_s;
  blocked_s += now_s() - t_commit;   // the commit (agreement, index, rename) runs on the training thread
  log_info(str_cat("saved checkpoint ", dir.empty() ? tc_.ckpt_dir : dir, " (step ", step, ") in ",
                   seconds_ms(total), "; training blocked ", seconds_ms(blocked_s),
                   tc_.ckpt_async == AsyncSave::On ? " (asynchronous)" : ""));
  return dir;
}

std::string CheckpointManager::complete_async_save(Wait wait) {
  if (!async_) return "";
  const double t_wait = now_s();
  if (wait == Wait::Yes) async_->thread.join();
  async_->blocked_s += now_s() - t_wait;   // training waits for the writer (the next save, the end, a stop)
  // every rank agrees that every shard is written (min over the grid = not max of "pending")
  const int32_t pending = grid_.max(async_->done.load() ? 0 : 1);
  if (pending) return "";
  if (async_->thread.joinable()) async_->thread.join();
  std::unique_ptr<AsyncWrite> w = std::move(async_);   // its staging copy is freed on return
  return commit_checkpoint(w->step, w->temp_dir, !w->error.empty(), w->error, w->checksum, w->blocked_s,
                           w->started_s);
}

}  // namespace plinth::train
