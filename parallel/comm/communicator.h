// communicator.h -- the Communicator / Work interface every parallel layer talks through.
// Implementations: MpiCommunicator (CPU buffers over MPI) and SingleCommunicator (world of one,
// no MPI). A later issue adds NCCL behind the same interface.
//
// Contract: every rank of a group issues the group's collectives in the same order, with the
// same counts and dtype; buffers stay valid and untouched until the Work completes. Errors
// (including a timeout: a peer lost or stuck) are carried by the Work and thrown by wait()
// as plinth::Error(Comm) naming the operation, the group and the rank.
// A Work destroyed before it completed (an exception unwinding past it) never leaves MPI or a
// worker thread writing into, or reading from, the caller's buffer: its destructor cancels a
// receive, waits (up to the group's timeout) for anything else, and if that cannot end the
// operation it aborts the job with a message naming the operation, group and rank. It never
// throws. Point-to-point tags come from parallel/comm/tags.h.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "parallel/comm/tags.h"

namespace plinth::comm {

enum class DType { F32, F64, I32, I64, U8 };
enum class ReduceOp { Sum, Max, Min };

size_t dtype_size(DType t);
const char* dtype_name(DType t);

// An operation in flight.
class Work {
 public:
  // Returns only once the operation can no longer touch its buffers (see the file comment).
  virtual ~Work() = default;
  // Blocks until done; throws plinth::Error(Comm) on failure or after the group's timeout.
  virtual void wait() = 0;
  // Makes progress without blocking; true once complete (errors are kept for wait()).
  virtual bool test() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual const std::string& name() const = 0;   // "world", "dp", "tp", "pp", ...
  virtual double timeout_s() const = 0;
  // The largest point-to-point tag this group accepts (MPI_TAG_UB; at least kTagMax).
  virtual int tag_ub() const { return kTagMax; }

  virtual std::unique_ptr<Work> all_reduce_async(void* buf, int64_t count, DType t, ReduceOp op) = 0;
  // send holds sum(counts) elements, rank by rank; recv receives counts[rank()] reduced ones.
  virtual std::unique_ptr<Work> reduce_scatter_async(const void* send, void* recv, const std::vector<int64_t>& counts,
                                                     DType t, ReduceOp op) = 0;
  // recv receives every rank's counts[r] elements, rank by rank (send must not lie inside recv).
  virtual std::unique_ptr<Work> all_gather_async(const void* send, void* recv, const std::vector<int64_t>& counts,
                                                 DType t) = 0;
  virtual std::unique_ptr<Work> broadcast_async(void* buf, int64_t count, DType t, int root) = 0;
  virtual std::unique_ptr<Work> send_async(const void* buf, int64_t count, DType t, int peer, int tag) = 0;
  virtual std::unique_ptr<Work> recv_async(void* buf, int64_t count, DType t, int peer, int tag) = 0;
  virtual std::unique_ptr<Work> barrier_async() = 0;

  // Ranks with the same color form a new group, ordered by key. Collective over this group.
  virtual std::unique_ptr<Communicator> split(int color, int key, const std::string& name) = 0;

  // Blocking conveniences: by default the async call, then wait(). An implementation may run
  // them more directly (MPI: on the calling thread when nothing else is in flight) as long as
  // the same timeout holds.
  virtual void all_reduce(void* buf, int64_t count, DType t, ReduceOp op) { all_reduce_async(buf, count, t, op)->wait(); }
  virtual void reduce_scatter(const void* send, void* recv, const std::vector<int64_t>& counts, DType t, ReduceOp op) {
    reduce_scatter_async(send, recv, counts, t, op)->wait();
  }
  virtual void all_gather(const void* send, void* recv, const std::vector<int64_t>& counts, DType t) {
    all_gather_async(send, recv, counts, t)->wait();
  }
  virtual void broadcast(void* buf, int64_t count, DType t, int root) { broadcast_async(buf, count, t, root)->wait(); }
  void send(const void* buf, int64_t count, DType t, int peer, int tag) { send_async(buf, count, t, peer, tag)->wait(); }
  void recv(void* buf, int64_t count, DType t, int peer, int tag) { recv_async(buf, count, t, peer, tag)->wait(); }
  void barrier() { barrier_async()->wait(); }
};

// A Work that is already complete (world-size-1 operations).
class DoneWork final : public Work {
 public:
  void wait() override {}
  bool test() override { return true; }
};

}  // namespace plinth::comm
