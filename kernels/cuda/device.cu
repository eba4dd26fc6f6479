// device.cu -- CUDA device discovery for plinth: how many GPUs this process can use.
// Any CUDA error (no driver, no device, insufficient driver) counts as zero devices, so that
// callers and tests can fall back to the CPU (tests exit 77, "skipped").
#include <cuda_runtime.h>

#include "kernels/cuda/cuda_kernels.h"

namespace plinth::kernels::cuda {

int cuda_device_count(std::string* why) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    if (why) *why = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorString(err);
    (void)cudaGetLastError();  // clear the error so later CUDA calls do not report it
    return 0;
  }
  if (count == 0 && why) *why = "cudaGetDeviceCount returned 0 devices";
  return count;
}

}  // namespace plinth::kernels::cuda
