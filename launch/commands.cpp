// commands.cpp -- prepare / train / generate: option parsing, wiring of the layers, summaries.
#include "launch/commands.h"
#include "launch/resume_check.h"
#include "launch/stop_signal.h"

#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>
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
#include "io/synthetic_corpus.h"
#include "io/tokenizer.h"
#include "kernels/kernels.h"
#include "launch/launch_env.h"
#include "launch/run_config.h"
#include "model/model.h"
#include "parallel/comm/communicator.h"
#include "parallel/comm/mpi_communicator.h"
#include "parallel/comm/mpi_env.h"
#include "parallel/grid.h"
#include "io/io_status.h"
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

// Generated text for a terminal: the byte tokenizer's end-of-document token (NUL) becomes a newline.
std::string printable(std::string text) {
  for (char& ch : text)
    if (ch == '\0') ch = '\n';
  return text;
}

void setup_threads(int requested) {   // requested 0 = all cores
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
      ("seed", po::value<uint64_t>()->default_value(1234), "seed of the train/validation split (with --synthetic: of the source)")
      ("synthetic", "generate the corpus from a seeded order-k Markov chain of known entropy rate instead of --input")
      ("symbols", po::value<int64_t>()->default_value(32), "--synthetic: alphabet size S (tokens are bytes)")
      ("order", po::value<int>()->default_value(2), "--synthetic: context length k of the chain")
      ("concentration", po::value<double>()->default_value(0.5), "--synthetic: Dirichlet parameter of the transition rows")
      ("train-tokens", po::value<int64_t>()->default_value(4000000), "--synthetic: training tokens")
      ("val-tokens", po::value<int64_t>()->default_value(200000), "--synthetic: held-out tokens");
  po::variables_map vm = parse_or_throw(args, d, "prepare");
  if (vm.count("help")) {
    std::cout << "usage: plinth prepare --input GLOB [--input ...] --output FILE.h5 [options]\n"
                 "       plinth prepare --synthetic --output FILE.h5 [--symbols S --order k --concentration a ...]\n\n" << d;
    return 0;
  }
  if (vm.count("synthetic")) {   // a source with known entropy (io/synthetic_corpus.h)
    PLINTH_CHECK(!vm.count("input"), Config, "plinth prepare: --synthetic and --input exclude each other");
    PLINTH_CHECK(vm.count("output"), Config, "plinth prepare: --output is required");
    io::SyntheticOptions so;
    so.symbols = vm["symbols"].as<int64_t>();
    so.order = vm["order"].as<int>();
    so.concentration = vm["concentration"].as<double>();
    so.train_tokens = vm["train-tokens"].as<int64_t>();
    so.val_tokens = vm["val-tokens"].as<int64_t>();
    so.seed = vm["seed"].as<uint64_t>();
    so.output = vm["output"].as<std::string>();
    io::SyntheticReport r = io::synthetic_corpus_write(so);
    log_info(str_cat("wrote ", so.output, ": synthetic order-", so.order, " Markov source over ", so.symbols,
                     " symbols (", r.contexts, " contexts), entropy rate H = ", r.entropy_rate, " nats/token; ",
                     r.train_tokens, " train + ", r.val_tokens, " val tokens, in ", r.seconds, " s"));
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

namespace {

int local_ranks_from_env() {
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE", "MPI_LOCALNRANKS"}) {
    const char* v = std::getenv(var);
    if (v && std::atoi(v) > 0) return std::atoi(v);
  }
  return 1;
}

int train_on_grid(RunConfig& rc, comm::Communicator& world, const volatile std::sig_atomic_t* stop_flag) {
  parallel::GridShape shape{.tp = rc.parallel.tp, .pp = rc.parallel.pp, .dp = rc.parallel.dp};
  PLINTH_CHECK(shape.tp >= 1 && shape.pp >= 1, Config, "parallel.tp and parallel.pp must be >= 1");
  if (shape.dp == 0) {
    PLINTH_CHECK(world.size() % (shape.tp * shape.pp) == 0, Config, "the world size (", world.size(),
                 ") is not divisible by parallel.tp (", shape.tp, ") x parallel.pp (", shape.pp, ")");
    shape.dp = world.size() / (shape.tp * shape.pp);
  }
  parallel::grid_validate(shape, world.size());
  model::model_config_validate_tp(rc.model, shape.tp, rc.train.sequence_parallel);   // before any allocation
  rc.values["parallel.dp"] = std::to_string(shape.dp);
  train::train_config_resolve_batch(rc.train, shape.dp);
  train::train_pipeline_partition(rc.model.n_layer, rc.train, shape.pp);   // stages vs layers and micro-batches
  rc.values["train.grad_accum"] = std::to_string(rc.train.grad_accum);
  rc.values["train.global_batch"] = std::to_string(rc.train.global_batch);
  parallel::Grid grid(world, shape);
  if (world.rank() == 0 && world.size() > 1)
    log_info(str_cat("grid: world ", world.size(), " = tp ", shape.tp, " x pp ", shape.pp, " x dp ", shape.dp,
                     ", comm_timeout ", rc.parallel.comm_timeout_s, " s"));
  const std::unique_ptr<device::Backend> backend = device::make_backend(rc.device);   // device.kind
  train::Trainer trainer(rc.model, rc.train, run_config_ini(rc), grid.tp(), grid.pp(), grid.dp(),
                         [&rc](const std::string& stored_ini, const std::string& dir, int64_t step) {
                           check_resume_config(stored_ini, dir, step, rc);
                         },
                         *backend);
  train::TrainResult r = trainer.run(stop_flag);
  if (r.stopped == train::StopReason::Signal) {
    if (world.rank() == 0)
      log_info(str_cat("stopped by ", stop_signal_name(r.stop_signal), " after step ", r.last_step, "; checkpoint ",
                       r.last_checkpoint, "; exit code ", kExitSavedRequeue,
                       " (saved: requeue, and resume with --checkpoint.resume=auto)"));
    return kExitSavedRequeue;
  }

  // mean over ranks of the share of step time blocked on pipeline messages (collective)
  double pp_wait = r.pp_wait_fraction;
  if (shape.pp > 1) {
    world.all_reduce(&pp_wait, 1, comm::DType::F64, comm::ReduceOp::Sum);
    pp_wait /= static_cast<double>(world.size());
  }
  if (world.rank() != 0) return 0;
  log_info("---- result ----");
  if (!r.losses.empty())
    log_info(str_cat("train loss: step ", r.first_step + 1, " ", r.losses.front(), " -> step ", r.last_step, " ",
                     r.losses.back()));
  if (!r.val_losses.empty())
    log_info(str_cat("validation loss at step ", r.val_losses.back().first, ": ", r.val_losses.back().second,
                     " (", r.val_losses.back().second / std::log(2.0), " bits/token)"));
  log_info(str_cat("throughput: ", static_cast<int64_t>(r.tokens_per_s), " tokens/s on ", world.size(),
                   " rank(s); gradient reduction not hidden by backward: ",
                   static_cast<int>(1000 * r.comm_exposed_fraction) / 10.0, "% of step time",
                   grid.shape().tp > 1 ? str_cat("; tensor-parallel communication: ",
                                                 static_cast<int>(1000 * r.tp_comm_fraction) / 10.0, "% of step time")
                                       : std::string()));
  log_info(str_cat("outside training time (not in tokens/s or MFU): evaluation ", r.eval_s, " s, checkpoint saves ",
                   r.ckpt_s, " s"));
  if (r.nonfinite_steps > 0 || r.spike_steps > 0)
    log_info(str_cat("step guard: ", r.nonfinite_steps, " update(s) skipped for a non-finite loss or gradient norm, ",
                     r.spike_steps, " loss spike(s) (train.spike_action = ",
                     train::spike_action_name(rc.train.guard.spike_action), ")"));
  if (shape.pp > 1) {
    const parallel::PipelineShape ps{shape.pp, static_cast<int>(rc.train.grad_accum), rc.train.pp_chunks};
    const auto kind = rc.train.pp_schedule;
    log_info(str_cat("pipeline: ranks blocked on pipeline messages ", static_cast<int>(1000 * pp_wait) / 10.0,
                     "% of step time on average (bubble + transfer); ", parallel::schedule_kind_name(kind),
                     " bubble in theory ", static_cast<int>(1000 * parallel::pipeline_theoretical_bubble(kind, ps)) / 10.0,
                     "%"));
  }
  if (!r.last_checkpoint.empty()) log_info(str_cat("checkpoint: ", r.last_checkpoint));
  if (!r.sample.empty()) {
    std::cout << "---- sample ----\n" << printable(r.sample) << "\n---- end of sample ----" << std::endl;
  }
  return 0;
}

}  // namespace

int command_train(const std::vector<std::string>& args) {
  RunConfig rc = run_config_parse(args);
  if (rc.help) {
    std::cout << run_config_help();
    return 0;
  }
  // First of all, so that a Slurm USR1 / TERM during start-up (MPI set-up, a long checkpoint
  // load) is a stop request answered at the first step boundary, not a process killed by the
  // signal's default action (exit 138, no requeue).
  const volatile std::sig_atomic_t* stop_flag = install_stop_signal_handlers();
  // The only place MPI is initialised. Under mpirun every rank runs this; alone it is a
  // world of one. Errors after this point abort every rank so that none waits forever.
  comm::MpiSession mpi;
  install_stop_signal_handlers();   // again: MPI's initialisation may have put its own in place
  std::unique_ptr<comm::Communicator> world = comm::mpi_world_communicator(rc.parallel.comm_timeout_s);
  if (world->size() > 1) log_set_prefix(str_cat("[plinth r", world->rank(), "/", world->size(), "] "));
  if (world->rank() != 0) log_set_level(LogLevel::Warn);   // progress from rank 0 only
  try {
    launch_env_verify(*world);   // SLURM_* / OMPI_COMM_WORLD_* against the MPI world (launch_env.h)
    train::train_config_validate(rc.train);
    if (rc.model.vocab_size == 0) {
      // Size the vocabulary from the first corpus: rank 0 reads it and tells everyone (the
      // corpus coordinator checks every corpus on every rank again). Safe order: every rank
      // reaches this broadcast right after parsing the same configuration.
      int64_t vocab = -1;
      std::string error;
      if (world->rank() == 0) {
        try {
          vocab = io::Corpus::open(rc.train.data.corpora.at(0)).info().vocab_size;
        } catch (const Error& e) {
          error = e.what();
        }
      }
      world->broadcast(&vocab, 1, comm::DType::I64, 0);
      PLINTH_CHECK(vocab > 0, Input, world->rank() == 0 ? error : "rank 0 could not read the corpus vocabulary");
      rc.model.vocab_size = vocab;
      rc.values["model.vocab_size"] = std::to_string(rc.model.vocab_size);
    }
    model::model_config_validate(rc.model);
    const int threads = rc.train.threads > 0 ? rc.train.threads
                                             : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) /
                                                               local_ranks_from_env());
    setup_threads(threads);
    return train_on_grid(rc, *world, stop_flag);
  } catch (const Error& e) {
    if (world->size() == 1 && io::io_library_damaged()) {
      // HDF5 could not close a file (a full disk): its shutdown in MPI_Finalize would crash
      log_error(e);
      std::fflush(nullptr);
      std::_Exit(error_exit_code(e.kind()));
    }
    if (world->size() == 1) throw;
    log_error(e);
    // Errors found by agreement reach every rank together: a short grace lets each of them
    // print its own message before the first abort tears the job down.
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    mpi.abort_all(error_exit_code(e.kind()));
  } catch (const std::exception& e) {
    if (world->size() == 1) throw;
    log_error(str_cat("unexpected failure: ", e.what()));
    mpi.abort_all(1);
  }
  return 1;
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
  const int64_t max_tokens = vm["max-tokens"].as<int64_t>(), top_k = vm["top-k"].as<int64_t>();
  const float temperature = vm["temperature"].as<float>();
  PLINTH_CHECK(max_tokens >= 0, Config, "plinth generate: --max-tokens must be >= 0, got ", max_tokens);
  PLINTH_CHECK(top_k >= 0, Config, "plinth generate: --top-k must be >= 0 (0 = all tokens), got ", top_k);
  PLINTH_CHECK(std::isfinite(temperature) && temperature >= 0, Config,
               "plinth generate: --temperature must be a finite number >= 0 (0 = greedy), got ", temperature);
  PLINTH_CHECK(vm["threads"].as<int>() >= 0, Config, "plinth generate: --threads must be >= 0, got ",
               vm["threads"].as<int>());
  // a step directory (as ckpt info / verify / export take it) or a root holding step_* directories
  const std::string dir = io::checkpoint_resolve_dir_or_root(vm["checkpoint"].as<std::string>());
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
  train::GenerateOptions g{.max_new_tokens = max_tokens,
                           .temperature = temperature,
                           .top_k = top_k,
                           .seed = vm["seed"].as<uint64_t>(),
                           .stop_token = -1};
  const std::string prompt = vm["prompt"].as<std::string>();
  auto out = train::generate_tokens(m, params.data(), tok->encode(prompt), g);
  const std::string text = printable(prompt + tok->decode(out));
  log_info(str_cat("checkpoint ", dir, " (step ", meta.step, ")"));
  std::cout << text << std::endl;
  return 0;
}

}  // namespace plinth::launch
