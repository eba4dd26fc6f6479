// test_dp_equivalence.cpp -- data parallelism equals the single-process run.
// Under mpirun with N ranks: the reference is a one-process run (world-size-1 communicator,
// on every rank) with global batch 8; each variant trains the same 20 steps over the N-rank
// data group (plain all-reduce or ZeRO-1, with and without gradient accumulation, shared or
// coordinator data access, blended corpora). Losses must match within 1e-5 relative and the
// final parameters within 1e-5 (relative, in norm). Every rank computes its verdict, the
// verdicts are all-reduced, and only then does any rank assert.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/log.h"
#include "kernels/kernels.h"
#include "parallel/comm/mpi_communicator.h"
#include "parallel/comm/mpi_env.h"
#include "parallel/comm/single_communicator.h"
#include "train/trainer.h"

using namespace plinth;

namespace {

struct Outcome {
  std::vector<float> losses;
  std::vector<float> params;
  float val_loss = 0;
  int64_t opt_bytes = 0;
};

model::ModelConfig tiny_model() {
  model::ModelConfig m;
  m.arch = model::Arch::Gpt2;
  m.vocab_size = 256;
  m.n_layer = 2;
  m.n_embd = 32;
  m.n_head = 2;
  m.seq_len = 32;
  return m;
}

train::TrainConfig base_config(const std::vector<std::string>& corpora, const std::string& out) {
  train::TrainConfig t;
  t.data.corpora = corpora;
  t.steps = 20;
  t.seed = 7;
  t.threads = 1;
  t.schedule.lr = 3e-3f;
  t.schedule.min_lr = 3e-4f;
  t.schedule.warmup_steps = 3;
  t.eval_interval = 0;
  t.eval_windows = 16;
  t.log_interval = 100;
  t.out_dir = out;
  t.peak_tflops = 0.001;           // a stated MFU peak
  t.sample_tokens = 0;
  t.final_checkpoint = train::FinalCheckpoint::No;
  t.bucket_bytes = 8 << 10;    // several buckets even for this tiny model
  return t;
}

Outcome run(const model::ModelConfig& mc, train::TrainConfig tc, comm::Communicator& dp) {
  train::train_config_resolve_batch(tc, dp.size());
  comm::SingleCommunicator tp("tp"), pp("pp");
  train::Trainer trainer(mc, tc, "", tp, pp, dp);
  train::TrainResult r = trainer.run();
  Outcome o;
  o.losses = r.losses;
  o.params.assign(trainer.params(), trainer.params() + trainer.model().layout().size());
  o.val_loss = r.val_losses.empty() ? 0.f : r.val_losses.back().second;
  o.opt_bytes = trainer.optimizer_state_bytes();
  return o;
}

// Returns an empty string when `got` matches `ref`, else what differs.
std::string compare(const Outcome& ref, const Outcome& got) {
  if (ref.losses.size() != got.losses.size()) return "different number of steps";
  for (size_t i = 0; i < ref.losses.size(); ++i) {
    const double rel = std::fabs(ref.losses[i] - got.losses[i]) / std::fabs(ref.losses[i]);
    if (!(rel <= 1e-5))
      return str_cat("step ", i + 1, ": loss ", got.losses[i], " vs reference ", ref.losses[i], " (rel ", rel, ")");
  }
  double diff = 0, norm = 0;
  for (size_t i = 0; i < ref.params.size(); ++i) {
    diff += (static_cast<double>(ref.params[i]) - got.params[i]) * (static_cast<double>(ref.params[i]) - got.params[i]);
    norm += static_cast<double>(ref.params[i]) * ref.params[i];
  }
  const double rel = std::sqrt(diff / norm);
  if (!(rel <= 1e-5)) return str_cat("final parameters differ: relative norm ", rel);
  if (std::fabs(ref.val_loss - got.val_loss) > 1e-5 * std::fabs(ref.val_loss))
    return str_cat("validation loss ", got.val_loss, " vs reference ", ref.val_loss);
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  comm::MpiSession mpi;
  auto world = comm::mpi_world_communicator(120.0);
  log_set_level(LogLevel::Warn);
  kernels::set_num_threads(1);
  if (argc < 4) {
    std::fprintf(stderr, "usage: test_dp_equivalence CORPUS_A CORPUS_B WORKDIR\n");
    return 2;
  }
  const std::string a = argv[1], b = argv[2], work = std::string(argv[3]) + "/np" + std::to_string(world->size());
  const int dp = world->size();
  const model::ModelConfig mc = tiny_model();

  struct Variant {
    const char* name;
    parallel::ZeroStage zero;
    int64_t accum;             // gradient accumulation steps per rank
    train::DataAccess access;
    bool blend;
  };
  const Variant variants[] = {
      {"allreduce", parallel::ZeroStage::None, 1, train::DataAccess::Shared, false},
      {"allreduce+accum", parallel::ZeroStage::None, 2, train::DataAccess::Shared, false},
      {"zero1", parallel::ZeroStage::One, 1, train::DataAccess::Shared, false},
      {"zero1+accum", parallel::ZeroStage::One, 2, train::DataAccess::Shared, false},
      {"zero1+coordinator+blend", parallel::ZeroStage::One, 1, train::DataAccess::Coordinator, true},
  };
  const int64_t global_batch = 8;
  int failures = 0;
  comm::SingleCommunicator single;
  for (const Variant& v : variants) {
    std::vector<std::string> corpora = v.blend ? std::vector<std::string>{a, b} : std::vector<std::string>{a};
    train::TrainConfig ref_cfg = base_config(corpora, work + "/ref_r" + std::to_string(world->rank()));
    if (v.blend) ref_cfg.data.weights = {1.0, 3.0};
    ref_cfg.micro_batch = global_batch;   // one process, one micro-batch of the whole global batch
    ref_cfg.eval_interval = 20;
    Outcome ref = run(mc, ref_cfg, single);

    train::TrainConfig cfg = ref_cfg;
    cfg.global_batch = global_batch;
    cfg.micro_batch = global_batch / (dp * v.accum);
    cfg.grad_accum = 1;
    cfg.zero = v.zero;
    cfg.data.access = v.access;
    std::string why;
    try {
      Outcome got = run(mc, cfg, *world);
      why = compare(ref, got);
      if (why.empty() && v.zero == parallel::ZeroStage::One && dp > 1 && !(got.opt_bytes < ref.opt_bytes * 0.6))
        why = str_cat("ZeRO-1 optimizer state ", got.opt_bytes, " bytes is not about 1/dp of ", ref.opt_bytes);
    } catch (const std::exception& e) {
      why = str_cat("threw: ", e.what());
    }
    // agree on the verdict before anyone reports it
    int32_t bad = why.empty() ? 0 : 1;
    world->all_reduce(&bad, 1, comm::DType::I32, comm::ReduceOp::Max);
    if (world->rank() == 0 || !why.empty())
      std::printf("[rank %d] %-26s dp=%d micro_batch=%lld: %s\n", world->rank(), v.name, dp,
                  static_cast<long long>(cfg.micro_batch), bad ? (why.empty() ? "FAILED on another rank" : why.c_str()) : "ok");
    failures += bad;
  }
  if (world->rank() == 0) std::printf("%d passed, %d failed\n", static_cast<int>(std::size(variants)) - failures, failures);
  return failures == 0 ? 0 : 1;
}
