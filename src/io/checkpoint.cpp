// checkpoint.cpp -- the checkpoint directory protocol: atomic save, the `latest` pointer,
// finding the newest valid checkpoint, pruning to keep_last.
// Save: every writing rank writes its shard into <root>/.tmp-step_N, then one rank writes
// index.h5 there, fsyncs the directory, renames it to step_N, fsyncs root, and replaces
// <root>/latest through latest.tmp (fsync, rename, fsync root). A crash at any point leaves
// either no step_N or a complete one; leftovers are .tmp-* dirs, which are never read.
// Existing step_* directories are never written into.
#include "io/checkpoint.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/log.h"
#include "io/checkpoint_index.h"
#include "io/checkpoint_shard.h"
#include "io/fs_util.h"

namespace plinth::io {
namespace {


// Step of a directory named step_<digits>, or -1.
int64_t parse_step_dir(const std::string& name) {
  const std::string prefix = "step_";
  if (name.size() <= prefix.size() || name.size() > prefix.size() + 18 || name.compare(0, prefix.size(), prefix) != 0)
    return -1;
  int64_t step = 0;
  for (size_t i = prefix.size(); i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    step = step * 10 + (name[i] - '0');
  }
  return step;
}

std::string base_name(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  auto pos = path.rfind('/');
  return pos == std::string::npos ? path : path.substr(pos + 1);
}

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

struct StepDir {
  int64_t step;
  std::string name;
};

// step_* directories under root, highest step first.
std::vector<StepDir> step_dirs(const std::string& root) {
  std::vector<StepDir> out;
  if (!is_directory(root)) return out;
  for (const std::string& name : list_dir(root)) {
    int64_t step = parse_step_dir(name);
    if (step >= 0 && is_directory(join(root, name))) out.push_back({step, name});
  }
  std::sort(out.begin(), out.end(), [](const StepDir& a, const StepDir& b) {
    return a.step != b.step ? a.step > b.step : a.name > b.name;
  });
  return out;
}

void prune(const std::string& root, int keep_last, int64_t written_step, const std::string& written,
           const std::string& protect) {
  if (keep_last <= 0) return;
  int kept = 1;   // the checkpoint just written
  for (const StepDir& d : step_dirs(root)) {
    if (d.name == written || d.step > written_step) continue;   // newer ones belong to another run
    if (!protect.empty() && base_name(protect) == d.name) continue;   // e.g. the one being resumed from
    if (kept < keep_last) {
      ++kept;
      continue;
    }
    std::string path = join(root, d.name);
    if (!remove_tree_quietly(path)) log_warn(str_cat("keep_last: could not remove old checkpoint '", path, "'"));
  }
}

// Fails before anything is written when the file system cannot hold this shard's tensor data
// (a full disk found half-way through a write is handled too, but costs the time of the write).
void check_free_space(const std::string& temp_dir, const std::vector<ShardPiece>& pieces) {
  int64_t bytes = 0;
  for (const ShardPiece& p : pieces) {
    int64_t n = 1;
    for (int64_t c : p.count) n *= c;
    bytes += n * static_cast<int64_t>(sizeof(float));
  }
  struct statvfs st {};
  if (::statvfs(temp_dir.c_str(), &st) != 0) return;   // unknown: the write itself will tell
  const auto avail = static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize);
  auto mib = [](int64_t b) { return str_cat(b / 1048576, ".", (b % 1048576) * 10 / 1048576, " MiB"); };
  PLINTH_CHECK(avail >= bytes, Io, "no space left on '", parent_dir(temp_dir), "': this rank's checkpoint shard needs ",
               mib(bytes), ", ", mib(avail), " free; free space or set checkpoint.dir elsewhere");
}

}  // namespace

std::string checkpoint_dir_name(int64_t step) {
  PLINTH_CHECK(step >= 0, Internal, "checkpoint step ", step, " is negative");
  char buf[32];
  std::snprintf(buf, sizeof buf, "step_%08lld", static_cast<long long>(step));
  return buf;
}

std::string checkpoint_temp_dir(const std::string& root, int64_t step) {
  return join(root, kCheckpointTempPrefix + checkpoint_dir_name(step));
}

std::string checkpoint_prepare(const std::string& root, int64_t step) {
  PLINTH_CHECK(!root.empty(), Config, "checkpoint directory is empty");
  const std::string name = checkpoint_dir_name(step);
  const std::string final_dir = join(root, name);
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  PLINTH_CHECK(is_directory(root), Io, "cannot create checkpoint directory '", root, "': ", ec.message());
  PLINTH_CHECK(!path_exists(final_dir), Input, "checkpoint '", final_dir,
               "' already exists; refusing to overwrite a previous checkpoint");
  for (const StepDir& d : step_dirs(root))
    if (d.step > step)
      log_warn(str_cat("saving step ", step, " into '", root, "', which already holds the newer '", d.name,
                       "' (from an earlier run); 'latest' will point at ", name));
  const std::string tmp_dir = checkpoint_temp_dir(root, step);
  remove_tree_quietly(tmp_dir);   // a save of this step that died half-way
  PLINTH_CHECK(std::filesystem::create_directory(tmp_dir, ec), Io, "cannot create '", tmp_dir, "': ", ec.message());
  return tmp_dir;
}

ShardWritten checkpoint_write_shard(const std::string& temp_dir, int rank, const std::vector<ShardPiece>& pieces) {
  PLINTH_CHECK(is_directory(temp_dir), Io, "checkpoint temporary directory '", temp_dir, "' does not exist");
  check_free_space(temp_dir, pieces);
  return shard_write(temp_dir, rank, pieces);
}

std::string checkpoint_commit(const std::string& root, const std::string& temp_dir, const CheckpointMeta& meta,
                              const std::vector<uint64_t>& shard_checksums, int keep_last,
                              const std::string& protect) {
  const std::string name = checkpoint_dir_name(meta.step);
  const std::string final_dir = join(root, name);
  PLINTH_CHECK(!path_exists(final_dir), Input, "checkpoint '", final_dir,
               "' already exists; refusing to overwrite a previous checkpoint");
  try {
    index_write(temp_dir, meta, shard_checksums);
    fsync_dir(temp_dir);
    rename_path(temp_dir, final_dir);
  } catch (...) {
    remove_tree_quietly(temp_dir);
    throw;
  }
  fsync_dir(root);
  write_file_atomic(join(root, kCheckpointLatestFile), name + "\n");
  prune(root, keep_last, meta.step, name, protect);
  return final_dir;
}

std::string checkpoint_save(const std::string& root, const CheckpointMeta& meta,
                            const std::vector<CheckpointTensors>& sets, int keep_last) {
  std::set<std::string> groups;
  std::vector<ShardPiece> pieces;
  for (const auto& s : sets) {
    PLINTH_CHECK(s.layout && (s.data || s.layout->specs().empty()), Internal, "checkpoint: tensor set '", s.group,
                 "' has no layout or data");
    PLINTH_CHECK(!s.group.empty() && s.group.front() != '/' && s.group.back() != '/' && s.group != "meta" &&
                     s.group != "shards" && s.group.rfind("meta/", 0) != 0,
                 Internal, "checkpoint: invalid tensor group name '", s.group, "'");
    PLINTH_CHECK(groups.insert(s.group).second, Internal, "checkpoint: tensor group '", s.group, "' given twice");
    for (const TensorSpec& spec : s.layout->specs()) {
      PLINTH_CHECK(spec.numel() == spec.global_numel(), Internal, "checkpoint_save needs whole tensors; '",
                   spec.name, "' is a slice");
      PLINTH_CHECK(!spec.name.empty() && spec.name.front() != '/', Internal, "checkpoint: invalid tensor name '",
                   spec.name, "'");
      shard_pieces_of_range(s.group, spec, s.data + spec.offset, 0, spec.numel(), pieces);
    }
  }
  const std::string tmp = checkpoint_prepare(root, meta.step);
  uint64_t checksum = 0;
  try {
    checksum = checkpoint_write_shard(tmp, 0, pieces).checksum;
  } catch (...) {
    remove_tree_quietly(tmp);
    throw;
  }
  return checkpoint_commit(root, tmp, meta, {checksum}, keep_last);
}

void checkpoint_validate(const std::string& ckpt_dir, Validation validation, ShardShare share) {
  PLINTH_CHECK(is_directory(ckpt_dir), Input, "checkpoint directory '", ckpt_dir, "' does not exist");
  index_validate(ckpt_dir, parse_step_dir(base_name(ckpt_dir)), validation, share);
}

std::vector<std::string> checkpoint_candidates(const std::string& root) {
  std::vector<std::string> out;
  for (const StepDir& d : step_dirs(root)) out.push_back(join(root, d.name));
  return out;
}

std::vector<std::string> checkpoint_newer_than(const std::string& root, int64_t step) {
  std::vector<std::string> out;
  for (const StepDir& d : step_dirs(root))
    if (d.step > step) out.push_back(d.name);
  return out;
}

std::string checkpoint_find_latest_valid(const std::string& root, Validation validation) {
  for (const std::string& path : checkpoint_candidates(root)) {
    try {
      checkpoint_validate(path, validation);
      return path;
    } catch (const Error& e) {
      log_warn(str_cat("skipping invalid checkpoint '", path, "': ", e.what()));
    }
  }
  return "";
}

std::string checkpoint_resolve_dir_or_root(const std::string& path) {
  PLINTH_CHECK(path_exists(path), Input, "no checkpoint at '", path, "' (no such file or directory)");
  if (is_regular_file(join(path, kCheckpointIndexFile))) return checkpoint_resolve(path, ResumeMode::ExactPath);
  const std::string newest = checkpoint_find_latest_valid(path, Validation::Structure);
  PLINTH_CHECK(!newest.empty(), Input, "no valid checkpoint at '", path,
               "': neither a checkpoint directory (no ", kCheckpointIndexFile, ") nor a root holding a valid step_*");
  return newest;
}

std::string checkpoint_resolve(const std::string& path, ResumeMode mode) {
  if (mode == ResumeMode::Latest) return checkpoint_find_latest_valid(path);
  checkpoint_validate(path, Validation::Structure);
  return path;
}

CheckpointMeta checkpoint_read_meta(const std::string& ckpt_dir) {
  PLINTH_CHECK(is_directory(ckpt_dir), Input, "checkpoint directory '", ckpt_dir, "' does not exist");
  PLINTH_CHECK(is_regular_file(join(ckpt_dir, kCheckpointIndexFile)), Input, "checkpoint '", ckpt_dir, "' has no ",
               kCheckpointIndexFile);
  return index_read_meta(ckpt_dir);
}

void checkpoint_load(const std::string& ckpt_dir, const std::vector<CheckpointTensors>& sets) {
  PLINTH_CHECK(is_regular_file(join(ckpt_dir, kCheckpointIndexFile)), Input, "checkpoint '", ckpt_dir, "' has no ",
               kCheckpointIndexFile);
  index_load(ckpt_dir, sets);
}

void checkpoint_verify(const std::string& ckpt_dir) { checkpoint_validate(ckpt_dir, Validation::Full); }

std::vector<std::string> checkpoint_tensor_names(const std::string& ckpt_dir, const std::string& group) {
  return index_tensor_names(ckpt_dir, group);
}

std::vector<float> checkpoint_read_tensor(const std::string& ckpt_dir, const std::string& group,
                                          const std::string& name, std::vector<int64_t>* shape) {
  return index_read_tensor(ckpt_dir, group, name, shape);
}

}  // namespace plinth::io
