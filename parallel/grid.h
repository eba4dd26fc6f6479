// grid.h -- the rank grid: world = tp x pp x dp, and the communicators of each dimension.
// Rank order (Megatron's): tp fastest, then dp, then pp:  rank = tp + TP * (dp + DP * pp).
// Tensor-parallel peers are neighbours (same node first); pipeline stages are farthest apart.
// The arithmetic is pure and unit-tested; Grid owns the sub-communicators, built once by
// launch/ from any Communicator and passed by reference (two grids can coexist).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "parallel/comm/communicator.h"

namespace plinth::parallel {

struct GridShape {
  int tp = 1, pp = 1, dp = 1;
  int world() const { return tp * pp * dp; }
};

struct GridCoords {
  int tp = 0, pp = 0, dp = 0;
};

enum class GridDim { Tp, Pp, Dp };

GridCoords grid_coords(const GridShape& s, int rank);
int grid_rank(const GridShape& s, const GridCoords& c);
// World ranks of `rank`'s group along `dim`, in group order (a rank's index in it is its
// coordinate along dim).
std::vector<int> grid_group_ranks(const GridShape& s, int rank, GridDim dim);
// Throws plinth::Error(Config) naming parallel.tp / parallel.pp / parallel.dp.
void grid_validate(const GridShape& s, int world_size);
// One line per rank: rank, coordinates, and its tp / pp / dp groups.
std::string grid_rank_table(const GridShape& s);

class Grid {
 public:
  // Collective over `world` (three splits, in the order tp, pp, dp on every rank).
  Grid(comm::Communicator& world, const GridShape& shape);

  const GridShape& shape() const { return shape_; }
  const GridCoords& coords() const { return coords_; }
  comm::Communicator& world() { return world_; }
  comm::Communicator& tp() { return *tp_; }
  comm::Communicator& pp() { return *pp_; }
  comm::Communicator& dp() { return *dp_; }

 private:
  comm::Communicator& world_;
  GridShape shape_;
  GridCoords coords_;
  std::unique_ptr<comm::Communicator> tp_, pp_, dp_;
};

}  // namespace plinth::parallel
