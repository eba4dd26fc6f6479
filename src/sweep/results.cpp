// results.cpp -- metrics.jsonl reading and results.csv.
#include "sweep/results.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <filesystem>

#include "core/error.h"
#include "io/fs_util.h"

namespace plinth::sweep {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The number after "key": in one JSON object line; NaN for null or absent.
double json_number(const std::string& line, const std::string& key) {
  const std::string k = "\"" + key + "\":";
  const auto p = line.find(k);
  if (p == std::string::npos) return kNaN;
  const char* s = line.c_str() + p + k.size();
  while (*s == ' ') ++s;
  if (std::string(s, 4) == "null") return kNaN;
  char* end = nullptr;
  const double v = std::strtod(s, &end);
  return end == s ? kNaN : v;
}

}  // namespace

RunMetrics read_run_metrics(const std::string& path) {
  RunMetrics m;
  m.val_loss = m.val_loss_se = kNaN;
  std::ifstream in(path);
  if (!in) return m;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
    if (line.empty() || line.back() != '}') continue;   // a record cut short by a kill is skipped
    const double step = json_number(line, "step");
    if (!std::isfinite(step)) continue;
    m.last_step = static_cast<int64_t>(step);
    m.final_train_loss = json_number(line, "loss");
    m.elapsed_s = json_number(line, "elapsed_s");
    const double v = json_number(line, "val_loss");
    m.has_final_eval = std::isfinite(v);
    m.val_loss = v;
    m.val_loss_se = json_number(line, "val_loss_se");
  }
  return m;
}

bool run_complete(const RunMetrics& m, int64_t steps) { return m.last_step == steps && m.has_final_eval; }

const char* run_status_name(RunStatus s) {
  switch (s) {
    case RunStatus::Pending: return "pending";
    case RunStatus::Done: return "done";
    case RunStatus::Failed: return "failed";
    case RunStatus::Interrupted: return "interrupted";
  }
  return "?";
}

RunStatus run_status_parse(const std::string& s, const std::string& origin) {
  for (RunStatus r : {RunStatus::Pending, RunStatus::Done, RunStatus::Failed, RunStatus::Interrupted})
    if (s == run_status_name(r)) return r;
  PLINTH_THROW(Input, origin, ": unknown run status '", s, "'");
}

std::string entropy_check(double val_loss, double se, double h) {
  if (!std::isfinite(h) || !std::isfinite(val_loss)) return "n/a";
  if (!std::isfinite(se)) return val_loss >= h ? "no_se" : "violation";
  return val_loss >= h - 4.0 * se ? "ok" : "violation";
}

std::vector<RunResult> results_read(const std::string& dir, const std::vector<std::string>& ids) {
  std::vector<RunResult> out;
  std::map<std::string, RunResult> by_id;
  const std::string path = (std::filesystem::path(dir) / "results.csv").string();
  if (io::path_exists(path)) {
    Table t = table_read(path);
    for (size_t i = 0; i < t.rows.size(); ++i) {
      RunResult r;
      r.id = t.at(i, "id");
      r.status = run_status_parse(t.at(i, "status"), path);
      r.exit_code = static_cast<int>(t.number(i, "exit_code"));
      r.attempts = static_cast<int>(t.number(i, "attempts"));
      r.steps = static_cast<int64_t>(t.number(i, "steps"));
      r.tokens = static_cast<int64_t>(t.number(i, "tokens"));
      r.flops = t.number(i, "flops");
      r.final_train_loss = t.number(i, "final_train_loss");
      r.val_loss = t.number(i, "eval_loss");
      r.val_loss_se = t.number(i, "eval_loss_se");
      r.wall_s = t.number(i, "wall_s");
      r.entropy = t.at(i, "entropy_check");
      r.message = t.at(i, "message");
      by_id[r.id] = r;
    }
  }
  for (const std::string& id : ids) {
    auto it = by_id.find(id);
    if (it != by_id.end()) {
      out.push_back(it->second);
    } else {
      RunResult r;
      r.id = id;
      r.final_train_loss = r.val_loss = r.val_loss_se = kNaN;
      out.push_back(r);
    }
  }
  return out;
}

void results_write(const std::string& dir, const std::vector<RunResult>& results) {
  Table t;
  t.header = {"id", "status", "exit_code", "attempts", "steps", "tokens", "flops", "final_train_loss",
              "eval_loss", "eval_loss_se", "wall_s", "entropy_check", "message"};
  for (const RunResult& r : results)
    t.rows.push_back({r.id, run_status_name(r.status), std::to_string(r.exit_code), std::to_string(r.attempts),
                      std::to_string(r.steps), std::to_string(r.tokens), fmt_num(r.flops),
                      fmt_num(r.final_train_loss), fmt_num(r.val_loss), fmt_num(r.val_loss_se),
                      fmt_num(r.wall_s), r.entropy, r.message});
  table_write((std::filesystem::path(dir) / "results.csv").string(), t);
}

}  // namespace plinth::sweep
