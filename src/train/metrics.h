// metrics.h -- per-step metrics: JSONL records on disk and a human progress line with ETA.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace plinth::train {

struct StepMetrics {
  int64_t step = 0;               // 1-based optimizer step just completed
  float loss = 0;
  std::optional<float> val_loss;
  double val_loss_se = 0.0;           // standard error of val_loss over the held-out windows
  float lr = 0;
  double grad_norm = 0;
  double tokens_per_s = 0;
  // tokens_per_s, flops_per_s and mfu are over the window's training time: the wall time since
  // the previous record less eval_s and ckpt_s
  double flops_per_s = 0;         // model FLOP/s (architecture formula, see model_flops_per_token)
  double mfu = 0;                 // flops_per_s / (peak per rank x ranks), see train/peak_flops.h
  int64_t rss_bytes = 0;          // resident memory of this process
  double elapsed_s = 0;
  double comm_exposed_s = 0;      // gradient-reduction wait not hidden behind backward, this window
  double eval_s = 0;              // validation time in this window
  double ckpt_s = 0;              // checkpoint time blocking training in this window (this step's save included)
  std::string skipped;            // why this step's update was skipped ("nonfinite", "loss_spike"), or
                                  // "loss_spike_logged" (applied), or "" (a normal step)
  int64_t nonfinite_steps = 0;    // skipped non-finite steps so far in this run
  int64_t spike_steps = 0;        // loss spikes so far in this run
};

class MetricsWriter {
 public:
  // Appends to path (creating parent directories). Empty path: no file. Io errors name the
  // file and the operating system's reason (e.g. "No space left on device").
  // resumed_step >= 0 (a run resumed from that step): records of later steps, written by the
  // run that went on past its last checkpoint, move to <path without .jsonl>.superseded.jsonl
  // (appended, nothing lost), so that the file holds each step once.
  explicit MetricsWriter(const std::string& path, int64_t resumed_step = -1);
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;
  void write(const StepMetrics& m);   // one JSON line, written with one write(2)
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

// "step   50/200 | loss 2.3456 | val 2.4012 | lr 6.00e-04 | gnorm 0.83 | 12.3k tok/s | 1.23 GFLOP/s MFU 12.3% | eval 0.4s | ckpt 0.1s | ETA 1m23s"
// (eval / ckpt only when the window had them; "| skipped: nonfinite" when the step's update was skipped)
std::string progress_line(const StepMetrics& m, int64_t total_steps, double eta_s);

std::string format_duration(double seconds);   // "1h02m", "3m05s", "42.1s"
int64_t process_rss_bytes();

}  // namespace plinth::train
