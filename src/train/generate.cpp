// generate.cpp -- temperature / top-k sampling over the last position's logits.
#include "train/generate.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "device/device_buffer.h"

namespace plinth::train {

std::vector<int32_t> generate_tokens(const model::Model& m, const float* params,
                                     const std::vector<int32_t>& prompt, const GenerateOptions& opt) {
  const auto& c = m.config();
  PLINTH_CHECK(!prompt.empty(), Config, "generate: the prompt encodes to no tokens");
  PLINTH_CHECK(opt.max_new_tokens >= 0, Config, "generate: max_new_tokens ", opt.max_new_tokens, " is negative");
  PLINTH_CHECK(opt.top_k >= 0, Config, "generate: top_k ", opt.top_k, " is negative");
  PLINTH_CHECK(std::isfinite(opt.temperature) && opt.temperature >= 0.0f, Config, "generate: temperature ",
               opt.temperature, " is negative or not finite");
  const int64_t V = c.vocab_size, Vp = c.padded_vocab();
  model::model_check_tokens(c, prompt.data(), static_cast<int64_t>(prompt.size()));
  device::Backend& be = m.backend();
  model::Activations a = m.allocate_activations(1, c.seq_len);
  device::DeviceBuffer<int32_t> window_dev(be, static_cast<size_t>(c.seq_len));
  std::vector<float> logits(static_cast<size_t>(V));   // the last position's real columns, on the host
  Rng rng(opt.seed);
  std::vector<int32_t> ctx = prompt, out;
  std::vector<std::pair<float, int32_t>> cand(static_cast<size_t>(V));
  for (int64_t n = 0; n < opt.max_new_tokens; ++n) {
    const int64_t T = std::min<int64_t>(static_cast<int64_t>(ctx.size()), c.seq_len);
    const int32_t* window = ctx.data() + (ctx.size() - static_cast<size_t>(T));
    be.copy_to_device(window_dev.data(), window, static_cast<size_t>(T) * sizeof(int32_t));
    model::model_forward(m, params, a, window_dev.data(), nullptr, 1, T);
    be.copy_to_host(logits.data(), a.logits.data() + (T - 1) * Vp, logits.size() * sizeof(float));
    int32_t next = 0;
    if (opt.temperature <= 0.0f) {
      next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    } else {
      for (int64_t v = 0; v < V; ++v) cand[v] = {logits[v] / opt.temperature, static_cast<int32_t>(v)};
      int64_t k = opt.top_k > 0 ? std::min(opt.top_k, V) : V;
      std::partial_sort(cand.begin(), cand.begin() + k, cand.end(),
                        [](const auto& x, const auto& y) { return x.first > y.first; });
      double total = 0.0;
      std::vector<double> p(static_cast<size_t>(k));
      for (int64_t i = 0; i < k; ++i) total += p[i] = std::exp(static_cast<double>(cand[i].first - cand[0].first));
      double r = rng.uniform() * total;
      next = cand[k - 1].second;
      for (int64_t i = 0; i < k; ++i) {
        if ((r -= p[i]) < 0) {
          next = cand[i].second;
          break;
        }
      }
    }
    out.push_back(next);
    ctx.push_back(next);
    if (next == opt.stop_token) break;
  }
  return out;
}

}  // namespace plinth::train
