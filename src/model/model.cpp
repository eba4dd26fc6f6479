// model.cpp -- embeddings, block stack, final norm, output layer and loss; forward and backward.
#include "model/model.h"

#include <cstring>

#include "core/error.h"
#include "kernels/kernels.h"
#include "model/block.h"

namespace plinth::model {
namespace k = plinth::kernels;

Model::Model(const ModelConfig& config, TpShard tp)
    : config_(config), layout_(model_param_layout(config, tp)), offsets_(model_offsets(config, layout_)) {
  PLINTH_CHECK(tp.size == 1, Config, "this model build runs with tp = 1 only (got tp = ", tp.size, ")");
}

std::pair<int64_t, int64_t> Model::range_of(const std::string& prefix) const {
  int64_t begin = -1, end = -1;
  for (const TensorSpec& s : layout_.specs()) {
    if (s.name.rfind(prefix, 0) != 0) continue;
    if (begin < 0) begin = s.offset;
    PLINTH_ASSERT(end < 0 || s.offset >= end);
    end = s.offset + s.numel();
  }
  PLINTH_CHECK(begin >= 0, Internal, "no tensor starts with '", prefix, "'");
  return {begin, end};
}

float model_forward(const Model& m, const float* params, Activations& a, const int32_t* tokens,
                    const int32_t* targets, int64_t B, int64_t T) {
  const ModelConfig& c = m.config();
  const ModelOffsets& o = m.offsets();
  PLINTH_CHECK(B * T <= a.B * a.T && T <= a.T, Internal, "micro-batch (", B, ", ", T,
               ") exceeds the allocated activations (", a.B, ", ", a.T, ")");
  PLINTH_CHECK(T <= c.seq_len, Config, "sequence length ", T, " exceeds model.seq_len (", c.seq_len, ")");
  const int64_t N = B * T, C = c.n_embd, Vp = c.padded_vocab(), V = c.vocab_size;

  for (int64_t i = 0; i < N; ++i)
    PLINTH_CHECK(tokens[i] >= 0 && tokens[i] < V, Input, "token id ", tokens[i],
                 " at position ", i, " is outside the model vocabulary [0, ", V, ")");
  k::embedding_forward(a.residual[0].data(), tokens, params + o.wte, N, C);          // (N, C)
  if (c.arch == Arch::Gpt2) k::positional_forward(a.residual[0].data(), params + o.wpe, B, T, C, 0);

  for (int64_t l = 0; l < c.n_layer; ++l)
    block_forward(c, o.blocks[l], params, a.layers[l], a.residual[l].data(), a.residual[l + 1].data(),
                  a.branch.data(), B, T);

  const float* x = a.residual[c.n_layer].data();
  if (c.arch == Arch::Gpt2)
    k::layernorm_forward(a.fnorm.data(), a.fnorm_mean.data(), a.fnorm_rstd.data(), x,
                         params + o.final_norm_w, params + o.final_norm_b, N, C, c.norm_eps);
  else
    k::rmsnorm_forward(a.fnorm.data(), a.fnorm_rstd.data(), x, params + o.final_norm_w, N, C, c.norm_eps);
  k::matmul_forward(a.logits.data(), a.fnorm.data(), params + o.head, static_cast<const float*>(nullptr),
                    N, C, Vp);                                                         // (N, Vp)
  if (!targets) return 0.0f;

  k::crossentropy_forward(a.losses.data(), a.logits.data(), targets, N, V, Vp);
  double sum = 0.0;
  int64_t count = 0;
  for (int64_t i = 0; i < N; ++i)
    if (targets[i] >= 0) {
      sum += a.losses[i];
      ++count;
    }
  return count ? static_cast<float>(sum / static_cast<double>(count)) : 0.0f;
}

void model_backward(const Model& m, const float* params, float* grads, Activations& a,
                    const int32_t* tokens, const int32_t* targets, int64_t B, int64_t T, float dloss,
                    BackwardObserver* observer) {
  const ModelConfig& c = m.config();
  auto ready = [&](const std::string& prefix) {
    if (!observer) return;
    auto [begin, end] = m.range_of(prefix);
    observer->on_grads_ready(begin, end);
  };
  const ModelOffsets& o = m.offsets();
  const int64_t N = B * T, C = c.n_embd, Vp = c.padded_vocab(), V = c.vocab_size;

  // loss -> logits (in place) -> final norm input
  a.dnorm.zero();
  for (int64_t i = 0; i < N; ++i) a.losses[i] = dloss;   // reuse as d(loss_i)
  k::crossentropy_backward(a.logits.data(), a.logits.data(), targets, a.losses.data(), N, V, Vp);
  k::matmul_backward(a.dnorm.data(), grads + o.head, static_cast<float*>(nullptr), a.logits.data(),
                     a.fnorm.data(), params + o.head, N, C, Vp);
  a.dres.zero();
  const float* x = a.residual[c.n_layer].data();
  if (c.arch == Arch::Gpt2)
    k::layernorm_backward(a.dres.data(), grads + o.final_norm_w, grads + o.final_norm_b, a.dnorm.data(), x,
                          params + o.final_norm_w, a.fnorm_mean.data(), a.fnorm_rstd.data(), N, C);
  else
    k::rmsnorm_backward(a.dres.data(), grads + o.final_norm_w, a.dnorm.data(), x, params + o.final_norm_w,
                        a.fnorm_rstd.data(), N, C);

  ready("final_norm.");
  if (c.tie_embeddings == TieEmbeddings::No) ready("head.");

  for (int64_t l = c.n_layer - 1; l >= 0; --l) {
    block_backward(c, o.blocks[l], params, grads, a.layers[l], a.residual[l].data(), a, B, T);
    ready("layers." + std::to_string(l) + ".");
  }

  if (c.arch == Arch::Gpt2) k::positional_backward(grads + o.wpe, a.dres.data(), B, T, C, 0);
  k::embedding_backward(grads + o.wte, a.dres.data(), tokens, N, C);
  ready("embed.");
}

}  // namespace plinth::model
