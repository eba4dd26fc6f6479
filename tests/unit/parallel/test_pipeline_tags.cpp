// test_pipeline_tags.cpp -- the pipeline's message tags against MPI's guaranteed tag range: at
// the largest layouts accepted they stay inside [0, 32767] and inside the pipeline's own range
// (clear of the fixed tags in parallel/comm/tags.h), no two messages of a step share a (sender,
// receiver, tag), sends still match receives; one micro-batch more is refused with a Config
// error naming the layout keys. Tags are not a function of the step: the schedule has no step
// input and the executor runs one action list every step, so run length cannot move them.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <tuple>

#include "core/error.h"
#include "parallel/comm/tags.h"
#include "parallel/pipeline_schedule.h"

using namespace plinth;
using namespace plinth::parallel;

namespace {

bool is_send(ActionKind k) { return k == ActionKind::SendAct || k == ActionKind::SendGrad; }
bool is_recv(ActionKind k) { return k == ActionKind::RecvAct || k == ActionKind::RecvGrad; }

// Every message of one step of `kind` on shape s (all stages): tags in range, unique per
// (sender, receiver) and per receiver, sends and receives matching one to one.
void check_step_tags(ScheduleKind kind, const PipelineShape& s, bool forward_only = false) {
  const std::string what = str_cat(schedule_kind_name(kind), " pp=", s.stages, " m=", s.micro_batches,
                                   " v=", s.chunks, forward_only ? " forward-only" : "");
  std::map<std::tuple<int, int, int>, int> sends, recvs;   // (from, to, tag) -> count
  std::set<std::pair<int, int>> per_receiver;              // (to, tag)
  int lo = INT32_MAX, hi = INT32_MIN;
  for (int st = 0; st < s.stages; ++st) {
    const auto acts = forward_only ? pipeline_forward_schedule(s, st) : pipeline_schedule(kind, s, st);
    for (const PipelineAction& a : acts) {
      if (!is_send(a.kind) && !is_recv(a.kind)) continue;
      lo = std::min(lo, a.tag);
      hi = std::max(hi, a.tag);
      if (is_send(a.kind)) ++sends[{st, a.peer, a.tag}];
      if (is_recv(a.kind)) {
        ++recvs[{a.peer, st, a.tag}];
        ASSERT_TRUE(per_receiver.insert({st, a.tag}).second) << what << ": stage " << st << " receives tag " << a.tag
                                                             << " twice in one step";
      }
    }
  }
  EXPECT_GE(lo, comm::kPipelineTagBase) << what;
  EXPECT_LT(hi, comm::kPipelineTagBase + comm::kPipelineTagCount) << what;
  EXPECT_LE(hi, comm::kTagMax) << what;
  for (const auto& [key, n] : sends) EXPECT_EQ(n, 1) << what << ": (sender, receiver, tag) used twice";
  EXPECT_EQ(sends, recvs) << what;
}

}  // namespace

TEST(PipelineTags, FixedTagsLieOutsideThePipelineRangeAndBelowTheMpiGuarantee) {
  for (int tag : {comm::kTiedEmbeddingTag, comm::kStageGatherTag, comm::kDataCoordinatorTag}) {
    EXPECT_LE(tag, comm::kTagMax);
    EXPECT_TRUE(tag < comm::kPipelineTagBase || tag >= comm::kPipelineTagBase + comm::kPipelineTagCount) << tag;
  }
  EXPECT_EQ(comm::kTagMax, 32767);
}

TEST(PipelineTags, LargestAcceptedLayoutsStayInRangeAndUnique) {
  const int m1 = pipeline_max_micro_batches(1);
  EXPECT_EQ(m1, comm::kPipelineTagCount / 2);
  check_step_tags(ScheduleKind::GPipe, {2, m1, 1});
  check_step_tags(ScheduleKind::OneFOneB, {2, m1, 1});
  check_step_tags(ScheduleKind::OneFOneB, {8, m1, 1});
  // pp does not enter the tag count: a deep pipeline at the same micro-batches fits as well
  check_step_tags(ScheduleKind::OneFOneB, {64, 1024, 1});
  for (int v : {2, 4}) {
    const int m = pipeline_max_micro_batches(v) / 4 * 4;   // a multiple of pp = 4
    check_step_tags(ScheduleKind::Interleaved, {4, m, v});
    check_step_tags(ScheduleKind::Interleaved, {4, pipeline_max_micro_batches(v), v}, true);
  }
  check_step_tags(ScheduleKind::Interleaved, {2, pipeline_max_micro_batches(3) / 2 * 2, 3});
}

TEST(PipelineTags, OneMicroBatchTooManyIsRefusedNamingTheLayoutKeys) {
  for (int v : {1, 2, 4}) {
    const int limit = pipeline_max_micro_batches(v);
    const ScheduleKind kind = v == 1 ? ScheduleKind::OneFOneB : ScheduleKind::Interleaved;
    const int pp = 2;
    const int ok = limit / pp * pp, bad = ok + pp;   // interleaved needs m % pp == 0
    EXPECT_NO_THROW(pipeline_schedule_validate(kind, {pp, ok, v})) << "v=" << v;
    try {
      pipeline_schedule_validate(kind, {pp, bad, v});
      ADD_FAILURE() << "accepted " << bad << " micro-batches with " << v << " chunks";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(e.kind(), ErrorKind::Config) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      for (const std::string& needle :
           {str_cat("parallel.pp_chunks (", v, ")"), str_cat("micro-batches per step (", bad, " = "),
            std::string("train.micro_batch"), std::string("parallel.dp"), str_cat(2 * bad * v, " message tags"),
            str_cat("the ", comm::kPipelineTagCount, " reserved"), std::string("32767")})
        EXPECT_NE(msg.find(needle), std::string::npos) << "missing '" << needle << "' in: " << msg;
    }
  }
  // GPipe has no m >= pp rule: the tag limit is the only bound
  EXPECT_NO_THROW(pipeline_schedule_validate(ScheduleKind::GPipe, {3, pipeline_max_micro_batches(1), 1}));
  EXPECT_THROW(pipeline_schedule_validate(ScheduleKind::GPipe, {3, pipeline_max_micro_batches(1) + 1, 1}), Error);
  // no pipeline, no messages: gradient accumulation of any length stays allowed
  EXPECT_NO_THROW(pipeline_schedule_validate(ScheduleKind::GPipe, {1, 100000, 1}));
  EXPECT_NO_THROW(pipeline_forward_schedule({1, 100000, 1}, 0));
}

TEST(PipelineTags, ForwardOnlyBeyondTheLimitMustBeRunInRounds) {
  EXPECT_NO_THROW(pipeline_forward_schedule({2, pipeline_max_micro_batches(2), 2}, 0));
  try {
    pipeline_forward_schedule({2, pipeline_max_micro_batches(2) + 1, 2}, 0);
    ADD_FAILURE() << "accepted a forward schedule beyond the tag range";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Internal);
    EXPECT_NE(std::string(e.what()).find("rounds"), std::string::npos) << e.what();
  }
}

TEST(PipelineTags, AGroupWhoseTagUpperBoundIsTooSmallIsRefused) {
  EXPECT_NO_THROW(pipeline_tags_validate({2, 8, 1}, comm::kTagMax));
  try {
    pipeline_tags_validate({2, 8, 1}, 20000);
    ADD_FAILURE() << "accepted MPI_TAG_UB 20000";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Comm);
    EXPECT_NE(std::string(e.what()).find("MPI_TAG_UB is 20000"), std::string::npos) << e.what();
  }
}
