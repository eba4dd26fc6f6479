// test_grid.cpp -- rank-grid arithmetic (Megatron's 16-rank example) and the single communicator.
#include <gtest/gtest.h>

#include "core/error.h"
#include "parallel/comm/single_communicator.h"
#include "parallel/grid.h"

using namespace plinth;
using namespace plinth::parallel;

TEST(Grid, SixteenRanksTp2Pp4MatchMegatronsTable) {
  const GridShape s{.tp = 2, .pp = 4, .dp = 2};
  ASSERT_EQ(s.world(), 16);
  const std::vector<std::vector<int>> tp = {{0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9}, {10, 11}, {12, 13}, {14, 15}};
  const std::vector<std::vector<int>> pp = {{0, 4, 8, 12}, {1, 5, 9, 13}, {2, 6, 10, 14}, {3, 7, 11, 15}};
  const std::vector<std::vector<int>> dp = {{0, 2}, {1, 3}, {4, 6}, {5, 7}, {8, 10}, {9, 11}, {12, 14}, {13, 15}};
  for (const auto& g : tp)
    for (int r : g) EXPECT_EQ(grid_group_ranks(s, r, GridDim::Tp), g) << r;
  for (const auto& g : pp)
    for (int r : g) EXPECT_EQ(grid_group_ranks(s, r, GridDim::Pp), g) << r;
  for (const auto& g : dp)
    for (int r : g) EXPECT_EQ(grid_group_ranks(s, r, GridDim::Dp), g) << r;
  for (int r = 0; r < 16; ++r) EXPECT_EQ(grid_rank(s, grid_coords(s, r)), r);
  const GridCoords c = grid_coords(s, 13);
  EXPECT_EQ(c.tp, 1);
  EXPECT_EQ(c.dp, 0);
  EXPECT_EQ(c.pp, 3);
  const std::string table = grid_rank_table(s);
  EXPECT_NE(table.find("13 | 1 3 0 | [12,13] | [1,5,9,13] | [13,15]"), std::string::npos) << table;
}

TEST(Grid, ValidateNamesTheKeys) {
  EXPECT_NO_THROW(grid_validate(GridShape{2, 2, 2}, 8));
  try {
    grid_validate(GridShape{2, 4, 3}, 16);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "parallel.tp (2) x parallel.pp (4) x parallel.dp (3) = 24 does not equal the world size (16)");
    EXPECT_EQ(e.kind(), ErrorKind::Config);
  }
  EXPECT_THROW(grid_validate(GridShape{0, 1, 1}, 0), Error);
}

TEST(SingleCommunicator, CollectivesAreIdentitiesAndP2pIsAnError) {
  comm::SingleCommunicator c;
  float x[3] = {1, 2, 3}, y[3] = {0, 0, 0};
  c.all_reduce(x, 3, comm::DType::F32, comm::ReduceOp::Sum);
  EXPECT_EQ(x[2], 3);
  c.reduce_scatter(x, y, {3}, comm::DType::F32, comm::ReduceOp::Sum);
  EXPECT_EQ(y[1], 2);
  y[0] = 0;
  c.all_gather(x, y, {3}, comm::DType::F32);
  EXPECT_EQ(y[0], 1);
  EXPECT_THROW(c.send(x, 1, comm::DType::F32, 0, 0), Error);
  EXPECT_THROW(c.reduce_scatter(x, y, {1, 2}, comm::DType::F32, comm::ReduceOp::Sum), Error);
  Grid g(c, GridShape{1, 1, 1});
  EXPECT_EQ(g.dp().size(), 1);
}
