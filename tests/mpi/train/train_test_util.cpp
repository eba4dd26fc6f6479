// train_test_util.cpp -- the shared set-up of the MPI training tests (train_test_util.h).
#include "train_test_util.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "kernels/kernels.h"
#include "parallel/comm/mpi_communicator.h"

namespace plinth::testing {

MpiTrainTest::MpiTrainTest() : world(comm::mpi_world_communicator(120.0)) {
  log_set_level(LogLevel::Warn);
  kernels::set_num_threads(1);
}

bool check_usage(MpiCases& t, bool ok, const std::string& usage) {
  t.check(ok, "usage: " + usage);
  return ok;
}

std::string fresh_dir(comm::Communicator& world, const std::string& dir) {
  if (world.rank() == 0) std::filesystem::remove_all(dir);
  world.barrier();
  return dir;
}

model::ModelConfig tiny_model(model::Arch arch, int64_t n_layer, int64_t n_embd, int64_t n_head, int64_t seq_len) {
  model::ModelConfig c;
  c.arch = arch;
  c.vocab_size = 256;
  c.vocab_pad_multiple = 64;
  c.n_layer = n_layer;
  c.n_embd = n_embd;
  c.n_head = n_head;
  c.seq_len = seq_len;
  c.tie_embeddings = arch == model::Arch::Gpt2 ? model::TieEmbeddings::Yes : model::TieEmbeddings::No;
  c.init_std = 0.02f;
  return c;
}

train::TrainConfig quiet_train_config(const std::vector<std::string>& corpora, const std::string& out_dir,
                                      int64_t steps, uint64_t seed) {
  train::TrainConfig tc;
  tc.data.corpora = corpora;
  tc.steps = steps;
  tc.seed = seed;
  tc.schedule.min_lr = 0.0f;
  tc.schedule.warmup_steps = 0;
  tc.bucket_bytes = 25 << 20;
  tc.eval_interval = 0;
  tc.log_interval = 100;
  tc.out_dir = out_dir;
  tc.peak_tflops = 0.001;
  tc.sample_tokens = 0;
  tc.final_checkpoint = train::FinalCheckpoint::No;
  return tc;
}

train::TrainResult train_once(const model::ModelConfig& mc, train::TrainConfig tc, comm::Communicator& tp,
                              comm::Communicator& pp, comm::Communicator& dp, const std::string& config_ini,
                              const std::function<void(train::Trainer&)>& inspect) {
  train::train_config_resolve_batch(tc, dp.size());
  train::Trainer trainer(mc, tc, config_ini, tp, pp, dp);
  train::TrainResult r = trainer.run();
  if (inspect) inspect(trainer);
  return r;
}

float final_val_loss(const train::TrainResult& r) { return r.val_losses.empty() ? 0.f : r.val_losses.back().second; }

void check_losses(MpiCases& t, const std::vector<float>& got, const std::vector<float>& ref, double rel_tol,
                  size_t first, const std::string& what) {
  const std::string prefix = what.empty() ? "" : what + ": ";
  t.check(got.size() + first == ref.size(), str_cat(prefix, "step count ", got.size(), " (expected ", ref.size() - first, ")"));
  for (size_t i = 0; i < got.size() && first + i < ref.size(); ++i) {
    const double r = ref[first + i];
    t.check(std::fabs(got[i] - r) <= rel_tol * std::fabs(r),
            str_cat(prefix, "step ", first + i + 1, ": ", got[i], " vs ", r));
  }
}

}  // namespace plinth::testing
