// timed_communicator.cpp -- the Work wrapper that adds wait time to its communicator's total.
#include "parallel/comm/timed_communicator.h"

#include <chrono>

namespace plinth::comm {
namespace {

class TimedWork final : public Work {
 public:
  TimedWork(std::unique_ptr<Work> inner, std::shared_ptr<double> total) : inner_(std::move(inner)), total_(std::move(total)) {}
  void wait() override {
    const auto t0 = std::chrono::steady_clock::now();
    inner_->wait();
    *total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  bool test() override { return inner_->test(); }

 private:
  std::unique_ptr<Work> inner_;
  std::shared_ptr<double> total_;
};

}  // namespace

std::unique_ptr<Work> TimedCommunicator::wrap(std::unique_ptr<Work> w) {
  return std::make_unique<TimedWork>(std::move(w), seconds_);
}

}  // namespace plinth::comm
