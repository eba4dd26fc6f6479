// log.cpp -- rank-prefixed logging; info goes to stdout, warnings and errors to stderr.
#include "core/log.h"

#include "core/error.h"

#include <cstdio>
#include <mutex>

namespace plinth {
namespace {
std::string g_prefix = "[plinth] ";
LogLevel g_level = LogLevel::Info;
std::mutex g_mutex;
LogSink g_info_sink = LogSink::Stdout;
}  // namespace

void log_set_prefix(const std::string& prefix) { g_prefix = prefix; }
void log_set_level(LogLevel level) { g_level = level; }
void log_set_info_sink(LogSink sink) { g_info_sink = sink; }

void log_message(LogLevel level, const std::string& message) {
  if (static_cast<int>(level) < static_cast<int>(g_level)) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  const char* tag = level == LogLevel::Warn ? "warning: " : level == LogLevel::Error ? "error: " : "";
  FILE* out = level >= LogLevel::Warn || g_info_sink == LogSink::Stderr ? stderr : stdout;
  std::fprintf(out, "%s%s%s\n", g_prefix.c_str(), tag, message.c_str());
  std::fflush(out);
}

void log_error(const Error& e) { log_error(str_cat(error_kind_name(e.kind()), ": ", e.what(), " [", e.where(), "]")); }

}  // namespace plinth
