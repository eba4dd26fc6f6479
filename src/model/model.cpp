// model.cpp -- embeddings, block stack, final norm, output layer and loss; forward and backward,
// single-device or tensor-parallel (vocabulary-parallel embedding, head and cross-entropy).
#include "model/model.h"

#include "core/error.h"
#include "model/block.h"
#include "parallel/comm/single_communicator.h"
#include "parallel/tensor_parallel.h"

namespace plinth::model {
namespace tpr = plinth::parallel;

Model::Model(const ModelConfig& config, TpShard tp, parallel::SequenceParallel sp, std::vector<LayerSpan> chunks,
             device::Backend& be)
    : config_(config),
      be_(&be),
      chunks_(chunks.empty() ? std::vector<LayerSpan>{{0, config.n_layer}} : std::move(chunks)),
      dims_(model_tp_dims(config, tp.size, tp.rank, sp)),
      layout_(model_param_layout(config, tp, chunks_)),
      offsets_(model_offsets(config, layout_)) {}

Activations Model::allocate_activations(int64_t B, int64_t T) const {
  PLINTH_CHECK(chunks_.size() == 1 && chunks_[0].begin == 0 && chunks_[0].end == config_.n_layer, Internal,
               "allocate_activations needs the whole model; use allocate_chunk_activations");
  return activations_allocate(*be_, config_, dims_, B, T, config_.n_layer, HoldsHead::Yes);
}

Activations Model::allocate_chunk_activations(int chunk, int64_t B, int64_t T) const {
  PLINTH_CHECK(chunk >= 0 && chunk < static_cast<int>(chunks_.size()), Internal, "no chunk ", chunk);
  return activations_allocate(*be_, config_, dims_, B, T, chunks_[static_cast<size_t>(chunk)].size(),
                              chunk_has_head(chunk) ? HoldsHead::Yes : HoldsHead::No);
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

namespace {

// tokens (B, T) -> a.residual[0] (Ns, C): token (and GPT-2 position) embeddings.
void embed_forward(const Model& m, comm::Communicator& tp, const float* params, Activations& a, const int32_t* tokens,
                   int64_t B, int64_t T) {
  const ModelConfig& c = m.config();
  const ModelOffsets& o = m.offsets();
  const TpDims& d = m.dims();
  const bool sp = d.sequence_parallel();
  device::Backend& be = m.backend();
  const int64_t N = B * T, C = c.n_embd;
  float* x0 = a.residual[0].data();                                                    // (Ns, C)
  if (d.tp == 1) {
    be.embedding_forward(x0, tokens, params + o.wte, N, C);
  } else {
    // vocabulary-parallel lookup: this rank's rows, zeros elsewhere, summed over tp
    be.vocab_embedding_forward(a.branch.data(), tokens, params + o.wte, N, C, d.vocab_begin, d.vocab);
    if (sp) {
      tpr::tp_reduce_scatter_sequence(be, tp, a.branch.data(), x0, a.seq_scratch.data(), B, T, C);
    } else {
      tpr::tp_reduce_region_forward(be, tp, a.branch.data(), N * C);
      be.copy(x0, a.branch.data(), static_cast<size_t>(N * C) * sizeof(float));
    }
  }
  if (c.arch == Arch::Gpt2) {
    if (sp) be.positional_forward(x0, params + o.wpe, B, T / d.tp, C, d.rank * (T / d.tp));
    else be.positional_forward(x0, params + o.wpe, B, T, C, 0);
  }
}

// a.residual.back() (Ns, C) -> final norm -> logits (N, Vl) -> losses (N) -> a.loss (1), the mean.
void head_forward(const Model& m, comm::Communicator& tp, const float* params, Activations& a,
                   const int32_t* targets, int64_t B, int64_t T) {
  const ModelConfig& c = m.config();
  const ModelOffsets& o = m.offsets();
  const TpDims& d = m.dims();
  const bool sp = d.sequence_parallel();
  device::Backend& be = m.backend();
  const int64_t N = B * T, Ns = sp ? N / d.tp : N, C = c.n_embd, V = c.vocab_size;
  const float* x = a.residual.back().data();
  if (c.arch == Arch::Gpt2)
    be.layernorm_forward(a.fnorm.data(), a.fnorm_mean.data(), a.fnorm_rstd.data(), x, params + o.final_norm_w,
                         params + o.final_norm_b, Ns, C, c.norm_eps);
  else
    be.rmsnorm_forward(a.fnorm.data(), a.fnorm_rstd.data(), x, params + o.final_norm_w, Ns, C, c.norm_eps);
  const float* h = a.fnorm.data();
  if (sp) {
    tpr::tp_gather_sequence(be, tp, a.fnorm.data(), a.fnorm_full.data(), a.seq_scratch.data(), B, T, C);
    h = a.fnorm_full.data();
  }
  be.matmul_forward(a.logits.data(), h, params + o.head, nullptr, N, C, d.vocab);   // (N, Vl)
  if (!targets) return;

  if (d.tp == 1)
    be.crossentropy_forward(a.losses.data(), a.logits.data(), targets, N, V, d.vocab);
  else
    tpr::tp_vocab_crossentropy_forward(be, tp, a.losses.data(), a.ce_stats.data(), a.ce_max.data(), a.ce_sums.data(),
                                       a.logits.data(), targets, N, d.vocab_begin, d.vocab, V);
  be.loss_mean(a.loss.data(), a.losses.data(), targets, N);
}

// Under sequence parallelism the replicated tensors (norms, row-parallel biases, positions)
// received gradients from this rank's sequence shard only: sum them over tp. Safe order: every
// rank of the tp group runs the same backward and reaches these calls in the same order.
void sync_replicated_grads(comm::Communicator& tp, const Model& m, float* grads, const std::string& prefix) {
  if (!m.dims().sequence_parallel() || tp.size() == 1) return;
  m.backend().synchronize();   // the communicator reads device memory the backend wrote
  for (const TensorSpec& s : m.layout().specs())
    if (s.split_dim < 0 && s.name.rfind(prefix, 0) == 0)
      tp.all_reduce(grads + s.offset, s.numel(), comm::DType::F32, comm::ReduceOp::Sum);
}


// Loss -> logits -> final norm: leaves d(chunk output) in a.dres (Ns, C).
void head_backward(const Model& m, comm::Communicator& tp, const float* params, float* grads, Activations& a,
                   const int32_t* targets, int64_t B, int64_t T, float dloss) {
  const ModelConfig& c = m.config();
  const ModelOffsets& o = m.offsets();
  const TpDims& d = m.dims();
  const bool sp = d.sequence_parallel();
  device::Backend& be = m.backend();
  const int64_t N = B * T, Ns = sp ? N / d.tp : N, C = c.n_embd, V = c.vocab_size;
  // loss -> logits (in place) -> final norm output
  be.fill(a.losses.data(), dloss, N);   // reuse as d(loss_i)
  if (d.tp == 1)
    be.crossentropy_backward(a.logits.data(), a.logits.data(), targets, a.losses.data(), N, V, d.vocab);
  else   // vocabulary-parallel: the saved (max, sum-exp) make it local (no communication)
    be.vocab_ce_backward(a.logits.data(), a.logits.data(), a.ce_stats.data(), targets, a.losses.data(), N,
                         d.vocab_begin, d.vocab, V);
  float* dcol = sp ? a.dnorm_full.data() : a.dnorm.data();   // (N, C) partial over the vocabulary shards
  be.zero(dcol, static_cast<size_t>(N * C) * sizeof(float));
  const float* h = sp ? a.fnorm_full.data() : a.fnorm.data();
  be.matmul_backward(dcol, grads + o.head, nullptr, a.logits.data(), h, params + o.head, N, C, d.vocab);
  float* dfn = dcol;
  if (sp) {
    tpr::tp_reduce_scatter_sequence(be, tp, dcol, a.dnorm.data(), a.seq_scratch.data(), B, T, C);
    dfn = a.dnorm.data();
  } else {
    tpr::tp_copy_region_backward(be, tp, dcol, N * C);
  }
  a.dres.zero();
  const float* x = a.residual.back().data();
  if (c.arch == Arch::Gpt2)
    be.layernorm_backward(a.dres.data(), grads + o.final_norm_w, grads + o.final_norm_b, dfn, x,
                          params + o.final_norm_w, a.fnorm_mean.data(), a.fnorm_rstd.data(), Ns, C);
  else
    be.rmsnorm_backward(a.dres.data(), grads + o.final_norm_w, dfn, x, params + o.final_norm_w, a.fnorm_rstd.data(),
                        Ns, C);
}

// a.dres (Ns, C) = d(embeddings) -> token (and position) embedding gradients.
void embed_backward(const Model& m, comm::Communicator& tp, float* grads, Activations& a, const int32_t* tokens,
                    int64_t B, int64_t T) {
  const ModelConfig& c = m.config();
  const ModelOffsets& o = m.offsets();
  const TpDims& d = m.dims();
  const bool sp = d.sequence_parallel();
  device::Backend& be = m.backend();
  const int64_t N = B * T, C = c.n_embd;
  if (c.arch == Arch::Gpt2) {
    if (sp) be.positional_backward(grads + o.wpe, a.dres.data(), B, T / d.tp, C, d.rank * (T / d.tp));
    else be.positional_backward(grads + o.wpe, a.dres.data(), B, T, C, 0);
  }
  if (d.tp == 1) {
    be.embedding_backward(grads + o.wte, a.dres.data(), tokens, N, C);
  } else {
    const float* dfull = a.dres.data();   // replicated without sequence parallelism
    if (sp) {
      tpr::tp_gather_sequence(be, tp, a.dres.data(), a.dfull.data(), a.seq_scratch.data(), B, T, C);
      dfull = a.dfull.data();
    }
    be.vocab_embedding_backward(grads + o.wte, dfull, tokens, N, C, d.vocab_begin, d.vocab);
  }
}

}  // namespace

void model_chunk_forward(const Model& m, comm::Communicator& tp, const float* params, Activations& a, int chunk,
                         const int32_t* tokens, const int32_t* targets, int64_t B, int64_t T) {
  const ModelConfig& c = m.config();
  const LayerSpan span = m.chunks().at(static_cast<size_t>(chunk));
  PLINTH_CHECK(static_cast<int64_t>(a.layers.size()) == span.size(), Internal, "activations hold ", a.layers.size(),
               " layers, chunk ", chunk, " has ", span.size());
  const ModelOffsets& o = m.offsets();
  const TpDims& d = m.dims();
  PLINTH_CHECK(tp.size() == d.tp, Internal, "model built for tp = ", d.tp, " run on a group of ", tp.size());
  PLINTH_CHECK(!a.residual.empty() && a.residual[0].backend() == &m.backend(), Internal,
               "activations allocated on another device backend than the model's (use Model::allocate_*activations)");
  PLINTH_CHECK(B * T <= a.B * a.T && T <= a.T, Internal, "micro-batch (", B, ", ", T,
               ") exceeds the allocated activations (", a.B, ", ", a.T, ")");
  PLINTH_CHECK(T <= c.seq_len, Config, "sequence length ", T, " exceeds model.seq_len (", c.seq_len, ")");
  const bool sp = d.sequence_parallel();
  PLINTH_CHECK(!sp || T % d.tp == 0, Config, "sequence parallelism needs T (", T, ") divisible by tp (", d.tp, ")");

  if (span.begin == 0) embed_forward(m, tp, params, a, tokens, B, T);
  for (int64_t l = span.begin; l < span.end; ++l) {
    const size_t j = static_cast<size_t>(l - span.begin);
    block_forward(m.backend(), c, tp, o.blocks[static_cast<size_t>(l)], params, a.layers[j], a.residual[j].data(),
                  a.residual[j + 1].data(), a, B, T);
  }
  if (span.end == c.n_layer) head_forward(m, tp, params, a, targets, B, T);
}

float model_forward(const Model& m, comm::Communicator& tp, const float* params, Activations& a, const int32_t* tokens,
                    const int32_t* targets, int64_t B, int64_t T) {
  PLINTH_CHECK(m.chunks().size() == 1 && m.chunk_has_embedding(0) && m.chunk_has_head(0), Internal,
               "model_forward needs the whole model; pipeline stages use model_chunk_forward");
  if (m.backend().host_accessible()) model_check_tokens(m.config(), tokens, B * T);   // else: checked before upload
  model_chunk_forward(m, tp, params, a, 0, tokens, targets, B, T);
  if (!targets) return 0.0f;
  float loss = 0.0f;
  m.backend().copy_to_host(&loss, a.loss.data(), sizeof(float));   // the one read of this forward
  return loss;
}

void model_chunk_backward(const Model& m, comm::Communicator& tp, const float* params, float* grads, Activations& a,
                          int chunk, const int32_t* tokens, const int32_t* targets, int64_t B, int64_t T, float dloss,
                          BackwardObserver* observer, ReplicatedGrads replicated) {
  const ModelConfig& c = m.config();
  const ModelOffsets& o = m.offsets();
  const LayerSpan span = m.chunks().at(static_cast<size_t>(chunk));
  auto ready = [&](const std::string& prefix) {
    if (replicated == ReplicatedGrads::Sync) sync_replicated_grads(tp, m, grads, prefix);
    if (!observer) return;
    auto [begin, end] = m.range_of(prefix);
    observer->on_grads_ready(begin, end);
  };
  if (span.end == c.n_layer) {
    head_backward(m, tp, params, grads, a, targets, B, T, dloss);
    ready("final_norm.");
    if (c.tie_embeddings == TieEmbeddings::No) ready("head.");
    else if (span.begin > 0 && !m.chunk_has_embedding(0)) ready("embed.");   // the head's copy of wte (pipeline)
  }
  for (int64_t l = span.end - 1; l >= span.begin; --l) {
    const size_t j = static_cast<size_t>(l - span.begin);
    block_backward(m.backend(), c, tp, o.blocks[static_cast<size_t>(l)], params, grads, a.layers[j],
                   a.residual[j].data(), a, B, T);
    ready("layers." + std::to_string(l) + ".");
  }
  if (span.begin == 0) {
    embed_backward(m, tp, grads, a, tokens, B, T);
    ready("embed.");
  }
}

void model_backward(const Model& m, comm::Communicator& tp, const float* params, float* grads, Activations& a,
                    const int32_t* tokens, const int32_t* targets, int64_t B, int64_t T, float dloss,
                    BackwardObserver* observer, ReplicatedGrads replicated) {
  PLINTH_CHECK(m.chunks().size() == 1 && m.chunk_has_embedding(0) && m.chunk_has_head(0), Internal,
               "model_backward needs the whole model; pipeline stages use model_chunk_backward");
  model_chunk_backward(m, tp, params, grads, a, 0, tokens, targets, B, T, dloss, observer, replicated);
}

void model_check_tokens(const ModelConfig& c, const int32_t* host_tokens, int64_t n) {
  const int64_t V = c.vocab_size;
  for (int64_t i = 0; i < n; ++i)
    PLINTH_CHECK(host_tokens[i] >= 0 && host_tokens[i] < V, Input, "token id ", host_tokens[i], " at position ", i,
                 " is outside the model vocabulary [0, ", V, ")");
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
