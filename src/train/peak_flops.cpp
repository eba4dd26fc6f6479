// peak_flops.cpp -- the MFU denominator: a stated figure, or the CPU's cores x FLOP/cycle x clock.
#include "train/peak_flops.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.h"

namespace plinth::train {
namespace {

constexpr int kFmaPipes = 2;       // the most an x86 core has (see peak_flops.h)
constexpr int kFlopsPerFma = 2;    // one multiply and one add

}  // namespace

CpuClock cpu_clock_mhz() {
  {
    std::ifstream in("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
    double khz = 0;
    if (in >> khz && khz > 0) return {khz / 1e3, "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"};
  }
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  double best = 0, model_ghz = 0;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const std::string value = line.substr(colon + 1);
    if (key == "cpu MHz") best = std::max(best, std::strtod(value.c_str(), nullptr));
    if (key == "model name") {
      const auto at = value.find('@');
      if (at != std::string::npos) model_ghz = std::max(model_ghz, std::strtod(value.c_str() + at + 1, nullptr));
    }
  }
  if (best > 0) return {best, "highest 'cpu MHz' in /proc/cpuinfo (no cpufreq maximum)"};
  if (model_ghz > 0) return {model_ghz * 1e3, "model name in /proc/cpuinfo"};
  return {};
}

PeakFlops peak_flops(double stated_tflops, const device::DeviceInfo& device) {
  std::ostringstream line;
  if (stated_tflops > 0) {
    line << "stated peak " << stated_tflops << " TFLOP/s per rank (log.peak_tflops)";
    return {stated_tflops * 1e12, line.str()};
  }
  PLINTH_CHECK(device.kind == device::DeviceKind::Cpu, Config, "MFU: no built-in peak for a ",
               device::device_kind_name(device.kind), " device (", device.name, "); set log.peak_tflops");
  const int threads = device.threads;
  const CpuClock clock = cpu_clock_mhz();
  PLINTH_CHECK(clock.mhz > 0, Config,
               "MFU: cannot read the CPU clock (no cpufreq, no 'cpu MHz' in /proc/cpuinfo); set log.peak_tflops");
  const int lanes = device.fp32_lanes;
  const double per_cycle = static_cast<double>(lanes) * kFmaPipes * kFlopsPerFma;
  const double flops = std::max(1, threads) * per_cycle * clock.mhz * 1e6;
  line << "CPU peak " << flops / 1e9 << " GFLOP/s per rank = " << std::max(1, threads) << " threads x " << per_cycle
       << " FLOP/cycle (" << device.vector_name << ": " << lanes << " fp32 lanes x " << kFmaPipes
       << " FMA pipes x " << kFlopsPerFma << ") x " << clock.mhz << " MHz (" << clock.source
       << "); set log.peak_tflops to state one";
  return {flops, line.str()};
}

}  // namespace plinth::train
