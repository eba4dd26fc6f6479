// error.cpp -- plinth::Error construction and kind names.
#include "core/error.h"

namespace plinth {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Config: return "config error";
    case ErrorKind::Input: return "input error";
    case ErrorKind::Io: return "I/O error";
    case ErrorKind::Comm: return "communication error";
    case ErrorKind::Internal: return "internal error";
  }
  return "error";
}

int error_exit_code(ErrorKind kind) {
  return kind == ErrorKind::Config || kind == ErrorKind::Input || kind == ErrorKind::Io ? 2 : 1;
}

static std::string base_name(const char* file) {
  std::string f(file);
  auto pos = f.rfind('/');
  return pos == std::string::npos ? f : f.substr(pos + 1);
}

Error::Error(ErrorKind kind, const std::string& message, const char* file, int line)
    : std::runtime_error(message), kind_(kind), where_(str_cat(base_name(file), ":", line)) {}

}  // namespace plinth
