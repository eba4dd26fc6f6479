// test_model_layout.cpp -- parameter layout: names, counts, tensor-parallel slices, init keyed
// by global index, config validation messages, activation memory linear in T.
#include <gtest/gtest.h>

#include "core/aligned_buffer.h"
#include "core/error.h"
#include "model/activations.h"
#include "model/model.h"

using namespace plinth;
using namespace plinth::model;

namespace {

ModelConfig small(Arch arch) {
  ModelConfig c;
  c.arch = arch;
  c.vocab_size = 100;
  c.vocab_pad_multiple = 1;
  c.n_layer = 3;
  c.n_embd = 32;
  c.n_head = 4;
  c.n_head_kv = arch == Arch::Llama ? 2 : 0;
  c.seq_len = 16;
  c.tie_embeddings = arch == Arch::Gpt2 ? TieEmbeddings::Yes : TieEmbeddings::No;
  return c;
}

TEST(ModelLayout, ParameterCountMatchesTheLayout) {
  for (Arch arch : {Arch::Gpt2, Arch::Llama}) {
    ModelConfig c = small(arch);
    Model m(c);
    EXPECT_EQ(model_param_counts(c).total, m.layout().numel()) << arch_name(arch);
  }
}

TEST(ModelLayout, Gpt2CountByHand) {
  ModelConfig c = small(Arch::Gpt2);
  // per layer: ln 2*32*2 + qkv 3*(32*32+32) + proj 32*32+32 + fc 32*128+128 + proj 128*32+32
  const int64_t per_layer = 128 + 3 * 1056 + 1056 + 4224 + 4128;
  const int64_t expected = 100 * 32 + 16 * 32 + 3 * per_layer + 64;
  EXPECT_EQ(model_param_counts(c).total, expected);
  EXPECT_EQ(model_param_counts(c).embedding, 100 * 32 + 16 * 32);
}

TEST(ModelLayout, DecayOnlyOnMatrices) {
  Model m(small(Arch::Llama));
  for (const auto& s : m.layout().specs())
    EXPECT_EQ(s.decay == Decay::Yes, s.global_shape.size() == 2) << s.name;
}

TEST(ModelLayout, TensorParallelShardsTileTheGlobalTensorAndInitIdentically) {
  ModelConfig c = small(Arch::Llama);
  ParamLayout full = model_param_layout(c);
  AlignedBuffer<float> pf(full.size());
  model_init_params(full, pf.data(), 5);
  for (int rank = 0; rank < 2; ++rank) {
    ParamLayout shard = model_param_layout(c, TpShard{rank, 2});
    AlignedBuffer<float> ps(shard.size());
    model_init_params(shard, ps.data(), 5);
    for (const auto& s : shard.specs()) {
      const auto& g = full.at(s.name);
      for (int64_t i = 0; i < s.numel(); ++i)
        ASSERT_EQ(ps[s.offset + i], pf[g.offset + s.global_index(i)]) << s.name << " element " << i;
    }
    EXPECT_EQ(shard.at("layers.0.attn.q.weight").split_dim, 0);
    EXPECT_EQ(shard.at("layers.0.attn.proj.weight").split_dim, 1);
    EXPECT_EQ(shard.at("layers.0.attn_norm.weight").split_dim, -1);
  }
}

TEST(ModelLayout, InitIsDeterministicAndSeeded) {
  ParamLayout l = model_param_layout(small(Arch::Gpt2));
  AlignedBuffer<float> a(l.size()), b(l.size()), c(l.size());
  model_init_params(l, a.data(), 1);
  model_init_params(l, b.data(), 1);
  model_init_params(l, c.data(), 2);
  int differ = 0;
  for (int64_t i = 0; i < l.size(); ++i) {
    ASSERT_EQ(a[i], b[i]);
    differ += a[i] != c[i];
  }
  EXPECT_GT(differ, l.numel() / 2);
}

std::string validation_error(const ModelConfig& c) {
  try {
    model_config_validate(c);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Config);
    return e.what();
  }
  return "";
}

TEST(ModelConfigValidate, NamesTheOffendingKeys) {
  ModelConfig c = small(Arch::Gpt2);
  EXPECT_EQ(validation_error(c), "");
  c.n_embd = 30;
  EXPECT_NE(validation_error(c).find("model.n_embd (30) is not divisible by model.n_head (4)"), std::string::npos);
  c = small(Arch::Llama);
  c.n_head_kv = 3;
  EXPECT_NE(validation_error(c).find("model.n_head_kv"), std::string::npos);
  c = small(Arch::Gpt2);
  c.n_layer = 0;
  EXPECT_NE(validation_error(c).find("model.n_layer must be positive"), std::string::npos);
  c = small(Arch::Gpt2);
  c.n_head_kv = 2;
  EXPECT_NE(validation_error(c).find("grouped-query attention needs model.arch = llama"), std::string::npos);
}

TEST(Activations, MemoryGrowsLinearlyInSequenceLength) {
  ModelConfig c = small(Arch::Gpt2);
  c.seq_len = 4096;
  const double b1 = static_cast<double>(activations_allocate(c, 1, 512).bytes());
  const double b2 = static_cast<double>(activations_allocate(c, 1, 1024).bytes());
  const double b4 = static_cast<double>(activations_allocate(c, 1, 2048).bytes());
  EXPECT_NEAR(b2 / b1, 2.0, 1e-6);   // a (T, T) buffer anywhere would make this 4
  EXPECT_NEAR(b4 / b2, 2.0, 1e-6);
}

TEST(ModelFlops, HandComputedForAFixedConfig) {
  ModelConfig c = small(Arch::Gpt2);
  // matmul params: L*(2*C*C + 2*C*C + 2*C*4C) + V*C = 3*(2048+2048+8192) + 3200 = 40064
  // attention: L * 4 * C * (T+1)/2 = 3 * 4 * 32 * 8.5 = 3264
  const double expected = 3.0 * (2.0 * 40064 + 3264);
  EXPECT_DOUBLE_EQ(model_flops_per_token(c, 16), expected);
}

}  // namespace
