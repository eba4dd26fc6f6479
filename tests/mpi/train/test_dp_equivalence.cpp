// test_dp_equivalence.cpp -- data parallelism equals the single-process run.
// Under mpirun with N ranks: the reference is a one-process run (world-size-1 communicator,
// on every rank) with global batch 8; each variant trains the same 20 steps over the N-rank
// data group (plain all-reduce or ZeRO-1, with and without gradient accumulation, shared or
// coordinator data access, blended corpora). Losses must match within 1e-5 relative and the
// final parameters within 1e-5 (relative, in norm). Every rank computes its verdict, the
// verdicts are all-reduced, and only then does any rank assert.
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "train_test_util.h"

using namespace plinth;

namespace {

struct Outcome {
  std::vector<float> losses;
  std::vector<float> params;
  float val_loss = 0;
  int64_t opt_bytes = 0;
};

train::TrainConfig base_config(const std::vector<std::string>& corpora, const std::string& out) {
  train::TrainConfig t = testing::quiet_train_config(corpora, out, 20, 7);
  t.threads = 1;
  t.schedule.lr = 3e-3f;
  t.schedule.min_lr = 3e-4f;
  t.schedule.warmup_steps = 3;
  t.eval_windows = 16;
  t.bucket_bytes = 8 << 10;    // several buckets even for this tiny model
  return t;
}

Outcome run(const model::ModelConfig& mc, const train::TrainConfig& tc, comm::Communicator& dp) {
  testing::OneProcess one;
  Outcome o;
  const train::TrainResult r = testing::train_once(mc, tc, one.tp, one.pp, dp, "", [&](train::Trainer& trainer) {
    o.params.assign(trainer.params(), trainer.params() + trainer.model().layout().size());
    o.opt_bytes = trainer.optimizer_state_bytes();
  });
  o.losses = r.losses;
  o.val_loss = testing::final_val_loss(r);
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
  testing::MpiTrainTest env;
  comm::Communicator& world = *env.world;
  testing::MpiCases t(world);
  if (!testing::check_usage(t, argc >= 4, "test_dp_equivalence CORPUS_A CORPUS_B WORKDIR")) return t.finish();
  const std::string a = argv[1], b = argv[2], work = std::string(argv[3]) + "/np" + std::to_string(world.size());
  const int dp = world.size();
  const model::ModelConfig mc = testing::tiny_model(model::Arch::Gpt2, 2, 32, 2, 32);

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
  for (const Variant& v : variants) {
    std::vector<std::string> corpora = v.blend ? std::vector<std::string>{a, b} : std::vector<std::string>{a};
    train::TrainConfig ref_cfg = base_config(corpora, work + "/ref_r" + std::to_string(world.rank()));
    if (v.blend) ref_cfg.data.weights = {1.0, 3.0};
    ref_cfg.micro_batch = global_batch;   // one process, one micro-batch of the whole global batch
    ref_cfg.eval_interval = 20;
    train::TrainConfig cfg = ref_cfg;
    cfg.global_batch = global_batch;
    cfg.micro_batch = global_batch / (dp * v.accum);
    cfg.grad_accum = 1;
    cfg.zero = v.zero;
    cfg.data.access = v.access;
    t.run(str_cat(v.name, " dp=", dp, " micro_batch=", cfg.micro_batch, ": equals the one-process run"), [&] {
      testing::OneProcess one;
      const Outcome ref = run(mc, ref_cfg, one.dp);
      const Outcome got = run(mc, cfg, world);
      const std::string why = compare(ref, got);
      t.check(why.empty(), why);
      if (why.empty() && v.zero == parallel::ZeroStage::One && dp > 1)
        t.check(got.opt_bytes < ref.opt_bytes * 0.6,
                str_cat("ZeRO-1 optimizer state ", got.opt_bytes, " bytes is not about 1/dp of ", ref.opt_bytes));
    });
  }
  return t.finish();
}
