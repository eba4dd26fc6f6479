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
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "../comm/mpi_check.h"
#include "core/log.h"
#include "io/checkpoint.h"
#include "io/fs_util.h"
#include "kernels/kernels.h"
#include "parallel/comm/mpi_communicator.h"
#include "parallel/comm/mpi_env.h"
#include "parallel/comm/single_communicator.h"
#include "parallel/grid.h"
#include "train/trainer.h"

using namespace plinth;

namespace {

model::ModelConfig tiny() {
  model::ModelConfig c;
  c.arch = model::Arch::Gpt2;
  c.vocab_size = 256;
  c.vocab_pad_multiple = 64;
  c.n_layer = 4;
  c.n_embd = 32;
  c.n_head = 4;
  c.seq_len = 16;
  c.tie_embeddings = model::TieEmbeddings::Yes;
  c.init_std = 0.02f;
  return c;
}

train::TrainConfig base(const std::string& corpus, const std::string& out) {
  train::TrainConfig tc;
  tc.data.corpora = {corpus};
  tc.steps = 20;
  tc.seed = 21;
  tc.schedule.lr = 3e-3f;
  tc.schedule.warmup_steps = 3;
  tc.grad_clip = 0.5f;
  tc.eval_interval = 0;
  tc.eval_windows = 8;
  tc.log_interval = 100;
  tc.out_dir = out;
  tc.peak_tflops = 0.001;
  tc.sample_tokens = 0;
  tc.final_checkpoint = train::FinalCheckpoint::No;
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
  train::train_config_resolve_batch(tc, l.dp);
  train::Trainer tr(tiny(), tc, "[model]\nn_layer = 4\n", grid.tp(), grid.pp(), grid.dp());
  return tr.run().losses;
}

}  // namespace

int main(int argc, char** argv) {
  comm::MpiSession mpi;
  auto world = comm::mpi_world_communicator(120.0);
  log_set_level(LogLevel::Warn);
  kernels::set_num_threads(1);
  testing::MpiCases t(*world);
  if (argc < 3 || world->size() != 8) {
    t.check(false, "usage: mpirun -n 8 test_checkpoint_layouts CORPUS WORKDIR");
    return t.finish();
  }
  const std::string corpus = argv[1], work = std::string(argv[2]) + "/ckpt_layouts";
  const int rank = world->rank();
  // a fresh work directory: checkpoints left by an earlier run would (rightly) refuse to be
  // overwritten
  if (rank == 0) std::filesystem::remove_all(work);
  world->barrier();

  // the uninterrupted one-process run, on every rank
  comm::SingleCommunicator one_tp("tp"), one_pp("pp"), one_dp("dp");
  std::vector<float> ref;
  {
    train::TrainConfig tc = base(corpus, work + "/ref_r" + std::to_string(rank));
    tc.micro_batch = 8;
    train::train_config_resolve_batch(tc, 1);
    train::Trainer tr(tiny(), tc, "", one_tp, one_pp, one_dp);
    ref = tr.run().losses;
  }
  auto expect_losses = [&](const std::vector<float>& got, size_t first_step, double tol, const std::string& what) {
    t.check(got.size() == ref.size() - first_step, str_cat(what, ": ", got.size(), " steps"));
    for (size_t i = 0; i < got.size() && first_step + i < ref.size(); ++i) {
      const double r = ref[first_step + i];
      t.check(std::fabs(got[i] - r) <= tol * std::fabs(r),
              str_cat(what, ": step ", first_step + i + 1, ": ", got[i], " vs ", r));
    }
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
