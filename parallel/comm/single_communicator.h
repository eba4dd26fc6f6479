// single_communicator.h -- a world of one rank: collectives are copies, no MPI anywhere.
// The single-process reference path runs over this.
#pragma once
#include "parallel/comm/communicator.h"

namespace plinth::comm {

class SingleCommunicator final : public Communicator {
 public:
  explicit SingleCommunicator(std::string name = "world") : name_(std::move(name)) {}
  int rank() const override { return 0; }
  int size() const override { return 1; }
  const std::string& name() const override { return name_; }
  double timeout_s() const override { return 0; }

  std::unique_ptr<Work> all_reduce_async(void* buf, int64_t count, DType t, ReduceOp op) override;
  std::unique_ptr<Work> reduce_scatter_async(const void* send, void* recv, const std::vector<int64_t>& counts, DType t,
                                             ReduceOp op) override;
  std::unique_ptr<Work> all_gather_async(const void* send, void* recv, const std::vector<int64_t>& counts,
                                         DType t) override;
  std::unique_ptr<Work> broadcast_async(void* buf, int64_t count, DType t, int root) override;
  std::unique_ptr<Work> send_async(const void* buf, int64_t count, DType t, int peer, int tag) override;
  std::unique_ptr<Work> recv_async(void* buf, int64_t count, DType t, int peer, int tag) override;
  std::unique_ptr<Work> barrier_async() override;
  std::unique_ptr<Communicator> split(int color, int key, const std::string& name) override;

 private:
  std::string name_;
};

}  // namespace plinth::comm
