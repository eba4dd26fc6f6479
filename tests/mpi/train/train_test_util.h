// train_test_util.h -- what the MPI training tests share: the process set-up (MPI, the world
// communicator, quiet logging, one compute thread), the command line (corpus and work directory),
// a tiny model, a short quiet training configuration, one training run on given groups, and loss
// comparisons recorded in an MpiCases (every verdict agreed across ranks before it is reported).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../comm/mpi_check.h"
#include "model/model_config.h"
#include "parallel/comm/communicator.h"
#include "parallel/comm/mpi_env.h"
#include "parallel/comm/single_communicator.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace plinth::testing {

// MPI (initialised first, finalised last), the world communicator with a 120 s timeout, warnings
// only in the log, one compute thread.
struct MpiTrainTest {
  MpiTrainTest();
  comm::MpiSession mpi;
  std::unique_ptr<comm::Communicator> world;
  int rank() const { return world->rank(); }
  int size() const { return world->size(); }
};

// The one-process groups a reference run trains on (on every rank).
struct OneProcess {
  comm::SingleCommunicator tp{"tp"}, pp{"pp"}, dp{"dp"};
};

// `ok` (the arguments and world size the test needs), else a failure of t saying `usage`.
bool check_usage(MpiCases& t, bool ok, const std::string& usage);

// Rank 0 removes `dir` (checkpoints left by an earlier run would rightly refuse to be
// overwritten), then every rank waits for it.
std::string fresh_dir(comm::Communicator& world, const std::string& dir);

// A tiny model: vocabulary 256 padded to 64, n_head_kv and ffn_hidden by default, init std 0.02,
// tied embeddings for GPT-2 and an untied head for LLaMA.
model::ModelConfig tiny_model(model::Arch arch, int64_t n_layer, int64_t n_embd, int64_t n_head, int64_t seq_len);

// A short, quiet run into `out_dir`: `steps` steps from `seed`, validation only at the end, no
// sample, no final checkpoint, progress lines off, a stated MFU peak (no clock probing). The
// optimizer and bucket settings are the ones these tests were written with (constant floor 0,
// no warmup, 25 MiB gradient buckets); each test sets what it varies.
train::TrainConfig quiet_train_config(const std::vector<std::string>& corpora, const std::string& out_dir,
                                      int64_t steps, uint64_t seed);

// Resolves the batch for dp.size(), builds the trainer on (tp, pp, dp) and runs it; `inspect`
// sees the trainer after the run, before it goes.
train::TrainResult train_once(const model::ModelConfig& mc, train::TrainConfig tc, comm::Communicator& tp,
                              comm::Communicator& pp, comm::Communicator& dp, const std::string& config_ini = "",
                              const std::function<void(train::Trainer&)>& inspect = {});
float final_val_loss(const train::TrainResult& r);   // the last validation loss, 0 without one

// got[i] against ref[first + i] within `rel_tol` relative; the step count must be ref.size() - first.
// Failures name `what` and the 1-based step.
void check_losses(MpiCases& t, const std::vector<float>& got, const std::vector<float>& ref, double rel_tol,
                  size_t first = 0, const std::string& what = "");

}  // namespace plinth::testing
