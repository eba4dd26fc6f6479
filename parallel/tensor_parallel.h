// tensor_parallel.h -- Megatron-style tensor-parallel region operations and the vocabulary-
// parallel cross-entropy. These are the only places where tensor parallelism communicates;
// each takes the tp group as an argument so the call site shows it, and the backend whose
// device buffers it works on (the arithmetic is the backend's; only the collectives are here).
//   column-parallel linear: input replicated, weight rows split; its input gradient is partial
//                           -> tp_copy_region_backward (identity forward / all-reduce backward)
//   row-parallel linear:    input split, output partial -> tp_reduce_region_forward
//                           (all-reduce forward / identity backward)
//   sequence parallelism:   norms run on a sequence shard (B, T/tp, C); the regions become
//                           all-gather (forward) / reduce-scatter (backward) and the reverse.
// Shapes: N = B*T rows; a sequence shard of rank r holds rows b*T + r*T/tp .. + T/tp - 1 for
// every b, stored (B, T/tp, C). Knows nothing of the model.
#pragma once
#include <cstdint>

#include "core/tensor_spec.h"
#include "device/backend.h"
#include "parallel/comm/communicator.h"
#include "parallel/parallel_options.h"

namespace plinth::parallel {

// Every function here synchronizes `be` before a collective touches its buffers (the
// communicator is not ordered with the backend's queue; a no-op on the CPU).
// identity forward; backward: dx (n) all-reduced (sum) over tp
void tp_copy_region_backward(device::Backend& be, comm::Communicator& tp, float* dx, int64_t n);
// forward: y (n) all-reduced (sum) over tp; identity backward
void tp_reduce_region_forward(device::Backend& be, comm::Communicator& tp, float* y, int64_t n);

// all-gather a sequence shard (B, T/tp, C) into the full (B, T, C); scratch (B*T*C floats).
// Its backward is tp_reduce_scatter_sequence. Buffers are device buffers of `be`.
void tp_gather_sequence(device::Backend& be, comm::Communicator& tp, const float* local, float* full, float* scratch,
                        int64_t B, int64_t T, int64_t C);
// reduce-scatter partial (B, T, C) sums into this rank's summed shard (B, T/tp, C); scratch
// (B*T*C floats). Its backward is tp_gather_sequence.
void tp_reduce_scatter_sequence(device::Backend& be, comm::Communicator& tp, const float* full, float* local,
                                float* scratch, int64_t B, int64_t T, int64_t C);
// this rank's shard of a replicated (B, T, C) tensor (no communication)
void tp_take_sequence_shard(device::Backend& be, const comm::Communicator& tp, const float* full, float* local,
                            int64_t B, int64_t T, int64_t C);

// Vocabulary-parallel cross-entropy (Megatron's vocab_parallel_cross_entropy). logits_local
// (N, v_local) are the columns [v_begin, v_begin + v_local) of the padded vocabulary; columns
// >= V are padding and never enter the softmax. No rank holds the full logits: the loss comes
// from the all-reduced row max, sum of exponentials and target logit (the arithmetic is the
// backend's vocab_ce_* operations). losses (N) identical on every rank; stats (2N) saves (max,
// sum-exp) per row for backward (Backend::vocab_ce_backward, no communication). Scratch:
// row_max (N floats), sums (2N doubles). targets < 0 are ignored (loss 0).
void tp_vocab_crossentropy_forward(device::Backend& be, comm::Communicator& tp, float* losses, float* stats,
                                   float* row_max, double* sums, const float* logits_local, const int32_t* targets,
                                   int64_t N, int64_t v_begin, int64_t v_local, int64_t V);

// Assembles full logical tensors from the tp shards: `local` is this rank's layout (slices per
// TensorSpec), `full` the tp = 1 layout of the same tensors. Every rank of tp calls it; every
// rank receives all of full_data (the tensor-parallel tests compare sharded gradients with it;
// training never gathers a whole model onto one rank).
void tp_gather_full_tensors(device::Backend& be, comm::Communicator& tp, const ParamLayout& local,
                            const float* local_data, const ParamLayout& full, float* full_data);

}  // namespace plinth::parallel
