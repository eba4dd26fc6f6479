// run_config.h -- `plinth train` configuration: INI file plus --section.key=value overrides,
// parsed with Boost.Program_options. Unknown keys and malformed values are errors naming the key
// (and the file). The resolved configuration is kept as INI text and stored in checkpoints.
// Every default is a member initialiser of these structs (ModelConfig, TrainConfig and what they
// hold, ParallelConfig): the option table takes its default texts from a default RunConfig.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "device/backend.h"
#include "model/model_config.h"
#include "train/train_config.h"

namespace plinth::launch {

struct ParallelConfig {
  int tp = 1, pp = 1, dp = 0;         // dp 0 = world / (tp * pp)
  double comm_timeout_s = 300;
};

struct RunConfig {
  model::ModelConfig model;
  train::TrainConfig train;
  ParallelConfig parallel;
  device::DeviceKind device = device::DeviceKind::Cpu;   // device.kind
  std::string tie_embeddings = "auto";   // resolves by arch: gpt2 ties, llama does not
  std::map<std::string, std::string> values;   // every key with its final value (text)
  bool help = false;
};

// The resolved configuration as INI text (every key, sections in order).
std::string run_config_ini(const RunConfig& rc);

// argv excludes the program name and subcommand. Throws plinth::Error(Config).
// model.vocab_size = 0 is left 0 here: the caller fills it from the corpus.
RunConfig run_config_parse(const std::vector<std::string>& args);

// Re-reads a resolved INI text (from a checkpoint) into a RunConfig.
RunConfig run_config_from_ini(const std::string& ini_text, const std::string& origin);

// The --help text of `plinth train`.
std::string run_config_help();

}  // namespace plinth::launch
