// backend.cpp -- device kinds by name and the backend factory (--device.kind).
#include "device/backend.h"

#include "core/error.h"
#if PLINTH_DEVICE_CUDA
#include "kernels/cuda/cuda_kernels.h"
#endif

namespace plinth::device {

std::unique_ptr<Backend> make_cpu_backend();   // cpu_backend.cpp
#if PLINTH_DEVICE_CUDA
std::unique_ptr<Backend> make_cuda_backend(int device);   // cuda_backend.cu
#endif

DeviceKind device_kind_parse(const std::string& s) {
  if (s == "cpu") return DeviceKind::Cpu;
  if (s == "cuda") return DeviceKind::Cuda;
  PLINTH_THROW(Config, "device.kind: unknown device '", s, "' (expected cpu or cuda)");
}

const char* device_kind_name(DeviceKind k) { return k == DeviceKind::Cuda ? "cuda" : "cpu"; }

std::unique_ptr<Backend> make_backend(DeviceKind kind) {
  if (kind == DeviceKind::Cpu) return make_cpu_backend();
#if PLINTH_DEVICE_CUDA
  std::string why;
  if (kernels::cuda::cuda_device_count(&why) == 0)
    PLINTH_THROW(Config, "device.kind = cuda: no usable CUDA device (", why, ")");
  // Device 0 for now; one device per rank (local rank % device count) comes with multi-GPU runs.
  return make_cuda_backend(0);
#else
  PLINTH_THROW(Config, "device.kind = cuda: this build has no CUDA training backend yet (the device seam is in "
                       "place; the CUDA backend is the next step); use device.kind = cpu");
#endif
}

}  // namespace plinth::device
