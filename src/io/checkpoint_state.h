// checkpoint_state.h -- the contents of one checkpoint file (state.h5), without the directory
// protocol: writing it, structural and checksum validation, reading metadata and tensors.
// checkpoint.cpp builds the atomic save / find-latest / prune protocol on top of these.
#pragma once
#include <string>
#include <vector>

#include "io/checkpoint.h"

namespace plinth::io {

// Writes a complete state.h5 at `file` (truncating it). Does not fsync.
void state_write(const std::string& file, const CheckpointMeta& meta,
                 const std::vector<CheckpointTensors>& sets);

// Input error naming `file` when it is not a valid plinth-checkpoint state file. `expected_step`
// < 0 skips the step comparison. Validation::Full recomputes every dataset checksum.
void state_validate(const std::string& file, int64_t expected_step, Validation validation);

CheckpointMeta state_read_meta(const std::string& file);
void state_load(const std::string& file, const std::vector<CheckpointTensors>& sets);
std::vector<std::string> state_tensor_names(const std::string& file, const std::string& group);
std::vector<float> state_read_tensor(const std::string& file, const std::string& group, const std::string& name,
                                     std::vector<int64_t>* shape);

}  // namespace plinth::io
