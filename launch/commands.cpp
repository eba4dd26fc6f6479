// commands.cpp -- prepare / train / generate: option parsing, wiring of the layers, summaries.
#include "launch/commands.h"

#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "core/aligned_buffer.h"
#include "core/error.h"
#include "core/log.h"
#include "io/checkpoint.h"
#include "io/corpus.h"
#include "io/prepare.h"
#include "io/tokenizer.h"
#include "kernels/kernels.h"
#include "launch/run_config.h"
#include "model/model.h"
#include "train/generate.h"
#include "train/trainer.h"

namespace plinth::launch {
namespace po = boost::program_options;
namespace {

po::variables_map parse_or_throw(const std::vector<std::string>& args, const po::options_description& d,
                                 const char* command) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(d).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    PLINTH_THROW(Config, "plinth ", command, ": ", e.what());
  }
  return vm;
}

void setup_threads(int requested) {
  int n = requested > 0 ? requested : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  kernels::set_num_threads(n);
  log_info(str_cat("compute: ", kernels::compute_setup()));
}

}  // namespace

int command_prepare(const std::vector<std::string>& args) {
  po::options_description d("plinth prepare options");
  d.add_options()("help,h", "show the options")
      ("input,i", po::value<std::vector<std::string>>()->composing(), "input file, directory or glob (repeatable)")
      ("output,o", po::value<std::string>(), "output HDF5 corpus")
      ("format", po::value<std::string>()->default_value("auto"), "auto | text | jsonl (auto: .jsonl/.json is JSONL)")
      ("separator", po::value<std::string>()->default_value(""), "a line equal to this separates documents in text files (e.g. %); empty = one document per file")
      ("exclude-suffix", po::value<std::vector<std::string>>()->composing(), "skip inputs ending with this (repeatable)")
      ("tokenizer", po::value<std::string>()->default_value("byte"), "byte | sentencepiece")
      ("vocab-size", po::value<int>()->default_value(1024), "SentencePiece BPE vocabulary size")
      ("val-fraction", po::value<double>()->default_value(0.05), "fraction of documents held out for validation")
      ("seed", po::value<uint64_t>()->default_value(1234), "seed of the train/validation split");
  po::variables_map vm = parse_or_throw(args, d, "prepare");
  if (vm.count("help")) {
    std::cout << "usage: plinth prepare --input GLOB [--input ...] --output FILE.h5 [options]\n\n" << d;
    return 0;
  }
  PLINTH_CHECK(vm.count("input"), Config, "plinth prepare: --input is required");
  PLINTH_CHECK(vm.count("output"), Config, "plinth prepare: --output is required");
  io::PrepareOptions o;
  o.inputs = vm["input"].as<std::vector<std::string>>();
  o.output = vm["output"].as<std::string>();
  const std::string fmt = vm["format"].as<std::string>();
  if (fmt == "auto") o.format = io::InputFormat::Auto;
  else if (fmt == "text") o.format = io::InputFormat::Text;
  else if (fmt == "jsonl") o.format = io::InputFormat::Jsonl;
  else PLINTH_THROW(Config, "plinth prepare: --format '", fmt, "' is not auto, text or jsonl");
  o.separator = vm["separator"].as<std::string>();
  if (vm.count("exclude-suffix")) o.exclude_suffixes = vm["exclude-suffix"].as<std::vector<std::string>>();
  o.tokenizer = io::tokenizer_kind_parse(vm["tokenizer"].as<std::string>());
  o.vocab_size = vm["vocab-size"].as<int>();
  o.val_fraction = vm["val-fraction"].as<double>();
  PLINTH_CHECK(o.val_fraction >= 0 && o.val_fraction < 1, Config, "plinth prepare: --val-fraction must be in [0, 1)");
  o.seed = vm["seed"].as<uint64_t>();
  io::PrepareReport r = io::corpus_prepare(o);
  log_info(str_cat("wrote ", o.output, ": ", r.n_files, " files, ", r.n_docs_train, " + ", r.n_docs_val,
                   " documents, ", r.n_tokens_train, " train + ", r.n_tokens_val, " val tokens, vocab ",
                   r.vocab_size, ", in ", r.seconds, " s"));
  return 0;
}

int command_train(const std::vector<std::string>& args) {
  RunConfig rc = run_config_parse(args);
  if (rc.help) {
    std::cout << run_config_help();
    return 0;
  }
  train::train_config_validate(rc.train);
  if (rc.model.vocab_size == 0) {
    // Size the vocabulary from the corpus (checked again by the data loader).
    rc.model.vocab_size = io::Corpus::open(rc.train.corpus).info().vocab_size;
    rc.values["model.vocab_size"] = std::to_string(rc.model.vocab_size);
  }
  model::model_config_validate(rc.model);
  setup_threads(rc.train.threads);
  train::Trainer trainer(rc.model, rc.train, run_config_ini(rc));
  train::TrainResult r = trainer.run();

  log_info("---- result ----");
  if (!r.losses.empty())
    log_info(str_cat("train loss: step ", r.first_step + 1, " ", r.losses.front(), " -> step ", r.last_step, " ",
                     r.losses.back()));
  if (!r.val_losses.empty())
    log_info(str_cat("validation loss at step ", r.val_losses.back().first, ": ", r.val_losses.back().second,
                     " (", r.val_losses.back().second / std::log(2.0), " bits/token)"));
  log_info(str_cat("throughput: ", static_cast<int64_t>(r.tokens_per_s), " tokens/s"));
  if (!r.last_checkpoint.empty()) log_info(str_cat("checkpoint: ", r.last_checkpoint));
  if (!r.sample.empty()) {
    std::string text = r.sample;
    for (char& ch : text)
      if (ch == '\0') ch = '\n';   // byte tokenizer's end-of-document token
    std::cout << "---- sample ----\n" << text << "\n---- end of sample ----" << std::endl;
  }
  return 0;
}

int command_generate(const std::vector<std::string>& args) {
  po::options_description d("plinth generate options");
  d.add_options()("help,h", "show the options")
      ("checkpoint", po::value<std::string>(), "checkpoint directory, or a checkpoint root (uses the newest valid one)")
      ("prompt", po::value<std::string>()->default_value("The "), "text to continue")
      ("max-tokens", po::value<int64_t>()->default_value(200), "tokens to generate")
      ("temperature", po::value<float>()->default_value(0.8f), "sampling temperature; 0 = greedy")
      ("top-k", po::value<int64_t>()->default_value(40), "sample among the k most likely tokens; 0 = all")
      ("seed", po::value<uint64_t>()->default_value(1), "sampling seed")
      ("threads", po::value<int>()->default_value(0), "compute threads; 0 = all cores");
  po::variables_map vm = parse_or_throw(args, d, "generate");
  if (vm.count("help")) {
    std::cout << "usage: plinth generate --checkpoint DIR --prompt TEXT [options]\n\n" << d;
    return 0;
  }
  PLINTH_CHECK(vm.count("checkpoint"), Config, "plinth generate: --checkpoint is required");
  log_set_info_sink(LogSink::Stderr);   // stdout carries the generated text alone
  std::string dir = vm["checkpoint"].as<std::string>();
  if (!std::filesystem::exists(std::filesystem::path(dir) / "state.h5")) {
    std::string latest = io::checkpoint_find_latest_valid(dir);
    PLINTH_CHECK(!latest.empty(), Input, "plinth generate: no valid checkpoint at ", dir);
    dir = latest;
  }
  setup_threads(vm["threads"].as<int>());
  io::CheckpointMeta meta = io::checkpoint_read_meta(dir);
  RunConfig rc = run_config_from_ini(meta.config_ini, dir);
  model::model_config_validate(rc.model);
  model::Model m(rc.model);
  PLINTH_CHECK(model::model_signature(rc.model) == meta.model_signature, Input, dir,
               ": stored configuration and model signature disagree");
  AlignedBuffer<float> params(static_cast<size_t>(m.layout().size()));
  io::checkpoint_load(dir, {{"model", &m.layout(), params.data()}});
  auto tok = io::tokenizer_load(io::tokenizer_kind_parse(meta.tokenizer_kind), meta.tokenizer_model);
  train::GenerateOptions g{.max_new_tokens = vm["max-tokens"].as<int64_t>(),
                           .temperature = vm["temperature"].as<float>(),
                           .top_k = vm["top-k"].as<int64_t>(),
                           .seed = vm["seed"].as<uint64_t>(),
                           .stop_token = -1};
  const std::string prompt = vm["prompt"].as<std::string>();
  auto out = train::generate_tokens(m, params.data(), tok->encode(prompt), g);
  std::string text = prompt + tok->decode(out);
  for (char& ch : text)
    if (ch == '\0') ch = '\n';
  log_info(str_cat("checkpoint ", dir, " (step ", meta.step, ")"));
  std::cout << text << std::endl;
  return 0;
}

}  // namespace plinth::launch
