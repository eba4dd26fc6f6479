// activations.h -- the tensors a forward pass saves for backward, and backward's scratch.
// Allocated once for a micro-batch shape (B, T) and a tensor-parallel layout (TpDims) and
// reused every step. Forward may run with a smaller (B, T) than allocated (generation).
// Shapes are local: N = B*T rows; Ns = N/tp rows of a sequence shard under sequence
// parallelism (else Ns = N); QDl, KVDl, Fl, Vl = this rank's head, MLP and vocabulary widths.
#pragma once
#include <cstdint>
#include <vector>

#include "core/aligned_buffer.h"
#include "model/model_config.h"

namespace plinth::model {

struct LayerActivations {
  AlignedBuffer<float> norm1, norm1_mean, norm1_rstd;   // (Ns, C), (Ns), (Ns)
  AlignedBuffer<float> norm1_full;                      // (N, C) gathered input of q/k/v (sequence parallel only)
  AlignedBuffer<float> q, k, v;                         // (B, T, NHl, HS), (B, T, NKVl, HS) x2 (after RoPE)
  AlignedBuffer<float> att, lse;                        // (B, T, NHl, HS), (B, NHl, T)
  AlignedBuffer<float> res_mid;                         // (Ns, C) residual after attention
  AlignedBuffer<float> norm2, norm2_mean, norm2_rstd;   // (Ns, C), (Ns), (Ns)
  AlignedBuffer<float> norm2_full;                      // (N, C) (sequence parallel only)
  AlignedBuffer<float> fc;                              // (N, Fl) GPT-2: pre-GELU; LLaMA: gate
  AlignedBuffer<float> up;                              // (N, Fl) LLaMA only
  AlignedBuffer<float> act;                             // (N, Fl) GELU(fc) or silu(gate)*up
};

struct Activations {
  int64_t B = 0, T = 0;                                 // allocated micro-batch shape
  TpDims dims;
  std::vector<AlignedBuffer<float>> residual;           // L+1 x (Ns, C); [0] = embeddings
  std::vector<LayerActivations> layers;
  AlignedBuffer<float> fnorm, fnorm_mean, fnorm_rstd;   // (Ns, C), (Ns), (Ns)
  AlignedBuffer<float> fnorm_full;                      // (N, C) (sequence parallel only)
  AlignedBuffer<float> logits;                          // (N, Vl); becomes dlogits in backward
  AlignedBuffer<float> losses;                          // (N)
  AlignedBuffer<float> ce_stats;                        // (N, 2) vocabulary-parallel (max, sum-exp)
  // backward and communication scratch
  AlignedBuffer<float> dres;                            // (Ns, C) gradient of the residual stream
  AlignedBuffer<float> dnorm;                           // (Ns, C)
  AlignedBuffer<float> branch;                          // (N, C) partial output of a row-parallel matmul
  AlignedBuffer<float> dfull, dnorm_full;               // (N, C) (sequence parallel only)
  AlignedBuffer<float> seq_scratch;                     // (N, C) (tp > 1 only)
  AlignedBuffer<float> dact, dfc, dup;                  // (N, Fl)
  AlignedBuffer<float> datt, dq, dk, dv;                // (N, QDl), (N, QDl), (N, KVDl) x2

  int64_t bytes() const;
};

enum class HoldsHead { Yes, No };   // does the chunk end with the final norm, head and loss?

// For a chunk of n_layers blocks (pipeline parallelism); residual[0] is the chunk's input.
Activations activations_allocate(const ModelConfig& c, const TpDims& dims, int64_t B, int64_t T, int64_t n_layers,
                                 HoldsHead head);
// The whole model.
Activations activations_allocate(const ModelConfig& c, const TpDims& dims, int64_t B, int64_t T);
// tp = 1
Activations activations_allocate(const ModelConfig& c, int64_t B, int64_t T);

}  // namespace plinth::model
