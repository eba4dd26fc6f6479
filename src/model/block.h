// block.h -- one transformer block, forward and backward written out (no autograd).
// GPT-2: x + Attn(LayerNorm(x)), then + MLP_GELU(LayerNorm(.)), biases everywhere.
// LLaMA: x + Attn_RoPE(RMSNorm(x)), then + SwiGLU(RMSNorm(.)), no biases, optional GQA.
// Single-device code on the backend `be` (all buffers are its device buffers) plus explicit
// tensor-parallel region calls on the group `tp` (q/k/v, fc,
// gate, up are column-parallel; attention proj, mlp proj/down are row-parallel). With a group
// of one no region call communicates and the arithmetic is the single-device reference.
#pragma once
#include <cstdint>

#include "device/backend.h"
#include "model/activations.h"
#include "model/model_config.h"
#include "model/param_layout.h"
#include "parallel/comm/communicator.h"

namespace plinth::model {

// in/out: the residual stream (Ns, C) (a sequence shard under sequence parallelism).
void block_forward(device::Backend& be, const ModelConfig& c, comm::Communicator& tp, const BlockOffsets& o,
                   const float* params, LayerActivations& la, const float* in, float* out, Activations& a, int64_t B,
                   int64_t T);

// On entry a.dres (Ns, C) holds d(out); on exit d(in). Parameter gradients accumulate into
// `grads` (same layout as params). Under sequence parallelism the replicated tensors' grads are
// partial sums over the sequence shard; the caller all-reduces them over tp.
void block_backward(device::Backend& be, const ModelConfig& c, comm::Communicator& tp, const BlockOffsets& o,
                    const float* params, float* grads, const LayerActivations& la, const float* in, Activations& a,
                    int64_t B, int64_t T);

}  // namespace plinth::model
