// activations.h -- the tensors a forward pass saves for backward, and backward's scratch.
// Allocated once for a micro-batch shape (B, T) and a tensor-parallel layout (TpDims) and
// reused every step. Forward may run with a smaller (B, T) than allocated (generation).
// Shapes are local: N = B*T rows; Ns = N/tp rows of a sequence shard under sequence
// parallelism (else Ns = N); QDl, KVDl, Fl, Vl = this rank's head, MLP and vocabulary widths.
#pragma once
#include <cstdint>
#include <vector>

#include "device/device_buffer.h"
#include "model/model_config.h"

namespace plinth::model {

using Buf = device::DeviceBuffer<float>;   // every activation lives in the model backend's memory

struct LayerActivations {
  Buf norm1, norm1_mean, norm1_rstd;   // (Ns, C), (Ns), (Ns)
  Buf norm1_full;                      // (N, C) gathered input of q/k/v (sequence parallel only)
  Buf q, k, v;                         // (B, T, NHl, HS), (B, T, NKVl, HS) x2 (after RoPE)
  Buf att, lse;                        // (B, T, NHl, HS), (B, NHl, T)
  Buf res_mid;                         // (Ns, C) residual after attention
  Buf norm2, norm2_mean, norm2_rstd;   // (Ns, C), (Ns), (Ns)
  Buf norm2_full;                      // (N, C) (sequence parallel only)
  Buf fc;                              // (N, Fl) GPT-2: pre-GELU; LLaMA: gate
  Buf up;                              // (N, Fl) LLaMA only
  Buf act;                             // (N, Fl) GELU(fc) or silu(gate)*up
};

struct Activations {
  int64_t B = 0, T = 0;                                 // allocated micro-batch shape
  TpDims dims;
  std::vector<Buf> residual;           // L+1 x (Ns, C); [0] = embeddings
  std::vector<LayerActivations> layers;
  Buf fnorm, fnorm_mean, fnorm_rstd;   // (Ns, C), (Ns), (Ns)
  Buf fnorm_full;                      // (N, C) (sequence parallel only)
  Buf logits;                          // (N, Vl); becomes dlogits in backward
  Buf losses;                          // (N)
  Buf ce_stats;                        // (N, 2) vocabulary-parallel (max, sum-exp)
  Buf ce_max;                          // (N) vocabulary-parallel scratch (tp > 1 only)
  device::DeviceBuffer<double> ce_sums;                 // (N, 2) vocabulary-parallel scratch (tp > 1 only)
  Buf loss;                            // (1) the mean loss of the last forward with targets
  // backward and communication scratch
  Buf dres;                            // (Ns, C) gradient of the residual stream
  Buf dnorm;                           // (Ns, C)
  Buf branch;                          // (N, C) partial output of a row-parallel matmul
  Buf dfull, dnorm_full;               // (N, C) (sequence parallel only)
  Buf seq_scratch;                     // (N, C) (tp > 1 only)
  Buf dact, dfc, dup;                  // (N, Fl)
  Buf datt, dq, dk, dv;                // (N, QDl), (N, QDl), (N, KVDl) x2

  int64_t bytes() const;
};

enum class HoldsHead { Yes, No };   // does the chunk end with the final norm, head and loss?

// For a chunk of n_layers blocks (pipeline parallelism); residual[0] is the chunk's input. In
// the memory of `be` (the backend the model runs on).
Activations activations_allocate(device::Backend& be, const ModelConfig& c, const TpDims& dims, int64_t B, int64_t T,
                                 int64_t n_layers, HoldsHead head);
// The whole model on the CPU backend (the reference; tests and tools).
Activations activations_allocate(const ModelConfig& c, const TpDims& dims, int64_t B, int64_t T);
// tp = 1, CPU backend
Activations activations_allocate(const ModelConfig& c, int64_t B, int64_t T);

}  // namespace plinth::model
