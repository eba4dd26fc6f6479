// checkpoint.h -- training checkpoints (plinth-checkpoint, format_version 1).
// A checkpoint is <root>/step_NNNNNNNN/state.h5 holding every tensor of every set (model,
// optimizer moments, ...) as a full logical dataset under its global name, plus /meta (step,
// configuration, tokenizer, counters, RNG states, scalars). Every dataset carries an FNV-1a-64
// checksum attribute that load/verify recompute. Saves are atomic (temp dir, fsync, rename,
// then the <root>/latest pointer); older checkpoints are never modified. docs/formats.md has the
// exact schema. This version writes from one process; local slices go through hyperslabs.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor_spec.h"

namespace plinth::io {

inline constexpr const char* kCheckpointFormat = "plinth-checkpoint";
inline constexpr int64_t kCheckpointFormatVersion = 1;
inline constexpr const char* kCheckpointStateFile = "state.h5";

struct CheckpointMeta {
  int64_t step = 0;
  std::string config_ini;            // the resolved configuration text
  std::string model_signature;       // shape-defining config, compared on resume
  std::string tokenizer_kind;        // "byte" | "sentencepiece"
  std::string tokenizer_model;       // serialized model bytes (may be empty)
  std::map<std::string, int64_t> counters;                  // e.g. "data.consumed_samples.0"
  std::map<std::string, std::vector<uint64_t>> rng_states;
  std::map<std::string, double> scalars;
};

// One flat buffer and its layout, stored under group `group` ("model", "optim/exp_avg", ...).
// All: the layout must name every tensor the file holds (a model mismatch otherwise).
// Subset: the layout holds part of the model (a pipeline stage); other stored tensors are skipped.
enum class TensorCoverage { All, Subset };

struct CheckpointTensors {
  std::string group;
  const ParamLayout* layout;
  float* data;                       // read by save, filled by load
  TensorCoverage coverage = TensorCoverage::All;
};

enum class ResumeMode { Latest, ExactPath };
enum class Validation { Structure, Full };   // Full also recomputes every checksum

// "step_00000100" for step 100 (at least 8 digits).
std::string checkpoint_dir_name(int64_t step);

// Writes <root>/step_NNNNNNNN (root is created if missing) and returns its path. Removes older
// step_* directories beyond the newest `keep_last` (keep_last <= 0 keeps all; the checkpoint
// just written is never removed). Input error when that step's directory already exists.
std::string checkpoint_save(const std::string& root, const CheckpointMeta& meta,
                            const std::vector<CheckpointTensors>& sets, int keep_last);

// Path of the highest-step valid checkpoint under root, "" if none (or no root). Invalid ones
// (no state.h5, unreadable/truncated file, wrong format, step mismatch, missing checksums; with
// Validation::Full also checksum mismatches) are skipped with a log_warn naming the reason.
// Directories not named step_<digits> (e.g. leftover .tmp-* dirs) are ignored.
std::string checkpoint_find_latest_valid(const std::string& root,
                                         Validation validation = Validation::Structure);

// Latest: checkpoint_find_latest_valid(path) ("" if none). ExactPath: `path` is a checkpoint
// directory; it is validated (Structure) and returned, or an Input error names it.
std::string checkpoint_resolve(const std::string& path, ResumeMode mode);

// Throws Input naming the file (and the reason) when the checkpoint is not valid.
void checkpoint_validate(const std::string& ckpt_dir, Validation validation);

CheckpointMeta checkpoint_read_meta(const std::string& ckpt_dir);

// Reads every tensor of every set into its local slice, verifying each tensor's checksum.
// Input error naming the file and tensor when a tensor is missing, has another shape or dtype,
// fails its checksum, or when the group holds a tensor the layout lacks.
void checkpoint_load(const std::string& ckpt_dir, const std::vector<CheckpointTensors>& sets);

// Recomputes the checksum of every dataset in state.h5; Input error naming file and dataset.
void checkpoint_verify(const std::string& ckpt_dir);

// Names of the tensors stored under `group` ("model", "optim/exp_avg", ...), sorted.
std::vector<std::string> checkpoint_tensor_names(const std::string& ckpt_dir, const std::string& group);
// One full logical tensor (float32, row-major) and its global shape; checksum verified.
std::vector<float> checkpoint_read_tensor(const std::string& ckpt_dir, const std::string& group,
                                          const std::string& name, std::vector<int64_t>* shape);

}  // namespace plinth::io
