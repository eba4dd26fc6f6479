// metrics.cpp -- JSONL metrics records, progress lines, resident-memory probe.
#include "train/metrics.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <unistd.h>

#include "core/error.h"

namespace plinth::train {

MetricsWriter::MetricsWriter(const std::string& path) : path_(path) {
  if (path.empty()) return;
  std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  out_.open(path, std::ios::app);
  PLINTH_CHECK(out_.good(), Io, "cannot open metrics file ", path, " for appending");
}

static std::string num(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void MetricsWriter::write(const StepMetrics& m) {
  if (!out_.is_open()) return;
  out_ << "{\"step\": " << m.step << ", \"loss\": " << num(m.loss)
       << ", \"val_loss\": " << (m.val_loss ? num(*m.val_loss) : "null")
       << ", \"val_loss_se\": " << (m.val_loss ? num(m.val_loss_se) : "null") << ", \"lr\": " << num(m.lr)
       << ", \"grad_norm\": " << num(m.grad_norm) << ", \"tokens_per_s\": " << num(m.tokens_per_s)
       << ", \"model_flops_per_s\": " << num(m.flops_per_s) << ", \"mfu\": " << num(m.mfu)
       << ", \"rss_bytes\": " << m.rss_bytes << ", \"elapsed_s\": " << num(m.elapsed_s)
       << ", \"comm_exposed_s\": " << num(m.comm_exposed_s) << "}\n";
  out_.flush();
  PLINTH_CHECK(out_.good(), Io, "writing metrics file ", path_, " failed");
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
  char buf[512];
  char val[48] = "";
  if (m.val_loss) std::snprintf(val, sizeof val, " | val %.4f ± %.4f", *m.val_loss, m.val_loss_se);
  std::snprintf(buf, sizeof buf,
                "step %5lld/%lld | loss %.4f%s | lr %.2e | gnorm %.3f | %.1fk tok/s | %.2f GFLOP/s MFU %.1f%% | ETA %s",
                static_cast<long long>(m.step), static_cast<long long>(total_steps), m.loss, val, m.lr,
                m.grad_norm, m.tokens_per_s / 1e3, m.flops_per_s / 1e9, 100.0 * m.mfu,
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
