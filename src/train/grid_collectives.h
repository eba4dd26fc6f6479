// grid_collectives.h -- the few collectives over the whole (tp, pp, dp) grid that the trainer and
// its checkpoints share: max / sum over every rank, broadcast from the leader, and "run this on
// the leader and let every rank learn whether it threw". Each call is collective: every rank of
// the grid reaches it at the same point of the run. The communicators are borrowed.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "parallel/comm/communicator.h"

namespace plinth::train {

class GridCollectives {
 public:
  // tp may be a timing decorator: calls through it count as tensor-parallel communication.
  GridCollectives(comm::Communicator& tp, comm::Communicator& pp, comm::Communicator& dp) : tp_(tp), pp_(pp), dp_(dp) {}

  int tp_rank() const { return tp_.rank(); }
  int pp_rank() const { return pp_.rank(); }
  int dp_rank() const { return dp_.rank(); }
  int tp_size() const { return tp_.size(); }
  int pp_size() const { return pp_.size(); }
  int dp_size() const { return dp_.size(); }
  int world_rank() const;                          // the grid's rank order: tp fastest, then dp, then pp
  int world_size() const { return tp_.size() * pp_.size() * dp_.size(); }
  bool is_leader() const { return world_rank() == 0; }   // (tp, pp, dp) = (0, 0, 0)

  // Collective.
  int32_t max(int32_t value);                      // max over the whole grid (tp, then pp, then dp)
  void sum(std::vector<int64_t>& values);          // element-wise sum over the whole grid
  void broadcast_from_leader(int32_t* value);      // from (tp, pp, dp) = (0, 0, 0) to every rank
  void broadcast_from_leader(std::string* value);
  // Runs fn on the leading rank only; every rank then learns whether it threw and, if so, throws
  // the leader's error (its kind and message).
  void on_leader(const std::function<void()>& fn);

 private:
  comm::Communicator& tp_;
  comm::Communicator& pp_;
  comm::Communicator& dp_;
};

}  // namespace plinth::train
