// test_pp_equivalence.cpp -- pipeline parallelism (alone and in 3D with tp and dp) trains the
// same model as one process.
// Under mpirun with W ranks, against the one-process run of the same configuration (computed on
// every rank): 20 training steps give the same losses within 1e-5 relative, and the final
// validation loss agrees too, for
//   W = 2: pp = 2 with GPipe, 1F1B and interleaved 1F1B (2 chunks per rank), GPT-2 with tied
//          embeddings (copies on the first and last stage) and LLaMA with a separate head;
//          an uneven explicit layer list (1 + 3 layers);
//   W = 4: pp = 4 with the three schedules; (tp, pp) = (2, 2) with sequence parallelism;
//          (pp, dp) = (2, 2) with ZeRO-1;
//   W = 8: (tp, pp, dp) = (2, 2, 2), 1F1B and interleaved, with and without ZeRO-1.
// Every verdict is agreed across ranks before it is reported.
#include <cmath>
#include <string>
#include <vector>

#include "parallel/grid.h"
#include "parallel/pipeline_schedule.h"
#include "train_test_util.h"

using namespace plinth;
using parallel::ScheduleKind;

namespace {

model::ModelConfig tiny(model::Arch arch, int64_t n_layer) {
  model::ModelConfig c = testing::tiny_model(arch, n_layer, 32, 4, 16);
  c.n_head_kv = arch == model::Arch::Llama ? 2 : 0;
  c.ffn_hidden = arch == model::Arch::Llama ? 64 : 0;
  return c;
}

train::TrainConfig base(const std::string& corpus, const std::string& out) {
  train::TrainConfig tc = testing::quiet_train_config({corpus}, out, 20, 11);   // validation once, at the end
  tc.schedule.lr = 3e-3f;
  tc.schedule.warmup_steps = 3;
  tc.grad_clip = 0.5f;     // active: the norm must be right across stages
  tc.eval_windows = 12;    // not a multiple of the batch: a short last micro-batch
  tc.global_batch = 8;
  tc.micro_batch = 8;
  tc.bucket_bytes = 8 << 10;
  return tc;
}

struct Layout {
  int tp = 1, pp = 1, dp = 1;
  ScheduleKind schedule = ScheduleKind::OneFOneB;
  int chunks = 1;
  std::string layers;
  parallel::ZeroStage zero = parallel::ZeroStage::None;
  parallel::SequenceParallel sp = parallel::SequenceParallel::Off;
  model::Arch arch = model::Arch::Gpt2;
  int64_t n_layer = 4;
};

std::string describe(const Layout& l) {
  return str_cat(model::arch_name(l.arch), " L=", l.n_layer, " (tp, pp, dp) = (", l.tp, ", ", l.pp, ", ", l.dp, ") ",
                 parallel::schedule_kind_name(l.schedule), l.chunks > 1 ? str_cat(" x", l.chunks, " chunks") : "",
                 l.layers.empty() ? "" : " layers " + l.layers, l.zero == parallel::ZeroStage::One ? " +ZeRO-1" : "",
                 l.sp == parallel::SequenceParallel::On ? " +sequence-parallel" : "");
}

}  // namespace

int main(int argc, char** argv) {
  testing::MpiTrainTest env;
  auto& world = env.world;
  testing::MpiCases t(*world);
  const int W = world->size();
  if (!testing::check_usage(t, argc >= 3, "test_pp_equivalence CORPUS WORKDIR")) return t.finish();
  const std::string corpus = argv[1], work = std::string(argv[2]) + "/pp_np" + std::to_string(W);

  std::vector<Layout> layouts;
  using SK = ScheduleKind;
  if (W == 2) {
    for (SK k : {SK::GPipe, SK::OneFOneB}) layouts.push_back({.pp = 2, .schedule = k});
    layouts.push_back({.pp = 2, .schedule = SK::Interleaved, .chunks = 2});
    layouts.push_back({.pp = 2, .schedule = SK::OneFOneB, .arch = model::Arch::Llama});
    layouts.push_back({.pp = 2, .schedule = SK::Interleaved, .chunks = 2, .arch = model::Arch::Llama});
    layouts.push_back({.pp = 2, .schedule = SK::OneFOneB, .layers = "0,1-3"});
  } else if (W == 4) {
    for (SK k : {SK::GPipe, SK::OneFOneB}) layouts.push_back({.pp = 4, .schedule = k});
    layouts.push_back({.pp = 4, .schedule = SK::Interleaved, .chunks = 2, .n_layer = 8});
    layouts.push_back({.tp = 2, .pp = 2, .schedule = SK::OneFOneB, .sp = parallel::SequenceParallel::On});
    layouts.push_back({.pp = 2, .dp = 2, .schedule = SK::OneFOneB, .zero = parallel::ZeroStage::One});
  } else if (W == 8) {
    layouts.push_back({.tp = 2, .pp = 2, .dp = 2, .schedule = SK::OneFOneB});
    layouts.push_back({.tp = 2, .pp = 2, .dp = 2, .schedule = SK::OneFOneB, .zero = parallel::ZeroStage::One});
    layouts.push_back({.tp = 2, .pp = 2, .dp = 2, .schedule = SK::Interleaved, .chunks = 2,
                       .zero = parallel::ZeroStage::One, .arch = model::Arch::Llama});
  }

  // one-process references, per (arch, depth)
  testing::OneProcess one;
  for (const Layout& l : layouts) {
    const model::ModelConfig mc = tiny(l.arch, l.n_layer);
    t.run(describe(l) + ": 20 steps equal the one-process losses", [&] {
      const train::TrainResult ref =
          testing::train_once(mc, base(corpus, work + "/ref_r" + std::to_string(world->rank())), one.tp, one.pp, one.dp);
      parallel::Grid grid(*world, parallel::GridShape{.tp = l.tp, .pp = l.pp, .dp = l.dp});
      train::TrainConfig tc = base(corpus, work + "/run");
      tc.micro_batch = 1;   // 8 / dp micro-batches per step
      tc.pp_schedule = l.schedule;
      tc.pp_chunks = l.chunks;
      tc.pp_layers = l.layers;
      tc.zero = l.zero;
      tc.sequence_parallel = l.sp;
      const train::TrainResult got = testing::train_once(mc, tc, grid.tp(), grid.pp(), grid.dp());
      testing::check_losses(t, got.losses, ref.losses, 1e-5);
      const float got_val = testing::final_val_loss(got), ref_val = testing::final_val_loss(ref);
      t.check(std::fabs(got_val - ref_val) <= 1e-5 * std::fabs(ref_val),
              str_cat("validation loss ", got_val, " vs ", ref_val));
      t.check(ref.losses.back() < ref.losses.front() - 0.1f, "the reference run learns");
    });
  }
  return t.finish();
}
