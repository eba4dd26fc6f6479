// checkpoint_recovery.cpp -- what lets a run get past a fault in its checkpoint directory without
// a human: damaged checkpoints are set aside (renamed into <root>/quarantine/, never deleted), the
// `latest` pointer is re-published when a kill cut its update off, and the temporary directories
// of saves that died half-way are removed. The decisions (which checkpoint, when) are the
// caller's; this file only moves and names things. Every step is a rename or an atomic write, so a
// kill in the middle leaves either the old or the new state.
#include <ctime>
#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "io/checkpoint.h"
#include "io/fs_util.h"

namespace plinth::io {
namespace {

namespace fs = std::filesystem;

constexpr const char* kQuarantineDir = "quarantine";

// "20261202T134700Z": when a checkpoint was set aside, in UTC, sortable.
std::string utc_stamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

bool contains(const std::string& text, const char* needle) { return text.find(needle) != std::string::npos; }

// The checkpoint's root and its own name: "/a/ckpt/step_00000015" -> ("/a/ckpt", "step_00000015").
std::pair<std::string, std::string> split_dir(const std::string& ckpt_dir) {
  fs::path p(ckpt_dir);
  if (!p.has_filename()) p = p.parent_path();   // a trailing slash
  std::string root = p.parent_path().string();
  return {root.empty() ? "." : root, p.filename().string()};
}

}  // namespace

std::string checkpoint_damage_kind(const std::string& reason) {
  if (contains(reason, "checksum mismatch")) return "checksum-mismatch";
  if (contains(reason, "is missing")) return "missing-shard";
  if (contains(reason, "has no index.h5")) return "no-index";
  if (contains(reason, "truncated") || contains(reason, "cannot open") || contains(reason, "unable to open"))
    return "truncated";
  if (contains(reason, "(HDF5: ")) return "unreadable";
  return "invalid";
}

std::string checkpoint_quarantine(const std::string& ckpt_dir, const std::string& reason) {
  const auto [root, name] = split_dir(ckpt_dir);
  const std::string qdir = root + "/" + kQuarantineDir;
  std::error_code ec;
  fs::create_directories(qdir, ec);
  PLINTH_CHECK(is_directory(qdir), Io, "cannot create '", qdir, "' to set the damaged checkpoint '", ckpt_dir,
               "' aside: ", ec.message(), "; move it out of '", root, "' by hand");
  const std::string stamp = utc_stamp();
  const std::string base = name + "." + checkpoint_damage_kind(reason) + "." + stamp;
  std::string target = qdir + "/" + base;
  for (int k = 1; path_exists(target); ++k) target = qdir + "/" + base + "-" + std::to_string(k);
  // The reason first (a reason file without its checkpoint is harmless; the other way round the
  // operator would not know why), then the move: one rename, on the same file system.
  write_file_atomic(target + ".reason.txt", str_cat("checkpoint: ", ckpt_dir, "\nset aside: ", stamp,
                                                    "\nreason: ", reason, "\n"));
  try {
    rename_path(ckpt_dir, target);
    fsync_dir(root);
  } catch (const Error& e) {
    PLINTH_THROW(Io, "cannot set the damaged checkpoint '", ckpt_dir, "' aside (", e.what(), "); move it out of '",
                 root, "' by hand");
  }
  return target;
}

void checkpoint_publish_latest(const std::string& ckpt_dir) {
  const auto [root, name] = split_dir(ckpt_dir);
  const std::string pointer = root + "/" + kCheckpointLatestFile;
  if (is_regular_file(pointer)) {
    std::string current;
    try {
      current = read_file(pointer);
    } catch (const Error&) {
      current.clear();   // unreadable: replaced below
    }
    while (!current.empty() && (current.back() == '\n' || current.back() == ' ')) current.pop_back();
    if (current == name) return;
  }
  write_file_atomic(pointer, name + "\n");
  log_info(str_cat("checkpoint pointer '", pointer, "' now names ", name));
}

std::vector<std::string> checkpoint_remove_stale_temps(const std::string& root) {
  std::vector<std::string> removed;
  if (!is_directory(root)) return removed;
  for (const std::string& name : list_dir(root)) {
    if (name.rfind(std::string(kCheckpointTempPrefix) + "step_", 0) != 0) continue;
    const std::string path = root + "/" + name;
    if (!is_directory(path)) continue;
    PLINTH_CHECK(remove_tree_quietly(path), Io, "cannot remove the stale temporary checkpoint directory '", path,
                 "' (a save that died half-way); remove it by hand");
    removed.push_back(path);
  }
  return removed;
}

}  // namespace plinth::io
