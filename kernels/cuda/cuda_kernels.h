// cuda_kernels.h -- the GPU kernels (library plinth_kernels_cuda, built only where nvcc exists).
// Same math and argument conventions as kernels/kernels.h; pointers are device pointers.
// This header includes no CUDA header, so host-only code may include it.
#pragma once
#include <cstdint>
#include <string>

#include "kernels/kernels.h"

namespace plinth::kernels::cuda {

// Number of usable CUDA devices; 0 on any CUDA error (no driver, no device, ...). When `why` is
// given and an error occurred, it receives "cudaGetDeviceCount failed: <CUDA error string>".
int cuda_device_count(std::string* why = nullptr);

// One AdamW step on device buffers p, g, m, v (n), same formula as kernels::adamw_update.
// Launched on `stream` (a cudaStream_t; null = the default stream), asynchronous; throws
// plinth::Error if the launch fails.
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWArgs& args,
                  void* stream = nullptr);

}  // namespace plinth::kernels::cuda
