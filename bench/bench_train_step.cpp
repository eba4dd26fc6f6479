// bench_train_step.cpp -- training-step throughput of the CPU model, and its ratio to the SGEMM
// rate measured in the same process at the same thread count.
//
// One step is what train::Trainer::train_step does: zero grads, model_forward, model_backward
// (dloss = 1/(B*T)), global grad norm, clip scale, AdamW. Data are random tokens from a fixed
// seed (tokens and targets uniform in [0, vocab)). Prints one JSON line; bench/torch_gpt.py prints
// the same line for PyTorch, and bench/run_vs_torch.sh puts the two side by side.
//
//   bench_train_step --arch gpt2 --vocab 256 --layers 4 --embd 128 --heads 4 --seq 128 --batch 16
//                    --steps 20 --warmup 3 --threads 1 --seed 1 [--sgemm-seconds 1] [--profile]
//
// --profile adds "profile_ms": mean milliseconds per timed step of each phase (zero grads,
// forward, backward, grad norm, AdamW) and, inside forward/backward, of each kernel family
// (timed by wrappers the linker puts around the kernels, see kernel_timers.cpp).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/error.h"
#include "core/rng.h"
#include "device/device_buffer.h"
#include "kernels/kernels.h"
#include "kernel_timers.h"
#include "model/activations.h"
#include "model/model.h"
#include "model/model_config.h"
#include "model/param_layout.h"
#include "optim/optim.h"

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Args {
  std::string arch = "gpt2";
  int64_t vocab = 256, layers = 4, embd = 128, heads = 4, seq = 128, batch = 16;
  int64_t steps = 20, warmup = 3;
  int threads = 1;
  uint64_t seed = 1;
  double sgemm_seconds = 1.0;
  bool profile = false;
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "bench_train_step: %s\nusage: bench_train_step [--arch gpt2|llama] [--vocab V] [--layers L]"
               " [--embd C] [--heads H] [--seq T] [--batch B] [--steps S] [--warmup W] [--threads N]"
               " [--seed S] [--sgemm-seconds X] [--profile]\n",
               msg);
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--profile") {
      a.profile = true;
      continue;
    }
    if (k == "-h" || k == "--help") usage("help");
    if (i + 1 >= argc) usage(("missing value after " + k).c_str());
    const std::string v = argv[++i];
    auto num = [&]() -> int64_t {
      char* end = nullptr;
      const long long x = std::strtoll(v.c_str(), &end, 10);
      if (!end || *end) usage(("not an integer: " + k + " " + v).c_str());
      return x;
    };
    if (k == "--arch") a.arch = v;
    else if (k == "--vocab") a.vocab = num();
    else if (k == "--layers") a.layers = num();
    else if (k == "--embd") a.embd = num();
    else if (k == "--heads") a.heads = num();
    else if (k == "--seq") a.seq = num();
    else if (k == "--batch") a.batch = num();
    else if (k == "--steps") a.steps = num();
    else if (k == "--warmup") a.warmup = num();
    else if (k == "--threads") a.threads = static_cast<int>(num());
    else if (k == "--seed") a.seed = static_cast<uint64_t>(num());
    else if (k == "--sgemm-seconds") a.sgemm_seconds = std::atof(v.c_str());
    else usage(("unknown option " + k).c_str());
  }
  if (a.steps < 1 || a.warmup < 0 || a.batch < 1 || a.seq < 1) usage("steps, batch, seq must be >= 1");
  return a;
}

// n x n x n SGEMM (C = A B^T, the layout of a linear layer's forward) repeated for ~seconds.
double measure_sgemm_gflops(int64_t n, double seconds) {
  plinth::AlignedBuffer<float> a(n * n), b(n * n), c(n * n);
  for (int64_t i = 0; i < n * n; ++i) {
    a[i] = 0.001f * static_cast<float>(i % 97);
    b[i] = 0.002f * static_cast<float>(i % 89);
  }
  auto run = [&] {
    plinth::kernels::gemm(plinth::kernels::Trans::No, plinth::kernels::Trans::Yes, n, n, n, 1.0f, a.data(), n,
                          b.data(), n, 0.0f, c.data(), n);
  };
  run();  // warm up (thread pool, page faults)
  int64_t reps = 0;
  auto t0 = Clock::now();
  do {
    run();
    ++reps;
  } while (since(t0) < seconds);
  return 2.0 * static_cast<double>(n) * n * n * static_cast<double>(reps) / since(t0) / 1e9;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') o += '\\';
    if (ch == '\n') {
      o += "\\n";
      continue;
    }
    o += ch;
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  namespace model = plinth::model;
  namespace optim = plinth::optim;
  namespace kernels = plinth::kernels;
  const Args args = parse(argc, argv);
  try {
    kernels::set_num_threads(args.threads);

    model::ModelConfig mc;
    mc.arch = model::arch_parse(args.arch);
    mc.vocab_size = args.vocab;
    mc.vocab_pad_multiple = 64;
    mc.n_layer = args.layers;
    mc.n_embd = args.embd;
    mc.n_head = args.heads;
    mc.seq_len = args.seq;
    model::model_config_validate(mc);

    const int64_t B = args.batch, T = args.seq, N = B * T;
    plinth::device::Backend& be = plinth::device::cpu_backend();   // the CPU backend, through the device seam
    model::Model m(mc, {}, plinth::parallel::SequenceParallel::Off, {}, be);
    const int64_t P = m.layout().size();
    plinth::device::DeviceBuffer<float> params(be, static_cast<size_t>(P)), grads(be, static_cast<size_t>(P));
    {
      std::vector<float> init(static_cast<size_t>(P));
      model::model_init_params(m.layout(), init.data(), args.seed);
      be.copy_to_device(params.data(), init.data(), init.size() * sizeof(float));
    }
    optim::AdamWConfig ac;
    ac.beta1 = 0.9f;
    ac.beta2 = 0.95f;
    ac.eps = 1e-8f;
    ac.weight_decay = 0.1f;
    optim::AdamW adamw(m.layout(), ac, {{0, m.layout().size()}}, be);
    model::Activations acts = m.allocate_activations(B, T);
    plinth_bench::kernel_timers_set_head_oc(mc.padded_vocab());

    // One fixed random batch per step, all generated up front (not timed).
    const int64_t total_steps = args.warmup + args.steps;
    std::vector<int32_t> tokens(static_cast<size_t>(total_steps * N)), targets(tokens.size());
    plinth::Rng rng(args.seed);
    for (size_t i = 0; i < tokens.size(); ++i) {
      tokens[i] = static_cast<int32_t>(rng.below(static_cast<uint64_t>(args.vocab)));
      targets[i] = static_cast<int32_t>(rng.below(static_cast<uint64_t>(args.vocab)));
    }

    const float lr = 1e-3f, clip = 1.0f;
    const float dloss = 1.0f / static_cast<float>(N);
    std::vector<float> losses;
    double t_zero = 0, t_fwd = 0, t_bwd = 0, t_norm = 0, t_adam = 0, t_total = 0;
    for (int64_t s = 0; s < total_steps; ++s) {
      const bool timed = s >= args.warmup;
      if (s == args.warmup) plinth_bench::kernel_timers_reset();
      plinth_bench::kernel_timers_enable(args.profile && timed);
      const int32_t* tok = tokens.data() + s * N;
      const int32_t* tgt = targets.data() + s * N;
      auto t0 = Clock::now();
      grads.zero();
      auto t1 = Clock::now();
      const float loss = model::model_forward(m, params.data(), acts, tok, tgt, B, T);
      auto t2 = Clock::now();
      model::model_backward(m, params.data(), grads.data(), acts, tok, tgt, B, T, dloss);
      auto t3 = Clock::now();
      const double norm = std::sqrt(optim::grad_sum_squares(m.layout(), grads.data(), 0, -1, be));
      const float gscale = optim::clip_scale(norm, clip);
      auto t4 = Clock::now();
      adamw.step(params.data(), grads.data(), lr, gscale, s + 1);
      auto t5 = Clock::now();
      PLINTH_CHECK(std::isfinite(loss), Internal, "loss is not finite at step ", s + 1);
      losses.push_back(loss);
      if (timed) {
        auto d = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
        t_zero += d(t0, t1);
        t_fwd += d(t1, t2);
        t_bwd += d(t2, t3);
        t_norm += d(t3, t4);
        t_adam += d(t4, t5);
        t_total += d(t0, t5);
      }
    }
    plinth_bench::kernel_timers_enable(false);

    const double step_s = t_total / static_cast<double>(args.steps);
    const double tokens_per_s = static_cast<double>(N) / step_s;
    const double flops_per_token = model::model_flops_per_token(mc, T);
    const double model_gflops = tokens_per_s * flops_per_token / 1e9;
    const double sgemm_gflops = measure_sgemm_gflops(1024, args.sgemm_seconds);

    std::string out = "{\"impl\":\"plinth\",\"config\":{";
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "\"arch\":\"%s\",\"vocab\":%lld,\"padded_vocab\":%lld,\"layers\":%lld,\"embd\":%lld,"
                  "\"heads\":%lld,\"seq\":%lld,\"batch\":%lld,\"steps\":%lld,\"warmup\":%lld,\"seed\":%llu,"
                  "\"params\":%lld}",
                  args.arch.c_str(), (long long)args.vocab, (long long)mc.padded_vocab(), (long long)args.layers,
                  (long long)args.embd, (long long)args.heads, (long long)T, (long long)B, (long long)args.steps,
                  (long long)args.warmup, (unsigned long long)args.seed,
                  (long long)model::model_param_counts(mc).total);
    out += buf;
    std::snprintf(buf, sizeof buf, ",\"threads\":%d,\"tokens_per_s\":%.2f,\"step_ms\":%.3f,\"losses\":[",
                  args.threads, tokens_per_s, step_s * 1e3);
    out += buf;
    for (size_t i = 0; i < losses.size() && i < 5; ++i) {
      std::snprintf(buf, sizeof buf, "%s%.7g", i ? "," : "", static_cast<double>(losses[i]));
      out += buf;
    }
    std::snprintf(buf, sizeof buf,
                  "],\"model_flops_per_token\":%.6g,\"model_gflops_per_s\":%.3f,\"sgemm_gflops_per_s\":%.3f,"
                  "\"ratio_to_sgemm\":%.4f",
                  flops_per_token, model_gflops, sgemm_gflops, model_gflops / sgemm_gflops);
    out += buf;
    if (args.profile) {
      const double k = 1e3 / static_cast<double>(args.steps);
      std::snprintf(buf, sizeof buf,
                    ",\"profile_ms\":{\"zero_grads\":%.3f,\"forward\":%.3f,\"backward\":%.3f,\"grad_norm\":%.3f,"
                    "\"adamw\":%.3f,\"kernels\":{",
                    t_zero * k, t_fwd * k, t_bwd * k, t_norm * k, t_adam * k);
      out += buf;
      bool first = true;
      for (const auto& [name, secs] : plinth_bench::kernel_timers_report()) {
        std::snprintf(buf, sizeof buf, "%s\"%s\":%.3f", first ? "" : ",", name.c_str(), secs * k);
        out += buf;
        first = false;
      }
      out += "}}";
    }
    out += ",\"compute_setup\":\"" + json_escape(kernels::compute_setup()) + "\"}";
    std::printf("%s\n", out.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_train_step: %s\n", e.what());
    return 1;
  }
}
