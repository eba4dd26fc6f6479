// metrics.cpp -- JSONL metrics records, progress lines, resident-memory probe.
#include "train/metrics.h"

#include <fcntl.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <filesystem>
#include <unistd.h>

#include "core/error.h"
#include "io/fs_util.h"

namespace plinth::train {

namespace {

// The step of one metrics record ({"step": N, ...}), or -1.
int64_t record_step(const std::string& line) {
  const std::string key = "{\"step\": ";
  if (line.compare(0, key.size(), key) != 0) return -1;
  int64_t step = 0;
  size_t i = key.size();
  if (i >= line.size() || line[i] < '0' || line[i] > '9') return -1;
  for (; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) step = step * 10 + (line[i] - '0');
  return step;
}

// Moves the records of steps after `step` out of `path` (see MetricsWriter).
void set_aside_later_steps(const std::string& path, int64_t step) {
  if (!io::is_regular_file(path)) return;
  std::istringstream in(io::read_file(path));
  std::string line, kept, later;
  while (std::getline(in, line)) (record_step(line) > step ? later : kept) += line + "\n";
  if (later.empty()) return;
  std::string aside = path;
  if (aside.size() > 6 && aside.compare(aside.size() - 6, 6, ".jsonl") == 0) aside.resize(aside.size() - 6);
  aside += ".superseded.jsonl";
  const std::string before = io::is_regular_file(aside) ? io::read_file(aside) : std::string();
  io::write_file_atomic(aside, before + later);   // first: a kill between the two loses nothing
  io::write_file_atomic(path, kept);
}

}  // namespace

MetricsWriter::MetricsWriter(const std::string& path, int64_t resumed_step) : path_(path) {
  if (path.empty()) return;
  std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  if (resumed_step >= 0) set_aside_later_steps(path, resumed_step);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  PLINTH_CHECK(fd_ >= 0, Io, "cannot open metrics file '", path, "' for appending: ", std::strerror(errno));
}

MetricsWriter::~MetricsWriter() {
  if (fd_ >= 0) ::close(fd_);
}

static std::string num(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void MetricsWriter::write(const StepMetrics& m) {
  if (fd_ < 0) return;
  std::ostringstream out;
  out << "{\"step\": " << m.step << ", \"loss\": " << num(m.loss)
      << ", \"val_loss\": " << (m.val_loss ? num(*m.val_loss) : "null")
      << ", \"val_loss_se\": " << (m.val_loss ? num(m.val_loss_se) : "null") << ", \"lr\": " << num(m.lr)
      << ", \"grad_norm\": " << num(m.grad_norm) << ", \"tokens_per_s\": " << num(m.tokens_per_s)
      << ", \"model_flops_per_s\": " << num(m.flops_per_s) << ", \"mfu\": " << num(m.mfu)
      << ", \"rss_bytes\": " << m.rss_bytes << ", \"elapsed_s\": " << num(m.elapsed_s)
      << ", \"comm_exposed_s\": " << num(m.comm_exposed_s) << ", \"eval_s\": " << num(m.eval_s)
      << ", \"ckpt_s\": " << num(m.ckpt_s) << ", \"skipped\": "
      << (m.skipped.empty() ? std::string("null") : "\"" + m.skipped + "\"")
      << ", \"nonfinite_steps\": " << m.nonfinite_steps << ", \"spike_steps\": " << m.spike_steps << "}\n";
  const std::string line = out.str();
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    PLINTH_CHECK(n > 0, Io, "writing metrics file '", path_, "' failed: ",
                 n < 0 ? std::strerror(errno) : "nothing written");
    done += static_cast<size_t>(n);
  }
}

std::string format_duration(double s) {
  char buf[64];
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60) std::snprintf(buf, sizeof buf, "%.1fs", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  else std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s / 3600), static_cast<int>(s / 60) % 60);
  return buf;
}

std::string progress_line(const StepMetrics& m, int64_t total_steps, double eta_s) {
  char buf[640];
  char val[48] = "", extra[160] = "";
  if (m.val_loss) std::snprintf(val, sizeof val, " | val %.4f ± %.4f", *m.val_loss, m.val_loss_se);
  int used = 0;
  if (m.eval_s > 0) used += std::snprintf(extra + used, sizeof extra - used, " | eval %s", format_duration(m.eval_s).c_str());
  if (m.ckpt_s > 0.0005 && used < static_cast<int>(sizeof extra))
    used += std::snprintf(extra + used, sizeof extra - used, " | ckpt %s", format_duration(m.ckpt_s).c_str());
  if (!m.skipped.empty() && used < static_cast<int>(sizeof extra))
    std::snprintf(extra + used, sizeof extra - used, " | skipped: %s", m.skipped.c_str());
  std::snprintf(buf, sizeof buf,
                "step %5lld/%lld | loss %.4f%s | lr %.2e | gnorm %.3f | %.1fk tok/s | %.2f GFLOP/s MFU %.1f%%%s | ETA %s",
                static_cast<long long>(m.step), static_cast<long long>(total_steps), m.loss, val, m.lr,
                m.grad_norm, m.tokens_per_s / 1e3, m.flops_per_s / 1e9, 100.0 * m.mfu, extra,
                format_duration(eta_s).c_str());
  return buf;
}

int64_t process_rss_bytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

}  // namespace plinth::train
