// data_parallel.h -- gradient synchronisation across the data-parallel group.
// The flat gradient buffer is cut into buckets of whole tensors (about bucket_bytes each, in
// layout order). During the backward of the last micro-batch, the model reports ranges whose
// gradients are final; a bucket's collective starts as soon as all its tensors are reported,
// overlapping with the rest of backward (poll() lets MPI progress it).
//   ZeroStage::None: each bucket is all-reduced (sum); every rank then holds the full gradient.
//   ZeroStage::One:  each bucket is reduce-scattered; rank r holds the summed piece r of every
//                    bucket and updates only those pieces (its optimizer shard); afterwards
//                    gather_params() all-gathers the updated parameters piece by piece.
// Knows nothing of the model: only flat-buffer offsets and the tensor specs.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "core/tensor_spec.h"
#include "device/device_buffer.h"
#include "parallel/comm/communicator.h"
#include "parallel/parallel_options.h"

namespace plinth::parallel {

struct GradBucket {
  int64_t begin = 0, end = 0;              // flat-buffer range (whole tensors)
  int first_tensor = 0, n_tensors = 0;     // indices into layout.specs()
  std::vector<int64_t> piece_counts;       // ZeRO-1: elements of each dp rank's piece
  std::vector<int64_t> piece_starts;       // ZeRO-1: offset of each piece inside the bucket
};

// Splits a layout into buckets of whole tensors of at least bucket_bytes (the last may be
// smaller), and each bucket into dp pieces (sizes differ by at most one element).
std::vector<GradBucket> grad_buckets(const ParamLayout& layout, int64_t bucket_bytes, int dp_size);

class GradSync {
 public:
  // Buffers (grads, params, states) are device buffers of `be`; the collectives run on them.
  GradSync(const ParamLayout& layout, comm::Communicator& dp, int64_t bucket_bytes, ZeroStage zero,
           device::Backend& be = device::cpu_backend());
  // Bucket collectives still in flight (an exception left the step early) are settled first:
  // their Works wait for them (or end the job) while staging_ still exists.
  ~GradSync();
  GradSync(const GradSync&) = delete;
  GradSync& operator=(const GradSync&) = delete;

  // Call before the backward of the last micro-batch of a step.
  void begin_step(float* grads);
  // The gradients of the tensors inside [begin, end) are final: start every bucket that is
  // now complete. Safe order: every rank reports the same ranges in the same order (the same
  // model runs the same backward), so bucket collectives are issued in one order everywhere.
  void on_grads_ready(int64_t begin, int64_t end);
  // Waits for every bucket (starting any not yet started, in bucket order). Returns the
  // seconds spent waiting here: communication that backward did not hide.
  double finish();

  // The ranges this rank's optimizer updates: the whole buffer, or its ZeRO-1 pieces.
  const std::vector<FlatRange>& owned_ranges() const { return owned_; }
  // ZeRO-1: all-gather the updated parameter pieces so every rank holds all parameters.
  void gather_params(float* params);
  // ZeRO-1: all-gather a state buffer laid out over owned_ranges() (e.g. an Adam moment)
  // into a full flat buffer `out` (layout.size() floats); gather_params is this on the parameters.
  void gather_owned(const float* owned_state, float* out);
  // ZeRO-1: the inverse, for resuming: copy the owned pieces of a full flat buffer.
  void scatter_owned(const float* full, float* owned_state) const;

  const std::vector<GradBucket>& buckets() const { return buckets_; }
  ZeroStage zero() const { return zero_; }

 private:
  void start_bucket(size_t b);

  const ParamLayout& layout_;
  comm::Communicator& dp_;
  device::Backend& be_;
  ZeroStage zero_;
  std::vector<GradBucket> buckets_;
  std::vector<FlatRange> owned_;
  std::vector<int> pending_;               // tensors not yet reported, per bucket
  std::vector<int> bucket_of_tensor_;
  std::vector<char> tensor_ready_;
  std::vector<std::unique_ptr<comm::Work>> work_;
  int next_to_start_ = -1;                 // buckets start strictly last-to-first (backward order),
                                           // so every rank issues them in the same order
  float* grads_ = nullptr;
  std::vector<int64_t> staging_offset_;    // ZeRO-1: where bucket b's piece sits in staging_
  device::DeviceBuffer<float> staging_;    // ZeRO-1: this rank's pieces, back to back
};

}  // namespace plinth::parallel
