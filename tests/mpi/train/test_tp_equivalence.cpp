// test_tp_equivalence.cpp -- tensor parallelism equals the unsharded model.
// Under mpirun with W ranks:
//  1. vocabulary-parallel cross-entropy (loss and gradient) equals the unsharded kernel, with
//     a padded vocabulary whose padding holds huge logits;
//  2. the whole model (GPT-2, and LLaMA with grouped-query attention; sequence parallelism off
//     and on) sharded over tp = W: loss within 1e-5 and every tensor's gradient within 1e-4
//     (relative, in norm) of the unsharded model's, which runs on every rank;
//  3. 20 training steps at (tp, dp) = (W, 1) and, for W = 4, (2, 2), with and without sequence
//     parallelism: losses within 1e-5 of the one-process run.
// Every verdict is agreed across ranks before it is reported.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/rng.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "parallel/grid.h"
#include "parallel/tensor_parallel.h"
#include "train_test_util.h"

using namespace plinth;
using parallel::SequenceParallel;

namespace {

model::ModelConfig tiny(model::Arch arch) {
  model::ModelConfig c = testing::tiny_model(arch, 2, 32, arch == model::Arch::Llama ? 8 : 4, 8);
  c.vocab_size = 37;
  c.vocab_pad_multiple = 8;   // padded 40: tp = 2 and 4 divide it
  c.n_head_kv = arch == model::Arch::Llama ? 4 : 0;
  c.ffn_hidden = arch == model::Arch::Llama ? 64 : 0;
  c.init_std = 0.2f;
  return c;
}

std::vector<int32_t> random_tokens(int64_t n, int64_t V, uint64_t seed) {
  Rng r(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = static_cast<int32_t>(r.below(static_cast<uint64_t>(V)));
  return t;
}

void check_model(testing::MpiCases& t, comm::Communicator& world, model::Arch arch, SequenceParallel sp) {
  const model::ModelConfig c = tiny(arch);
  const int R = world.size();
  model::Model full(c), shard(c, model::TpShard{world.rank(), R}, sp);
  const int64_t B = 2, T = c.seq_len, N = B * T;
  AlignedBuffer<float> pf(full.layout().size()), gf(full.layout().size());
  AlignedBuffer<float> ps(shard.layout().size()), gs(shard.layout().size());
  model::model_init_params(full.layout(), pf.data(), 5);
  model::model_init_params(shard.layout(), ps.data(), 5);
  auto tokens = random_tokens(N, c.vocab_size, 1), targets = random_tokens(N, c.vocab_size, 2);
  targets[5] = -1;
  model::Activations af = model::activations_allocate(c, B, T), as = shard.allocate_activations(B, T);
  const float lf = model::model_forward(full, pf.data(), af, tokens.data(), targets.data(), B, T);
  model::model_backward(full, pf.data(), gf.data(), af, tokens.data(), targets.data(), B, T, 1.0f / N);
  const float ls = model::model_forward(shard, world, ps.data(), as, tokens.data(), targets.data(), B, T);
  model::model_backward(shard, world, ps.data(), gs.data(), as, tokens.data(), targets.data(), B, T, 1.0f / N);
  t.check(std::fabs(lf - ls) <= 1e-5 * std::fabs(lf), str_cat("loss ", ls, " vs unsharded ", lf));
  AlignedBuffer<float> g_gathered(full.layout().size());
  parallel::tp_gather_full_tensors(device::cpu_backend(), world, shard.layout(), gs.data(), full.layout(), g_gathered.data());
  // Relative to the tensor's gradient norm, with a floor of 1e-6 of the whole gradient's norm:
  // some gradients are zero in exact arithmetic (e.g. a key bias: softmax ignores a constant
  // shift) and hold only rounding noise.
  double total = 0;
  for (int64_t i = 0; i < full.layout().size(); ++i) total += static_cast<double>(gf[i]) * gf[i];
  total = std::sqrt(total);
  for (const TensorSpec& s : full.layout().specs()) {
    double d = 0, n = 0;
    for (int64_t i = 0; i < s.numel(); ++i) {
      const double a = g_gathered[s.offset + i], b = gf[s.offset + i];
      d += (a - b) * (a - b);
      n += b * b;
    }
    d = std::sqrt(d);
    n = std::sqrt(n);
    t.check(d <= 1e-4 * n + 1e-6 * total, str_cat("gradient of ", s.name, " differs: |diff| ", d, ", |grad| ", n));
  }
}

}  // namespace

int main(int argc, char** argv) {
  testing::MpiTrainTest env;
  auto& world = env.world;
  testing::MpiCases t(*world);
  const int R = world->size();

  t.run("vocabulary-parallel cross-entropy equals the unsharded one", [&] {
    const int64_t N = 13, V = 37, Vp = 40, Vl = Vp / R;
    std::vector<float> logits(N * Vp);
    Rng r(3);
    for (auto& x : logits) x = static_cast<float>(r.uniform() * 8 - 4);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t v = V; v < Vp; ++v) logits[n * Vp + v] = 1e4f;   // padding must never win
    auto targets = random_tokens(N, V, 4);
    targets[2] = -1;
    std::vector<float> loss_ref(N), dl_ref(N * Vp), dlosses(N, 0.5f);
    kernels::crossentropy_forward(loss_ref.data(), logits.data(), targets.data(), N, V, Vp);
    kernels::crossentropy_backward(dl_ref.data(), logits.data(), targets.data(), dlosses.data(), N, V, Vp);
    std::vector<float> local(N * Vl), loss(N), stats(2 * N), dl(N * Vl);
    const int64_t v0 = world->rank() * Vl;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t j = 0; j < Vl; ++j) local[n * Vl + j] = logits[n * Vp + v0 + j];
    std::vector<float> row_max(N);
    std::vector<double> sums(2 * N);
    parallel::tp_vocab_crossentropy_forward(device::cpu_backend(), *world, loss.data(), stats.data(), row_max.data(),
                                            sums.data(), local.data(), targets.data(), N, v0, Vl, V);
    device::cpu_backend().vocab_ce_backward(dl.data(), local.data(), stats.data(), targets.data(), dlosses.data(), N, v0,
                                            Vl, V);
    for (int64_t n = 0; n < N; ++n) {
      t.check(std::fabs(loss[n] - loss_ref[n]) <= 1e-5f * std::fabs(loss_ref[n]) + 1e-6f, str_cat("loss row ", n));
      for (int64_t j = 0; j < Vl; ++j)
        t.check(std::fabs(dl[n * Vl + j] - dl_ref[n * Vp + v0 + j]) <= 1e-6f, str_cat("dlogit ", n, ",", v0 + j));
    }
  });

  for (model::Arch arch : {model::Arch::Gpt2, model::Arch::Llama})
    for (SequenceParallel sp : {SequenceParallel::Off, SequenceParallel::On})
      t.run(str_cat("model ", model::arch_name(arch), " tp=", R, sp == SequenceParallel::On ? " +sequence-parallel" : "",
                    ": loss and every gradient equal the unsharded model"),
            [&] { check_model(t, *world, arch, sp); });

  if (argc >= 3) {
    const std::string corpus = argv[1], work = std::string(argv[2]) + "/tp_np" + std::to_string(R);
    model::ModelConfig mc = tiny(model::Arch::Gpt2);
    mc.vocab_size = 256;
    mc.vocab_pad_multiple = 64;
    mc.seq_len = 16;
    mc.init_std = 0.02f;
    auto base = [&](const std::string& out) {
      train::TrainConfig tc = testing::quiet_train_config({corpus}, out, 20, 9);
      tc.schedule.lr = 3e-3f;
      tc.schedule.warmup_steps = 3;
      tc.eval_windows = 8;
      tc.global_batch = 8;
      tc.micro_batch = 8;
      return tc;
    };
    testing::OneProcess one;
    const std::vector<float> ref =
        testing::train_once(mc, base(work + "/ref_r" + std::to_string(world->rank())), one.tp, one.pp, one.dp).losses;
    std::vector<std::pair<int, int>> layouts = {{R, 1}};
    if (R == 4) layouts.push_back({2, 2});
    for (auto [tp, dp] : layouts)
      for (SequenceParallel sp : {SequenceParallel::Off, SequenceParallel::On})
        t.run(str_cat("20 steps at tp=", tp, " dp=", dp, sp == SequenceParallel::On ? " +sequence-parallel" : "",
                      " equal the one-process losses"),
              [&] {
                parallel::Grid grid(*world, parallel::GridShape{.tp = tp, .pp = 1, .dp = dp});
                train::TrainConfig tc = base(work + "/run");
                tc.micro_batch = 4 / dp;   // two micro-batches per step: gradient accumulation too
                tc.sequence_parallel = sp;
                testing::check_losses(t, testing::train_once(mc, tc, grid.tp(), grid.pp(), grid.dp()).losses, ref,
                                      1e-5);
              });
  }
  return t.finish();
}
