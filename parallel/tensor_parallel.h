// tensor_parallel.h -- Megatron-style tensor-parallel region operations and the vocabulary-
// parallel embedding and cross-entropy. These are the only places where tensor parallelism
// communicates; each takes the tp group as an argument so the call site shows it.
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
#include "parallel/comm/communicator.h"
#include "parallel/parallel_options.h"

namespace plinth::parallel {

// identity forward; backward: dx (n) all-reduced (sum) over tp
void tp_copy_region_backward(comm::Communicator& tp, float* dx, int64_t n);
// forward: y (n) all-reduced (sum) over tp; identity backward
void tp_reduce_region_forward(comm::Communicator& tp, float* y, int64_t n);

// all-gather a sequence shard (B, T/tp, C) into the full (B, T, C); scratch (B*T*C floats).
// Its backward is tp_reduce_scatter_sequence.
void tp_gather_sequence(comm::Communicator& tp, const float* local, float* full, float* scratch, int64_t B,
                        int64_t T, int64_t C);
// reduce-scatter partial (B, T, C) sums into this rank's summed shard (B, T/tp, C); scratch
// (B*T*C floats). Its backward is tp_gather_sequence.
void tp_reduce_scatter_sequence(comm::Communicator& tp, const float* full, float* local, float* scratch, int64_t B,
                                int64_t T, int64_t C);
// this rank's shard of a replicated (B, T, C) tensor (no communication)
void tp_take_sequence_shard(const comm::Communicator& tp, const float* full, float* local, int64_t B, int64_t T,
                            int64_t C);

// Vocabulary-parallel embedding: wte_local holds rows [v_begin, v_begin + v_local) of the
// padded table. out (N, C) = this rank's partial lookup (rows of other ranks are 0); the caller
// reduces it (all-reduce, or reduce-scatter under sequence parallelism).
void tp_vocab_embedding_forward(float* out, const int32_t* tokens, const float* wte_local, int64_t N, int64_t C,
                                int64_t v_begin, int64_t v_local);
// dwte_local += rows of dout whose token falls in this rank's range. dout is the full (N, C).
void tp_vocab_embedding_backward(float* dwte_local, const float* dout, const int32_t* tokens, int64_t N, int64_t C,
                                 int64_t v_begin, int64_t v_local);

// Vocabulary-parallel cross-entropy. logits_local (N, v_local) are the columns
// [v_begin, v_begin + v_local) of the padded vocabulary; columns >= V are padding and never
// enter the softmax. No rank holds the full logits: the loss comes from the all-reduced row
// max, sum of exponentials and target logit. losses (N) identical on every rank; stats (2N)
// saves (max, sum-exp) per row for backward. targets < 0 are ignored (loss 0).
void tp_vocab_crossentropy_forward(comm::Communicator& tp, float* losses, float* stats, const float* logits_local,
                                   const int32_t* targets, int64_t N, int64_t v_begin, int64_t v_local, int64_t V);
// dlogits_local = dlosses[n] * (softmax - onehot) on this rank's columns (padding 0). Writes;
// may alias logits_local. No communication.
void tp_vocab_crossentropy_backward(float* dlogits_local, const float* logits_local, const float* stats,
                                    const int32_t* targets, const float* dlosses, int64_t N, int64_t v_begin,
                                    int64_t v_local, int64_t V);

// Assembles full logical tensors from the tp shards: `local` is this rank's layout (slices per
// TensorSpec), `full` the tp = 1 layout of the same tensors. Every rank of tp calls it; every
// rank receives all of full_data. Used to write checkpoints and to sample on one rank.
void tp_gather_full_tensors(comm::Communicator& tp, const ParamLayout& local, const float* local_data,
                            const ParamLayout& full, float* full_data);

}  // namespace plinth::parallel
