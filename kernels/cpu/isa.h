// isa.h -- run-time choice among the instruction-set variants of the hot CPU kernels (internal).
//
// The portable build (the default, -DPLINTH_NATIVE=OFF) compiles everything for the x86-64
// baseline, and compiles the exp-heavy loops (activations.cpp, adamw.cpp, attention.cpp,
// crossentropy.cpp, norms.cpp) twice more: with -march=x86-64-v3 (AVX2 + FMA) into namespace
// isa_avx2 and with -march=x86-64-v4 (AVX-512) into isa_avx512, next to the baseline copy in
// isa_default. The public entry points (dispatch.cpp) check their arguments and call the widest
// variant the CPU supports, chosen once per process (PLINTH_CPU_ISA=baseline|avx2|avx512 pins
// one). With -DPLINTH_NATIVE=ON, on other architectures and with other compilers there is one
// variant, isa_default, compiled with the build's own flags; PLINTH_KERNELS_MULTI_ISA is 0.
// GEMM is OpenBLAS, which dispatches on its own.
#pragma once

#ifndef PLINTH_KERNELS_MULTI_ISA
#define PLINTH_KERNELS_MULTI_ISA 0
#endif

#define PLINTH_ISA_NS isa_default
#include "kernels/cpu/isa_kernels.inc"
#undef PLINTH_ISA_NS
#if PLINTH_KERNELS_MULTI_ISA
#define PLINTH_ISA_NS isa_avx2
#include "kernels/cpu/isa_kernels.inc"
#undef PLINTH_ISA_NS
#define PLINTH_ISA_NS isa_avx512
#include "kernels/cpu/isa_kernels.inc"
#undef PLINTH_ISA_NS
#endif

namespace plinth::kernels::detail {

enum class CpuIsa { Default, Avx2, Avx512 };

// Whether this build has the variant and this CPU (and OS) can run it.
bool isa_available(CpuIsa isa);
// "baseline", "avx2", "avx512"; "native" for the one variant of a PLINTH_NATIVE=ON build.
const char* isa_name(CpuIsa isa);
// The variant this process runs: chosen on the first call (thread-safe), then fixed. Throws
// plinth::Error(Config) when PLINTH_CPU_ISA names an unknown or unavailable variant.
CpuIsa active_isa();

// The function of the active variant among the three (one indirect call per kernel call).
template <typename Fn>
Fn pick(Fn default_fn, Fn avx2_fn, Fn avx512_fn) {
  switch (active_isa()) {
    case CpuIsa::Avx512: return avx512_fn;
    case CpuIsa::Avx2: return avx2_fn;
    case CpuIsa::Default: break;
  }
  return default_fn;
}

}  // namespace plinth::kernels::detail

// PLINTH_ISA_DISPATCH(gelu_forward<F>)(out, inp, n) calls the active variant's gelu_forward<F>.
#if PLINTH_KERNELS_MULTI_ISA
#define PLINTH_ISA_DISPATCH(fn)                                                                   \
  ::plinth::kernels::detail::pick(&::plinth::kernels::isa_default::fn, &::plinth::kernels::isa_avx2::fn, \
                                  &::plinth::kernels::isa_avx512::fn)
#else
#define PLINTH_ISA_DISPATCH(fn) (&::plinth::kernels::isa_default::fn)
#endif
