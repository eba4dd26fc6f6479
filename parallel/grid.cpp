// grid.cpp -- rank arithmetic of the (tp, pp, dp) grid and the Grid's sub-communicators.
#include "parallel/grid.h"

#include <sstream>

#include "core/error.h"

namespace plinth::parallel {

GridCoords grid_coords(const GridShape& s, int rank) {
  PLINTH_ASSERT(rank >= 0 && rank < s.world());
  return GridCoords{.tp = rank % s.tp, .pp = rank / (s.tp * s.dp), .dp = (rank / s.tp) % s.dp};
}

int grid_rank(const GridShape& s, const GridCoords& c) { return c.tp + s.tp * (c.dp + s.dp * c.pp); }

std::vector<int> grid_group_ranks(const GridShape& s, int rank, GridDim dim) {
  GridCoords c = grid_coords(s, rank);
  std::vector<int> out;
  const int n = dim == GridDim::Tp ? s.tp : dim == GridDim::Pp ? s.pp : s.dp;
  for (int i = 0; i < n; ++i) {
    GridCoords k = c;
    (dim == GridDim::Tp ? k.tp : dim == GridDim::Pp ? k.pp : k.dp) = i;
    out.push_back(grid_rank(s, k));
  }
  return out;
}

void grid_validate(const GridShape& s, int world_size) {
  PLINTH_CHECK(s.tp >= 1, Config, "parallel.tp must be >= 1, got ", s.tp);
  PLINTH_CHECK(s.pp >= 1, Config, "parallel.pp must be >= 1, got ", s.pp);
  PLINTH_CHECK(s.dp >= 1, Config, "parallel.dp must be >= 1, got ", s.dp);
  PLINTH_CHECK(s.world() == world_size, Config, "parallel.tp (", s.tp, ") x parallel.pp (", s.pp, ") x parallel.dp (",
               s.dp, ") = ", s.world(), " does not equal the world size (", world_size, ")");
}

static std::string group_str(const std::vector<int>& g) {
  std::string s = "[";
  for (size_t i = 0; i < g.size(); ++i) s += (i ? "," : "") + std::to_string(g[i]);
  return s + "]";
}

std::string grid_rank_table(const GridShape& s) {
  std::ostringstream os;
  os << "rank | tp pp dp | tp group | pp group | dp group\n";
  for (int r = 0; r < s.world(); ++r) {
    GridCoords c = grid_coords(s, r);
    os << r << " | " << c.tp << " " << c.pp << " " << c.dp << " | " << group_str(grid_group_ranks(s, r, GridDim::Tp))
       << " | " << group_str(grid_group_ranks(s, r, GridDim::Pp)) << " | "
       << group_str(grid_group_ranks(s, r, GridDim::Dp)) << "\n";
  }
  return os.str();
}

Grid::Grid(comm::Communicator& world, const GridShape& shape) : world_(world), shape_(shape) {
  grid_validate(shape, world.size());
  coords_ = grid_coords(shape, world.rank());
  // Colour = the group's first world rank (unique per group); key = position in the group.
  // Safe order: every rank performs the three splits in the same order.
  const int r = world.rank();
  tp_ = world.split(grid_group_ranks(shape, r, GridDim::Tp)[0], coords_.tp, "tp");
  pp_ = world.split(grid_group_ranks(shape, r, GridDim::Pp)[0], coords_.pp, "pp");
  dp_ = world.split(grid_group_ranks(shape, r, GridDim::Dp)[0], coords_.dp, "dp");
}

}  // namespace plinth::parallel
