// optim.cpp -- AdamW over flat-buffer ranges, LR schedules and clipping arithmetic.
#include "optim/optim.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace plinth::optim {

LrSchedule lr_schedule_parse(const std::string& s) {
  if (s == "cosine") return LrSchedule::Cosine;
  if (s == "constant_cooldown") return LrSchedule::ConstantCooldown;
  if (s == "constant") return LrSchedule::Constant;
  PLINTH_THROW(Config, "optim.schedule: unknown schedule '", s,
               "' (expected cosine, constant_cooldown or constant)");
}

const char* lr_schedule_name(LrSchedule s) {
  switch (s) {
    case LrSchedule::Cosine: return "cosine";
    case LrSchedule::ConstantCooldown: return "constant_cooldown";
    case LrSchedule::Constant: return "constant";
  }
  return "?";
}

float lr_at(const LrScheduleConfig& c, int64_t step) {
  if (c.warmup_steps > 0 && step < c.warmup_steps)
    return c.lr * static_cast<float>(step + 1) / static_cast<float>(c.warmup_steps);
  switch (c.kind) {
    case LrSchedule::Constant:
      return c.lr;
    case LrSchedule::Cosine: {
      const int64_t span = std::max<int64_t>(1, c.total_steps - c.warmup_steps);
      const double t = std::min(1.0, static_cast<double>(step - c.warmup_steps) / static_cast<double>(span));
      return static_cast<float>(c.min_lr + 0.5 * (c.lr - c.min_lr) * (1.0 + std::cos(M_PI * t)));
    }
    case LrSchedule::ConstantCooldown: {
      const int64_t start = c.total_steps - c.cooldown_steps;
      if (c.cooldown_steps <= 0 || step < start) return c.lr;
      const double t = static_cast<double>(step - start + 1) / static_cast<double>(c.cooldown_steps);
      return static_cast<float>(c.lr + (c.min_lr - c.lr) * std::min(1.0, t));
    }
  }
  return c.lr;
}

AdamW::AdamW(const ParamLayout& layout, const AdamWConfig& config, int64_t begin, int64_t end)
    : AdamW(layout, config, std::vector<FlatRange>{{begin, end < 0 ? layout.size() : end}}) {}

AdamW::AdamW(const ParamLayout& layout, const AdamWConfig& config, std::vector<FlatRange> ranges, device::Backend& be)
    : be_(be), config_(config), ranges_(std::move(ranges)) {
  int64_t total = 0, prev_end = 0;
  for (const FlatRange& r : ranges_) {
    PLINTH_ASSERT(r.begin >= prev_end && r.begin <= r.end && r.end <= layout.size());
    prev_end = r.end;
    // one segment per tensor piece inside the range; its moments sit at total + (lo - r.begin)
    for (const TensorSpec& s : layout.specs()) {
      const int64_t lo = std::max(r.begin, s.offset), hi = std::min(r.end, s.offset + s.numel());
      if (lo >= hi) continue;
      segments_.push_back({.begin = lo,
                           .end = hi,
                           .state_offset = total + (lo - r.begin),
                           .weight_decay = s.decay == Decay::Yes ? config_.weight_decay : 0.0f});
    }
    total += r.size();
  }
  m_.allocate(be_, static_cast<size_t>(total));
  v_.allocate(be_, static_cast<size_t>(total));
}

void AdamW::step(float* params, const float* grads, float lr, float grad_scale, int64_t step) {
  const device::AdamWHyper h{.lr = lr,
                             .beta1 = config_.beta1,
                             .beta2 = config_.beta2,
                             .eps = config_.eps,
                             .step = step,
                             .grad_scale = grad_scale};
  be_.adamw(params, grads, m_.data(), v_.data(), segments_, h);
}

std::vector<FlatRange> tensor_pieces(const ParamLayout& layout, const std::vector<FlatRange>& ranges,
                                     Replicated replicated) {
  std::vector<FlatRange> out;
  for (const FlatRange& r : ranges)
    for (const TensorSpec& s : layout.specs()) {
      if (replicated == Replicated::Skip && s.split_dim < 0) continue;
      const int64_t lo = std::max(r.begin, s.offset), hi = std::min(r.end, s.offset + s.numel());
      if (lo < hi) out.push_back({lo, hi});
    }
  return out;
}

double grad_sum_squares(const ParamLayout& layout, const float* grads, int64_t begin, int64_t end,
                        device::Backend& be) {
  device::DeviceBuffer<double> sum(be, 1);
  be.sum_squares(sum.data(), grads, tensor_pieces(layout, {{begin, end < 0 ? layout.size() : end}}));
  double host = 0.0;
  be.copy_to_host(&host, sum.data(), sizeof(double));
  return host;
}

float clip_scale(double norm, float max_norm) {
  if (max_norm <= 0.0f || !(norm > max_norm)) return 1.0f;
  return static_cast<float>(max_norm / (norm + 1e-6));
}

}  // namespace plinth::optim
