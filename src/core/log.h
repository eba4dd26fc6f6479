// log.h -- rank-prefixed logging to stderr/stdout.
// The one piece of process-wide state in plinth: the prefix ("[plinth r3/8] "), set once by
// launch/ after MPI is up. Everything else (grid, communicators, config) is passed explicitly.
#pragma once
#include <string>

namespace plinth {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void log_set_prefix(const std::string& prefix);   // called once by launch/
void log_set_level(LogLevel level);
// Where Info/Debug lines go (warnings and errors always go to stderr). Commands whose stdout
// is their result (generate) send their log to stderr.
enum class LogSink { Stdout, Stderr };
void log_set_info_sink(LogSink sink);
void log_message(LogLevel level, const std::string& message);

inline void log_info(const std::string& m) { log_message(LogLevel::Info, m); }
inline void log_warn(const std::string& m) { log_message(LogLevel::Warn, m); }
inline void log_error(const std::string& m) { log_message(LogLevel::Error, m); }
class Error;
void log_error(const Error& e);   // "<kind>: <message> [<file:line>]", the one form of a fatal error
inline void log_debug(const std::string& m) { log_message(LogLevel::Debug, m); }

}  // namespace plinth
