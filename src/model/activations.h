// activations.h -- the tensors a forward pass saves for backward, and backward's scratch.
// Allocated once for a micro-batch shape (B, T) and reused every step. Forward may run with a
// smaller (B, T) than allocated (generation), never a larger one.
#pragma once
#include <cstdint>
#include <vector>

#include "core/aligned_buffer.h"
#include "model/model_config.h"

namespace plinth::model {

struct LayerActivations {
  AlignedBuffer<float> norm1, norm1_mean, norm1_rstd;   // (N, C), (N), (N)
  AlignedBuffer<float> q, k, v;                         // (B, T, NH, HS), (B, T, NKV, HS) x2 (after RoPE)
  AlignedBuffer<float> att, lse;                        // (B, T, NH, HS), (B, NH, T)
  AlignedBuffer<float> res_mid;                         // (N, C) residual after attention
  AlignedBuffer<float> norm2, norm2_mean, norm2_rstd;   // (N, C), (N), (N)
  AlignedBuffer<float> fc;                              // (N, F) GPT-2: pre-GELU; LLaMA: gate
  AlignedBuffer<float> up;                              // (N, F) LLaMA only
  AlignedBuffer<float> act;                             // (N, F) GELU(fc) or silu(gate)*up
};

struct Activations {
  int64_t B = 0, T = 0;                                 // allocated micro-batch shape
  std::vector<AlignedBuffer<float>> residual;           // L+1 x (N, C); [0] = embeddings
  std::vector<LayerActivations> layers;
  AlignedBuffer<float> fnorm, fnorm_mean, fnorm_rstd;   // (N, C), (N), (N)
  AlignedBuffer<float> logits;                          // (N, Vp); becomes dlogits in backward
  AlignedBuffer<float> losses;                          // (N)
  // backward scratch
  AlignedBuffer<float> dres;                            // (N, C) gradient of the residual stream
  AlignedBuffer<float> dnorm, branch;                   // (N, C)
  AlignedBuffer<float> dact, dfc, dup;                  // (N, F)
  AlignedBuffer<float> datt, dq, dk, dv;                // (N, NH*HS), (N, NKV*HS) x2

  int64_t bytes() const;
};

Activations activations_allocate(const ModelConfig& c, int64_t B, int64_t T);

}  // namespace plinth::model
