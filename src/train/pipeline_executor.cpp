// pipeline_executor.cpp -- executes pipeline actions: receives posted up front, swapped into
// activation slots, chunk forward/backward, non-blocking sends.
#include "train/pipeline_executor.h"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <utility>

#include "core/error.h"

namespace plinth::train {
namespace {

using Clock = std::chrono::steady_clock;
using parallel::ActionKind;
using parallel::PipelineAction;

bool is_receive(ActionKind k) { return k == ActionKind::RecvAct || k == ActionKind::RecvGrad; }

}  // namespace

PipelineExecutor::PipelineExecutor(const model::Model& model, comm::Communicator& pp, parallel::ScheduleKind kind,
                                   int micro_batches, int64_t B, int64_t T)
    : model_(model),
      pp_(pp),
      shape_{pp.size(), micro_batches, static_cast<int>(model.chunks().size())},
      B_(B),
      T_(T),
      actions_(parallel::pipeline_schedule(kind, shape_, pp.rank())) {
  parallel::pipeline_tags_validate(shape_, pp.tag_ub());
  micro_losses_.allocate(model.backend(), static_cast<size_t>(micro_batches));
  slots_.resize(model.chunks().size());
  for (size_t c = 0; c < slots_.size(); ++c) {
    const int n = std::max(1, parallel::pipeline_peak_in_flight(actions_, static_cast<int>(c)));
    for (int i = 0; i < n; ++i) slots_[c].push_back(Slot{model.allocate_chunk_activations(static_cast<int>(c), B, T), {}});
  }
}

PipelineExecutor::~PipelineExecutor() {
  // Sends still in flight (an exception left run() early) read from the slots' buffers: their
  // Works wait for them (or end the job) before any buffer goes, whatever the member order.
  for (auto& chunk : slots_)
    for (Slot& s : chunk) s.sends.clear();
}

int64_t PipelineExecutor::activation_bytes() const {
  int64_t n = 0;
  for (const auto& chunk : slots_)
    for (const Slot& s : chunk) n += s.acts.bytes();
  return n;
}

PipelineExecutor::Slot& PipelineExecutor::slot(int chunk, int micro) {
  auto& v = slots_[static_cast<size_t>(chunk)];
  return v[static_cast<size_t>(micro) % v.size()];
}

void PipelineExecutor::train_step(comm::Communicator& tp, const float* params, float* grads,
                                  const std::vector<MicroBatchData>& data, float dloss,
                                  model::BackwardObserver* observer) {
  PLINTH_CHECK(grads != nullptr, Internal, "train_step needs a gradient buffer");
  micro_losses_.zero();
  run(tp, params, grads, actions_, std::vector<int64_t>(static_cast<size_t>(shape_.micro_batches), B_), data,
             dloss, observer, nullptr);
}

double PipelineExecutor::forward_only(comm::Communicator& tp, const float* params, const std::vector<int64_t>& sizes,
                                      const std::vector<MicroBatchData>& data, double* sum_sq) {
  PLINTH_CHECK(data.size() == sizes.size(), Internal, "pipeline: ", data.size(), " micro-batches of data for ",
               sizes.size());
  // In rounds of as many micro-batches as the pipeline's tags allow (an evaluation may hold
  // more micro-batches than a step): every message of a round completes inside its run().
  const size_t round = static_cast<size_t>(parallel::pipeline_max_micro_batches(shape_.chunks));
  double loss = 0.0, sq = 0.0, waited = 0.0;
  for (size_t first = 0; first < sizes.size(); first += round) {
    const size_t n = std::min(round, sizes.size() - first);
    const std::vector<int64_t> sz(sizes.begin() + static_cast<std::ptrdiff_t>(first),
                                  sizes.begin() + static_cast<std::ptrdiff_t>(first + n));
    const std::vector<MicroBatchData> d(data.begin() + static_cast<std::ptrdiff_t>(first),
                                        data.begin() + static_cast<std::ptrdiff_t>(first + n));
    parallel::PipelineShape s = shape_;
    s.micro_batches = static_cast<int>(n);
    double round_sq = 0.0;
    loss += run(tp, params, nullptr, parallel::pipeline_forward_schedule(s, pp_.rank()), sz, d, 0.0f, nullptr,
                &round_sq);
    sq += round_sq;
    waited += last_wait_s_;
  }
  if (sum_sq) *sum_sq = sq;
  last_wait_s_ = waited;
  return loss;
}

double PipelineExecutor::run(comm::Communicator& tp, const float* params, float* grads,
                             const std::vector<PipelineAction>& acts, const std::vector<int64_t>& sizes,
                             const std::vector<MicroBatchData>& data, float dloss,
                             model::BackwardObserver* observer, double* sum_sq) {
  const model::ModelConfig& c = model_.config();
  device::Backend& be = model_.backend();
  const int64_t C = c.n_embd;
  const bool sp = model_.dims().sequence_parallel();
  const int64_t shard = sp ? model_.dims().tp : 1;
  const int64_t full_rows = B_ * T_ / shard;   // rows of the residual stream a slot holds
  const int last_micro = static_cast<int>(sizes.size()) - 1;
  PLINTH_CHECK(data.size() == sizes.size(), Internal, "pipeline: ", data.size(), " micro-batches of data for ",
               sizes.size());
  for (int64_t n : sizes) PLINTH_CHECK(n >= 0 && n <= B_, Internal, "micro-batch of ", n, " sequences, at most ", B_);
  auto rows = [&](int micro) { return sizes[static_cast<size_t>(micro)] * T_ / shard; };
  auto active = [&](const PipelineAction& a) { return sizes[static_cast<size_t>(a.micro)] > 0; };

  last_wait_s_ = 0;
  if (sum_sq) *sum_sq = 0.0;
  // evaluation: sequence i of micro-batch j has its mean loss at row_means_[first_row[j] + i]
  std::vector<int64_t> first_row(sizes.size() + 1, 0);
  for (size_t j = 0; j < sizes.size(); ++j) first_row[j + 1] = first_row[j] + sizes[j];
  if (!grads && row_means_.size() < static_cast<size_t>(first_row.back()))
    row_means_.allocate(be, static_cast<size_t>(first_row.back()));

  // 1. every receive of the step, posted now into its own buffer (sized like a slot's, so that
  //    it can be swapped in). If an exception leaves this function, `recvs` is destroyed and
  //    each pending receive is cancelled (comm::Work's destructor) before the buffers can go.
  std::vector<std::unique_ptr<comm::Work>> recvs(acts.size());
  std::vector<size_t> buffer_of(acts.size(), 0);
  size_t n_buffers = 0;
  for (size_t i = 0; i < acts.size(); ++i) {
    if (!is_receive(acts[i].kind) || !active(acts[i])) continue;
    if (recv_buffers_.size() <= n_buffers) recv_buffers_.emplace_back();
    device::DeviceBuffer<float>& buf = recv_buffers_[n_buffers];
    if (buf.size() != static_cast<size_t>(full_rows * C)) buf.allocate(be, static_cast<size_t>(full_rows * C));
    buffer_of[i] = n_buffers++;
    recvs[i] = pp_.recv_async(buf.data(), rows(acts[i].micro) * C, comm::DType::F32, acts[i].peer, acts[i].tag);
  }
  auto wait_timed = [&](comm::Work& w) {
    const auto t0 = Clock::now();
    w.wait();
    last_wait_s_ += std::chrono::duration<double>(Clock::now() - t0).count();
  };
  auto wait_sends = [&](Slot& s) {
    for (auto& w : s.sends) wait_timed(*w);
    s.sends.clear();
  };

  // 2. the actions in order
  for (size_t i = 0; i < acts.size(); ++i) {
    const PipelineAction& a = acts[i];
    if (!active(a)) continue;
    Slot& s = slot(a.chunk, a.micro);
    const bool head = model_.chunk_has_head(a.chunk), embed = model_.chunk_has_embedding(a.chunk);
    switch (a.kind) {
      case ActionKind::RecvAct:
        wait_timed(*recvs[i]);
        wait_sends(s);   // the slot's previous micro-batch may still be sending from it
        std::swap(s.acts.residual[0], recv_buffers_[buffer_of[i]]);
        break;
      case ActionKind::Forward: {
        if (embed) wait_sends(s);
        const MicroBatchData& d = data[static_cast<size_t>(a.micro)];
        PLINTH_CHECK((!embed || d.tokens) && (!head || d.targets), Internal, "pipeline: micro-batch ", a.micro,
                     " has no tokens or targets for chunk ", a.chunk);
        const int32_t* tok = d.tokens;
        const int32_t* tgt = d.targets;
        const int64_t b = sizes[static_cast<size_t>(a.micro)];
        model::model_chunk_forward(model_, tp, params, s.acts, a.chunk, tok, head ? tgt : nullptr, b, T_);
        if (head && grads)   // training: the micro-batch's mean loss, kept on the device
          be.copy(micro_losses_.data() + a.micro, s.acts.loss.data(), sizeof(float));
        if (head && !grads)   // evaluation: each sequence's mean loss over its valid targets
          be.row_loss_means(row_means_.data() + first_row[static_cast<size_t>(a.micro)], s.acts.losses.data(), tgt, b,
                            T_);
        break;
      }
      case ActionKind::SendAct:
        be.synchronize();   // the communicator reads what the forward wrote
        s.sends.push_back(pp_.send_async(s.acts.residual.back().data(), rows(a.micro) * C, comm::DType::F32, a.peer,
                                         a.tag));
        break;
      case ActionKind::RecvGrad:
        wait_timed(*recvs[i]);
        std::swap(s.acts.dres, recv_buffers_[buffer_of[i]]);
        break;
      case ActionKind::Backward: {
        const bool last = a.micro == last_micro;
        const int32_t* tok = data[static_cast<size_t>(a.micro)].tokens;
        const int32_t* tgt = data[static_cast<size_t>(a.micro)].targets;
        model::model_chunk_backward(model_, tp, params, grads, s.acts, a.chunk, tok, tgt,
                                    sizes[static_cast<size_t>(a.micro)], T_, dloss, last ? observer : nullptr,
                                    last ? model::ReplicatedGrads::Sync : model::ReplicatedGrads::Defer);
        break;
      }
      case ActionKind::SendGrad:
        be.synchronize();   // the communicator reads what the backward wrote
        s.sends.push_back(pp_.send_async(s.acts.dres.data(), rows(a.micro) * C, comm::DType::F32, a.peer, a.tag));
        break;
    }
    // let messages in flight progress between compute actions
    for (auto& chunk : slots_)
      for (Slot& sl : chunk)
        for (auto& w : sl.sends) w->test();
  }
  for (auto& chunk : slots_)
    for (Slot& sl : chunk) wait_sends(sl);
  // 3. evaluation on the rank holding the head: the sequences' means, read once, summed in order
  double loss_sum = 0.0;
  const bool holds_head = model_.chunk_has_head(static_cast<int>(model_.chunks().size()) - 1);
  if (!grads && holds_head && first_row.back() > 0) {
    std::vector<double> means(static_cast<size_t>(first_row.back()));
    be.copy_to_host(means.data(), row_means_.data(), means.size() * sizeof(double));
    for (double mean : means) {
      loss_sum += mean;
      if (sum_sq) *sum_sq += mean * mean;
    }
  }
  return loss_sum;
}

}  // namespace plinth::train
