// test_checkpoint_layouts.cpp -- sharded checkpoints resume exactly on any parallel layout.
// Under mpirun with 8 ranks, against the uninterrupted one-process run of 20 steps:
//  1. (tp, pp, dp) = (2, 2, 2), with and without ZeRO-1, saves at step 10 (every rank writes its
//     own shard; synchronous, and asynchronous for the ZeRO-1 case) and its own losses equal the
//     one-process run within 1e-5 relative;
//  2. each checkpoint resumes at (1, 1, 4), (4, 1, 1), (1, 4, 2), (2, 2, 2) and (1, 1, 1), with and
//     without ZeRO-1 on the resuming side (when dp > 1), on a sub-communicator of exactly that many
//     ranks: steps 11..20 equal the uninterrupted run within 1e-5 relative;
//  3. resuming on the saving layout itself continues bit-identically (every logged loss).
// Every verdict is agreed across all 8 ranks before it is reported.
#include <cstring>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "io/fs_util.h"
#include "parallel/grid.h"
#include "train_test_util.h"

using namespace plinth;

namespace {

model::ModelConfig tiny() { return testing::tiny_model(model::Arch::Gpt2, 4, 32, 4, 16); }

train::TrainConfig base(const std::string& corpus, const std::string& out) {
  train::TrainConfig tc = testing::quiet_train_config({corpus}, out, 20, 21);
  tc.schedule.lr = 3e-3f;
  tc.schedule.warmup_steps = 3;
  tc.grad_clip = 0.5f;
  tc.eval_windows = 8;
  tc.global_batch = 8;
  tc.micro_batch = 1;
  tc.bucket_bytes = 8 << 10;
  return tc;
}

struct Layout {
  int tp = 1, pp = 1, dp = 1;
  parallel::ZeroStage zero = parallel::ZeroStage::None;
};

std::string describe(const Layout& l) {
  return str_cat("(", l.tp, ", ", l.pp, ", ", l.dp, ")", l.zero == parallel::ZeroStage::One ? " +ZeRO-1" : "");
}

std::vector<float> run_on(comm::Communicator& group, const Layout& l, train::TrainConfig tc) {
  parallel::Grid grid(group, parallel::GridShape{.tp = l.tp, .pp = l.pp, .dp = l.dp});
  tc.zero = l.zero;
  return testing::train_once(tiny(), tc, grid.tp(), grid.pp(), grid.dp(), "[model]\nn_layer = 4\n").losses;
}

}  // namespace

int main(int argc, char** argv) {
  testing::MpiTrainTest env;
  auto& world = env.world;
  testing::MpiCases t(*world);
  if (!testing::check_usage(t, argc >= 3 && world->size() == 8, "mpirun -n 8 test_checkpoint_layouts CORPUS WORKDIR"))
    return t.finish();
  const std::string corpus = argv[1], work = testing::fresh_dir(*world, std::string(argv[2]) + "/ckpt_layouts");
  const int rank = world->rank();

  // the uninterrupted one-process run, on every rank
  testing::OneProcess one;
  std::vector<float> ref;
  {
    train::TrainConfig tc = base(corpus, work + "/ref_r" + std::to_string(rank));
    tc.micro_batch = 8;
    ref = testing::train_once(tiny(), tc, one.tp, one.pp, one.dp).losses;
  }
  auto expect_losses = [&](const std::vector<float>& got, size_t first_step, double tol, const std::string& what) {
    testing::check_losses(t, got, ref, tol, first_step, what);
  };

  const std::vector<Layout> targets = {{1, 1, 4}, {1, 1, 4, parallel::ZeroStage::One}, {4, 1, 1}, {1, 4, 2},
                                       {1, 4, 2, parallel::ZeroStage::One}, {1, 1, 1}};
  for (parallel::ZeroStage zero : {parallel::ZeroStage::None, parallel::ZeroStage::One}) {
    const Layout saved{2, 2, 2, zero};
    const std::string root = work + "/saved_zero" + std::to_string(zero == parallel::ZeroStage::One);
    std::vector<float> saved_losses;
    t.run(str_cat("save at ", describe(saved), zero == parallel::ZeroStage::One ? " (asynchronous save)" : "",
                  ": 20 steps equal one process, checkpoint at step 10 with one shard per rank"),
          [&] {
            train::TrainConfig tc = base(corpus, root);
            tc.ckpt_interval = 10;
            tc.ckpt_keep = 0;
            tc.ckpt_async = zero == parallel::ZeroStage::One ? train::AsyncSave::On : train::AsyncSave::Off;
            saved_losses = run_on(*world, saved, tc);
            expect_losses(saved_losses, 0, 1e-5, "saving run");
            const std::string dir = root + "/checkpoints/step_00000010";
            t.check(io::checkpoint_find_latest_valid(root + "/checkpoints", io::Validation::Full) ==
                        root + "/checkpoints/step_00000020",
                    "the step-20 checkpoint is the newest valid one");
            for (int r = 0; r < 8; ++r)
              t.check(io::is_regular_file(dir + "/" + io::checkpoint_shard_file_name(r)),
                      str_cat("shard file of rank ", r));
            const auto meta = io::checkpoint_read_meta(dir);
            t.check(meta.counters.at("parallel.tp") == 2 && meta.counters.at("parallel.pp") == 2 &&
                        meta.counters.at("parallel.dp") == 2 && meta.counters.at("data.consumed_samples") == 80,
                    "layout and data position in the metadata");
          });
    const std::string step10 = root + "/checkpoints/step_00000010";
    for (const Layout& l : targets) {
      t.run(str_cat("saved at ", describe(saved), ", resumed at ", describe(l), ": steps 11..20 equal the uninterrupted run"),
            [&] {
              const int n = l.tp * l.pp * l.dp;
              auto group = world->split(rank < n ? 0 : 1, rank, "resume");
              if (rank >= n) return;   // these ranks sit this layout out
              train::TrainConfig tc = base(corpus, work + "/resumed");
              tc.ckpt_dir = work + "/resumed_ckpt_" + std::to_string(n);   // never written: no saves
              tc.resume = train::ResumeKind::Path;
              tc.resume_path = step10;
              expect_losses(run_on(*group, l, tc), 10, 1e-5, "resumed run");
            });
    }
    t.run(str_cat("saved at ", describe(saved), ", resumed on the same layout: bit-identical losses"), [&] {
      train::TrainConfig tc = base(corpus, work + "/same");
      tc.ckpt_dir = work + "/same_ckpt";
      tc.resume = train::ResumeKind::Path;
      tc.resume_path = step10;
      const std::vector<float> got = run_on(*world, saved, tc);
      t.check(got.size() == 10, "10 steps");
      for (size_t i = 0; i < got.size() && i + 10 < saved_losses.size(); ++i)
        t.check(std::memcmp(&got[i], &saved_losses[i + 10], sizeof(float)) == 0,
                str_cat("step ", i + 11, ": ", got[i], " vs ", saved_losses[i + 10], " (bits differ)"));
    });
  }
  return t.finish();
}
