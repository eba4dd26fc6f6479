// data_parallel.cpp -- gradient buckets, overlapped all-reduce / reduce-scatter, ZeRO-1 gathers.
#include "parallel/data_parallel.h"

#include <chrono>

#include "core/error.h"

namespace plinth::parallel {

std::vector<GradBucket> grad_buckets(const ParamLayout& layout, int64_t bucket_bytes, int dp_size) {
  PLINTH_CHECK(bucket_bytes > 0, Config, "parallel.bucket_mb must be positive");
  const auto& specs = layout.specs();
  std::vector<GradBucket> buckets;
  GradBucket cur;
  auto close = [&](int next_tensor) {
    cur.n_tensors = next_tensor - cur.first_tensor;
    if (cur.n_tensors == 0) return;
    const int64_t n = cur.end - cur.begin;
    cur.piece_counts.assign(dp_size, n / dp_size);
    for (int r = 0; r < n % dp_size; ++r) ++cur.piece_counts[r];
    cur.piece_starts.assign(dp_size, 0);
    for (int r = 1; r < dp_size; ++r) cur.piece_starts[r] = cur.piece_starts[r - 1] + cur.piece_counts[r - 1];
    buckets.push_back(cur);
    cur = GradBucket{};
    cur.first_tensor = next_tensor;
  };
  for (size_t i = 0; i < specs.size(); ++i) {
    if (static_cast<int>(i) == cur.first_tensor) cur.begin = specs[i].offset;
    // a bucket covers its tensors and the alignment padding after them, so buckets tile the buffer
    cur.end = i + 1 < specs.size() ? specs[i + 1].offset : layout.size();
    if ((cur.end - cur.begin) * static_cast<int64_t>(sizeof(float)) >= bucket_bytes)
      close(static_cast<int>(i) + 1);
  }
  close(static_cast<int>(specs.size()));
  return buckets;
}

GradSync::GradSync(const ParamLayout& layout, comm::Communicator& dp, int64_t bucket_bytes, ZeroStage zero,
                   device::Backend& be)
    : layout_(layout), dp_(dp), be_(be), zero_(zero), buckets_(grad_buckets(layout, bucket_bytes, dp.size())) {
  const size_t n_tensors = layout.specs().size();
  bucket_of_tensor_.assign(n_tensors, 0);
  for (size_t b = 0; b < buckets_.size(); ++b)
    for (int t = 0; t < buckets_[b].n_tensors; ++t) bucket_of_tensor_[buckets_[b].first_tensor + t] = static_cast<int>(b);
  tensor_ready_.assign(n_tensors, 0);
  pending_.assign(buckets_.size(), 0);
  work_.resize(buckets_.size());
  if (zero_ == ZeroStage::One) {
    int64_t total = 0;
    for (const GradBucket& b : buckets_) {
      staging_offset_.push_back(total);
      const int64_t begin = b.begin + b.piece_starts[dp.rank()];
      owned_.push_back({begin, begin + b.piece_counts[dp.rank()]});
      total += b.piece_counts[dp.rank()];
    }
    staging_.allocate(be_, static_cast<size_t>(total));
  } else {
    owned_.push_back({0, layout.size()});
  }
}

GradSync::~GradSync() {
  work_.clear();
}

void GradSync::begin_step(float* grads) {
  grads_ = grads;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    PLINTH_ASSERT(!work_[b]);
    pending_[b] = buckets_[b].n_tensors;
  }
  std::fill(tensor_ready_.begin(), tensor_ready_.end(), 0);
  next_to_start_ = static_cast<int>(buckets_.size()) - 1;
}

void GradSync::start_bucket(size_t b) {
  const GradBucket& k = buckets_[b];
  float* g = grads_ + k.begin;
  if (dp_.size() == 1) return;   // nothing to exchange
  be_.synchronize();              // the communicator reads what backward wrote
  if (zero_ == ZeroStage::None)
    work_[b] = dp_.all_reduce_async(g, k.end - k.begin, comm::DType::F32, comm::ReduceOp::Sum);
  else
    work_[b] = dp_.reduce_scatter_async(g, staging_.data() + staging_offset_[b], k.piece_counts, comm::DType::F32,
                                        comm::ReduceOp::Sum);
}

void GradSync::on_grads_ready(int64_t begin, int64_t end) {
  PLINTH_ASSERT(grads_ != nullptr);
  const auto& specs = layout_.specs();
  for (size_t t = 0; t < specs.size(); ++t) {
    if (specs[t].offset < begin || specs[t].offset + specs[t].numel() > end) continue;
    PLINTH_CHECK(!tensor_ready_[t], Internal, "tensor '", specs[t].name, "' reported ready twice in one backward");
    tensor_ready_[t] = 1;
    --pending_[bucket_of_tensor_[t]];
  }
  // start completed buckets, last to first, stopping at the first incomplete one
  while (next_to_start_ >= 0 && pending_[next_to_start_] == 0) start_bucket(static_cast<size_t>(next_to_start_--));
  for (auto& w : work_)
    if (w) w->test();   // let MPI progress the collectives already in flight
}

double GradSync::finish() {
  auto t0 = std::chrono::steady_clock::now();
  while (next_to_start_ >= 0) start_bucket(static_cast<size_t>(next_to_start_--));
  for (size_t b = buckets_.size(); b-- > 0;) {
    if (!work_[b]) continue;
    work_[b]->wait();
    work_[b].reset();
  }
  if (zero_ == ZeroStage::One && dp_.size() > 1) {
    // the summed pieces land in staging; put them where the optimizer reads them
    for (size_t b = 0; b < buckets_.size(); ++b)
      be_.copy(grads_ + owned_[b].begin, staging_.data() + staging_offset_[b],
               static_cast<size_t>(owned_[b].size()) * sizeof(float));
  }
  grads_ = nullptr;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void GradSync::gather_owned(const float* owned_state, float* out) {
  // out receives every bucket whole: piece r from rank r. The send buffer is a separate copy
  // because MPI forbids a send buffer inside the receive buffer (without MPI_IN_PLACE).
  if (zero_ == ZeroStage::None) {   // every rank owns the whole buffer
    be_.copy(out, owned_state, static_cast<size_t>(layout_.size()) * sizeof(float));
    return;
  }
  std::vector<std::unique_ptr<comm::Work>> works;
  if (dp_.size() > 1) be_.synchronize();
  int64_t base = 0;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    const GradBucket& k = buckets_[b];
    if (dp_.size() == 1) {
      be_.copy(out + k.begin, owned_state + base, static_cast<size_t>(k.end - k.begin) * sizeof(float));
    } else {
      works.push_back(dp_.all_gather_async(owned_state + base, out + k.begin, k.piece_counts, comm::DType::F32));
    }
    base += owned_[b].size();
  }
  for (auto& w : works) w->wait();
}

void GradSync::gather_params(float* params) {
  if (zero_ == ZeroStage::None || dp_.size() == 1) return;
  for (size_t b = 0; b < buckets_.size(); ++b)
    be_.copy(staging_.data() + staging_offset_[b], params + owned_[b].begin,
             static_cast<size_t>(owned_[b].size()) * sizeof(float));
  gather_owned(staging_.data(), params);
}

void GradSync::scatter_owned(const float* full, float* owned_state) const {
  int64_t base = 0;
  for (const auto& r : owned_) {
    be_.copy(owned_state + base, full + r.begin, static_cast<size_t>(r.size()) * sizeof(float));
    base += r.size();
  }
}

}  // namespace plinth::parallel
