// isa.cpp -- which instruction-set variant of the hot kernels runs (see isa.h), and what the
// build itself requires of the CPU. This file is compiled with the flags of the whole build
// (never as a variant), so its predefined macros (__AVX2__, __AVX512F__, ...) say what every
// non-dispatched function may use: nothing beyond the baseline in the portable build.
#include "kernels/cpu/isa.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/kernels.h"

#ifndef PLINTH_KERNELS_NATIVE
#define PLINTH_KERNELS_NATIVE 0
#endif

namespace plinth::kernels {
namespace detail {
namespace {

bool cpu_has(CpuIsa isa) {
#if PLINTH_KERNELS_MULTI_ISA
  __builtin_cpu_init();
  if (isa == CpuIsa::Avx512) return __builtin_cpu_supports("x86-64-v4");   // the -march of isa_avx512
  if (isa == CpuIsa::Avx2) return __builtin_cpu_supports("x86-64-v3");     // the -march of isa_avx2
#endif
  return isa == CpuIsa::Default;
}

CpuIsa widest_available() {
  for (CpuIsa isa : {CpuIsa::Avx512, CpuIsa::Avx2})
    if (isa_available(isa)) return isa;
  return CpuIsa::Default;
}

// PLINTH_CPU_ISA: unset, empty or "auto" = the widest available; otherwise one variant by name.
CpuIsa select_isa() {
  const char* env = std::getenv("PLINTH_CPU_ISA");
  const std::string want = env ? env : "";
  if (want.empty() || want == "auto") return widest_available();
  for (CpuIsa isa : {CpuIsa::Default, CpuIsa::Avx2, CpuIsa::Avx512}) {
    if (want != isa_name(isa)) continue;
    PLINTH_CHECK(isa_available(isa), Config, "PLINTH_CPU_ISA=", want, ": ",
                 PLINTH_KERNELS_MULTI_ISA ? "this CPU cannot run that kernel variant"
                                          : "this build has one kernel variant only (PLINTH_NATIVE=ON, or not x86-64 with GCC)",
                 "; the widest available is ", isa_name(widest_available()));
    return isa;
  }
  PLINTH_THROW(Config, "PLINTH_CPU_ISA=", want, " is not a kernel variant (expected auto, ",
               isa_name(CpuIsa::Default), PLINTH_KERNELS_MULTI_ISA ? ", avx2 or avx512)" : ")");
}

}  // namespace

bool isa_available(CpuIsa isa) {
  if (!PLINTH_KERNELS_MULTI_ISA && isa != CpuIsa::Default) return false;
  return cpu_has(isa);
}

const char* isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Avx512: return "avx512";
    case CpuIsa::Avx2: return "avx2";
    case CpuIsa::Default: break;
  }
  return PLINTH_KERNELS_NATIVE ? "native" : "baseline";
}

CpuIsa active_isa() {
  static const CpuIsa isa = select_isa();
  return isa;
}

}  // namespace detail

std::string cpu_isa_name() { return detail::isa_name(detail::active_isa()); }

int cpu_widest_fp32_lanes() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return 16;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 8;
#endif
  return 4;
}

std::string cpu_widest_vector_name() {
  switch (cpu_widest_fp32_lanes()) {
    case 16: return "avx512";
    case 8: return "avx2+fma";
  }
  return "128-bit";
}

std::vector<std::string> build_isa_requirements() {
  std::vector<std::string> features;
#if defined(__x86_64__)
#if defined(__AVX512F__)
  features.push_back("avx512f");
#endif
#if defined(__AVX2__)
  features.push_back("avx2");
#endif
#if defined(__FMA__)
  features.push_back("fma");
#endif
#if defined(__AVX__)
  features.push_back("avx");
#endif
#if defined(__SSE4_2__)
  features.push_back("sse4_2");
#endif
#endif
  return features;
}

}  // namespace plinth::kernels
