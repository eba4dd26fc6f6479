// test_model_grad.cpp -- the whole model's gradient against finite differences (GPT-2 and LLaMA
// with grouped-query attention, tiny configs), gradient accumulation, vocabulary padding.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/error.h"
#include "core/rng.h"
#include "kernels/kernels.h"
#include "model/model.h"

using namespace plinth;
using namespace plinth::model;

namespace {

ModelConfig tiny(Arch arch) {
  ModelConfig c;
  c.arch = arch;
  c.vocab_size = 37;
  c.vocab_pad_multiple = 8;
  c.n_layer = 2;
  c.n_embd = 16;
  c.n_head = arch == Arch::Llama ? 4 : 2;
  c.n_head_kv = arch == Arch::Llama ? 2 : 0;
  c.seq_len = 9;
  c.ffn_hidden = arch == Arch::Llama ? 24 : 0;
  c.tie_embeddings = arch == Arch::Gpt2 ? TieEmbeddings::Yes : TieEmbeddings::No;
  c.init_std = 0.2f;  // large enough that every path carries signal
  return c;
}

std::vector<int32_t> random_tokens(int64_t n, int64_t V, uint64_t seed) {
  Rng r(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = static_cast<int32_t>(r.below(static_cast<uint64_t>(V)));
  return t;
}

class ModelGrad : public ::testing::TestWithParam<Arch> {};

TEST_P(ModelGrad, DirectionalDerivativeOfEveryTensorMatchesFiniteDifferences) {
  kernels::set_num_threads(1);
  const ModelConfig c = tiny(GetParam());
  model_config_validate(c);
  Model m(c);
  const int64_t B = 2, T = c.seq_len, N = B * T;
  AlignedBuffer<float> p(m.layout().size()), g(m.layout().size());
  model_init_params(m.layout(), p.data(), 7);
  auto tokens = random_tokens(N, c.vocab_size, 1), targets = random_tokens(N, c.vocab_size, 2);
  targets[3] = -1;  // an ignored position
  Activations a = activations_allocate(c, B, T);
  int64_t valid = N - 1;
  model_forward(m, p.data(), a, tokens.data(), targets.data(), B, T);
  model_backward(m, p.data(), g.data(), a, tokens.data(), targets.data(), B, T, 1.0f / static_cast<float>(valid));

  auto loss_at = [&](const TensorSpec& s, const std::vector<float>& d, double h) {
    std::vector<float> saved(p.data() + s.offset, p.data() + s.offset + s.numel());
    for (int64_t i = 0; i < s.numel(); ++i) p[s.offset + i] = saved[i] + static_cast<float>(h) * d[i];
    double L = model_forward(m, p.data(), a, tokens.data(), targets.data(), B, T);
    for (int64_t i = 0; i < s.numel(); ++i) p[s.offset + i] = saved[i];
    return L;
  };
  Rng r(99);
  int checked = 0;
  for (const TensorSpec& s : m.layout().specs()) {
    std::vector<float> d(static_cast<size_t>(s.numel()));
    double analytic = 0.0, dnorm = 0.0;
    for (int64_t i = 0; i < s.numel(); ++i) {
      d[i] = static_cast<float>(r.uniform() * 2.0 - 1.0);
      dnorm += static_cast<double>(d[i]) * d[i];
    }
    const double scale = 1.0 / std::sqrt(dnorm);
    for (auto& x : d) x = static_cast<float>(x * scale);
    for (int64_t i = 0; i < s.numel(); ++i) analytic += static_cast<double>(g[s.offset + i]) * d[i];
    const double h = 1e-2;
    const double fd = (loss_at(s, d, h) - loss_at(s, d, -h)) / (2 * h);
    const double tol = 2e-3 + 3e-2 * std::fabs(fd);
    EXPECT_NEAR(analytic, fd, tol) << "tensor " << s.name;
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(m.layout().specs().size()));
}

INSTANTIATE_TEST_SUITE_P(Arch, ModelGrad, ::testing::Values(Arch::Gpt2, Arch::Llama),
                         [](const auto& info) { return std::string(arch_name(info.param)); });

TEST(ModelGrad, AccumulatingTwoHalfBatchesEqualsOneBatch) {
  kernels::set_num_threads(1);
  for (Arch arch : {Arch::Gpt2, Arch::Llama}) {
    const ModelConfig c = tiny(arch);
    Model m(c);
    const int64_t B = 4, T = c.seq_len, N = B * T;
    AlignedBuffer<float> p(m.layout().size()), g1(m.layout().size()), g2(m.layout().size());
    model_init_params(m.layout(), p.data(), 3);
    auto tokens = random_tokens(N, c.vocab_size, 5), targets = random_tokens(N, c.vocab_size, 6);
    Activations full = activations_allocate(c, B, T), half = activations_allocate(c, B / 2, T);
    const float dloss = 1.0f / static_cast<float>(N);
    model_forward(m, p.data(), full, tokens.data(), targets.data(), B, T);
    model_backward(m, p.data(), g1.data(), full, tokens.data(), targets.data(), B, T, dloss);
    for (int64_t h = 0; h < 2; ++h) {
      const int32_t* tk = tokens.data() + h * (N / 2);
      const int32_t* tg = targets.data() + h * (N / 2);
      model_forward(m, p.data(), half, tk, tg, B / 2, T);
      model_backward(m, p.data(), g2.data(), half, tk, tg, B / 2, T, dloss);
    }
    double max_rel = 0.0;
    for (int64_t i = 0; i < m.layout().size(); ++i) {
      double d = std::fabs(g1[i] - g2[i]) / (std::fabs(g1[i]) + 1e-4);
      max_rel = std::max(max_rel, d);
    }
    EXPECT_LT(max_rel, 1e-3) << arch_name(arch);
  }
}

TEST(ModelGrad, VocabularyPaddingDoesNotChangeTheLoss) {
  kernels::set_num_threads(1);
  ModelConfig c1 = tiny(Arch::Gpt2), c2 = c1;
  c1.vocab_pad_multiple = 1;    // Vp = 37
  c2.vocab_pad_multiple = 64;   // Vp = 64: 27 padding rows
  Model m1(c1), m2(c2);
  ASSERT_EQ(c1.padded_vocab(), 37);
  ASSERT_EQ(c2.padded_vocab(), 64);
  AlignedBuffer<float> p1(m1.layout().size()), p2(m2.layout().size());
  model_init_params(m1.layout(), p1.data(), 11);
  model_init_params(m2.layout(), p2.data(), 11);
  // make the padding rows large so that they would dominate a softmax that included them
  const TensorSpec& wte = m2.layout().at("embed.wte");
  for (int64_t i = c2.vocab_size * c2.n_embd; i < wte.numel(); ++i) p2[wte.offset + i] = 5.0f;
  const int64_t B = 2, T = c1.seq_len;
  auto tokens = random_tokens(B * T, c1.vocab_size, 8), targets = random_tokens(B * T, c1.vocab_size, 9);
  Activations a1 = activations_allocate(c1, B, T), a2 = activations_allocate(c2, B, T);
  float l1 = model_forward(m1, p1.data(), a1, tokens.data(), targets.data(), B, T);
  float l2 = model_forward(m2, p2.data(), a2, tokens.data(), targets.data(), B, T);
  EXPECT_NEAR(l1, l2, 1e-5f * std::fabs(l1));
  EXPECT_GT(l1, 0.0f);
}

TEST(ModelGrad, OutOfVocabularyTokenIsAnErrorNamingThePosition) {
  const ModelConfig c = tiny(Arch::Gpt2);
  Model m(c);
  AlignedBuffer<float> p(m.layout().size());
  Activations a = activations_allocate(c, 1, c.seq_len);
  std::vector<int32_t> tokens(c.seq_len, 1);
  tokens[4] = 40;  // >= vocab_size 37, though < padded vocab 40
  try {
    model_forward(m, p.data(), a, tokens.data(), nullptr, 1, c.seq_len);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("position 4"), std::string::npos) << e.what();
  }
}

}  // namespace

// Token ids are checked on the host before a forward (model_check_tokens; the model's forward
// itself only sees device pointers): an id outside [0, vocab_size) is an Input error naming it
// and its position, on the whole-model convenience path too.
TEST(ModelTokens, OutOfVocabularyIdIsRefusedNamingIt) {
  const ModelConfig c = tiny(Arch::Gpt2);
  Model m(c);
  std::vector<float> p(static_cast<size_t>(m.layout().size()));
  model_init_params(m.layout(), p.data(), 1);
  Activations a = m.allocate_activations(1, 4);
  std::vector<int32_t> tokens = {1, 2, static_cast<int32_t>(c.vocab_size), 3}, targets = {2, 3, 4, 5};
  try {
    model_forward(m, p.data(), a, tokens.data(), targets.data(), 1, 4);
    FAIL() << "an out-of-vocabulary token was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Input);
    EXPECT_NE(std::string(e.what()).find("token id 37 at position 2"), std::string::npos) << e.what();
  }
  tokens[2] = -1;
  EXPECT_THROW(model_check_tokens(c, tokens.data(), 4), Error);
  tokens[2] = 0;
  EXPECT_NO_THROW(model_check_tokens(c, tokens.data(), 4));
}
