// ckpt_commands.h -- `plinth ckpt info | verify | export | logits`: inspect a checkpoint's
// metadata, verify every checksum, export the model as a Hugging Face folder (safetensors +
// config.json), and print the model's logits for given tokens (the reference the export test
// compares transformers against). Returns the exit code; throws plinth::Error on bad input.
#pragma once
#include <string>
#include <vector>

namespace plinth::launch {

// args excludes "plinth ckpt".
int command_ckpt(const std::vector<std::string>& args);

}  // namespace plinth::launch
