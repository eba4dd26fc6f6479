// grid_collectives.cpp -- grid-wide max, sum, leader broadcast and leader-only actions.
#include "train/grid_collectives.h"

#include "core/error.h"

namespace plinth::train {

int GridCollectives::world_rank() const {
  return tp_.rank() + tp_.size() * (dp_.rank() + dp_.size() * pp_.rank());   // the grid's rank order
}

int32_t GridCollectives::max(int32_t value) {
  if (tp_.size() > 1) tp_.all_reduce(&value, 1, comm::DType::I32, comm::ReduceOp::Max);
  if (pp_.size() > 1) pp_.all_reduce(&value, 1, comm::DType::I32, comm::ReduceOp::Max);
  if (dp_.size() > 1) dp_.all_reduce(&value, 1, comm::DType::I32, comm::ReduceOp::Max);
  return value;
}

void GridCollectives::sum(std::vector<int64_t>& values) {
  const int64_t n = static_cast<int64_t>(values.size());
  if (tp_.size() > 1) tp_.all_reduce(values.data(), n, comm::DType::I64, comm::ReduceOp::Sum);
  if (pp_.size() > 1) pp_.all_reduce(values.data(), n, comm::DType::I64, comm::ReduceOp::Sum);
  if (dp_.size() > 1) dp_.all_reduce(values.data(), n, comm::DType::I64, comm::ReduceOp::Sum);
}

// Safe order: the leader's pp group (tp 0, dp 0) first, then every dp group of tp rank 0, then
// every tp group; all ranks reach these calls at the same point of the run.
void GridCollectives::broadcast_from_leader(int32_t* value) {
  if (tp_.rank() == 0 && dp_.rank() == 0) pp_.broadcast(value, 1, comm::DType::I32, 0);
  if (tp_.rank() == 0) dp_.broadcast(value, 1, comm::DType::I32, 0);
  tp_.broadcast(value, 1, comm::DType::I32, 0);
}

void GridCollectives::broadcast_from_leader(std::string* value) {
  int32_t n = static_cast<int32_t>(value->size());
  broadcast_from_leader(&n);
  value->resize(static_cast<size_t>(n));
  if (n == 0) return;
  if (tp_.rank() == 0 && dp_.rank() == 0) pp_.broadcast(value->data(), n, comm::DType::U8, 0);
  if (tp_.rank() == 0) dp_.broadcast(value->data(), n, comm::DType::U8, 0);
  tp_.broadcast(value->data(), n, comm::DType::U8, 0);
}

void GridCollectives::on_leader(const std::function<void()>& fn) {
  std::string error;
  int32_t kind = -1;   // -1: no error, else the ErrorKind the leader threw
  if (is_leader()) {
    try {
      fn();
    } catch (const Error& e) {
      error = e.what();
      kind = static_cast<int32_t>(e.kind());
    }
  }
  broadcast_from_leader(&kind);
  if (kind < 0) return;
  broadcast_from_leader(&error);
  throw Error(static_cast<ErrorKind>(kind), error, __FILE__, __LINE__);
}

}  // namespace plinth::train
