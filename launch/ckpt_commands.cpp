// ckpt_commands.cpp -- `plinth ckpt info | verify | export | logits` over the checkpoint API
// (io/checkpoint.h): never reads the checkpoint files directly, so it follows the format's
// versions. DIR is a checkpoint directory, or a checkpoint root (the newest valid checkpoint
// under it is used and named). Reports go to stdout; log lines to stderr.
#include "launch/ckpt_commands.h"

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <thread>

#include "core/aligned_buffer.h"
#include "core/error.h"
#include "core/log.h"
#include "io/checkpoint.h"
#include "io/fs_util.h"
#include "kernels/kernels.h"
#include "launch/run_config.h"
#include "model/model.h"
#include "train/hf_export.h"

namespace plinth::launch {
namespace po = boost::program_options;
namespace {

const char* kCkptUsage =
    "usage: plinth ckpt <info|verify|export|logits> DIR [options]\n"
    "  info DIR                      step, format, model configuration, the parallel layout it was saved from,\n"
    "                                data position, tensor count and bytes per group\n"
    "  verify DIR                    recompute every checksum; exit 2 naming file and tensor on a mismatch;\n"
    "                                for a root: the checkpoint resume=auto would use and every damaged newer one\n"
    "  export DIR --out HF_DIR       a Hugging Face model folder: model.safetensors + config.json\n"
    "                                (GPT2LMHeadModel or LlamaForCausalLM; docs/formats.md)\n"
    "  logits DIR --tokens 1,2,3     plinth's logits at every position of a token sequence, as JSON\n"
    "                                (the reference the export is tested against)\n"
    "DIR is a checkpoint directory (step_NNNNNNNN) or a checkpoint root (its newest valid checkpoint).\n"
    "`plinth ckpt <sub> --help` lists each subcommand's options.\n";

const char* const kGroups[] = {"model", "optim/exp_avg", "optim/exp_avg_sq"};

po::variables_map parse(const std::vector<std::string>& args, const po::options_description& d, const char* sub) {
  po::positional_options_description pos;
  pos.add("dir", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(d).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    PLINTH_THROW(Config, "plinth ckpt ", sub, ": ", e.what());
  }
  return vm;
}

po::options_description base_options(const char* sub) {
  po::options_description d(std::string("plinth ckpt ") + sub + " options");
  d.add_options()("help,h", "show the options")(
      "dir", po::value<std::string>(), "checkpoint directory, or a checkpoint root (uses the newest valid one)");
  return d;
}

// A checkpoint directory, or the newest valid one under a root; Input error naming the path.
std::string resolve_checkpoint(const std::string& dir) {
  const std::string chosen = io::checkpoint_resolve_dir_or_root(dir);
  if (chosen != dir) log_info(str_cat("using the newest valid checkpoint under ", dir, ": ", chosen));
  return chosen;
}

std::string required_dir(const po::variables_map& vm, const char* sub) {
  PLINTH_CHECK(vm.count("dir"), Config, "plinth ckpt ", sub, ": the checkpoint directory DIR is required");
  return resolve_checkpoint(vm["dir"].as<std::string>());
}

// The model configuration stored in the checkpoint, checked against its model signature.
model::ModelConfig stored_model(const io::CheckpointMeta& meta, const std::string& dir) {
  RunConfig rc = run_config_from_ini(meta.config_ini, dir);
  model::model_config_validate(rc.model);
  PLINTH_CHECK(model::model_signature(rc.model) == meta.model_signature, Input, dir,
               ": stored configuration and model signature disagree (", model::model_signature(rc.model), " vs ",
               meta.model_signature, ")");
  return rc.model;
}

int64_t counter_or(const io::CheckpointMeta& meta, const std::string& key, int64_t fallback) {
  auto it = meta.counters.find(key);
  return it == meta.counters.end() ? fallback : it->second;
}

void setup_threads(int requested) {   // 0 = all cores
  const int n = requested > 0 ? requested : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  kernels::set_num_threads(n);
}

int ckpt_info(const std::vector<std::string>& args) {
  po::options_description d = base_options("info");
  po::variables_map vm = parse(args, d, "info");
  if (vm.count("help")) {
    std::cout << "usage: plinth ckpt info DIR\n\n" << d;
    return 0;
  }
  const std::string dir = required_dir(vm, "info");
  const io::CheckpointMeta meta = io::checkpoint_read_meta(dir);
  const model::ModelConfig c = stored_model(meta, dir);
  const model::ParamCounts pc = model::model_param_counts(c);
  std::ostringstream o;
  o << "checkpoint: " << dir << "\n"
    << "step: " << meta.step << "\n"
    << "format: " << io::kCheckpointFormat << " format_version " << io::kCheckpointFormatVersion
    << " (the version this build reads; others are refused)\n"
    << "model: " << meta.model_signature << "\n"
    << "model config: arch=" << model::arch_name(c.arch) << " n_layer=" << c.n_layer << " n_embd=" << c.n_embd
    << " n_head=" << c.n_head << " n_head_kv=" << c.kv_heads() << " head_size=" << c.head_size()
    << " ffn=" << c.ffn() << " seq_len=" << c.seq_len << " vocab_size=" << c.vocab_size
    << " padded_vocab=" << c.padded_vocab() << " norm_eps=" << c.norm_eps;
  if (c.arch == model::Arch::Llama) o << " rope_theta=" << c.rope_theta;
  o << " tie_embeddings=" << (c.tie_embeddings == model::TieEmbeddings::Yes ? "yes" : "no") << "\n"
    << "parameters: " << pc.total << " (non-embedding " << pc.non_embedding() << ")\n"
    << "saved from layout: tp=" << counter_or(meta, "parallel.tp", 1) << " pp=" << counter_or(meta, "parallel.pp", 1)
    << " dp=" << counter_or(meta, "parallel.dp", 1) << "\n"
    << "data: consumed_samples=" << counter_or(meta, "data.consumed_samples", 0);
  for (const auto& [k, v] : meta.counters)
    if (k.rfind("data.consumed_samples.", 0) == 0) o << " corpus_" << k.substr(22) << "=" << v;
  for (const auto& [k, v] : meta.counters)   // absent in checkpoints saved before epochs (issue 15)
    if (k.rfind("data.epoch.", 0) == 0) o << " epoch_" << k.substr(11) << "=" << v;
  o << "\n"
    << "tokenizer: " << meta.tokenizer_kind << " (" << meta.tokenizer_model.size() << " bytes of model)\n"
    << "counters:";
  for (const auto& [k, v] : meta.counters) o << " " << k << "=" << v;
  o << "\nrng states:";
  for (const auto& [k, v] : meta.rng_states) o << " " << k << "(" << v.size() << " words)";
  o << "\nscalars:";
  for (const auto& [k, v] : meta.scalars) o << " " << k << "=" << v;
  o << "\n";
  // Tensor counts and sizes come from reading each tensor through the API (checksums verified
  // on the way), so this takes about as long as reading the checkpoint once.
  for (const char* group : kGroups) {
    std::vector<std::string> names;
    try {
      names = io::checkpoint_tensor_names(dir, group);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::Input) throw;
      o << "group " << group << ": absent\n";
      continue;
    }
    int64_t values = 0;
    for (const std::string& name : names) {
      std::vector<int64_t> shape;
      values += static_cast<int64_t>(io::checkpoint_read_tensor(dir, group, name, &shape).size());
    }
    o << "group " << group << ": " << names.size() << " tensors, " << values << " values, " << values * 4
      << " bytes (float32)\n";
  }
  std::cout << o.str() << std::flush;
  return 0;
}

int ckpt_verify(const std::vector<std::string>& args) {
  po::options_description d = base_options("verify");
  po::variables_map vm = parse(args, d, "verify");
  if (vm.count("help")) {
    std::cout << "usage: plinth ckpt verify DIR\n\n" << d;
    return 0;
  }
  PLINTH_CHECK(vm.count("dir"), Config, "plinth ckpt verify: the checkpoint directory DIR is required");
  const std::string given = vm["dir"].as<std::string>();
  PLINTH_CHECK(io::path_exists(given), Input, "no checkpoint at '", given, "' (no such file or directory)");
  if (io::is_regular_file(given + "/" + io::kCheckpointIndexFile)) {   // one checkpoint: every checksum
    io::checkpoint_verify(given);   // structure, then checksums; Input naming file and tensor on a mismatch
    const io::CheckpointMeta meta = io::checkpoint_read_meta(given);
    std::cout << "ok: " << given << " (step " << meta.step << "): every checksum matches\n" << std::flush;
    return 0;
  }
  // A root: the choice --checkpoint.resume=auto makes (the newest checkpoint that passes every
  // check, whatever `latest` says), and every newer one it would set aside, with the reason.
  for (const std::string& dir : io::checkpoint_candidates(given)) {
    try {
      io::checkpoint_validate(dir, io::Validation::Full);
    } catch (const Error& e) {
      std::cout << "damaged: " << dir << " (" << io::checkpoint_damage_kind(e.what()) << "): " << e.what() << "\n";
      continue;
    }
    const io::CheckpointMeta meta = io::checkpoint_read_meta(dir);
    std::cout << "ok: " << dir << " (step " << meta.step << "): every checksum matches; resume=auto uses it\n"
              << std::flush;
    return 0;
  }
  PLINTH_THROW(Input, "no valid checkpoint under '", given, "'");
}

int ckpt_export(const std::vector<std::string>& args) {
  po::options_description d = base_options("export");
  d.add_options()("out,o", po::value<std::string>(), "output folder (created; model.safetensors and config.json replaced)")(
      "format", po::value<std::string>()->default_value("safetensors"), "safetensors (the only format)");
  po::variables_map vm = parse(args, d, "export");
  if (vm.count("help")) {
    std::cout << "usage: plinth ckpt export DIR --out HF_DIR [--format safetensors]\n\n" << d;
    return 0;
  }
  PLINTH_CHECK(vm.count("out"), Config, "plinth ckpt export: --out HF_DIR is required");
  const train::ExportFormat format = train::export_format_parse(vm["format"].as<std::string>());
  const std::string dir = required_dir(vm, "export");
  const io::CheckpointMeta meta = io::checkpoint_read_meta(dir);
  const model::ModelConfig c = stored_model(meta, dir);
  const train::ExportSummary s = train::hf_export_checkpoint(dir, c, vm["out"].as<std::string>(), format);
  std::cout << "exported " << dir << " (step " << meta.step << ", " << model::arch_name(c.arch) << ") to " << s.out_dir
            << ": model.safetensors (" << s.tensors << " tensors, " << s.params << " values, " << s.file_bytes
            << " bytes) + config.json (" << (c.arch == model::Arch::Gpt2 ? "GPT2LMHeadModel" : "LlamaForCausalLM")
            << ")\n"
            << std::flush;
  return 0;
}

std::vector<int32_t> parse_tokens(const std::string& text, int64_t vocab) {
  std::vector<int32_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    PLINTH_CHECK(used == item.size() && !item.empty(), Config, "--tokens: '", item, "' is not an integer");
    PLINTH_CHECK(v >= 0 && v < vocab, Config, "--tokens: token ", v, " is outside the vocabulary [0, ", vocab, ")");
    out.push_back(static_cast<int32_t>(v));
  }
  PLINTH_CHECK(!out.empty(), Config, "--tokens: no tokens given");
  return out;
}

int ckpt_logits(const std::vector<std::string>& args) {
  po::options_description d = base_options("logits");
  d.add_options()("tokens", po::value<std::string>(), "comma-separated token ids, at most model.seq_len")(
      "out,o", po::value<std::string>(), "write the JSON here (default: stdout)")(
      "threads", po::value<int>()->default_value(1), "compute threads; 0 = all cores");
  po::variables_map vm = parse(args, d, "logits");
  if (vm.count("help")) {
    std::cout << "usage: plinth ckpt logits DIR --tokens 1,2,3 [--out FILE]\n\n"
                 "JSON {\"step\", \"tokens\", \"vocab_size\", \"logits\": [one row of vocab_size per position]};\n"
                 "padding columns of the vocabulary are left out.\n\n"
              << d;
    return 0;
  }
  PLINTH_CHECK(vm.count("tokens"), Config, "plinth ckpt logits: --tokens is required");
  const std::string dir = required_dir(vm, "logits");
  const io::CheckpointMeta meta = io::checkpoint_read_meta(dir);
  const model::ModelConfig c = stored_model(meta, dir);
  const std::vector<int32_t> tokens = parse_tokens(vm["tokens"].as<std::string>(), c.vocab_size);
  const int64_t T = static_cast<int64_t>(tokens.size());
  PLINTH_CHECK(T <= c.seq_len, Config, "--tokens: ", T, " tokens exceed model.seq_len (", c.seq_len, ")");
  setup_threads(vm["threads"].as<int>());
  model::Model m(c);
  AlignedBuffer<float> params(static_cast<size_t>(m.layout().size()));
  io::checkpoint_load(dir, {{"model", &m.layout(), params.data()}});
  model::Activations a = model::activations_allocate(c, 1, T);
  model::model_forward(m, params.data(), a, tokens.data(), nullptr, 1, T);
  std::string j = "{\"step\": " + std::to_string(meta.step) + ", \"tokens\": [";
  for (int64_t t = 0; t < T; ++t) j += (t ? ", " : "") + std::to_string(tokens[static_cast<size_t>(t)]);
  j += "], \"vocab_size\": " + std::to_string(c.vocab_size) + ", \"logits\": [";
  char buf[32];
  for (int64_t t = 0; t < T; ++t) {
    const float* row = a.logits.data() + t * c.padded_vocab();
    j += t ? ",\n[" : "\n[";
    for (int64_t v = 0; v < c.vocab_size; ++v) {
      std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(row[v]));
      j += (v ? "," : "") + std::string(buf);
    }
    j += "]";
  }
  j += "]}\n";
  if (vm.count("out")) io::write_file_atomic(vm["out"].as<std::string>(), j);
  else std::cout << j << std::flush;
  return 0;
}

}  // namespace

int command_ckpt(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kCkptUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  log_set_info_sink(LogSink::Stderr);   // stdout carries the report alone
  const std::string sub = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (sub == "info") return ckpt_info(rest);
  if (sub == "verify") return ckpt_verify(rest);
  if (sub == "export") return ckpt_export(rest);
  if (sub == "logits") return ckpt_logits(rest);
  PLINTH_THROW(Config, "plinth ckpt: unknown subcommand '", sub, "' (known: info, verify, export, logits)");
}

}  // namespace plinth::launch
