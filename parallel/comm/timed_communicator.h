// timed_communicator.h -- a Communicator decorator that measures how long callers wait.
// Every operation goes to the wrapped communicator; the time spent inside Work::wait() (and
// in the blocking calls, which are async + wait) is added up, so a trainer can report the
// share of a step spent waiting for, e.g., tensor-parallel communication.
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "parallel/comm/communicator.h"

namespace plinth::comm {

class TimedCommunicator final : public Communicator {
 public:
  explicit TimedCommunicator(Communicator& inner) : inner_(inner) {}
  double wait_seconds() const { return *seconds_; }
  void reset() { *seconds_ = 0; }

  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  const std::string& name() const override { return inner_.name(); }
  double timeout_s() const override { return inner_.timeout_s(); }
  int tag_ub() const override { return inner_.tag_ub(); }

  std::unique_ptr<Work> all_reduce_async(void* buf, int64_t count, DType t, ReduceOp op) override {
    return wrap(inner_.all_reduce_async(buf, count, t, op));
  }
  std::unique_ptr<Work> reduce_scatter_async(const void* send, void* recv, const std::vector<int64_t>& counts, DType t,
                                             ReduceOp op) override {
    return wrap(inner_.reduce_scatter_async(send, recv, counts, t, op));
  }
  std::unique_ptr<Work> all_gather_async(const void* send, void* recv, const std::vector<int64_t>& counts,
                                         DType t) override {
    return wrap(inner_.all_gather_async(send, recv, counts, t));
  }
  std::unique_ptr<Work> broadcast_async(void* buf, int64_t count, DType t, int root) override {
    return wrap(inner_.broadcast_async(buf, count, t, root));
  }
  std::unique_ptr<Work> send_async(const void* buf, int64_t count, DType t, int peer, int tag) override {
    return wrap(inner_.send_async(buf, count, t, peer, tag));
  }
  std::unique_ptr<Work> recv_async(void* buf, int64_t count, DType t, int peer, int tag) override {
    return wrap(inner_.recv_async(buf, count, t, peer, tag));
  }
  std::unique_ptr<Work> barrier_async() override { return wrap(inner_.barrier_async()); }
  void all_reduce(void* buf, int64_t count, DType t, ReduceOp op) override {
    timed([&] { inner_.all_reduce(buf, count, t, op); });
  }
  void reduce_scatter(const void* send, void* recv, const std::vector<int64_t>& counts, DType t, ReduceOp op) override {
    timed([&] { inner_.reduce_scatter(send, recv, counts, t, op); });
  }
  void all_gather(const void* send, void* recv, const std::vector<int64_t>& counts, DType t) override {
    timed([&] { inner_.all_gather(send, recv, counts, t); });
  }
  void broadcast(void* buf, int64_t count, DType t, int root) override {
    timed([&] { inner_.broadcast(buf, count, t, root); });
  }
  std::unique_ptr<Communicator> split(int color, int key, const std::string& name) override {
    return inner_.split(color, key, name);
  }

 private:
  std::unique_ptr<Work> wrap(std::unique_ptr<Work> w);
  template <typename Fn>
  void timed(Fn&& fn) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    *seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  Communicator& inner_;
  std::shared_ptr<double> seconds_ = std::make_shared<double>(0.0);   // outlives Works in flight
};

}  // namespace plinth::comm
