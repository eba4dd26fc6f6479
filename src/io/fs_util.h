// fs_util.h -- the file-system steps behind plinth's atomic commits.
// A file or directory becomes visible under its final name only after its contents are on
// disk: write to a temporary name, fsync it, rename(2) it, fsync the parent directory.
// Every failure throws plinth::Error(Io) naming the path and the errno text.
#pragma once
#include <string>
#include <vector>

namespace plinth::io {

void fsync_file(const std::string& path);
void fsync_dir(const std::string& dir);
void rename_path(const std::string& from, const std::string& to);   // rename(2), no fallback
std::string parent_dir(const std::string& path);                    // "." for a bare name

// Writes `contents` to `path` atomically: <path>.tmp, fsync, rename, fsync parent.
void write_file_atomic(const std::string& path, const std::string& contents);

// Whole file as bytes; Input error naming the file when it is missing or unreadable.
std::string read_file(const std::string& path);

bool path_exists(const std::string& path);
bool is_directory(const std::string& path);
bool is_regular_file(const std::string& path);

// Names (not paths) of the entries of `dir`, sorted; Io error when it cannot be listed.
std::vector<std::string> list_dir(const std::string& dir);

// Removes a file or directory tree; returns false (and never throws) when that fails.
bool remove_tree_quietly(const std::string& path);

// A fresh directory /tmp/<prefix>XXXXXX (or under $TMPDIR); the caller removes it.
std::string make_temp_dir(const std::string& prefix);

}  // namespace plinth::io
