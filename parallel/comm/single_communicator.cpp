// single_communicator.cpp -- world-size-1 collectives (copies) and dtype helpers.
#include "parallel/comm/single_communicator.h"

#include <cstring>

#include "core/error.h"

namespace plinth::comm {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::U8: return 1;
  }
  return 1;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
    case DType::U8: return "U8";
  }
  return "?";
}

namespace {
void check_counts(const std::vector<int64_t>& counts, const char* op, const std::string& group) {
  PLINTH_CHECK(counts.size() == 1 && counts[0] >= 0, Comm, op, " on group '", group,
               "': expected one non-negative count for a group of 1, got ", counts.size());
}
}  // namespace

std::unique_ptr<Work> SingleCommunicator::all_reduce_async(void*, int64_t, DType, ReduceOp) {
  return std::make_unique<DoneWork>();
}

std::unique_ptr<Work> SingleCommunicator::reduce_scatter_async(const void* send, void* recv,
                                                               const std::vector<int64_t>& counts, DType t, ReduceOp) {
  check_counts(counts, "reduce_scatter", name_);
  if (send != recv) std::memmove(recv, send, static_cast<size_t>(counts[0]) * dtype_size(t));
  return std::make_unique<DoneWork>();
}

std::unique_ptr<Work> SingleCommunicator::all_gather_async(const void* send, void* recv,
                                                           const std::vector<int64_t>& counts, DType t) {
  check_counts(counts, "all_gather", name_);
  if (send != recv) std::memmove(recv, send, static_cast<size_t>(counts[0]) * dtype_size(t));
  return std::make_unique<DoneWork>();
}

std::unique_ptr<Work> SingleCommunicator::broadcast_async(void*, int64_t, DType, int root) {
  PLINTH_CHECK(root == 0, Comm, "broadcast on group '", name_, "': root ", root, " outside a group of 1");
  return std::make_unique<DoneWork>();
}

std::unique_ptr<Work> SingleCommunicator::send_async(const void*, int64_t, DType, int peer, int) {
  PLINTH_THROW(Comm, "send on group '", name_, "' (size 1) to peer ", peer, ": there is no other rank");
}

std::unique_ptr<Work> SingleCommunicator::recv_async(void*, int64_t, DType, int peer, int) {
  PLINTH_THROW(Comm, "recv on group '", name_, "' (size 1) from peer ", peer, ": there is no other rank");
}

std::unique_ptr<Work> SingleCommunicator::barrier_async() { return std::make_unique<DoneWork>(); }

std::unique_ptr<Communicator> SingleCommunicator::split(int, int, const std::string& name) {
  return std::make_unique<SingleCommunicator>(name);
}

}  // namespace plinth::comm
