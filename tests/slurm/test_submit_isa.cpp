// test_submit_isa.cpp -- `plinth submit`'s instruction-set warning without a cluster: which lines of
// `sinfo -h -o "%P %f"` belong to a partition, and when a build that needs x86 features (a
// -DPLINTH_NATIVE=ON build on an AVX-512 machine) gets a warning: nodes that report ISA features
// without the needed ones, nodes whose features say nothing about the ISA, Slurm reporting nothing.
// The portable build (no requirements) never warns. The warning is one line naming the fix.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "launch/submit_command.h"

namespace plinth::launch {
namespace {

using Strings = std::vector<std::string>;

const Strings kAvx512Native = {"avx512f", "avx2", "fma", "avx", "sse4_2"};
const Strings kAvx2Native = {"avx2", "fma", "avx", "sse4_2"};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(PartitionFeatures, PicksTheNamedOrTheDefaultPartition) {
  const std::string out = "cpu* avx2,haswell\ncpu* avx512,icelake\ngpu (null)\nbig x86-64-v4\n";
  EXPECT_EQ(partition_features(out, ""), (Strings{"avx2,haswell", "avx512,icelake"}));
  EXPECT_EQ(partition_features(out, "cpu"), (Strings{"avx2,haswell", "avx512,icelake"}));
  EXPECT_EQ(partition_features(out, "gpu"), (Strings{""}));
  EXPECT_EQ(partition_features(out, "big"), (Strings{"x86-64-v4"}));
  EXPECT_TRUE(partition_features(out, "nope").empty());
  EXPECT_TRUE(partition_features("", "").empty());
}

TEST(IsaWarning, PortableBuildNeverWarns) {
  EXPECT_FALSE(isa_warning({}, {"avx2"}, "cpu"));
  EXPECT_FALSE(isa_warning({}, {""}, "cpu"));
  EXPECT_FALSE(isa_warning({}, {}, ""));
}

TEST(IsaWarning, NodesThatReportTheNeededFeaturesPass) {
  for (const char* features : {"avx512,icelake", "AVX512F", "x86-64-v4", "x86_64_v4,ib", "avx512bw"})
    EXPECT_FALSE(isa_warning(kAvx512Native, {features}, "cpu")) << features;
  EXPECT_FALSE(isa_warning(kAvx512Native, {"avx512", "x86-64-v4"}, "cpu"));
  EXPECT_FALSE(isa_warning(kAvx2Native, {"avx2,haswell"}, "cpu"));
  EXPECT_FALSE(isa_warning(kAvx2Native, {"x86-64-v3", "avx512"}, "cpu"));
}

TEST(IsaWarning, NodesWithoutTheNeededFeaturesWarnOfSigill) {
  const std::optional<std::string> w = isa_warning(kAvx512Native, {"avx512", "avx2,haswell"}, "cpu");
  ASSERT_TRUE(w);
  EXPECT_TRUE(contains(*w, "requires avx512f (compiled with -DPLINTH_NATIVE=ON)")) << *w;
  EXPECT_TRUE(contains(*w, "partition 'cpu'")) << *w;
  EXPECT_TRUE(contains(*w, "'avx2,haswell' without it")) << *w;
  EXPECT_TRUE(contains(*w, "SIGILL")) << *w;
  EXPECT_TRUE(contains(*w, "rebuild with -DPLINTH_NATIVE=OFF")) << *w;
  EXPECT_FALSE(contains(*w, "\n")) << *w;

  const std::optional<std::string> v = isa_warning(kAvx2Native, {"sse4.2,avx"}, "");
  ASSERT_TRUE(v);
  EXPECT_TRUE(contains(*v, "requires avx2, fma")) << *v;
  EXPECT_TRUE(contains(*v, "the default partition")) << *v;
}

TEST(IsaWarning, FeaturesThatSayNothingAboutTheIsaCannotConfirm) {
  for (const Strings& lists : {Strings{"ib,bigmem"}, Strings{""}, Strings{}, Strings{"avx512", "gpu"}}) {
    const std::optional<std::string> w = isa_warning(kAvx512Native, lists, "gpu");
    ASSERT_TRUE(w);
    EXPECT_TRUE(contains(*w, "requires avx512f, avx2, fma, avx, sse4_2")) << *w;
    EXPECT_TRUE(contains(*w, "cannot confirm that every node of partition 'gpu' has them")) << *w;
    EXPECT_TRUE(contains(*w, "rebuild with -DPLINTH_NATIVE=OFF")) << *w;
    EXPECT_FALSE(contains(*w, "\n")) << *w;
  }
}

}  // namespace
}  // namespace plinth::launch
