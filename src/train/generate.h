// generate.h -- autoregressive sampling from a trained model (temperature, top-k, seed).
// Recomputes the whole context each token (no KV cache): fine for the small models trained on
// CPU; the context is cropped to model.seq_len.
#pragma once
#include <cstdint>
#include <vector>

#include "model/model.h"

namespace plinth::train {

struct GenerateOptions {
  int64_t max_new_tokens = 200;
  float temperature = 0.8f;   // 0 = greedy
  int64_t top_k = 40;         // 0 = whole vocabulary
  uint64_t seed = 1;
  int32_t stop_token = -1;    // stop after emitting this token (e.g. end of document), -1 = never
};

std::vector<int32_t> generate_tokens(const model::Model& m, const float* params,
                                     const std::vector<int32_t>& prompt, const GenerateOptions& opt);

}  // namespace plinth::train
