// test_flops.cpp -- FLOPs per token and parameter counts against hand computations.
#include <gtest/gtest.h>

#include "core/error.h"

#include "model/model_config.h"
#include "sweep/flops.h"

namespace plinth::sweep {
namespace {

model::ModelConfig gpt2_tiny() {   // V 256, d 32, L 2, h 2, T 32, ffn 4d = 128, tied, learned positions
  model::ModelConfig c;
  c.arch = model::Arch::Gpt2;
  c.vocab_size = 256, c.n_layer = 2, c.n_embd = 32, c.n_head = 2, c.seq_len = 32;
  return c;
}

TEST(Flops, Gpt2ByHand) {
  const model::ModelConfig c = gpt2_tiny();
  // forward per token, the matrix products plinth computes: QKV 2 layers * 2*32*96 = 12288;
  // scores and values 2 * 2*32*16.5 = 2112 each (causal: (32+1)/2 keys); output projection
  // 2 * 2*32*32 = 4096; MLP 2 * 2*2*32*128 = 32768; logits 2*32*256 = 16384. The embedding is a
  // lookup and the softmax element-wise: 0 (until 2026-12 this formula counted them as Hoffmann
  // et al. do, 16384 and 198, total 3 x 86342, and differed from the trainer's MFU count).
  const FlopsBreakdown b = flops_breakdown(c, FlopsFormula::Causal);
  EXPECT_DOUBLE_EQ(b.embedding, 0);
  EXPECT_DOUBLE_EQ(b.qkv, 12288);
  EXPECT_DOUBLE_EQ(b.scores, 2112);
  EXPECT_DOUBLE_EQ(b.softmax, 0);
  EXPECT_DOUBLE_EQ(b.values, 2112);
  EXPECT_DOUBLE_EQ(b.attn_out, 4096);
  EXPECT_DOUBLE_EQ(b.mlp, 32768);
  EXPECT_DOUBLE_EQ(b.logits, 16384);
  EXPECT_DOUBLE_EQ(flops_per_token(c, FlopsFormula::Causal), 3.0 * 69760);
  // Hoffmann et al. count all 32 keys: scores/values 4096 each, softmax 2 * 3*2*32 = 384, and
  // the embeddings as a one-hot product 2*256*32 = 16384
  const FlopsBreakdown h = flops_breakdown(c, FlopsFormula::Hoffmann);
  EXPECT_DOUBLE_EQ(h.embedding, 16384);
  EXPECT_DOUBLE_EQ(h.scores, 4096);
  EXPECT_DOUBLE_EQ(h.softmax, 384);
  EXPECT_DOUBLE_EQ(h.values, 4096);
  EXPECT_DOUBLE_EQ(flops_per_token(c, FlopsFormula::Hoffmann), 3.0 * 90496);
}

// One formula: the trainer's MFU numerator (model::model_flops_per_token at the model's context)
// is the sweep's "causal" count, for both architectures, grouped-query attention and an untied head.
TEST(Flops, TrainerCountIsTheSweepCausalCount) {
  model::ModelConfig llama = gpt2_tiny();
  llama.arch = model::Arch::Llama;
  llama.n_embd = 64, llama.n_head = 4, llama.n_head_kv = 2;
  llama.tie_embeddings = model::TieEmbeddings::No;
  model::ModelConfig wide = gpt2_tiny();
  wide.vocab_size = 50257, wide.n_layer = 12, wide.n_embd = 768, wide.n_head = 12, wide.seq_len = 1024;
  for (const model::ModelConfig& c : {gpt2_tiny(), llama, wide}) {
    EXPECT_EQ(model::model_flops_per_token(c, c.seq_len), flops_per_token(c, FlopsFormula::Causal))
        << model::model_signature(c);
    EXPECT_EQ(model::model_flops_breakdown(c, c.seq_len, model::FlopsCount::Causal).training(),
              flops_breakdown(c, FlopsFormula::Causal).training());
  }
  // the hand count of tests/unit/model (ModelFlops.HandComputedForAFixedConfig) for this shape
  EXPECT_DOUBLE_EQ(model::model_flops_per_token(gpt2_tiny(), 32), 3.0 * (2.0 * 32768 + 2 * 4 * 32 * 16.5));
}

TEST(Params, Gpt2ByHand) {
  // per layer: ln 64 + q,k,v 3*(32*32+32) = 3168 + proj 1056 + ln 64 + fc 32*128+128 = 4224 + proj 128*32+32 = 4128
  //   = 12704; embeddings: tokens 256*32 + positions 32*32 = 9216; final LayerNorm 64
  const model::ParamCounts p = model::model_param_counts(gpt2_tiny());
  EXPECT_EQ(p.total, 9216 + 2 * 12704 + 64);
  EXPECT_EQ(p.embedding, 9216);
  EXPECT_EQ(p.non_embedding(), 2 * 12704 + 64);
  EXPECT_DOUBLE_EQ(flops_per_token(gpt2_tiny(), FlopsFormula::SixN), 6.0 * 34688);
}

TEST(Flops, LlamaGqaByHand) {
  model::ModelConfig c;
  c.arch = model::Arch::Llama;
  c.vocab_size = 256, c.n_layer = 2, c.n_embd = 64, c.n_head = 4, c.n_head_kv = 2, c.seq_len = 32;
  c.tie_embeddings = model::TieEmbeddings::No;
  // head size 16, kv width 32, SwiGLU width 2*256/3 = 170 -> 192
  const FlopsBreakdown b = flops_breakdown(c, FlopsFormula::Causal);
  EXPECT_DOUBLE_EQ(b.qkv, 2 * 2.0 * 64 * (64 + 64));
  EXPECT_DOUBLE_EQ(b.mlp, 2 * 3 * 2.0 * 64 * 192);
  EXPECT_DOUBLE_EQ(b.softmax, 0);   // element-wise: not counted (Hoffmann: 2 * 3.0 * 4 * 32)
  EXPECT_DOUBLE_EQ(flops_breakdown(c, FlopsFormula::Hoffmann).softmax, 2 * 3.0 * 4 * 32);
  // parameters: per layer norms 2*64, q 64*64, k,v 2*64*32, o 64*64, SwiGLU 3*64*192 = 36864 -> 49280;
  // untied: embeddings 256*64 and head 256*64; final norm 64
  const model::ParamCounts p = model::model_param_counts(c);
  EXPECT_EQ(p.total, 2 * 256 * 64 + 2 * 49280 + 64);
  EXPECT_EQ(p.embedding, 2 * 256 * 64);
  // at this size 6N is far from the architecture count (the 1.2-3.5x)
  const double ratio = flops_per_token(c, FlopsFormula::Causal) / flops_per_token(c, FlopsFormula::SixN);
  EXPECT_NEAR(ratio, 3.0 * b.forward() / (6.0 * p.total), 1e-12);
}

TEST(Flops, FormulaNames) {
  EXPECT_EQ(flops_formula_parse("hoffmann", "k"), FlopsFormula::Hoffmann);
  EXPECT_THROW(flops_formula_parse("7n", "sweep.flops"), Error);
}

}  // namespace
}  // namespace plinth::sweep
