// model.h -- a decoder-only language model: embeddings, transformer blocks, final norm, head
// and softmax cross-entropy, forward and backward over one flat parameter buffer.
// The model owns no parameters: callers pass the flat params/grads buffers laid out by
// layout(). No autograd: backward calls each block's backward in reverse order.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor_spec.h"
#include "device/backend.h"
#include "model/activations.h"
#include "model/model_config.h"
#include "model/param_layout.h"
#include "parallel/comm/communicator.h"
#include "parallel/parallel_options.h"

namespace plinth::model {

// Told, during backward, when the gradients of a contiguous range of the flat buffer are
// final (a block's tensors after its backward; the embeddings last). Data parallelism uses it
// to start a bucket's reduction while the rest of backward runs. Ranges are flat-buffer
// offsets [begin, end); every tensor is reported exactly once per backward.
class BackwardObserver {
 public:
  virtual ~BackwardObserver() = default;
  virtual void on_grads_ready(int64_t begin, int64_t end) = 0;
};

class Model {
 public:
  // tp: this rank's tensor-parallel shard (the layout holds its slices); sp: sequence parallelism;
  // chunks: the layer ranges this rank holds under pipeline parallelism (empty: all layers, one
  // chunk). See model_param_layout for which of embedding / head a rank holds. be: the device the
  // model computes on (its parameters, gradients and activations are that backend's buffers).
  explicit Model(const ModelConfig& config, TpShard tp = {},
                 parallel::SequenceParallel sp = parallel::SequenceParallel::Off, std::vector<LayerSpan> chunks = {},
                 device::Backend& be = device::cpu_backend());
  device::Backend& backend() const { return *be_; }
  const ModelConfig& config() const { return config_; }
  const TpDims& dims() const { return dims_; }
  const ParamLayout& layout() const { return layout_; }
  const ModelOffsets& offsets() const { return offsets_; }
  const std::vector<LayerSpan>& chunks() const { return chunks_; }
  bool chunk_has_embedding(int chunk) const { return chunks_[static_cast<size_t>(chunk)].begin == 0; }
  bool chunk_has_head(int chunk) const { return chunks_[static_cast<size_t>(chunk)].end == config_.n_layer; }
  // Activations for micro-batches up to (B, T) on this model's tensor-parallel layout: of the
  // whole model (one chunk holding every layer), or of one chunk.
  Activations allocate_activations(int64_t B, int64_t T) const;
  Activations allocate_chunk_activations(int chunk, int64_t B, int64_t T) const;
  // Flat-buffer range [begin, end) holding the tensors whose names start with `prefix`
  // (they are contiguous by construction of the layout).
  std::pair<int64_t, int64_t> range_of(const std::string& prefix) const;

 private:
  ModelConfig config_;
  device::Backend* be_;
  std::vector<LayerSpan> chunks_;
  TpDims dims_;
  ParamLayout layout_;
  ModelOffsets offsets_;
};

// Every pointer below (params, grads, tokens, targets, activations) is a device pointer of the
// model's backend; token ids must lie in [0, vocab_size) (model_check_tokens checks host tokens
// before they are copied to the device).
//
// tokens, targets (B, T) int32, the same on every rank of the tp group. Fills a.logits
// (N, Vl: this rank's vocabulary columns), a.losses (N) and a.loss (1) = the mean loss over the
// targets that are >= 0, and returns that mean read to the host (a synchronising copy; targets ==
// nullptr: logits only, returns 0). `tp` is the tensor-parallel group (size m.dims().tp); every
// rank of it calls this together.
float model_forward(const Model& m, comm::Communicator& tp, const float* params, Activations& a,
                    const int32_t* tokens, const int32_t* targets, int64_t B, int64_t T);

// Under sequence parallelism the gradients of replicated tensors are partial sums over the
// sequence shards until they are all-reduced over tp. With gradient accumulation this must
// happen once per optimizer step, in the backward of the last micro-batch (Sync); the earlier
// micro-batches pass Defer.
enum class ReplicatedGrads { Sync, Defer };

// Backward of the last model_forward. Each valid target's loss is weighted by dloss (e.g.
// 1 / tokens-per-optimizer-step); gradients ACCUMULATE into grads. With ReplicatedGrads::Sync
// the replicated tensors' gradients are all-reduced over tp (sequence parallelism only), block
// by block, before the observer hears that they are final.
void model_backward(const Model& m, comm::Communicator& tp, const float* params, float* grads, Activations& a,
                    const int32_t* tokens, const int32_t* targets, int64_t B, int64_t T, float dloss,
                    BackwardObserver* observer = nullptr, ReplicatedGrads replicated = ReplicatedGrads::Sync);

// Pipeline pieces: forward / backward of one chunk of the model (its layer range, plus the
// embedding if it starts at layer 0 and the final norm, head and loss if it ends the network).
// Activations from allocate_chunk_activations(chunk, ...). Forward input: tokens when the chunk
// holds the embedding, else a.residual[0] (Ns, C) as received from the previous stage; output:
// the mean loss in a.loss (1, on the device) when it holds the head (targets != nullptr), else
// a.residual.back() (Ns, C) to send on. Nothing is read to the host. Backward input: the loss
// (head chunk) or a.dres (Ns, C) = d(output) as received; output: a.dres = d(input) unless the
// chunk holds the embedding. The observer hears about each
// block's tensors, and the embedding / head tensors of this chunk, as in model_backward.
void model_chunk_forward(const Model& m, comm::Communicator& tp, const float* params, Activations& a, int chunk,
                         const int32_t* tokens, const int32_t* targets, int64_t B, int64_t T);
void model_chunk_backward(const Model& m, comm::Communicator& tp, const float* params, float* grads, Activations& a,
                          int chunk, const int32_t* tokens, const int32_t* targets, int64_t B, int64_t T, float dloss,
                          BackwardObserver* observer, ReplicatedGrads replicated);

// Throws Error(Input) naming the position when a (host) token id lies outside [0, vocab_size).
void model_check_tokens(const ModelConfig& c, const int32_t* host_tokens, int64_t n);

// Single-device conveniences (tp = 1; no communication).
float model_forward(const Model& m, const float* params, Activations& a, const int32_t* tokens,
                    const int32_t* targets, int64_t B, int64_t T);
void model_backward(const Model& m, const float* params, float* grads, Activations& a,
                    const int32_t* tokens, const int32_t* targets, int64_t B, int64_t T, float dloss,
                    BackwardObserver* observer = nullptr);

}  // namespace plinth::model
