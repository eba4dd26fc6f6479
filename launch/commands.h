// commands.h -- the subcommands of the plinth binary. Each returns the process exit code and
// throws plinth::Error on bad input (main() turns it into a message and exit code).
#pragma once
#include <string>
#include <vector>

namespace plinth::launch {

int command_prepare(const std::vector<std::string>& args);
int command_train(const std::vector<std::string>& args);
int command_generate(const std::vector<std::string>& args);

}  // namespace plinth::launch
