// test_run_config.cpp -- the defaults of `plinth train` have one source: the member initialisers
// of ModelConfig, TrainConfig (and the optimizer, guard and data structs it holds) and the launch
// structs. Parsing no options at all must give exactly a default-constructed RunConfig, for every
// key that maps to a field; the default texts (--help, the resolved INI stored in checkpoints)
// are the ones users have always seen.
#include <gtest/gtest.h>

#include <string>

#include "launch/run_config.h"

namespace plinth::launch {
namespace {

// Fails naming the key when the option table's default (parsed as a user's run would parse it)
// differs from the struct's member initialiser.
TEST(RunConfigDefaults, EveryCliDefaultIsTheStructDefault) {
  const RunConfig cli = run_config_parse({});
  const RunConfig d;
  const model::ModelConfig &m = cli.model, &dm = d.model;
  EXPECT_EQ(m.arch, dm.arch) << "model.arch";
  EXPECT_EQ(m.vocab_size, dm.vocab_size) << "model.vocab_size";
  EXPECT_EQ(m.vocab_pad_multiple, dm.vocab_pad_multiple) << "model.vocab_pad_multiple";
  EXPECT_EQ(m.n_layer, dm.n_layer) << "model.n_layer";
  EXPECT_EQ(m.n_embd, dm.n_embd) << "model.n_embd";
  EXPECT_EQ(m.n_head, dm.n_head) << "model.n_head";
  EXPECT_EQ(m.n_head_kv, dm.n_head_kv) << "model.n_head_kv";
  EXPECT_EQ(m.seq_len, dm.seq_len) << "model.seq_len";
  EXPECT_EQ(m.ffn_hidden, dm.ffn_hidden) << "model.ffn_hidden";
  EXPECT_EQ(m.norm_eps, dm.norm_eps) << "model.norm_eps";
  EXPECT_EQ(m.rope_theta, dm.rope_theta) << "model.rope_theta";
  EXPECT_EQ(cli.tie_embeddings, d.tie_embeddings) << "model.tie_embeddings";
  EXPECT_EQ(m.tie_embeddings, dm.tie_embeddings) << "model.tie_embeddings (auto, resolved for the default arch)";
  EXPECT_EQ(m.init_std, dm.init_std) << "model.init_std";

  const train::TrainConfig &t = cli.train, &dt = d.train;
  EXPECT_EQ(t.data.corpora, dt.data.corpora) << "data.corpus";
  EXPECT_EQ(t.data.weights, dt.data.weights) << "data.weights";
  EXPECT_EQ(t.data.access, dt.data.access) << "data.access";
  EXPECT_EQ(cli.device, d.device) << "device.kind";
  EXPECT_EQ(cli.parallel.tp, d.parallel.tp) << "parallel.tp";
  EXPECT_EQ(cli.parallel.pp, d.parallel.pp) << "parallel.pp";
  EXPECT_EQ(t.pp_schedule, dt.pp_schedule) << "parallel.pp_schedule";
  EXPECT_EQ(t.pp_chunks, dt.pp_chunks) << "parallel.pp_chunks";
  EXPECT_EQ(t.pp_layers, dt.pp_layers) << "parallel.pp_layers";
  EXPECT_EQ(cli.parallel.dp, d.parallel.dp) << "parallel.dp";
  EXPECT_EQ(t.sequence_parallel, dt.sequence_parallel) << "parallel.sequence_parallel";
  EXPECT_EQ(t.zero, dt.zero) << "parallel.zero";
  EXPECT_EQ(t.bucket_bytes, dt.bucket_bytes) << "parallel.bucket_mb";
  EXPECT_EQ(cli.parallel.comm_timeout_s, d.parallel.comm_timeout_s) << "parallel.comm_timeout";
  EXPECT_EQ(t.micro_batch, dt.micro_batch) << "train.micro_batch";
  EXPECT_EQ(t.grad_accum, dt.grad_accum) << "train.grad_accum";
  EXPECT_EQ(t.global_batch, dt.global_batch) << "train.global_batch";
  EXPECT_EQ(t.steps, dt.steps) << "train.steps";
  EXPECT_EQ(t.seed, dt.seed) << "train.seed";
  EXPECT_EQ(t.threads, dt.threads) << "train.threads";
  EXPECT_EQ(t.grad_clip, dt.grad_clip) << "train.grad_clip";
  EXPECT_EQ(t.guard.max_nonfinite_steps, dt.guard.max_nonfinite_steps) << "train.max_nonfinite_steps";
  EXPECT_EQ(t.guard.spike_factor, dt.guard.spike_factor) << "train.spike_factor";
  EXPECT_EQ(t.guard.spike_window, dt.guard.spike_window) << "train.spike_window";
  EXPECT_EQ(t.guard.spike_action, dt.guard.spike_action) << "train.spike_action";
  EXPECT_EQ(t.test_nan_first, dt.test_nan_first) << "train.test_nan_steps";
  EXPECT_EQ(t.test_nan_last, dt.test_nan_last) << "train.test_nan_steps";
  EXPECT_EQ(t.test_spike_step, dt.test_spike_step) << "train.test_spike_at_step";
  EXPECT_EQ(t.test_nan_param_step, dt.test_nan_param_step) << "train.test_nan_param_at_step";
  EXPECT_EQ(t.schedule.lr, dt.schedule.lr) << "optim.lr";
  EXPECT_EQ(t.schedule.min_lr, dt.schedule.min_lr) << "optim.min_lr";
  EXPECT_EQ(t.schedule.warmup_steps, dt.schedule.warmup_steps) << "optim.warmup_steps";
  EXPECT_EQ(t.schedule.kind, dt.schedule.kind) << "optim.schedule";
  EXPECT_EQ(t.schedule.cooldown_steps, dt.schedule.cooldown_steps) << "optim.cooldown_steps";
  EXPECT_EQ(t.adamw.weight_decay, dt.adamw.weight_decay) << "optim.weight_decay";
  EXPECT_EQ(t.adamw.beta1, dt.adamw.beta1) << "optim.beta1";
  EXPECT_EQ(t.adamw.beta2, dt.adamw.beta2) << "optim.beta2";
  EXPECT_EQ(t.adamw.eps, dt.adamw.eps) << "optim.eps";
  EXPECT_EQ(t.eval_interval, dt.eval_interval) << "eval.interval";
  EXPECT_EQ(t.eval_windows, dt.eval_windows) << "eval.windows";
  EXPECT_EQ(t.log_interval, dt.log_interval) << "log.interval";
  EXPECT_EQ(t.out_dir, dt.out_dir) << "log.out_dir";
  EXPECT_EQ(t.metrics_file, dt.metrics_file) << "log.metrics_file";
  EXPECT_EQ(t.peak_tflops, dt.peak_tflops) << "log.peak_tflops";
  EXPECT_EQ(t.ckpt_dir, dt.ckpt_dir) << "checkpoint.dir";
  EXPECT_EQ(t.ckpt_interval, dt.ckpt_interval) << "checkpoint.interval";
  EXPECT_EQ(t.ckpt_keep, dt.ckpt_keep) << "checkpoint.keep";
  EXPECT_EQ(t.ckpt_async, dt.ckpt_async) << "checkpoint.async";
  EXPECT_EQ(t.ckpt_test_delay_s, dt.ckpt_test_delay_s) << "checkpoint.test_delay_s";
  EXPECT_EQ(t.resume, dt.resume) << "checkpoint.resume";
  EXPECT_EQ(t.resume_path, dt.resume_path) << "checkpoint.resume";
  EXPECT_EQ(t.sample_tokens, dt.sample_tokens) << "sample.tokens";
  EXPECT_EQ(t.sample_prompt, dt.sample_prompt) << "sample.prompt";
  EXPECT_EQ(t.sample_temperature, dt.sample_temperature) << "sample.temperature";
  EXPECT_EQ(t.sample_top_k, dt.sample_top_k) << "sample.top_k";
}

// The default texts, key by key, as the option table held them as literals: the resolved INI of a
// run with no options (what a checkpoint stores, and compares partly as text on resume).
TEST(RunConfigDefaults, DefaultTextsAreUnchanged) {
  const char* expected =
    "[model]\n"
    "arch = gpt2\n"
    "vocab_size = 0\n"
    "vocab_pad_multiple = 64\n"
    "n_layer = 4\n"
    "n_embd = 128\n"
    "n_head = 4\n"
    "n_head_kv = 0\n"
    "seq_len = 128\n"
    "ffn_hidden = 0\n"
    "norm_eps = 1e-5\n"
    "rope_theta = 10000\n"
    "tie_embeddings = auto\n"
    "init_std = 0.02\n"
    "\n"
    "[data]\n"
    "corpus = \n"
    "weights = \n"
    "access = shared\n"
    "\n"
    "[device]\n"   // issue 16: the backend (device.kind), new since the literal table
    "kind = cpu\n"
    "\n"
    "[parallel]\n"
    "tp = 1\n"
    "pp = 1\n"
    "pp_schedule = 1f1b\n"
    "pp_chunks = 1\n"
    "pp_layers = \n"
    "dp = 0\n"
    "sequence_parallel = 0\n"
    "zero = 0\n"
    "bucket_mb = 4\n"
    "comm_timeout = 300\n"
    "\n"
    "[train]\n"
    "micro_batch = 16\n"
    "grad_accum = 1\n"
    "global_batch = 0\n"
    "steps = 200\n"
    "seed = 1337\n"
    "threads = 0\n"
    "grad_clip = 1.0\n"
    "max_nonfinite_steps = 5\n"
    "spike_factor = 0\n"
    "spike_window = 20\n"
    "spike_action = log\n"
    "test_nan_steps = 0\n"
    "test_spike_at_step = 0\n"
    "test_nan_param_at_step = 0\n"
    "\n"
    "[optim]\n"
    "lr = 1e-3\n"
    "min_lr = 1e-4\n"
    "warmup_steps = 20\n"
    "schedule = cosine\n"
    "cooldown_steps = 0\n"
    "weight_decay = 0.1\n"
    "beta1 = 0.9\n"
    "beta2 = 0.95\n"
    "eps = 1e-8\n"
    "\n"
    "[eval]\n"
    "interval = 50\n"
    "windows = 64\n"
    "\n"
    "[log]\n"
    "interval = 10\n"
    "out_dir = runs/default\n"
    "metrics_file = \n"
    "peak_tflops = 0\n"
    "peak_gflops = 0\n"
    "\n"
    "[checkpoint]\n"
    "dir = \n"
    "interval = 0\n"
    "keep = 3\n"
    "async = 0\n"
    "test_delay_s = 0\n"
    "resume = none\n"
    "allow_changes = \n"
    "\n"
    "[sample]\n"
    "tokens = 200\n"
    "prompt = The \n"
    "temperature = 0.8\n"
    "top_k = 40\n";
  EXPECT_EQ(run_config_ini(run_config_parse({})), expected);
}

TEST(RunConfigDefaults, HelpShowsTheDefaults) {
  const std::string help = run_config_help();
  for (const char* shown : {"--parallel.bucket_mb arg (=4)", "--optim.min_lr arg (=1e-4)",
                            "--optim.warmup_steps arg (=20)", "--model.vocab_size arg (=0)",
                            "--train.grad_clip arg (=1.0)", "--optim.eps arg (=1e-8)", "--sample.prompt arg (=The )"})
    EXPECT_NE(help.find(shown), std::string::npos) << shown << " not in\n" << help;
}

}  // namespace
}  // namespace plinth::launch
