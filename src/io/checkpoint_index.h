// checkpoint_index.h -- the index file of a checkpoint directory (index.h5), without the
// directory protocol: building it from the shard files, validating, reading metadata, and
// reading tensors (any hyperslab, from the pieces, checksums verified).
// checkpoint.cpp builds the atomic save / find-latest / prune protocol on top of these.
#pragma once
#include <string>
#include <vector>

#include "io/checkpoint.h"

namespace plinth::io {

// Writes <dir>/index.h5 over shard_00000.h5 .. shard_<n-1>.h5 in dir, and fsyncs it.
// shard_checksums: each shard file's checksum as its writer computed it (shard_write), one per
// shard in rank order (n = their number).
void index_write(const std::string& dir, const CheckpointMeta& meta, const std::vector<uint64_t>& shard_checksums);

// Input error naming the file (and tensor) when `dir` is not a valid checkpoint: index missing
// or malformed, wrong format or version, step not matching `expected_step` (< 0: not compared),
// a shard file missing; Validation::Full also recomputes every shard file's checksum (and on a
// mismatch names the damaged tensor).
void index_validate(const std::string& dir, int64_t expected_step, Validation validation, ShardShare share = {});

CheckpointMeta index_read_meta(const std::string& dir);
void index_load(const std::string& dir, const std::vector<CheckpointTensors>& sets);
std::vector<std::string> index_tensor_names(const std::string& dir, const std::string& group);
std::vector<float> index_read_tensor(const std::string& dir, const std::string& group, const std::string& name,
                                     std::vector<int64_t>* shape);

}  // namespace plinth::io
