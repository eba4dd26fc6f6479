// runner.cpp -- local execution of a sweep: state per run, fork/exec of the training job with
// its output appended to DIR/runs/<id>/train.log, signal forwarding, results.csv after each run.
#include "sweep/runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "core/error.h"
#include "core/log.h"
#include "io/fs_util.h"
#include "io/synthetic_corpus.h"
#include "sweep/csv_table.h"
#include "sweep/sweep_config.h"

namespace plinth::sweep {
namespace {

namespace fs = std::filesystem;

std::atomic<pid_t> g_child{0};
std::atomic<int> g_signal{0};

void on_signal(int sig) {
  g_signal = sig;
  const pid_t c = g_child.load();
  if (c > 0) ::kill(c, SIGTERM);   // the job checkpoints and exits (75) or dies; we wait for it
}

struct PlanRow {
  std::string id;
  int64_t steps = 0, tokens = 0;
  double compute = 0;
};

std::vector<PlanRow> read_plan(const std::string& dir) {
  const std::string path = (fs::path(dir) / "plan.csv").string();
  PLINTH_CHECK(io::path_exists(path), Input, "'", dir, "' is not a planned sweep: ", path,
               " is missing (run `plinth sweep plan CONFIG --out ", dir, "` first)");
  Table t = table_read(path);
  std::vector<PlanRow> rows;
  for (size_t i = 0; i < t.rows.size(); ++i)
    rows.push_back({t.at(i, "id"), static_cast<int64_t>(t.number(i, "steps")),
                    static_cast<int64_t>(t.number(i, "tokens")), t.number(i, "compute")});
  return rows;
}

double sweep_entropy_rate(const std::string& dir, const std::string& first_id) {
  try {
    const std::string cfg = (fs::path(dir) / "runs" / first_id / "config.ini").string();
    IniFile ini = ini_parse(io::read_file(cfg), cfg);
    if (const auto* data = ini.section("data"))
      for (const auto& [k, v] : *data)
        if (k == "corpus") return io::corpus_entropy_rate(v);
  } catch (const Error& e) {
    log_warn(str_cat("sweep: no entropy rate for the bound check: ", e.what()));
  }
  return std::numeric_limits<double>::quiet_NaN();
}

// Fills a result from the run's metrics; true when the run is complete.
bool absorb_metrics(const std::string& dir, const PlanRow& p, double entropy, RunResult& r) {
  RunMetrics m = read_run_metrics((fs::path(dir) / "runs" / p.id / "metrics.jsonl").string());
  r.steps = m.last_step;
  if (!run_complete(m, p.steps)) return false;
  r.tokens = p.tokens;
  r.flops = p.compute;
  r.final_train_loss = m.final_train_loss;
  r.val_loss = m.val_loss;
  r.val_loss_se = m.val_loss_se;
  r.entropy = entropy_check(m.val_loss, m.val_loss_se, entropy);
  if (!std::isfinite(r.wall_s) || r.wall_s <= 0) r.wall_s = m.elapsed_s;
  return true;
}

// Runs argv with stdout/stderr appended to log; returns the wait status.
int spawn_and_wait(const std::vector<std::string>& argv, const std::string& log) {
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  PLINTH_CHECK(fd >= 0, Io, "cannot open '", log, "': ", std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    PLINTH_THROW(Io, "fork failed: ", std::strerror(errno));
  }
  if (pid == 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "plinth sweep: cannot execute '%s': %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(fd);
  g_child = pid;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_child = 0;
  return status;
}

RunSummary summarise(const std::vector<RunResult>& rs) {
  RunSummary s;
  s.total = static_cast<int>(rs.size());
  for (const RunResult& r : rs) {
    if (r.status == RunStatus::Done) ++s.done;
    if (r.status == RunStatus::Failed) ++s.failed;
    if (r.status == RunStatus::Interrupted) ++s.interrupted;
    if (r.status == RunStatus::Pending) ++s.pending;
    if (r.entropy == "violation") ++s.violations;
  }
  return s;
}

}  // namespace

std::vector<std::string> run_command(const std::string& dir, const std::string& id, const RunOptions& o, int ranks) {
  std::vector<std::string> argv;
  if (o.use_mpirun == UseMpirun::Yes) {
    argv = {o.mpirun, "-n", std::to_string(ranks)};
    argv.insert(argv.end(), o.mpirun_args.begin(), o.mpirun_args.end());
  }
  argv.insert(argv.end(), {o.plinth_exe, "train", "--config", (fs::path(dir) / "runs" / id / "config.ini").string(),
                           "--checkpoint.resume=auto"});
  argv.insert(argv.end(), o.train_args.begin(), o.train_args.end());
  return argv;
}

RunSummary sweep_collect(const std::string& dir) {
  std::vector<PlanRow> plan = read_plan(dir);
  std::vector<std::string> ids;
  for (const auto& p : plan) ids.push_back(p.id);
  std::vector<RunResult> results = results_read(dir, ids);
  const double h = plan.empty() ? std::nan("") : sweep_entropy_rate(dir, plan[0].id);
  for (size_t i = 0; i < plan.size(); ++i)
    if (results[i].status != RunStatus::Done && absorb_metrics(dir, plan[i], h, results[i]))
      results[i].status = RunStatus::Done, results[i].message = "collected from metrics";
  results_write(dir, results);
  return summarise(results);
}

RunSummary sweep_run_local(const std::string& dir, const RunOptions& o) {
  std::vector<PlanRow> plan = read_plan(dir);
  const SweepConfig sc = sweep_config_load((fs::path(dir) / "sweep.ini").string());
  const int ranks = o.ranks > 0 ? o.ranks : sc.ranks;
  std::vector<std::string> ids;
  for (const auto& p : plan) ids.push_back(p.id);
  for (const std::string& id : o.only)
    PLINTH_CHECK(std::find(ids.begin(), ids.end(), id) != ids.end(), Config, "--only: no run '", id, "' in ", dir,
                 "/plan.csv");
  std::vector<RunResult> results = results_read(dir, ids);
  const double h = plan.empty() ? std::nan("") : sweep_entropy_rate(dir, plan[0].id);
  if (std::isfinite(h)) log_info(str_cat("sweep: source entropy rate H = ", h, " nats/token"));

  struct sigaction sa {}, old_int {}, old_term {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);
  g_signal = 0;
  RunSummary s;
  for (size_t i = 0; i < plan.size() && g_signal == 0; ++i) {
    const PlanRow& p = plan[i];
    RunResult& r = results[i];
    if (!o.only.empty() && std::find(o.only.begin(), o.only.end(), p.id) == o.only.end()) continue;
    const std::string tag = str_cat("[", i + 1, "/", plan.size(), "] ", p.id);
    if (r.status == RunStatus::Done) continue;
    if (r.status == RunStatus::Failed && o.retry == RetryFailed::No) {
      log_warn(str_cat(tag, ": failed before (", r.message, "); skipped, use --retry-failed to run it again"));
      continue;
    }
    if (absorb_metrics(dir, p, h, r)) {   // finished elsewhere (or before a crash of the sweep)
      r.status = RunStatus::Done;
      r.message = "collected from metrics";
      results_write(dir, results);
      continue;
    }
    const std::string log = (fs::path(dir) / "runs" / p.id / "train.log").string();
    log_info(str_cat(tag, ": training ", p.steps, " steps, ", p.tokens, " tokens, C = ", p.compute,
                     r.steps > 0 ? str_cat(" (resuming after step ", r.steps, ")") : std::string(), "; log ", log));
    const auto t0 = std::chrono::steady_clock::now();
    const int status = spawn_and_wait(run_command(dir, p.id, o, ranks), log);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++s.ran;
    ++r.attempts;
    r.wall_s = (std::isfinite(r.wall_s) ? r.wall_s : 0.0) + wall;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    const bool complete = absorb_metrics(dir, p, h, r);   // also records the steps reached
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && complete) {
      r.status = RunStatus::Done;
      r.message.clear();
      log_info(str_cat(tag, ": done in ", static_cast<int>(wall), " s, eval loss ", r.val_loss,
                       std::isfinite(r.val_loss_se) ? str_cat(" +- ", r.val_loss_se) : std::string(),
                       r.entropy == "violation" ? str_cat("  BELOW THE SOURCE ENTROPY ", h, " - 4 SE: leakage?") : ""));
    } else if (g_signal != 0 || r.exit_code == 75) {
      r.status = RunStatus::Interrupted;
      r.message = str_cat("interrupted (exit ", r.exit_code, "); `plinth sweep run` resumes it from its checkpoint");
      log_warn(str_cat(tag, ": ", r.message));
    } else {
      r.status = RunStatus::Failed;
      r.message = WIFEXITED(status) && WEXITSTATUS(status) == 0
                      ? std::string("exit 0 but the metrics lack the final step's evaluation")
                      : str_cat(WIFEXITED(status) ? "exit code " : "killed by signal ",
                                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), "; see ", log);
      log_error(str_cat(tag, ": FAILED: ", r.message));
    }
    results_write(dir, results);
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  results_write(dir, results);
  RunSummary t = summarise(results);
  t.ran = s.ran;
  for (size_t i = 0; i < plan.size(); ++i)
    if ((o.only.empty() || std::find(o.only.begin(), o.only.end(), plan[i].id) != o.only.end()) &&
        results[i].status != RunStatus::Done)
      ++t.selected_unfinished;
  return t;
}

}  // namespace plinth::sweep
