// model.cpp -- embeddings, block stack, final norm, output layer and loss; forward and backward,
// single-device or tensor-parallel (vocabulary-parallel embedding, head and cross-entropy).
#include "model/model.h"

#include <cstring>

#include "core/error.h"
#include "kernels/kernels.h"
#include "model/block.h"
#include "parallel/comm/single_communicator.h"

namespace plinth::model {
namespace k = plinth::kernels;
namespace tpr = plinth::parallel;

Model::Model(const ModelConfig& config, TpShard tp, parallel::SequenceParallel sp)
    : config_(config),
      dims_(model_tp_dims(config, tp.size, tp.rank, sp)),
      layout_(model_param_layout(config, tp)),
      offsets_(model_offsets(config, layout_)) {}

Activations Model::allocate_activations(int64_t B, int64_t T) const {
  return activations_allocate(config_, dims_, B, T);
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

float model_forward(const Model& m, comm::Communicator& tp, const float* params, Activations& a, const int32_t* tokens,
                    const int32_t* targets, int64_t B, int64_t T) {
  const ModelConfig& c = m.config();
  const ModelOffsets& o = m.offsets();
  const TpDims& d = m.dims();
  PLINTH_CHECK(tp.size() == d.tp, Internal, "model built for tp = ", d.tp, " run on a group of ", tp.size());
  PLINTH_CHECK(B * T <= a.B * a.T && T <= a.T, Internal, "micro-batch (", B, ", ", T,
               ") exceeds the allocated activations (", a.B, ", ", a.T, ")");
  PLINTH_CHECK(T <= c.seq_len, Config, "sequence length ", T, " exceeds model.seq_len (", c.seq_len, ")");
  const bool sp = d.sequence_parallel();
  PLINTH_CHECK(!sp || T % d.tp == 0, Config, "sequence parallelism needs T (", T, ") divisible by tp (", d.tp, ")");
  const int64_t N = B * T, Ns = sp ? N / d.tp : N, C = c.n_embd, V = c.vocab_size;

  for (int64_t i = 0; i < N; ++i)
    PLINTH_CHECK(tokens[i] >= 0 && tokens[i] < V, Input, "token id ", tokens[i], " at position ", i,
                 " is outside the model vocabulary [0, ", V, ")");
  float* x0 = a.residual[0].data();                                                    // (Ns, C)
  if (d.tp == 1) {
    k::embedding_forward(x0, tokens, params + o.wte, N, C);
  } else {
    // vocabulary-parallel lookup: this rank's rows, zeros elsewhere, summed over tp
    tpr::tp_vocab_embedding_forward(a.branch.data(), tokens, params + o.wte, N, C, d.vocab_begin, d.vocab);
    if (sp) {
      tpr::tp_reduce_scatter_sequence(tp, a.branch.data(), x0, a.seq_scratch.data(), B, T, C);
    } else {
      tpr::tp_reduce_region_forward(tp, a.branch.data(), N * C);
      std::memcpy(x0, a.branch.data(), static_cast<size_t>(N * C) * sizeof(float));
    }
  }
  if (c.arch == Arch::Gpt2) {
    if (sp) k::positional_forward(x0, params + o.wpe, B, T / d.tp, C, d.rank * (T / d.tp));
    else k::positional_forward(x0, params + o.wpe, B, T, C, 0);
  }

  for (int64_t l = 0; l < c.n_layer; ++l)
    block_forward(c, tp, o.blocks[l], params, a.layers[l], a.residual[l].data(), a.residual[l + 1].data(), a, B, T);

  const float* x = a.residual[c.n_layer].data();
  if (c.arch == Arch::Gpt2)
    k::layernorm_forward(a.fnorm.data(), a.fnorm_mean.data(), a.fnorm_rstd.data(), x, params + o.final_norm_w,
                         params + o.final_norm_b, Ns, C, c.norm_eps);
  else
    k::rmsnorm_forward(a.fnorm.data(), a.fnorm_rstd.data(), x, params + o.final_norm_w, Ns, C, c.norm_eps);
  const float* h = a.fnorm.data();
  if (sp) {
    tpr::tp_gather_sequence(tp, a.fnorm.data(), a.fnorm_full.data(), a.seq_scratch.data(), B, T, C);
    h = a.fnorm_full.data();
  }
  k::matmul_forward(a.logits.data(), h, params + o.head, static_cast<const float*>(nullptr), N, C, d.vocab);  // (N, Vl)
  if (!targets) return 0.0f;

  if (d.tp == 1)
    k::crossentropy_forward(a.losses.data(), a.logits.data(), targets, N, V, d.vocab);
  else
    tpr::tp_vocab_crossentropy_forward(tp, a.losses.data(), a.ce_stats.data(), a.logits.data(), targets, N,
                                       d.vocab_begin, d.vocab, V);
  double sum = 0.0;
  int64_t count = 0;
  for (int64_t i = 0; i < N; ++i)
    if (targets[i] >= 0) {
      sum += a.losses[i];
      ++count;
    }
  return count ? static_cast<float>(sum / static_cast<double>(count)) : 0.0f;
}

namespace {

// Under sequence parallelism the replicated tensors (norms, row-parallel biases, positions)
// received gradients from this rank's sequence shard only: sum them over tp. Safe order: every
// rank of the tp group runs the same backward and reaches these calls in the same order.
void sync_replicated_grads(comm::Communicator& tp, const Model& m, float* grads, const std::string& prefix) {
  if (!m.dims().sequence_parallel() || tp.size() == 1) return;
  for (const TensorSpec& s : m.layout().specs())
    if (s.split_dim < 0 && s.name.rfind(prefix, 0) == 0)
      tp.all_reduce(grads + s.offset, s.numel(), comm::DType::F32, comm::ReduceOp::Sum);
}

}  // namespace

void model_backward(const Model& m, comm::Communicator& tp, const float* params, float* grads, Activations& a,
                    const int32_t* tokens, const int32_t* targets, int64_t B, int64_t T, float dloss,
                    BackwardObserver* observer, ReplicatedGrads replicated) {
  const ModelConfig& c = m.config();
  const ModelOffsets& o = m.offsets();
  const TpDims& d = m.dims();
  const bool sp = d.sequence_parallel();
  const int64_t N = B * T, Ns = sp ? N / d.tp : N, C = c.n_embd, V = c.vocab_size;
  auto ready = [&](const std::string& prefix) {
    if (replicated == ReplicatedGrads::Sync) sync_replicated_grads(tp, m, grads, prefix);
    if (!observer) return;
    auto [begin, end] = m.range_of(prefix);
    observer->on_grads_ready(begin, end);
  };

  // loss -> logits (in place) -> final norm output
  for (int64_t i = 0; i < N; ++i) a.losses[i] = dloss;   // reuse as d(loss_i)
  if (d.tp == 1)
    k::crossentropy_backward(a.logits.data(), a.logits.data(), targets, a.losses.data(), N, V, d.vocab);
  else
    tpr::tp_vocab_crossentropy_backward(a.logits.data(), a.logits.data(), a.ce_stats.data(), targets, a.losses.data(),
                                        N, d.vocab_begin, d.vocab, V);
  float* dcol = sp ? a.dnorm_full.data() : a.dnorm.data();   // (N, C) partial over the vocabulary shards
  std::memset(dcol, 0, static_cast<size_t>(N * C) * sizeof(float));
  const float* h = sp ? a.fnorm_full.data() : a.fnorm.data();
  k::matmul_backward(dcol, grads + o.head, static_cast<float*>(nullptr), a.logits.data(), h, params + o.head, N, C,
                     d.vocab);
  float* dfn = dcol;
  if (sp) {
    tpr::tp_reduce_scatter_sequence(tp, dcol, a.dnorm.data(), a.seq_scratch.data(), B, T, C);
    dfn = a.dnorm.data();
  } else {
    tpr::tp_copy_region_backward(tp, dcol, N * C);
  }
  a.dres.zero();
  const float* x = a.residual[c.n_layer].data();
  if (c.arch == Arch::Gpt2)
    k::layernorm_backward(a.dres.data(), grads + o.final_norm_w, grads + o.final_norm_b, dfn, x,
                          params + o.final_norm_w, a.fnorm_mean.data(), a.fnorm_rstd.data(), Ns, C);
  else
    k::rmsnorm_backward(a.dres.data(), grads + o.final_norm_w, dfn, x, params + o.final_norm_w, a.fnorm_rstd.data(),
                        Ns, C);
  ready("final_norm.");
  if (c.tie_embeddings == TieEmbeddings::No) ready("head.");

  for (int64_t l = c.n_layer - 1; l >= 0; --l) {
    block_backward(c, tp, o.blocks[l], params, grads, a.layers[l], a.residual[l].data(), a, B, T);
    ready("layers." + std::to_string(l) + ".");
  }

  if (c.arch == Arch::Gpt2) {
    if (sp) k::positional_backward(grads + o.wpe, a.dres.data(), B, T / d.tp, C, d.rank * (T / d.tp));
    else k::positional_backward(grads + o.wpe, a.dres.data(), B, T, C, 0);
  }
  if (d.tp == 1) {
    k::embedding_backward(grads + o.wte, a.dres.data(), tokens, N, C);
  } else {
    const float* dfull = a.dres.data();   // replicated without sequence parallelism
    if (sp) {
      tpr::tp_gather_sequence(tp, a.dres.data(), a.dfull.data(), a.seq_scratch.data(), B, T, C);
      dfull = a.dfull.data();
    }
    tpr::tp_vocab_embedding_backward(grads + o.wte, dfull, tokens, N, C, d.vocab_begin, d.vocab);
  }
  ready("embed.");
}

float model_forward(const Model& m, const float* params, Activations& a, const int32_t* tokens, const int32_t* targets,
                    int64_t B, int64_t T) {
  comm::SingleCommunicator single("tp");
  return model_forward(m, single, params, a, tokens, targets, B, T);
}

void model_backward(const Model& m, const float* params, float* grads, Activations& a, const int32_t* tokens,
                    const int32_t* targets, int64_t B, int64_t T, float dloss, BackwardObserver* observer) {
  comm::SingleCommunicator single("tp");
  model_backward(m, single, params, grads, a, tokens, targets, B, T, dloss, observer);
}

}  // namespace plinth::model
