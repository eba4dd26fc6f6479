// tensor_parallel.cpp -- tp region collectives, sequence gather/scatter, the vocabulary-parallel
// cross-entropy's collectives, and the assembly of full tensors from tp shards. The arithmetic
// between collectives is the backend's; buffers are its device buffers.
#include "parallel/tensor_parallel.h"

#include <vector>

#include "core/error.h"
#include "device/device_buffer.h"

namespace plinth::parallel {
namespace {

constexpr size_t kF = sizeof(float);

}  // namespace

void tp_copy_region_backward(device::Backend& be, comm::Communicator& tp, float* dx, int64_t n) {
  if (tp.size() == 1) return;
  be.synchronize();
  tp.all_reduce(dx, n, comm::DType::F32, comm::ReduceOp::Sum);
}

void tp_reduce_region_forward(device::Backend& be, comm::Communicator& tp, float* y, int64_t n) {
  if (tp.size() == 1) return;
  be.synchronize();
  tp.all_reduce(y, n, comm::DType::F32, comm::ReduceOp::Sum);
}

void tp_gather_sequence(device::Backend& be, comm::Communicator& tp, const float* local, float* full, float* scratch,
                        int64_t B, int64_t T, int64_t C) {
  const int R = tp.size();
  const int64_t Tl = T / R, shard = B * Tl * C;
  if (R == 1) {
    be.copy(full, local, static_cast<size_t>(shard) * kF);
    return;
  }
  be.synchronize();
  tp.all_gather(local, scratch, std::vector<int64_t>(static_cast<size_t>(R), shard), comm::DType::F32);
  // scratch (R, B, Tl, C) -> full (B, T, C): rank r's block of every sequence
  for (int r = 0; r < R; ++r)
    be.copy_2d(full + r * Tl * C, static_cast<size_t>(T * C) * kF, scratch + r * shard, static_cast<size_t>(Tl * C) * kF,
               static_cast<size_t>(Tl * C) * kF, static_cast<size_t>(B));
}

void tp_reduce_scatter_sequence(device::Backend& be, comm::Communicator& tp, const float* full, float* local,
                                float* scratch, int64_t B, int64_t T, int64_t C) {
  const int R = tp.size();
  const int64_t Tl = T / R, shard = B * Tl * C;
  if (R == 1) {
    be.copy(local, full, static_cast<size_t>(shard) * kF);
    return;
  }
  // full (B, T, C) -> scratch (R, B, Tl, C), then each rank receives its summed (B, Tl, C)
  for (int r = 0; r < R; ++r)
    be.copy_2d(scratch + r * shard, static_cast<size_t>(Tl * C) * kF, full + r * Tl * C, static_cast<size_t>(T * C) * kF,
               static_cast<size_t>(Tl * C) * kF, static_cast<size_t>(B));
  be.synchronize();
  tp.reduce_scatter(scratch, local, std::vector<int64_t>(static_cast<size_t>(R), shard), comm::DType::F32,
                    comm::ReduceOp::Sum);
}

void tp_take_sequence_shard(device::Backend& be, const comm::Communicator& tp, const float* full, float* local,
                            int64_t B, int64_t T, int64_t C) {
  const int64_t Tl = T / tp.size(), r = tp.rank();
  be.copy_2d(local, static_cast<size_t>(Tl * C) * kF, full + r * Tl * C, static_cast<size_t>(T * C) * kF,
             static_cast<size_t>(Tl * C) * kF, static_cast<size_t>(B));
}

void tp_vocab_crossentropy_forward(device::Backend& be, comm::Communicator& tp, float* losses, float* stats,
                                   float* row_max, double* sums, const float* logits_local, const int32_t* targets,
                                   int64_t N, int64_t v_begin, int64_t v_local, int64_t V) {
  be.vocab_ce_row_max(row_max, logits_local, N, v_begin, v_local, V);
  be.synchronize();
  tp.all_reduce(row_max, N, comm::DType::F32, comm::ReduceOp::Max);
  be.vocab_ce_row_sums(sums, logits_local, row_max, targets, N, v_begin, v_local, V);   // (sum-exp, target logit)
  be.synchronize();
  tp.all_reduce(sums, 2 * N, comm::DType::F64, comm::ReduceOp::Sum);
  be.vocab_ce_finish(losses, stats, row_max, sums, targets, N);
}

void tp_gather_full_tensors(device::Backend& be, comm::Communicator& tp, const ParamLayout& local,
                            const float* local_data, const ParamLayout& full, float* full_data) {
  const int R = tp.size();
  device::DeviceBuffer<float> tmp;
  for (const TensorSpec& s : local.specs()) {
    const TensorSpec& f = full.at(s.name);
    const int64_t n = s.numel();
    if (s.split_dim < 0 || R == 1) {
      PLINTH_ASSERT(n == f.numel());
      be.copy(full_data + f.offset, local_data + s.offset, static_cast<size_t>(n) * kF);
      continue;
    }
    if (tmp.size() < static_cast<size_t>(n * R)) tmp.allocate(be, static_cast<size_t>(n * R));
    // Safe order: every rank iterates the same specs in layout order.
    be.synchronize();
    tp.all_gather(local_data + s.offset, tmp.data(), std::vector<int64_t>(static_cast<size_t>(R), n), comm::DType::F32);
    if (s.split_dim == 0) {   // rank r holds rows [r*rows, (r+1)*rows): shards are consecutive
      be.copy(full_data + f.offset, tmp.data(), static_cast<size_t>(n * R) * kF);
    } else {                  // split_dim 1 of a 2-D tensor: interleave column blocks row by row
      PLINTH_ASSERT(s.local_shape.size() == 2 && s.split_dim == 1);
      const int64_t rows = s.local_shape[0], cols = s.local_shape[1];
      for (int r = 0; r < R; ++r)
        be.copy_2d(full_data + f.offset + r * cols, static_cast<size_t>(cols * R) * kF, tmp.data() + r * n,
                   static_cast<size_t>(cols) * kF, static_cast<size_t>(cols) * kF, static_cast<size_t>(rows));
    }
  }
}

}  // namespace plinth::parallel
