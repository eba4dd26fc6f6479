// io_test_util.h -- shared helpers for the io unit tests: a self-removing temp directory,
// small file writers, the fortune text used as real English input, and an error matcher.
// Tests that need the fortune file skip (GTEST_SKIP) when it is not installed.
#pragma once
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/fs_util.h"

namespace plinth::io::test {

class TempDir {
 public:
  TempDir() : path_(make_temp_dir("plinth_io_test_")) {}
  ~TempDir() { remove_tree_quietly(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_text(const std::string& path, const std::string& contents) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_TRUE(f) << path;
  ASSERT_EQ(std::fwrite(contents.data(), 1, contents.size(), f), contents.size());
  std::fclose(f);
}

inline constexpr const char* kFortunes = "/usr/share/games/fortunes/computers";

// The fortune file as text, or "" when the fortune package is not installed.
inline std::string fortune_text() {
  if (!is_regular_file(kFortunes)) return "";
  return read_file(kFortunes);
}

// Runs `f`, expecting plinth::Error of `kind` whose message contains every needle.
template <typename F>
void expect_error(F&& f, ErrorKind kind, const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << "expected plinth::Error (" << error_kind_name(kind) << ")";
  } catch (const Error& e) {
    std::string what = e.what();
    EXPECT_EQ(e.kind(), kind) << what;
    for (const auto& n : needles) EXPECT_NE(what.find(n), std::string::npos) << "'" << n << "' not in: " << what;
  }
}

}  // namespace plinth::io::test
