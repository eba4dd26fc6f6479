// main.cpp -- the plinth command line: prepare | train | generate | submit | sweep | ckpt.
// The only main() of plinth. Errors thrown anywhere below become one logged message naming
// what was wrong, and a non-zero exit (2 for bad configuration or input, 1 otherwise).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/log.h"
#include "io/io_status.h"
#include "kernels/kernels.h"
#include "launch/ckpt_commands.h"
#include "launch/commands.h"
#include "launch/sweep_commands.h"
#include "launch/submit_command.h"

namespace {

const char* kUsage =
    "usage: plinth <command> [options]\n"
    "\n"
    "commands:\n"
    "  prepare   turn text files / JSONL into an HDF5 token corpus (byte or SentencePiece BPE)\n"
    "  train     train a GPT-2 or LLaMA style model: plinth train --config configs/NAME.ini [--key=value ...]\n"
    "  generate  sample text from a checkpoint: plinth generate --checkpoint DIR --prompt TEXT\n"
    "  submit    check a training job and submit it to Slurm: plinth submit --nodes N --ntasks-per-node M --config FILE.ini\n"
    "  sweep     scaling-law sweeps: plinth sweep plan|run|collect|fit|report (docs/sweeps.md)\n"
    "  ckpt      inspect, verify or export a checkpoint: plinth ckpt info|verify|export|logits DIR (export: Hugging Face folder)\n"
    "\n"
    "`plinth <command> --help` lists each command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (command == "prepare") return plinth::launch::command_prepare(args);
    if (command == "train") return plinth::launch::command_train(args);
    if (command == "generate") return plinth::launch::command_generate(args);
    if (command == "sweep") return plinth::launch::command_sweep(args);
    if (command == "submit") return plinth::launch::command_submit(args);
    if (command == "ckpt") return plinth::launch::command_ckpt(args);
    std::fprintf(stderr, "plinth: unknown command '%s'\n\n%s", command.c_str(), kUsage);
    return 2;
  } catch (const plinth::Error& e) {
    plinth::log_error(e);
    const int code = plinth::error_exit_code(e.kind());
    if (plinth::io::io_library_damaged()) {   // HDF5's own shutdown would crash: end without it
      std::fflush(nullptr);
      std::_Exit(code);
    }
    return code;
  } catch (const std::exception& e) {
    plinth::log_error(plinth::str_cat("unexpected failure: ", e.what()));
    return 1;
  }
}
