// block.h -- one transformer block, forward and backward written out (no autograd).
// GPT-2: x + Attn(LayerNorm(x)), then + MLP_GELU(LayerNorm(.)), biases everywhere.
// LLaMA: x + Attn_RoPE(RMSNorm(x)), then + SwiGLU(RMSNorm(.)), no biases, optional GQA.
// Single-device code: a later tensor-parallel issue inserts region calls (taking the tp group
// as an argument) around the column- and row-parallel matmuls here.
#pragma once
#include <cstdint>

#include "model/activations.h"
#include "model/model_config.h"
#include "model/param_layout.h"

namespace plinth::model {

// in (B, T, C) -> out (B, T, C); saves what backward needs in `la`. `scratch` (N, C).
void block_forward(const ModelConfig& c, const BlockOffsets& o, const float* params, LayerActivations& la,
                   const float* in, float* out, float* scratch, int64_t B, int64_t T);

// On entry `dres` (N, C) holds d(out); on exit it holds d(in). Parameter gradients accumulate
// into `grads` (same layout as params). `a` supplies backward scratch.
void block_backward(const ModelConfig& c, const BlockOffsets& o, const float* params, float* grads,
                    const LayerActivations& la, const float* in, Activations& a, int64_t B, int64_t T);

}  // namespace plinth::model
