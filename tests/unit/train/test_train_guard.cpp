// test_train_guard.cpp -- the step guard (non-finite steps, loss spikes) and the MFU peak
// arithmetic, without the binary (the integration cases are in test_train_health.py).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "kernels/kernels.h"
#include "train/peak_flops.h"
#include "train/train_guard.h"

using namespace plinth;
using namespace plinth::train;

TEST(StepGuard, NonFiniteIsSkippedAndCountedThenStops) {
  StepGuard g(GuardConfig{.max_nonfinite_steps = 3});
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(g.classify(2.0, nan), StepVerdict::NonFinite);
  EXPECT_EQ(g.classify(inf, 1.0), StepVerdict::NonFinite);
  EXPECT_EQ(g.classify(2.0, 1.0), StepVerdict::Ok);
  EXPECT_EQ(g.record(1, StepVerdict::NonFinite, 2.0, nan), StepOutcome::SkippedNonFinite);
  EXPECT_EQ(g.record(2, StepVerdict::NonFinite, 2.0, nan), StepOutcome::SkippedNonFinite);
  EXPECT_EQ(g.record(3, StepVerdict::Ok, 2.0, 1.0), StepOutcome::Applied);   // the run of NaN ends
  EXPECT_EQ(g.record(4, StepVerdict::NonFinite, 2.0, nan), StepOutcome::SkippedNonFinite);
  EXPECT_EQ(g.record(5, StepVerdict::NonFinite, 2.0, nan), StepOutcome::SkippedNonFinite);
  try {
    g.record(6, StepVerdict::NonFinite, 2.0, nan);
    FAIL() << "no error after 3 in a row";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Config);
    EXPECT_NE(std::string(e.what()).find("3 consecutive steps"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("steps 4..6"), std::string::npos) << e.what();
  }
  EXPECT_EQ(g.nonfinite_steps(), 5);
}

TEST(StepGuard, SpikeAgainstTheRunningMedian) {
  StepGuard g(GuardConfig{.spike_factor = 2.0, .spike_window = 4, .spike_action = SpikeAction::Skip});
  const double first[] = {3.9, 3.8, 3.7};
  for (int s = 1; s <= 3; ++s) {
    EXPECT_EQ(g.classify(100.0, 1.0), StepVerdict::Ok) << "window not full yet";
    g.record(s, StepVerdict::Ok, first[s - 1], 1.0);
  }
  g.record(4, StepVerdict::Ok, 3.5, 1.0);
  EXPECT_DOUBLE_EQ(g.median(), (3.8 + 3.7) / 2);   // window 3.9 3.8 3.7 3.5
  EXPECT_EQ(g.classify(7.4, 1.0), StepVerdict::Ok);
  EXPECT_EQ(g.classify(7.6, 1.0), StepVerdict::Spike);
  EXPECT_EQ(g.record(5, StepVerdict::Spike, 7.6, 1.0), StepOutcome::SkippedSpike);
  EXPECT_DOUBLE_EQ(g.median(), (3.8 + 3.7) / 2);   // a spike does not enter the window
  g.record(6, StepVerdict::Ok, 3.4, 1.0);          // the oldest (3.9) leaves: 3.8 3.7 3.5 3.4
  EXPECT_DOUBLE_EQ(g.median(), (3.7 + 3.5) / 2);
  StepGuard logging(GuardConfig{.spike_factor = 2.0, .spike_window = 1, .spike_action = SpikeAction::Log});
  logging.record(1, StepVerdict::Ok, 1.0, 1.0);
  EXPECT_EQ(logging.record(2, StepVerdict::Spike, 9.0, 1.0), StepOutcome::SpikeApplied);
  EXPECT_EQ(logging.spike_steps(), 1);
  EXPECT_EQ(spike_action_parse("skip"), SpikeAction::Skip);
  EXPECT_THROW(spike_action_parse("drop"), Error);
}

TEST(PeakFlops, StatedOrCoresTimesFlopPerCycleTimesClock) {
  device::DeviceInfo cpu = device::cpu_backend().info();
  cpu.threads = 8;
  EXPECT_DOUBLE_EQ(peak_flops(2.5, cpu).flops_per_s, 2.5e12);
  const CpuClock clock = cpu_clock_mhz();
  ASSERT_GT(clock.mhz, 0) << "no clock source on this machine";
  const double lanes = kernels::cpu_widest_fp32_lanes();
  EXPECT_TRUE(lanes == 4 || lanes == 8 || lanes == 16);
  EXPECT_EQ(cpu.fp32_lanes, lanes);
  cpu.threads = 3;
  const PeakFlops p = peak_flops(0, cpu);
  EXPECT_DOUBLE_EQ(p.flops_per_s, 3 * lanes * 2 * 2 * clock.mhz * 1e6);
  EXPECT_NE(p.derivation.find(clock.source), std::string::npos) << p.derivation;
}
