// fs_util.cpp -- fsync, rename, listing and temp-dir helpers used for atomic commits.
// POSIX calls are used directly (not std::filesystem) where fsync and exact errno text matter.
// Errors throw plinth::Error naming the path; remove_tree_quietly is the one that never throws.
#include "io/fs_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace plinth::io {
namespace {
std::string errno_text() { return std::strerror(errno); }

void fsync_open(const std::string& path, int flags, const char* what) {
  int fd = ::open(path.c_str(), flags);
  PLINTH_CHECK(fd >= 0, Io, "cannot open ", what, " '", path, "' for fsync: ", errno_text());
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  errno = err;
  PLINTH_CHECK(rc == 0, Io, "fsync of ", what, " '", path, "' failed: ", errno_text());
}
}  // namespace

void fsync_file(const std::string& path) { fsync_open(path, O_RDONLY, "file"); }

void fsync_dir(const std::string& dir) { fsync_open(dir, O_RDONLY | O_DIRECTORY, "directory"); }

void rename_path(const std::string& from, const std::string& to) {
  PLINTH_CHECK(::rename(from.c_str(), to.c_str()) == 0, Io, "cannot rename '", from, "' to '", to,
               "': ", errno_text());
}

std::string parent_dir(const std::string& path) {
  auto p = std::filesystem::path(path).parent_path().string();
  return p.empty() ? "." : p;
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  PLINTH_CHECK(fd >= 0, Io, "cannot create '", tmp, "': ", errno_text());
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string err = errno_text();
      ::close(fd);
      ::unlink(tmp.c_str());
      PLINTH_THROW(Io, "cannot write '", tmp, "': ", err);
    }
    done += static_cast<size_t>(n);
  }
  bool ok = ::fsync(fd) == 0;
  std::string err = errno_text();
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    ::unlink(tmp.c_str());
    PLINTH_THROW(Io, "cannot write '", tmp, "': ", err);
  }
  rename_path(tmp, path);
  fsync_dir(parent_dir(path));
}

std::string read_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  PLINTH_CHECK(f, Input, "cannot open input file '", path, "': ", errno_text());
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  bool failed = std::ferror(f);
  std::string err = errno_text();
  std::fclose(f);
  PLINTH_CHECK(!failed, Input, "cannot read input file '", path, "': ", err);
  return out;
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_regular_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::vector<std::string> list_dir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  PLINTH_CHECK(d, Io, "cannot list directory '", dir, "': ", errno_text());
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool remove_tree_quietly(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  return !ec;
}

std::string make_temp_dir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + "XXXXXX";
  PLINTH_CHECK(::mkdtemp(tmpl.data()), Io, "cannot create a temporary directory '", tmpl,
               "': ", errno_text());
  return tmpl;
}

}  // namespace plinth::io
