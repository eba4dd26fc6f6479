// run_config.cpp -- the option table of `plinth train`, Boost.Program_options parsing, typed
// conversion with errors that name the key, and the resolved INI text.
#include "launch/run_config.h"

#include <boost/program_options.hpp>
#include <charconv>
#include <fstream>
#include <sstream>
#include <type_traits>

#include "core/error.h"
#include "parallel/pipeline_schedule.h"

namespace plinth::launch {
namespace po = boost::program_options;
namespace {

struct OptionDef {
  const char* key;
  std::string default_value;   // the text of the default-constructed RunConfig's value
  const char* help;
};

constexpr double kMiB = 1024.0 * 1024.0;
enum class Point { Optional, Always };

// A number as the option table writes it: integers plain ("300"), values below 0.01 as "1e-3",
// others in fixed notation, each with the fewest digits that read back to the same value;
// Point::Always keeps a decimal point ("1.0"). The texts are those of the table when it held
// literals: a checkpoint's configuration compares some keys as text (launch/resume_check.cpp).
template <typename F>
std::string number_text(F v, Point point = Point::Optional) {
  if constexpr (std::is_integral_v<F>) {
    return std::to_string(v);
  } else {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    const std::string sci(buf, r.ptr);
    const size_t e = sci.find('e');
    const int exponent = std::stoi(sci.substr(e + 1));
    std::string out;
    if (v != 0 && exponent < -2) {
      out = sci.substr(0, e) + "e" + std::to_string(exponent);
    } else {
      r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
      out.assign(buf, r.ptr);
    }
    if (point == Point::Always && out.find_first_of(".e") == std::string::npos) out += ".0";
    return out;
  }
}

template <typename T>
std::string list_text(const std::vector<T>& items) {
  std::string out;
  for (const T& x : items) {
    if (!out.empty()) out += ",";
    if constexpr (std::is_arithmetic_v<T>) out += number_text(x);
    else out += x;
  }
  return out;
}

std::string flag_text(bool on) { return on ? "1" : "0"; }

std::string resume_text(const train::TrainConfig& t) {
  switch (t.resume) {
    case train::ResumeKind::None: return "none";
    case train::ResumeKind::Auto: return "auto";
    case train::ResumeKind::Path: return t.resume_path;
  }
  return "none";
}

// The whole configuration surface of `plinth train`, in INI order. The defaults are the member
// initialisers of RunConfig (ModelConfig, TrainConfig, ParallelConfig, ...): those structs are the
// one place a default is written; --help and the resolved INI text show them from here.
std::vector<OptionDef> make_options() {
  const RunConfig d;
  const model::ModelConfig& m = d.model;
  const train::TrainConfig& t = d.train;
  const ParallelConfig& p = d.parallel;
  return {
      {"model.arch", model::arch_name(m.arch),
       "gpt2 (LayerNorm, GELU, learned positions) or llama (RMSNorm, SwiGLU, RoPE)"},
      {"model.vocab_size", number_text(m.vocab_size),
       "vocabulary size; 0 = take it from the corpus"},
      {"model.vocab_pad_multiple", number_text(m.vocab_pad_multiple),
       "pad embedding/head rows to a multiple of this"},
      {"model.n_layer", number_text(m.n_layer),
       "transformer blocks"},
      {"model.n_embd", number_text(m.n_embd),
       "model width"},
      {"model.n_head", number_text(m.n_head),
       "attention heads"},
      {"model.n_head_kv", number_text(m.n_head_kv),
       "key/value heads for grouped-query attention (llama); 0 = n_head"},
      {"model.seq_len", number_text(m.seq_len),
       "context length T"},
      {"model.ffn_hidden", number_text(m.ffn_hidden),
       "MLP hidden width; 0 = 4*n_embd (gpt2) or 8/3*n_embd rounded to 64 (llama)"},
      {"model.norm_eps", number_text(m.norm_eps),
       "LayerNorm/RMSNorm epsilon"},
      {"model.rope_theta", number_text(m.rope_theta),
       "RoPE base (llama)"},
      {"model.tie_embeddings", d.tie_embeddings,
       "auto | yes | no (auto: gpt2 ties, llama does not)"},
      {"model.init_std", number_text(m.init_std),
       "std of the normal init (residual projections scaled by 1/sqrt(2*n_layer))"},
      {"data.corpus", list_text(t.data.corpora),
       "HDF5 token corpora from `plinth prepare`, comma-separated"},
      {"data.weights", list_text(t.data.weights),
       "blending weights, comma-separated; empty = proportional to training tokens"},
      {"data.access", t.data.access == train::DataAccess::Coordinator ? "coordinator" : "shared",
       "shared (every rank reads its windows) | coordinator (rank 0 reads and sends)"},
      {"device.kind", device::device_kind_name(d.device),
       "cpu | cuda: the device every rank computes on (the backend behind the device seam)"},
      {"parallel.tp", number_text(p.tp),
       "tensor-parallel size"},
      {"parallel.pp", number_text(p.pp),
       "pipeline-parallel size (stages)"},
      {"parallel.pp_schedule", parallel::schedule_kind_name(t.pp_schedule),
       "pipeline schedule: gpipe | 1f1b | interleaved"},
      {"parallel.pp_chunks", number_text(t.pp_chunks),
       "model chunks (virtual stages) per pipeline rank; >= 2 with pp_schedule = interleaved"},
      {"parallel.pp_layers", t.pp_layers,
       "explicit layers per virtual stage, e.g. 0-2,3-5,6-7 (default: even split)"},
      {"parallel.dp", number_text(p.dp),
       "data-parallel size; 0 = world size / (tp * pp)"},
      {"parallel.sequence_parallel", flag_text(t.sequence_parallel == parallel::SequenceParallel::On),
       "1 = shard norms along the sequence over tp (all-gather / reduce-scatter)"},
      {"parallel.zero", flag_text(t.zero == parallel::ZeroStage::One),
       "0 = replicated optimizer, 1 = ZeRO-1 (optimizer state sharded over dp)"},
      {"parallel.bucket_mb", number_text(static_cast<double>(t.bucket_bytes) / kMiB),
       "gradient bucket size in MiB (reduction overlaps backward per bucket)"},
      {"parallel.comm_timeout", number_text(p.comm_timeout_s),
       "seconds a collective or receive may take before the job aborts"},
      {"train.micro_batch", number_text(t.micro_batch),
       "sequences per forward/backward"},
      {"train.grad_accum", number_text(t.grad_accum),
       "micro-batches per optimizer step (per rank)"},
      {"train.global_batch", number_text(t.global_batch),
       "sequences per step; 0 = micro_batch * grad_accum * dp, else grad_accum is derived"},
      {"train.steps", number_text(t.steps),
       "optimizer steps"},
      {"train.seed", number_text(t.seed),
       "seed of init and data order"},
      {"train.threads", number_text(t.threads),
       "compute threads; 0 = all cores"},
      {"train.grad_clip", number_text(t.grad_clip, Point::Always),
       "max global gradient norm; 0 = off"},
      {"train.max_nonfinite_steps", number_text(t.guard.max_nonfinite_steps),
       "a non-finite loss or gradient norm skips the update; this many in a row stop the run (exit 2)"},
      {"train.spike_factor", number_text(t.guard.spike_factor),
       "loss spike: loss > spike_factor x median of the last spike_window steps; 0 = off"},
      {"train.spike_window", number_text(t.guard.spike_window),
       "steps in the running median of the spike detector"},
      {"train.spike_action", train::spike_action_name(t.guard.spike_action),
       "log | skip (skip the spiking batch's update)"},
      {"train.test_nan_steps", t.test_nan_last == t.test_nan_first ? number_text(t.test_nan_first) : str_cat(t.test_nan_first, "-", t.test_nan_last),
       "fault tests only: N or A-B, a NaN gradient element on world rank 0 at these steps; 0 = off"},
      {"train.test_spike_at_step", number_text(t.test_spike_step),
       "fault tests only: the loss of this step is reported x10; 0 = off"},
      {"train.test_nan_param_at_step", number_text(t.test_nan_param_step),
       "fault tests only: a parameter on world rank 0 becomes NaN after this step; 0 = off"},
      {"optim.lr", number_text(t.schedule.lr),
       "peak learning rate"},
      {"optim.min_lr", number_text(t.schedule.min_lr),
       "final learning rate"},
      {"optim.warmup_steps", number_text(t.schedule.warmup_steps),
       "linear warmup steps"},
      {"optim.schedule", optim::lr_schedule_name(t.schedule.kind),
       "cosine | constant_cooldown | constant"},
      {"optim.cooldown_steps", number_text(t.schedule.cooldown_steps),
       "constant_cooldown: steps of linear decay at the end"},
      {"optim.weight_decay", number_text(t.adamw.weight_decay),
       "decoupled weight decay (matrices only)"},
      {"optim.beta1", number_text(t.adamw.beta1),
       "AdamW beta1"},
      {"optim.beta2", number_text(t.adamw.beta2),
       "AdamW beta2"},
      {"optim.eps", number_text(t.adamw.eps),
       "AdamW epsilon"},
      {"eval.interval", number_text(t.eval_interval),
       "steps between validation runs; 0 = only at the end"},
      {"eval.windows", number_text(t.eval_windows),
       "held-out sequences per validation (the same set on every layout)"},
      {"log.interval", number_text(t.log_interval),
       "steps between progress lines"},
      {"log.out_dir", t.out_dir,
       "run directory (metrics, checkpoints)"},
      {"log.metrics_file", t.metrics_file,
       "JSONL metrics; default <out_dir>/metrics.jsonl"},
      {"log.peak_tflops", number_text(t.peak_tflops),
       "MFU peak per rank (device) in TFLOP/s; 0 = CPU: threads x FLOP/cycle of the widest vector unit x max clock"},
      // no field: a deprecated alias of log.peak_tflops (0 = not set)
      {"log.peak_gflops", "0",
       "deprecated: log.peak_tflops x 1000 (kept for old configs and checkpoints)"},
      {"checkpoint.dir", t.ckpt_dir,
       "checkpoint root; default <out_dir>/checkpoints"},
      {"checkpoint.interval", number_text(t.ckpt_interval),
       "steps between saves; 0 = only at the end"},
      {"checkpoint.keep", number_text(t.ckpt_keep),
       "checkpoints kept (never the one this run resumed from)"},
      {"checkpoint.async", flag_text(t.ckpt_async == train::AsyncSave::On),
       "1 = copy the state to staging buffers and write shards on a background thread"},
      {"checkpoint.test_delay_s", number_text(t.ckpt_test_delay_s),
       "fault tests only: seconds each rank sleeps while writing its shard, and while loading one on resume"},
      {"checkpoint.resume", resume_text(t),
       "none | auto (newest valid checkpoint, if any) | <checkpoint dir>"},
      // no field: launch/resume_check reads it from the resolved values
      {"checkpoint.allow_changes", "",
       "keys a resumed run may change against the checkpoint's configuration, comma-separated (e.g. train.steps,optim.lr); others are refused"},
      {"sample.tokens", number_text(t.sample_tokens),
       "tokens of text sampled at the end; 0 = none"},
      {"sample.prompt", t.sample_prompt,
       "prompt of the final sample"},
      {"sample.temperature", number_text(t.sample_temperature),
       "sampling temperature"},
      {"sample.top_k", number_text(t.sample_top_k),
       "top-k sampling; 0 = whole vocabulary"},
  };
}

const std::vector<OptionDef>& options() {
  static const std::vector<OptionDef> table = make_options();
  return table;
}

po::options_description make_description() {
  po::options_description d("plinth train options (INI sections [model] [data] [device] [parallel] [train] [optim] [eval] [log] [checkpoint] [sample])");
  for (const auto& o : options()) d.add_options()(o.key, po::value<std::string>()->default_value(o.default_value), o.help);
  return d;
}

template <typename T>
T to_number(const std::map<std::string, std::string>& kv, const std::string& key) {
  const std::string& s = kv.at(key);
  T v{};
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  PLINTH_CHECK(ec == std::errc() && ptr == s.data() + s.size() && !s.empty(), Config, key, ": '", s,
               "' is not a valid ", std::is_floating_point_v<T> ? "number" : "integer");
  return v;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

double list_number(const std::string& s, const char* key) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  PLINTH_CHECK(ec == std::errc() && ptr == s.data() + s.size(), Config, key, ": '", s, "' is not a number");
  return v;
}

RunConfig from_map(const std::map<std::string, std::string>& kv) {
  RunConfig r;
  auto str = [&](const char* k) { return kv.at(k); };
  auto i64 = [&](const char* k) { return to_number<int64_t>(kv, k); };
  auto f32 = [&](const char* k) { return to_number<float>(kv, k); };
  auto f64 = [&](const char* k) { return to_number<double>(kv, k); };
  r.device = device::device_kind_parse(str("device.kind"));
  model::ModelConfig& m = r.model;
  m.arch = model::arch_parse(str("model.arch"));
  m.vocab_size = i64("model.vocab_size");
  m.vocab_pad_multiple = i64("model.vocab_pad_multiple");
  m.n_layer = i64("model.n_layer");
  m.n_embd = i64("model.n_embd");
  m.n_head = i64("model.n_head");
  m.n_head_kv = i64("model.n_head_kv");
  m.seq_len = i64("model.seq_len");
  m.ffn_hidden = i64("model.ffn_hidden");
  m.norm_eps = f32("model.norm_eps");
  m.rope_theta = f64("model.rope_theta");
  m.init_std = f32("model.init_std");
  r.tie_embeddings = str("model.tie_embeddings");
  if (r.tie_embeddings == "auto")
    m.tie_embeddings = m.arch == model::Arch::Gpt2 ? model::TieEmbeddings::Yes : model::TieEmbeddings::No;
  else if (r.tie_embeddings == "yes")
    m.tie_embeddings = model::TieEmbeddings::Yes;
  else if (r.tie_embeddings == "no")
    m.tie_embeddings = model::TieEmbeddings::No;
  else
    PLINTH_THROW(Config, "model.tie_embeddings: '", r.tie_embeddings, "' is not auto, yes or no");

  train::TrainConfig& t = r.train;
  t.data.corpora = split_list(str("data.corpus"));
  for (const std::string& w : split_list(str("data.weights"))) t.data.weights.push_back(list_number(w, "data.weights"));
  t.data.access = train::data_access_parse(str("data.access"));
  r.parallel.tp = static_cast<int>(i64("parallel.tp"));
  r.parallel.pp = static_cast<int>(i64("parallel.pp"));
  r.parallel.dp = static_cast<int>(i64("parallel.dp"));
  r.parallel.comm_timeout_s = f64("parallel.comm_timeout");
  r.train.pp_schedule = parallel::schedule_kind_from_name(str("parallel.pp_schedule"));
  r.train.pp_chunks = static_cast<int>(i64("parallel.pp_chunks"));
  r.train.pp_layers = str("parallel.pp_layers");
  PLINTH_CHECK(r.parallel.comm_timeout_s > 0, Config, "parallel.comm_timeout must be positive");
  const int64_t seqp = i64("parallel.sequence_parallel");
  PLINTH_CHECK(seqp == 0 || seqp == 1, Config, "parallel.sequence_parallel must be 0 or 1, got ", seqp);
  t.sequence_parallel = seqp == 1 ? parallel::SequenceParallel::On : parallel::SequenceParallel::Off;
  const int64_t zero = i64("parallel.zero");
  PLINTH_CHECK(zero == 0 || zero == 1, Config, "parallel.zero must be 0 or 1, got ", zero);
  t.zero = zero == 1 ? parallel::ZeroStage::One : parallel::ZeroStage::None;
  const double bucket_mb = f64("parallel.bucket_mb");
  PLINTH_CHECK(bucket_mb > 0, Config, "parallel.bucket_mb must be positive, got ", bucket_mb);
  t.bucket_bytes = static_cast<int64_t>(bucket_mb * 1024 * 1024);
  t.global_batch = i64("train.global_batch");
  t.micro_batch = i64("train.micro_batch");
  t.grad_accum = i64("train.grad_accum");
  t.steps = i64("train.steps");
  const int64_t seed = i64("train.seed");
  PLINTH_CHECK(seed >= 0, Config, "train.seed must be >= 0, got ", seed);
  t.seed = static_cast<uint64_t>(seed);
  t.threads = static_cast<int>(i64("train.threads"));
  t.grad_clip = f32("train.grad_clip");
  t.guard.max_nonfinite_steps = i64("train.max_nonfinite_steps");
  t.guard.spike_factor = f64("train.spike_factor");
  t.guard.spike_window = i64("train.spike_window");
  t.guard.spike_action = train::spike_action_parse(str("train.spike_action"));
  {
    const std::string nan_steps = str("train.test_nan_steps");
    const auto dash = nan_steps.find('-');
    std::map<std::string, std::string> parts{{"train.test_nan_steps", nan_steps.substr(0, dash)}};
    t.test_nan_first = to_number<int64_t>(parts, "train.test_nan_steps");
    t.test_nan_last = t.test_nan_first;
    if (dash != std::string::npos) {
      parts["train.test_nan_steps"] = nan_steps.substr(dash + 1);
      t.test_nan_last = to_number<int64_t>(parts, "train.test_nan_steps");
    }
  }
  t.test_spike_step = i64("train.test_spike_at_step");
  t.test_nan_param_step = i64("train.test_nan_param_at_step");
  t.schedule.lr = f32("optim.lr");
  t.schedule.min_lr = f32("optim.min_lr");
  t.schedule.warmup_steps = i64("optim.warmup_steps");
  t.schedule.kind = optim::lr_schedule_parse(str("optim.schedule"));
  t.schedule.cooldown_steps = i64("optim.cooldown_steps");
  t.adamw.weight_decay = f32("optim.weight_decay");
  t.adamw.beta1 = f32("optim.beta1");
  t.adamw.beta2 = f32("optim.beta2");
  t.adamw.eps = f32("optim.eps");
  t.eval_interval = i64("eval.interval");
  t.eval_windows = i64("eval.windows");
  t.log_interval = i64("log.interval");
  t.out_dir = str("log.out_dir");
  t.metrics_file = str("log.metrics_file");
  t.peak_tflops = f64("log.peak_tflops");
  const double peak_gflops = f64("log.peak_gflops");
  PLINTH_CHECK(peak_gflops >= 0, Config, "log.peak_gflops must be >= 0, got ", peak_gflops);
  PLINTH_CHECK(peak_gflops == 0 || t.peak_tflops == 0, Config,
               "log.peak_gflops (deprecated) and log.peak_tflops are both set; keep log.peak_tflops");
  if (peak_gflops > 0) t.peak_tflops = peak_gflops / 1e3;
  t.ckpt_dir = str("checkpoint.dir");
  t.ckpt_interval = i64("checkpoint.interval");
  t.ckpt_keep = static_cast<int>(i64("checkpoint.keep"));
  const int64_t async_save = i64("checkpoint.async");
  PLINTH_CHECK(async_save == 0 || async_save == 1, Config, "checkpoint.async must be 0 or 1, got ", async_save);
  t.ckpt_async = async_save ? train::AsyncSave::On : train::AsyncSave::Off;
  t.ckpt_test_delay_s = f64("checkpoint.test_delay_s");
  PLINTH_CHECK(t.ckpt_test_delay_s >= 0, Config, "checkpoint.test_delay_s must be >= 0");
  const std::string resume = str("checkpoint.resume");
  if (resume == "none" || resume.empty()) t.resume = train::ResumeKind::None;
  else if (resume == "auto") t.resume = train::ResumeKind::Auto;
  else { t.resume = train::ResumeKind::Path; t.resume_path = resume; }
  t.sample_tokens = i64("sample.tokens");
  t.sample_prompt = str("sample.prompt");
  t.sample_temperature = f32("sample.temperature");
  t.sample_top_k = i64("sample.top_k");

  r.values = kv;
  return r;
}

std::map<std::string, std::string> to_map(const po::variables_map& vm) {
  std::map<std::string, std::string> kv;
  for (const auto& o : options()) kv[o.key] = vm[o.key].as<std::string>();
  return kv;
}

}  // namespace

std::string run_config_ini(const RunConfig& rc) {
  std::ostringstream ini;
  std::string section;
  for (const auto& o : options()) {
    const std::string key = o.key;
    const auto dot = key.find('.');
    const std::string sec = key.substr(0, dot);
    if (sec != section) {
      ini << (section.empty() ? "" : "\n") << "[" << sec << "]\n";
      section = sec;
    }
    auto it = rc.values.find(key);
    ini << key.substr(dot + 1) << " = " << (it == rc.values.end() ? o.default_value : it->second) << "\n";
  }
  return ini.str();
}

std::string run_config_help() {
  std::ostringstream os;
  os << "usage: plinth train --config FILE.ini [--section.key=value ...]\n\n" << make_description();
  return os.str();
}

// "--a.b=1 ... --a.b=2": the last occurrence of a key wins, as users expect of overrides.
std::vector<std::string> last_occurrence_wins(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  std::map<std::string, size_t> seen;
  for (const std::string& a : args) {
    const auto eq = a.find('=');
    if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
      const std::string key = a.substr(0, eq);
      auto it = seen.find(key);
      if (it != seen.end()) {
        out[it->second] = a;
        continue;
      }
      seen[key] = out.size();
    }
    out.push_back(a);
  }
  return out;
}

RunConfig run_config_parse(const std::vector<std::string>& raw_args) {
  const std::vector<std::string> args = last_occurrence_wins(raw_args);
  po::options_description desc = make_description();
  po::options_description cli("command line");
  cli.add_options()("config,c", po::value<std::string>(), "INI configuration file")("help,h", "show the options");
  cli.add(desc);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(cli).run(), vm);  // command line wins: stored first
  } catch (const po::error& e) {
    PLINTH_THROW(Config, "command line: ", e.what());
  }
  RunConfig help_only;
  if (vm.count("help")) {
    help_only.help = true;
    return help_only;
  }
  if (vm.count("config")) {
    const std::string path = vm["config"].as<std::string>();
    std::ifstream in(path);
    PLINTH_CHECK(in.good(), Config, "config file ", path, " cannot be opened");
    try {
      po::store(po::parse_config_file(in, desc, /*allow_unregistered=*/false), vm);
    } catch (const po::error& e) {
      PLINTH_THROW(Config, "config file ", path, ": ", e.what());
    }
  }
  po::notify(vm);
  return from_map(to_map(vm));
}

RunConfig run_config_from_ini(const std::string& ini_text, const std::string& origin) {
  po::options_description desc = make_description();
  po::variables_map vm;
  std::istringstream in(ini_text);
  try {
    po::store(po::parse_config_file(in, desc, false), vm);
  } catch (const po::error& e) {
    PLINTH_THROW(Input, origin, ": stored configuration: ", e.what());
  }
  po::notify(vm);
  return from_map(to_map(vm));
}

}  // namespace plinth::launch
