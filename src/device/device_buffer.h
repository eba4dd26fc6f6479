// device_buffer.h -- owning arrays in a backend's memory: DeviceBuffer<T> (device memory, what
// params, grads, optimizer moments, activations and receive slots live in) and HostBuffer<T>
// (host staging memory from the same backend, e.g. a checkpoint's copy of the state).
// Move-only; zero-filled on allocation; the backend outlives its buffers (it is built once in
// launch/ or is the process-wide CPU backend). No element access: device memory is read on the
// host only through Backend::copy_to_host (or data() where the backend is host_accessible()).
#pragma once
#include <cstddef>
#include <utility>

#include "device/backend.h"

namespace plinth::device {

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(Backend& be, size_t n) { allocate(be, n); }
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : be_(std::exchange(o.be_, nullptr)), data_(std::exchange(o.data_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(be_, o.be_);
    std::swap(data_, o.data_);
    std::swap(n_, o.n_);
    return *this;
  }

  // Discards the contents; the new contents are zero.
  void allocate(Backend& be, size_t n) {
    reset();
    be_ = &be;
    n_ = n;
    if (n) data_ = static_cast<T*>(be.allocate(n * sizeof(T)));
  }
  void reset() {
    if (data_) be_->release(data_);
    data_ = nullptr;
    n_ = 0;
  }
  void zero() {
    if (n_) be_->zero(data_, n_ * sizeof(T));
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return n_; }
  size_t bytes() const { return n_ * sizeof(T); }
  Backend* backend() const { return be_; }

 private:
  Backend* be_ = nullptr;
  T* data_ = nullptr;
  size_t n_ = 0;
};

template <typename T>
class HostBuffer {
 public:
  HostBuffer() = default;
  HostBuffer(Backend& be, size_t n) { allocate(be, n); }
  ~HostBuffer() { reset(); }
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
  HostBuffer(HostBuffer&& o) noexcept
      : be_(std::exchange(o.be_, nullptr)), data_(std::exchange(o.data_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  HostBuffer& operator=(HostBuffer&& o) noexcept {
    std::swap(be_, o.be_);
    std::swap(data_, o.data_);
    std::swap(n_, o.n_);
    return *this;
  }

  void allocate(Backend& be, size_t n) {
    reset();
    be_ = &be;
    n_ = n;
    if (n) data_ = static_cast<T*>(be.allocate_host(n * sizeof(T)));
  }
  void reset() {
    if (data_) be_->release_host(data_);
    data_ = nullptr;
    n_ = 0;
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return n_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  Backend* be_ = nullptr;
  T* data_ = nullptr;
  size_t n_ = 0;
};

}  // namespace plinth::device
