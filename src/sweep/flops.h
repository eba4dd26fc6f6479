// flops.h -- training FLOPs per token of a model shape, for sweeps. The architecture formulas are
// model::model_flops_breakdown (model/model_config.h): every formula counts forward + backward =
// 3 x forward, a multiply-add as 2 FLOPs, per token:
//   "causal"   the matrix products plinth computes (model::FlopsCount::Causal): per layer QKV
//              2 d (d + 2 kv), scores and values 2 d T' each over T' = (T + 1) / 2 keys, output
//              2 d^2, MLP 2 d f x (2 for GPT-2, 3 for SwiGLU); the output layer 2 d V. The same
//              number as the trainer's MFU (model::model_flops_per_token).
//   "hoffmann" Appendix F of the Chinchilla paper (model::FlopsCount::Hoffmann): also embeddings
//              2 V d (the one-hot product) and the softmax 3 h T', over T' = T keys (no causal mask).
//   "6n"       6 x (all parameters), the usual approximation, for comparison.
// Parameter counts are model::model_param_counts (total, and without embeddings).
#pragma once
#include <cstdint>
#include <string>

#include "model/model_config.h"

namespace plinth::sweep {

enum class FlopsFormula { Causal, Hoffmann, SixN };
const char* flops_formula_name(FlopsFormula f);   // "causal" | "hoffmann" | "6n"
FlopsFormula flops_formula_parse(const std::string& s, const std::string& key);
std::string flops_formula_description(FlopsFormula f);

using FlopsBreakdown = model::FlopsBreakdown;   // forward FLOPs per token, by part

// T = c.seq_len. 6n puts its whole count (2N forward) into `embedding`.
FlopsBreakdown flops_breakdown(const model::ModelConfig& c, FlopsFormula f);
double flops_per_token(const model::ModelConfig& c, FlopsFormula f);           // training FLOPs

}  // namespace plinth::sweep
