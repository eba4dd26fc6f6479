// error.h -- plinth's error type and always-on check macros.
// Library code never exits: it throws plinth::Error, carrying the source location and a
// message that names the offending key, file or tensor. launch/ catches, logs with the rank
// and aborts every rank. This header includes no MPI, HDF5 or CUDA header.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace plinth {

// What went wrong, so that callers (and tests) can tell bad input from internal faults.
enum class ErrorKind {
  Config,      // a configuration key or command-line value is invalid
  Input,       // a file (corpus, checkpoint, text) is missing, malformed or inconsistent
  Io,          // the operating system or HDF5 failed to read or write
  Comm,        // a communication operation failed or timed out
  Internal,    // a broken invariant inside plinth
};

const char* error_kind_name(ErrorKind kind);

// The process exit status for an error of this kind: 2 for what the user fixes (a key, a file,
// the disk: Config, Input, Io), 1 for the rest (Comm, Internal).
int error_exit_code(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message, const char* file, int line);
  ErrorKind kind() const { return kind_; }
  const std::string& where() const { return where_; }

 private:
  ErrorKind kind_;
  std::string where_;
};

// Concatenates any streamable values into a string: str_cat("n_head (", 12, ")").
template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

}  // namespace plinth

#define PLINTH_THROW(kind, ...) \
  throw ::plinth::Error(::plinth::ErrorKind::kind, ::plinth::str_cat(__VA_ARGS__), __FILE__, __LINE__)

// Always on, also in release builds.
#define PLINTH_CHECK(cond, kind, ...)          \
  do {                                         \
    if (!(cond)) PLINTH_THROW(kind, __VA_ARGS__); \
  } while (0)

#define PLINTH_ASSERT(cond)                                                           \
  do {                                                                                \
    if (!(cond)) PLINTH_THROW(Internal, "internal check failed: " #cond);            \
  } while (0)
