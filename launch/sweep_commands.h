// sweep_commands.h -- `plinth sweep plan | run | collect | fit | report`: scaling-law sweeps
// (src/sweep/). Each returns the process exit code and throws plinth::Error on bad input.
#pragma once
#include <string>
#include <vector>

namespace plinth::launch {

int command_sweep(const std::vector<std::string>& args);

}  // namespace plinth::launch
