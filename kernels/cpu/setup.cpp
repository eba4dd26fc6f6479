// setup.cpp -- compute setup for the CPU kernels.
// set_num_threads sizes both OpenMP's team (plinth's own loops) and OpenBLAS (the OpenMP build
// shares that pool; inside a parallel region OpenBLAS runs single-threaded).
// compute_setup describes the environment in one line for the run log: threads, the BLAS build
// and the core kernel it picked, the widest SIMD set the CPU supports (and the build's baseline
// code is compiled for), and the instruction-set variant of the hot kernels that runs (isa.h).
#include <cblas.h>
#include <omp.h>

#include <string>

#include "core/error.h"
#include "kernels/kernels.h"

namespace plinth::kernels {

void set_num_threads(int n) {
  PLINTH_CHECK(n >= 1, Config, "set_num_threads: thread count must be >= 1 (got ", n, ")");
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

namespace {

const char* cpu_simd() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "avx512";
  if (__builtin_cpu_supports("avx2")) return "avx2";
  return "sse";
}

const char* compiled_simd() {
#if defined(__AVX512F__)
  return "avx512";
#elif defined(__AVX2__)
  return "avx2";
#elif defined(__SSE2__)
  return "sse";
#else
  return "scalar";
#endif
}

const char* blas_parallel() {
  switch (openblas_get_parallel()) {
    case 0: return "SEQUENTIAL";
    case 1: return "PTHREADS";
    case 2: return "OPENMP";
  }
  return "UNKNOWN";
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
  return s;
}

}  // namespace

// e.g. "threads=2 blas=OpenBLAS 0.3.21 DYNAMIC_ARCH ... (OPENMP, core SkylakeX) simd=avx512 (compiled sse)
// kernels=avx512". Also selects the kernel variant, so a bad PLINTH_CPU_ISA fails here, at start-up.
std::string compute_setup() {
  return str_cat("threads=", num_threads(), " blas=", trim(openblas_get_config()), " (", blas_parallel(),
                 ", core ", trim(openblas_get_corename()), ") simd=", cpu_simd(), " (compiled ",
                 compiled_simd(), ") kernels=", cpu_isa_name());
}

}  // namespace plinth::kernels
