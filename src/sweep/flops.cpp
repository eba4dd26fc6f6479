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
      return "architecture, the matrix products plinth computes (as its MFU): 3 x forward; forward = per layer "
             "(QKV, scores and values over (T+1)/2 keys, output projection, MLP) + output layer 2dV";
    case FlopsFormula::Hoffmann:
      return "architecture, Hoffmann et al. 2022 Appendix F: 3 x forward; embeddings 2Vd, softmax, attention over "
             "all T keys";
    case FlopsFormula::SixN:
      return "6 x N (all parameters, embeddings included)";
  }
  return "?";
}

FlopsBreakdown flops_breakdown(const model::ModelConfig& c, FlopsFormula f) {
  switch (f) {
    case FlopsFormula::Causal: return model::model_flops_breakdown(c, c.seq_len, model::FlopsCount::Causal);
    case FlopsFormula::Hoffmann: return model::model_flops_breakdown(c, c.seq_len, model::FlopsCount::Hoffmann);
    case FlopsFormula::SixN: break;
  }
  FlopsBreakdown b;
  b.embedding = 2.0 * static_cast<double>(model::model_param_counts(c).total);   // 3 x 2N
  return b;
}

double flops_per_token(const model::ModelConfig& c, FlopsFormula f) { return flops_breakdown(c, f).training(); }

}  // namespace plinth::sweep
