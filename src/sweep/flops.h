// flops.h -- training FLOPs per token and parameter counts of a model shape, for sweeps.
// Every formula counts forward + backward = 3 x forward, a multiply-add as 2 FLOPs, per token:
//   embeddings      2 V d            (the one-hot product, as Hoffmann et al. 2022 count it)
//   per layer:      QKV 2 d (d + 2 kv)   scores 2 d T'   softmax 3 h T'   values 2 d T'
//                   output 2 d^2     MLP 2 d f x (2 for GPT-2, 3 for SwiGLU)
//   output layer    2 d V
// with T' the keys a query attends to: (T + 1) / 2 for "causal" (what plinth computes),
// T for "hoffmann" (Appendix F of the Chinchilla paper, which ignores the causal mask).
// "6n" is 6 x (all parameters), the usual approximation, for comparison.
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

struct FlopsBreakdown {   // forward FLOPs per token
  double embedding = 0, qkv = 0, scores = 0, softmax = 0, values = 0, attn_out = 0, mlp = 0, logits = 0;
  double forward() const { return embedding + qkv + scores + softmax + values + attn_out + mlp + logits; }
  double training() const { return 3.0 * forward(); }
};

FlopsBreakdown flops_breakdown(const model::ModelConfig& c, FlopsFormula f);   // T = c.seq_len
double flops_per_token(const model::ModelConfig& c, FlopsFormula f);           // training FLOPs

}  // namespace plinth::sweep
