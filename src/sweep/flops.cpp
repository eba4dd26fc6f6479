// flops.cpp -- the FLOP formulas of flops.h.
#include "sweep/flops.h"

#include "core/error.h"

namespace plinth::sweep {

const char* flops_formula_name(FlopsFormula f) {
  switch (f) {
    case FlopsFormula::Causal: return "causal";
    case FlopsFormula::Hoffmann: return "hoffmann";
    case FlopsFormula::SixN: return "6n";
  }
  return "?";
}

FlopsFormula flops_formula_parse(const std::string& s, const std::string& key) {
  if (s == "causal") return FlopsFormula::Causal;
  if (s == "hoffmann") return FlopsFormula::Hoffmann;
  if (s == "6n") return FlopsFormula::SixN;
  PLINTH_THROW(Config, key, ": unknown FLOP formula '", s, "' (expected causal, hoffmann or 6n)");
}

std::string flops_formula_description(FlopsFormula f) {
  switch (f) {
    case FlopsFormula::Causal:
      return "architecture, causal attention: 3 x forward; forward = embeddings 2Vd + per layer (QKV, "
             "scores and values over (T+1)/2 keys, softmax, output projection, MLP) + output layer 2dV";
    case FlopsFormula::Hoffmann:
      return "architecture, Hoffmann et al. 2022 Appendix F: 3 x forward; attention over all T keys";
    case FlopsFormula::SixN:
      return "6 x N (all parameters, embeddings included)";
  }
  return "?";
}

FlopsBreakdown flops_breakdown(const model::ModelConfig& c, FlopsFormula f) {
  FlopsBreakdown b;
  const double d = static_cast<double>(c.n_embd), V = static_cast<double>(c.vocab_size);
  const double L = static_cast<double>(c.n_layer), T = static_cast<double>(c.seq_len);
  const double kv = static_cast<double>(c.kv_heads() * c.head_size()), h = static_cast<double>(c.n_head);
  const double F = static_cast<double>(c.ffn());
  if (f == FlopsFormula::SixN) {
    b.embedding = 2.0 * static_cast<double>(model::model_param_counts(c).total);   // 3 x 2N
    return b;
  }
  const double keys = f == FlopsFormula::Causal ? (T + 1.0) / 2.0 : T;
  b.embedding = 2.0 * V * d;
  b.qkv = L * 2.0 * d * (d + 2.0 * kv);
  b.scores = L * 2.0 * d * keys;
  b.softmax = L * 3.0 * h * keys;
  b.values = L * 2.0 * d * keys;
  b.attn_out = L * 2.0 * d * d;
  b.mlp = L * 2.0 * d * F * (c.arch == model::Arch::Gpt2 ? 2.0 : 3.0);
  b.logits = 2.0 * d * V;
  return b;
}

double flops_per_token(const model::ModelConfig& c, FlopsFormula f) { return flops_breakdown(c, f).training(); }

}  // namespace plinth::sweep
