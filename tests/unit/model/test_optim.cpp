// test_optim.cpp -- LR schedules, AdamW decoupled decay on matrices only, clipping scale.
#include <gtest/gtest.h>

#include <cmath>

#include "core/aligned_buffer.h"
#include "core/error.h"
#include "optim/optim.h"

using namespace plinth;
using namespace plinth::optim;

TEST(LrSchedule, WarmupCosineEndsAtMinLr) {
  LrScheduleConfig c{.kind = LrSchedule::Cosine, .lr = 1.0f, .min_lr = 0.1f, .warmup_steps = 10, .total_steps = 110};
  EXPECT_FLOAT_EQ(lr_at(c, 0), 0.1f);
  EXPECT_FLOAT_EQ(lr_at(c, 9), 1.0f);
  EXPECT_FLOAT_EQ(lr_at(c, 10), 1.0f);
  EXPECT_NEAR(lr_at(c, 60), 0.55f, 1e-6);
  EXPECT_NEAR(lr_at(c, 110), 0.1f, 1e-6);
  for (int s = 11; s < 110; ++s) EXPECT_LE(lr_at(c, s), lr_at(c, s - 1));
}

TEST(LrSchedule, ConstantWithCooldown) {
  LrScheduleConfig c{.kind = LrSchedule::ConstantCooldown, .lr = 2.0f, .min_lr = 0.0f, .warmup_steps = 0,
                     .total_steps = 100, .cooldown_steps = 20};
  EXPECT_FLOAT_EQ(lr_at(c, 0), 2.0f);
  EXPECT_FLOAT_EQ(lr_at(c, 79), 2.0f);
  EXPECT_NEAR(lr_at(c, 89), 1.0f, 1e-6);
  EXPECT_NEAR(lr_at(c, 99), 0.0f, 1e-6);
  EXPECT_THROW(lr_schedule_parse("linear"), Error);
}

TEST(AdamW, DecoupledDecayOnlyWhereTheSpecSaysSo) {
  ParamLayout l;
  l.add(TensorSpec{.name = "w", .global_shape = {2, 2}, .decay = Decay::Yes});
  l.add(TensorSpec{.name = "b", .global_shape = {3}, .decay = Decay::No});
  AlignedBuffer<float> p(l.size()), g(l.size());
  for (int64_t i = 0; i < l.size(); ++i) p[i] = 1.0f;
  AdamW opt(l, AdamWConfig{.beta1 = 0.9f, .beta2 = 0.99f, .eps = 1e-8f, .weight_decay = 0.5f});
  opt.step(p.data(), g.data(), 0.1f, 1.0f, 1);  // zero gradient: only decay moves parameters
  const auto& w = l.at("w");
  const auto& b = l.at("b");
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(p[w.offset + i], 1.0f - 0.1f * 0.5f);
  for (int i = 0; i < 3; ++i) EXPECT_FLOAT_EQ(p[b.offset + i], 1.0f);
}

TEST(AdamW, FirstStepMovesByLrTimesSign) {
  ParamLayout l;
  l.add(TensorSpec{.name = "b", .global_shape = {4}, .decay = Decay::No});
  AlignedBuffer<float> p(l.size()), g(l.size());
  const float grads[4] = {0.5f, -2.0f, 1e-3f, -7.0f};
  for (int i = 0; i < 4; ++i) g[i] = grads[i];
  AdamW opt(l, AdamWConfig{.weight_decay = 0.0f});
  opt.step(p.data(), g.data(), 0.01f, 1.0f, 1);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(p[i], -0.01f * (grads[i] > 0 ? 1 : -1), 1e-6) << i;
}

TEST(AdamW, ShardRangesComposeToTheWholeUpdate) {
  ParamLayout l;
  l.add(TensorSpec{.name = "a", .global_shape = {5, 3}, .decay = Decay::Yes});
  l.add(TensorSpec{.name = "b", .global_shape = {7}, .decay = Decay::No});
  AlignedBuffer<float> p1(l.size()), p2(l.size()), g(l.size());
  for (int64_t i = 0; i < l.size(); ++i) {
    p1[i] = p2[i] = 0.1f * static_cast<float>(i % 7);
    g[i] = 0.01f * static_cast<float>(i % 5) - 0.02f;
  }
  AdamW whole(l, AdamWConfig{});
  AdamW lo(l, AdamWConfig{}, 0, 13), hi(l, AdamWConfig{}, 13, l.size());
  for (int step = 1; step <= 3; ++step) {
    whole.step(p1.data(), g.data(), 0.05f, 0.5f, step);
    lo.step(p2.data(), g.data(), 0.05f, 0.5f, step);
    hi.step(p2.data(), g.data(), 0.05f, 0.5f, step);
  }
  for (int64_t i = 0; i < l.size(); ++i) EXPECT_EQ(p1[i], p2[i]) << i;
}

TEST(Clip, ScaleBringsNormToMax) {
  EXPECT_FLOAT_EQ(clip_scale(0.5, 1.0f), 1.0f);
  EXPECT_NEAR(clip_scale(4.0, 1.0f) * 4.0, 1.0, 1e-6);
  EXPECT_FLOAT_EQ(clip_scale(100.0, 0.0f), 1.0f);
  ParamLayout l;
  l.add(TensorSpec{.name = "x", .global_shape = {3}});
  AlignedBuffer<float> g(l.size());
  g[0] = 3; g[1] = 4; g[2] = 0;
  g[3] = 100;  // padding: not part of any tensor, never counted
  EXPECT_DOUBLE_EQ(grad_sum_squares(l, g.data()), 25.0);
}
