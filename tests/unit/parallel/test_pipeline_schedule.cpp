// test_pipeline_schedule.cpp -- GPipe, 1F1B and interleaved schedules checked as data:
// forward before backward per micro-batch and chunk, every send matched by one receive on the
// peer, no deadlock, in-flight bounds, and the simulated bubble against (pp-1)/(v*m+pp-1).
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <tuple>

#include "core/error.h"
#include "parallel/pipeline_schedule.h"

using namespace plinth;
using namespace plinth::parallel;

namespace {

struct Case {
  ScheduleKind kind;
  int pp, m, v;
};

std::vector<Case> all_cases() {
  std::vector<Case> c;
  for (int pp : {1, 2, 3, 4})
    for (int m : {1, 2, 4, 5, 8}) {
      c.push_back({ScheduleKind::GPipe, pp, m, 1});
      if (m >= pp) c.push_back({ScheduleKind::OneFOneB, pp, m, 1});
      if (pp >= 2 && m % pp == 0)
        for (int v : {2, 3}) c.push_back({ScheduleKind::Interleaved, pp, m, v});
    }
  return c;
}

std::string name(const Case& c) {
  return str_cat(schedule_kind_name(c.kind), " pp=", c.pp, " m=", c.m, " v=", c.v);
}

}  // namespace

TEST(PipelineSchedule, EveryComputeOnceForwardBeforeBackward) {
  for (const Case& c : all_cases()) {
    const PipelineShape s{c.pp, c.m, c.v};
    for (int st = 0; st < c.pp; ++st) {
      auto acts = pipeline_schedule(c.kind, s, st);
      std::set<std::pair<int, int>> fwd, bwd;
      for (const auto& a : acts) {
        if (a.kind == ActionKind::Forward) {
          EXPECT_TRUE(fwd.insert({a.micro, a.chunk}).second) << name(c) << " stage " << st << " repeats F";
        } else if (a.kind == ActionKind::Backward) {
          EXPECT_TRUE(fwd.count({a.micro, a.chunk})) << name(c) << " stage " << st << ": B before F of "
                                                     << a.micro << ".c" << a.chunk;
          EXPECT_TRUE(bwd.insert({a.micro, a.chunk}).second) << name(c) << " repeats B";
        }
      }
      EXPECT_EQ(fwd.size(), static_cast<size_t>(c.m * c.v)) << name(c);
      EXPECT_EQ(bwd.size(), static_cast<size_t>(c.m * c.v)) << name(c);
    }
  }
}

TEST(PipelineSchedule, SendsMatchReceivesAcrossStages) {
  for (const Case& c : all_cases()) {
    const PipelineShape s{c.pp, c.m, c.v};
    // (from, to, tag, kind-is-grad) multiset of sends and of receives must be equal
    std::multiset<std::tuple<int, int, int, int>> sends, recvs;
    for (int st = 0; st < c.pp; ++st)
      for (const auto& a : pipeline_schedule(c.kind, s, st)) {
        if (a.kind == ActionKind::SendAct || a.kind == ActionKind::SendGrad)
          sends.insert({st, a.peer, a.tag, a.kind == ActionKind::SendGrad});
        if (a.kind == ActionKind::RecvAct || a.kind == ActionKind::RecvGrad)
          recvs.insert({a.peer, st, a.tag, a.kind == ActionKind::RecvGrad});
      }
    EXPECT_EQ(sends, recvs) << name(c);
    // one activation and one gradient message per micro-batch per boundary between virtual stages
    EXPECT_EQ(sends.size(), static_cast<size_t>(2 * c.m * (c.pp * c.v - 1))) << name(c);
    // tags unique per receiver
    std::set<std::pair<int, int>> seen;
    for (const auto& [from, to, tag, grad] : recvs) EXPECT_TRUE(seen.insert({to, tag}).second) << name(c);
  }
}

TEST(PipelineSchedule, ReceivePrecedesComputeAndSendFollowsIt) {
  const PipelineShape s{4, 8, 2};
  for (int st = 0; st < 4; ++st) {
    auto acts = pipeline_schedule(ScheduleKind::Interleaved, s, st);
    for (size_t i = 0; i < acts.size(); ++i) {
      if (acts[i].kind == ActionKind::RecvAct) {
        ASSERT_LT(i + 1, acts.size());
        EXPECT_EQ(acts[i + 1].kind, ActionKind::Forward);
        EXPECT_EQ(acts[i + 1].micro, acts[i].micro);
      }
      if (acts[i].kind == ActionKind::SendGrad) {
        ASSERT_GT(i, 0u);
        EXPECT_EQ(acts[i - 1].kind, ActionKind::Backward);
      }
    }
  }
}

TEST(PipelineSchedule, PeakInFlight) {
  for (int pp : {2, 3, 4})
    for (int m : {4, 8, 12}) {
      if (m < pp) continue;
      const PipelineShape s{pp, m, 1};
      for (int st = 0; st < pp; ++st) {
        EXPECT_EQ(pipeline_peak_in_flight(pipeline_schedule(ScheduleKind::OneFOneB, s, st)), pp - st)
            << "1F1B pp=" << pp << " m=" << m << " stage " << st;
        EXPECT_EQ(pipeline_peak_in_flight(pipeline_schedule(ScheduleKind::GPipe, s, st)), m);
      }
    }
  // interleaved keeps more chunk-activations in flight than 1F1B, but each holds 1/v of a stage
  const PipelineShape s{4, 8, 2};
  EXPECT_LE(pipeline_peak_in_flight(pipeline_schedule(ScheduleKind::Interleaved, s, 0)), 4 * 2 + 4);
}

TEST(PipelineSchedule, SimulatedBubbleEqualsTheory) {
  for (const Case& c : all_cases()) {
    const PipelineShape s{c.pp, c.m, c.v};
    const ScheduleSimulation sim = pipeline_simulate(c.kind, s, 1.0, 1.0);   // throws on deadlock
    EXPECT_NEAR(sim.bubble_fraction, pipeline_theoretical_bubble(c.kind, s), 1e-12) << name(c);
    if (c.kind != ScheduleKind::Interleaved) {
      // backward twice as expensive: the 1F1B / GPipe bubble does not change
      const ScheduleSimulation sim2 = pipeline_simulate(c.kind, s, 1.0, 2.0);
      EXPECT_NEAR(sim2.bubble_fraction, pipeline_theoretical_bubble(c.kind, s), 1e-12) << name(c);
    }
  }
}

TEST(PipelineSchedule, InterleavedBubbleSmallerThan1F1B) {
  for (int pp : {2, 4})
    for (int m : {4, 8}) {
      const double one = pipeline_simulate(ScheduleKind::OneFOneB, {pp, m, 1}).bubble_fraction;
      const double inter = pipeline_simulate(ScheduleKind::Interleaved, {pp, m, 2}).bubble_fraction;
      EXPECT_LT(inter, one) << "pp=" << pp << " m=" << m;
      EXPECT_NEAR(one, static_cast<double>(pp - 1) / (m + pp - 1), 1e-12);
    }
}

TEST(PipelineSchedule, BadShapesAreConfigErrors) {
  auto config_error = [](ScheduleKind k, PipelineShape s, const std::string& needle) {
    try {
      pipeline_schedule_validate(k, s);
      ADD_FAILURE() << "accepted " << needle;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Config);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  config_error(ScheduleKind::OneFOneB, {4, 3, 1}, "at least parallel.pp");
  config_error(ScheduleKind::Interleaved, {4, 6, 2}, "multiple of parallel.pp");
  config_error(ScheduleKind::Interleaved, {4, 8, 1}, "pp_chunks >= 2");
  config_error(ScheduleKind::GPipe, {2, 4, 2}, "needs parallel.pp_schedule = interleaved");
  config_error(ScheduleKind::GPipe, {2, 0, 1}, "at least one micro-batch");
  EXPECT_EQ(schedule_kind_from_name("1f1b"), ScheduleKind::OneFOneB);
  EXPECT_THROW(schedule_kind_from_name("zigzag"), Error);
}

TEST(PipelineSchedule, ForwardOnlyScheduleHasNoBackward) {
  const PipelineShape s{2, 3, 2};
  std::multiset<std::pair<int, int>> sends, recvs;
  for (int st = 0; st < 2; ++st)
    for (const auto& a : pipeline_forward_schedule(s, st)) {
      EXPECT_NE(a.kind, ActionKind::Backward);
      if (a.kind == ActionKind::SendAct) sends.insert({a.peer, a.tag});
      if (a.kind == ActionKind::RecvAct) recvs.insert({st, a.tag});
    }
  EXPECT_EQ(sends, recvs);
  EXPECT_EQ(sends.size(), 3u * 3u);   // 3 micro-batches x 3 boundaries between 4 virtual stages
}
