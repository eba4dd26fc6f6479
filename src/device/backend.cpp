// backend.cpp -- device kinds by name and the backend factory (--device.kind).
#include "device/backend.h"

#include "core/error.h"

namespace plinth::device {

std::unique_ptr<Backend> make_cpu_backend();   // cpu_backend.cpp

DeviceKind device_kind_parse(const std::string& s) {
  if (s == "cpu") return DeviceKind::Cpu;
  if (s == "cuda") return DeviceKind::Cuda;
  PLINTH_THROW(Config, "device.kind: unknown device '", s, "' (expected cpu or cuda)");
}

const char* device_kind_name(DeviceKind k) { return k == DeviceKind::Cuda ? "cuda" : "cpu"; }

std::unique_ptr<Backend> make_backend(DeviceKind kind) {
  if (kind == DeviceKind::Cpu) return make_cpu_backend();
  PLINTH_THROW(Config, "device.kind = cuda: this build has no CUDA training backend yet (the device seam is in "
                       "place; the CUDA backend is the next step); use device.kind = cpu");
}

}  // namespace plinth::device
