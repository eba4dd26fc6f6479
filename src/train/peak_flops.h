// peak_flops.h -- the hardware peak that MFU divides by: a stated figure per device
// (log.peak_tflops), or for CPU ranks cores x FLOP/cycle x clock, derived once at start-up and
// logged with its sources. Model FLOP/s over this peak can never exceed 1 on a CPU run: every
// factor is taken at its maximum (widest vector unit of the CPU, two FMA pipes, maximum clock).
#pragma once
#include <string>

#include "device/backend.h"

namespace plinth::train {

struct PeakFlops {
  double flops_per_s = 0;   // per rank (per device)
  std::string derivation;   // one line: how the figure was obtained
};

// The clock in MHz and where it came from: cpuinfo_max_freq of cpufreq (the maximum, turbo
// included), else the highest "cpu MHz" of /proc/cpuinfo (the current clock of each CPU; on
// virtual machines the nominal one), else the "@ x.xxGHz" of the model name. 0 when none.
struct CpuClock {
  double mhz = 0;
  std::string source;
};
CpuClock cpu_clock_mhz();

// stated_tflops > 0: that figure per rank. Otherwise, on a CPU device, the peak of its threads:
// threads x (fp32 lanes of the widest vector unit x 2 FMA pipes x 2 FLOP per FMA) x clock (a
// device without a built-in peak needs log.peak_tflops: Error(Config)).
// Two FMA pipes is the most any x86 core has (Skylake-SP/Ice Lake/Sapphire Rapids with AVX-512,
// Zen 4/5 and Haswell+ with AVX2); assuming it keeps the peak an upper bound.
PeakFlops peak_flops(double stated_tflops, const device::DeviceInfo& device);

}  // namespace plinth::train
