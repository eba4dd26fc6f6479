// kernel_timers.h -- per-kernel-family wall-clock timers for bench_train_step --profile.
// kernel_timers.cpp defines __wrap_<kernel> functions; bench/CMakeLists.txt links
// bench_train_step with -Wl,--wrap=<kernel> so every call the model makes into a kernel goes
// through a timer (the kernels themselves are untouched). Timers count only while enabled.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace plinth_bench {

void kernel_timers_enable(bool on);
void kernel_timers_reset();
void kernel_timers_set_head_oc(int64_t oc);   // matmuls with this OC are the output layer
// (family, total seconds) in a fixed order, families never called left out.
std::vector<std::pair<std::string, double>> kernel_timers_report();

}  // namespace plinth_bench
