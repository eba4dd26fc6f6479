// checkpoint.h -- training checkpoints (plinth-checkpoint, format_version 2).
// A checkpoint is a directory <root>/step_NNNNNNNN holding
//   shard_RRRRR.h5  one per writing rank: the blocks of tensors that rank owns (its tensor-
//                   parallel slices, its ZeRO-1 optimizer pieces), each with a checksum; written
//                   independently, without collective I/O; no element is written twice;
//   index.h5        written last: /meta (step, configuration, tokenizer, counters such as the
//                   data position and the parallel layout, RNG states), every tensor as a full
//                   logical HDF5 virtual dataset over the shard pieces (h5py / h5dump read
//                   model/<name> whole), and the shard list with a checksum per file.
// Any rank of any layout reads the hyperslabs it needs; every piece read is checksum-verified.
// Saves are atomic: everything is written into <root>/.tmp-step_N, fsynced, renamed, then the
// <root>/latest pointer is replaced; older checkpoints are never modified. docs/formats.md has
// the exact schema.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor_spec.h"

namespace plinth::io {

inline constexpr const char* kCheckpointFormat = "plinth-checkpoint";
inline constexpr int64_t kCheckpointFormatVersion = 2;
inline constexpr const char* kCheckpointIndexFile = "index.h5";
inline constexpr const char* kCheckpointLatestFile = "latest";   // <root>/latest: the newest committed
inline constexpr const char* kCheckpointTempPrefix = ".tmp-";    // <root>/.tmp-step_N: a save in progress

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
  // load only: fill only these flat ranges of data (offsets into the layout's buffer, e.g. the
  // pieces of the Adam moments a ZeRO-1 rank owns) and read only the blocks that overlap them;
  // null: every tensor's whole local slice
  const std::vector<FlatRange>* ranges = nullptr;
};

// A block [start, start + count) of tensor `group/name` (global shape `shape`) that one rank
// owns and writes; data is the block, dense row-major.
struct ShardPiece {
  std::string group, name;
  std::vector<int64_t> shape, start, count;
  const float* data = nullptr;
};

// The pieces of the flat range [begin, end) of a tensor's local slice (row-major over
// spec.local_shape, offsets relative to the slice; `slice` points at it) as rectangles of the
// global tensor: 1-D one block; 2-D a partial first row, full middle rows, a partial last row.
void shard_pieces_of_range(const std::string& group, const TensorSpec& spec, const float* slice, int64_t begin,
                           int64_t end, std::vector<ShardPiece>& out);
// The same pieces, their data taken from `block`, which holds the elements [begin, end) of the
// slice back to back (e.g. a ZeRO-1 rank's compact optimizer state: no full-size copy needed).
void shard_pieces_of_block(const std::string& group, const TensorSpec& spec, const float* block, int64_t begin,
                           int64_t end, std::vector<ShardPiece>& out);

std::string checkpoint_shard_file_name(int rank);   // "shard_00003.h5"

struct ShardWritten {
  int64_t bytes = 0;       // tensor data written
  uint64_t checksum = 0;   // XXH64 of the whole shard file
};

enum class ResumeMode { Latest, ExactPath };
enum class Validation { Structure, Full };   // Full also recomputes every checksum

// "step_00000100" for step 100 (at least 8 digits).
std::string checkpoint_dir_name(int64_t step);

// The distributed save, in three phases (the caller provides the agreement between ranks):
// 1. one rank: checkpoint_prepare -- Input error when <root>/step_N exists; removes a leftover
//    temporary directory of that step and creates it empty; returns its path (the same as
//    checkpoint_temp_dir on every rank);
// 2. every writing rank r (numbered 0, 1, ...): checkpoint_write_shard -- writes and
//    fsyncs <temp>/shard_r.h5, returns its bytes of tensor data and the file's checksum;
// 3. one rank, once every shard is written: checkpoint_commit -- writes index.h5, fsyncs,
//    renames the temporary directory to step_N, replaces `latest`, and removes older step_*
//    directories beyond the newest keep_last (keep_last <= 0 keeps all; never the one written
//    and never `protect`, e.g. the checkpoint this run resumed from). Returns the final path.
//    shard_checksums: what checkpoint_write_shard returned on each rank, in rank order (their
//    number is the number of shards).
std::string checkpoint_temp_dir(const std::string& root, int64_t step);
std::string checkpoint_prepare(const std::string& root, int64_t step);
ShardWritten checkpoint_write_shard(const std::string& temp_dir, int rank, const std::vector<ShardPiece>& pieces);
std::string checkpoint_commit(const std::string& root, const std::string& temp_dir, const CheckpointMeta& meta,
                              const std::vector<uint64_t>& shard_checksums, int keep_last,
                              const std::string& protect = "");

// One process writing full tensors (tools and tests): all three phases with one shard.
std::string checkpoint_save(const std::string& root, const CheckpointMeta& meta,
                            const std::vector<CheckpointTensors>& sets, int keep_last);

// Path of the highest-step valid checkpoint under root, "" if none (or no root). Invalid ones
// (no index.h5, unreadable/truncated file, wrong format or version, step mismatch, a shard file
// missing; with Validation::Full also checksum mismatches) are skipped with a log_warn naming the reason.
// Directories not named step_<digits> (e.g. leftover .tmp-* dirs, quarantine/) are ignored. The
// `latest` pointer does not decide: a checkpoint renamed into place whose `latest` update was cut
// off by a kill is complete, and the newest complete one wins.
std::string checkpoint_find_latest_valid(const std::string& root,
                                         Validation validation = Validation::Structure);

// The step_* checkpoint directories under root (paths), highest step first; empty when none.
std::vector<std::string> checkpoint_candidates(const std::string& root);

// Names of the step_* directories under root whose step is above `step`, highest first.
std::vector<std::string> checkpoint_newer_than(const std::string& root, int64_t step);

// Sets a damaged checkpoint aside without deleting anything: renames <root>/step_N to
// <root>/quarantine/step_N.<why>.<UTC time> (why: a slug of `reason`, e.g. checksum-mismatch)
// and writes the full reason beside it (<same name>.reason.txt). A quarantined checkpoint is
// never a resume candidate and never counted or pruned by keep_last. Returns the new path; Io
// error naming both paths when the move fails.
std::string checkpoint_quarantine(const std::string& ckpt_dir, const std::string& reason);

// The slug checkpoint_quarantine puts in the name: checksum-mismatch, missing-shard, truncated,
// no-index, unreadable (HDF5 could not read a structure), invalid.
std::string checkpoint_damage_kind(const std::string& reason);

// Makes <root>/latest (root = ckpt_dir's parent) name ckpt_dir, atomically; no-op when it does.
void checkpoint_publish_latest(const std::string& ckpt_dir);

// Removes the temporary directories (.tmp-step_*) that saves killed half-way left under root;
// returns their paths. Call only when no save into root is in flight (start-up).
std::vector<std::string> checkpoint_remove_stale_temps(const std::string& root);

// Latest: checkpoint_find_latest_valid(path) ("" if none). ExactPath: `path` is a checkpoint
// directory; it is validated (Structure) and returned, or an Input error names it.
std::string checkpoint_resolve(const std::string& path, ResumeMode mode);

// Which shard files one rank checksums when the ranks of a job share a Full validation (each
// reads 1/parts of the checkpoint instead of one rank reading all of it): shard r is checked by
// part r % parts. The structure (index, metadata, shard list) is checked by every part.
struct ShardShare {
  int part = 0;
  int parts = 1;
};

// Throws Input naming the file (and the reason) when the checkpoint is not valid.
void checkpoint_validate(const std::string& ckpt_dir, Validation validation, ShardShare share = {});

// `path` names a checkpoint directory (it holds index.h5: validated, Structure) or a checkpoint
// root (its newest valid checkpoint, as resume=auto would choose it). Input error naming the
// path when neither.
std::string checkpoint_resolve_dir_or_root(const std::string& path);

CheckpointMeta checkpoint_read_meta(const std::string& ckpt_dir);

// Reads every tensor of every set into its local slice (the layout's local_start/local_shape)
// from the shard pieces the index maps there, verifying each piece's checksum. Input error
// naming the file and tensor when a tensor or shard file is missing, the index does not cover a
// tensor, a shape or dtype differs, a checksum fails, or (TensorCoverage::All) the group holds
// a tensor the layout lacks.
void checkpoint_load(const std::string& ckpt_dir, const std::vector<CheckpointTensors>& sets);

// Recomputes the checksum of every shard file (naming the damaged tensor on a mismatch).
void checkpoint_verify(const std::string& ckpt_dir);

// Names of the tensors stored under `group` ("model", "optim/exp_avg", ...), sorted.
std::vector<std::string> checkpoint_tensor_names(const std::string& ckpt_dir, const std::string& group);
// One full logical tensor (float32, row-major) and its global shape; checksum verified.
std::vector<float> checkpoint_read_tensor(const std::string& ckpt_dir, const std::string& group,
                                          const std::string& name, std::vector<int64_t>* shape);

}  // namespace plinth::io
