// test_pipeline_partition.cpp -- even, uneven and explicit layer partitions; bad lists rejected.
#include <gtest/gtest.h>

#include "core/error.h"
#include "parallel/pipeline_partition.h"

using namespace plinth;
using namespace plinth::parallel;

TEST(PipelinePartition, EvenAndUneven) {
  EXPECT_EQ(layer_ranges_string(pipeline_partition(8, 2, 1, "")), "0-3,4-7");
  EXPECT_EQ(layer_ranges_string(pipeline_partition(7, 3, 1, "")), "0-2,3-4,5-6");
  EXPECT_EQ(layer_ranges_string(pipeline_partition(8, 2, 2, "")), "0-1,2-3,4-5,6-7");
  auto chunks = pipeline_stage_chunks(pipeline_partition(8, 2, 2, ""), 2, 1);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0], (LayerRange{2, 4}));
  EXPECT_EQ(chunks[1], (LayerRange{6, 8}));
}

TEST(PipelinePartition, ExplicitList) {
  EXPECT_EQ(layer_ranges_string(pipeline_partition(6, 2, 1, "0-3, 4-5")), "0-3,4-5");
  EXPECT_EQ(layer_ranges_string(pipeline_partition(3, 3, 1, "0,1,2")), "0-0,1-1,2-2");
}

TEST(PipelinePartition, BadInputNamesTheKey) {
  auto bad = [](int64_t n, int pp, int v, const std::string& list, const std::string& needle) {
    try {
      pipeline_partition(n, pp, v, list);
      ADD_FAILURE() << "accepted " << list;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Config);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  bad(2, 4, 1, "", "more than model.n_layer");
  bad(6, 2, 2, "", "not divisible by parallel.pp x parallel.pp_chunks");
  bad(6, 2, 1, "0-2,4-5", "layer 3 is not covered");
  bad(6, 2, 1, "0-3,3-5", "already covered");
  bad(6, 2, 1, "0-2,3-4", "model.n_layer = 6");
  bad(6, 2, 1, "0-5", "virtual stages need one each");
  bad(6, 2, 1, "0-2,x-5", "not a layer range");
  bad(6, 2, 1, "0-2,5-3", "empty or reversed");
}
