// optim.h -- AdamW over a range of the flat buffers, learning-rate schedules, gradient clipping.
// AdamW updates the elements [begin, end) of the flat parameter buffer (the whole buffer, or
// one rank's ZeRO-1 shard). Weight decay is decoupled and applies to the tensors whose spec says
// Decay::Yes (matrices), never to norms and biases. The schedule is a pure function of the step.
// Clipping: the caller sums squares over its part, reduces across ranks, then asks for a scale.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor_spec.h"
#include "device/device_buffer.h"

namespace plinth::optim {

enum class LrSchedule { Cosine, ConstantCooldown, Constant };

struct LrScheduleConfig {
  LrSchedule kind = LrSchedule::Cosine;
  float lr = 1e-3f;          // peak
  float min_lr = 1e-4f;      // floor of the decay
  int64_t warmup_steps = 20; // linear warmup from lr/warmup to lr
  int64_t total_steps = 1;
  int64_t cooldown_steps = 0;  // ConstantCooldown: linear decay to min_lr over the last steps
};

LrSchedule lr_schedule_parse(const std::string& s);   // "cosine" | "constant_cooldown" | "constant"
const char* lr_schedule_name(LrSchedule s);
float lr_at(const LrScheduleConfig& c, int64_t step);  // step is 0-based

struct AdamWConfig {
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float weight_decay = 0.1f;
};

class AdamW {
 public:
  // Optimizer state for the flat-buffer elements [begin, end); end < 0 means layout.size().
  AdamW(const ParamLayout& layout, const AdamWConfig& config, int64_t begin = 0, int64_t end = -1);
  // Optimizer state for several disjoint, ascending ranges (a ZeRO-1 shard made of one piece
  // of every gradient bucket). The moments of the ranges are stored back to back, in the memory
  // of `be` (the backend params and grads live on).
  AdamW(const ParamLayout& layout, const AdamWConfig& config, std::vector<FlatRange> ranges,
        device::Backend& be = device::cpu_backend());

  // One update (one backend call over every range). step is the 1-based number of this update
  // (bias correction). grads are multiplied by grad_scale first (clipping). Device pointers.
  void step(float* params, const float* grads, float lr, float grad_scale, int64_t step);

  const std::vector<FlatRange>& ranges() const { return ranges_; }
  device::DeviceBuffer<float>& exp_avg() { return m_; }        // sum of range sizes floats
  device::DeviceBuffer<float>& exp_avg_sq() { return v_; }
  int64_t state_bytes() const { return static_cast<int64_t>(m_.bytes() + v_.bytes()); }

 private:
  device::Backend& be_;
  AdamWConfig config_;
  std::vector<FlatRange> ranges_;
  std::vector<device::AdamWSegment> segments_;   // the ranges cut at tensor boundaries, with their decay
  device::DeviceBuffer<float> m_, v_;
};

// Tensor parallelism: replicated tensors (split_dim < 0) exist on every tp rank; count them on
// one rank only (Replicated::Skip elsewhere) so the all-reduced norm counts each element once.
enum class Replicated { Count, Skip };
// The parts of `ranges` that lie inside tensors of `layout` (padding skipped), range by range and
// tensor by tensor, in order (what a sum of squares or an update walks over): the ranges a
// Backend::sum_squares takes for a gradient norm (each piece summed in double, added in order).
std::vector<FlatRange> tensor_pieces(const ParamLayout& layout, const std::vector<FlatRange>& ranges,
                                     Replicated replicated = Replicated::Count);
// The sum of squares of grads over the tensors inside [begin, end) (whole buffer by default),
// read to the host (a synchronising copy).
double grad_sum_squares(const ParamLayout& layout, const float* grads, int64_t begin = 0, int64_t end = -1,
                        device::Backend& be = device::cpu_backend());

// Scale that brings a gradient of global norm `norm` to at most `max_norm` (0 = no clipping).
float clip_scale(double norm, float max_norm);

}  // namespace plinth::optim
