// device_buffer.h -- owning arrays in a backend's memory: DeviceBuffer<T> (device memory, what
// params, grads, optimizer moments, activations and receive slots live in) and HostBuffer<T>
// (host staging memory from the same backend, e.g. a checkpoint's copy of the state; pinned
// where the backend makes it so). One template, BackendBuffer<T, Memory>, for both.
// Move-only; zero-filled on allocation; the backend outlives its buffers (it is built once in
// launch/ or is the process-wide CPU backend). Device memory has no element access: it is read
// on the host only through Backend::copy_to_host (or data() where the backend is host_accessible()).
#pragma once
#include <cstddef>
#include <utility>

#include "device/backend.h"

namespace plinth::device {

enum class Memory { Device, Host };

template <typename T, Memory M>
class BackendBuffer {
 public:
  BackendBuffer() = default;
  BackendBuffer(Backend& be, size_t n) { allocate(be, n); }
  ~BackendBuffer() { reset(); }
  BackendBuffer(const BackendBuffer&) = delete;
  BackendBuffer& operator=(const BackendBuffer&) = delete;
  BackendBuffer(BackendBuffer&& o) noexcept
      : be_(std::exchange(o.be_, nullptr)), data_(std::exchange(o.data_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  BackendBuffer& operator=(BackendBuffer&& o) noexcept {
    std::swap(be_, o.be_);
    std::swap(data_, o.data_);
    std::swap(n_, o.n_);
    return *this;
  }

  // Discards the contents; the new contents are zero.
  void allocate(Backend& be, size_t n) {
    reset();
    be_ = &be;
    if (n == 0) return;
    data_ = static_cast<T*>(M == Memory::Device ? be.allocate(n * sizeof(T)) : be.allocate_host(n * sizeof(T)));
    n_ = n;   // only once the memory exists: a failed allocation leaves an empty buffer
  }
  void reset() {
    if (data_) {
      if constexpr (M == Memory::Device) be_->release(data_);
      else be_->release_host(data_);
    }
    data_ = nullptr;
    n_ = 0;
  }
  void zero() requires(M == Memory::Device) {
    if (n_) be_->zero(data_, n_ * sizeof(T));
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return n_; }
  size_t bytes() const { return n_ * sizeof(T); }
  Backend* backend() const { return be_; }
  T& operator[](size_t i) requires(M == Memory::Host) { return data_[i]; }
  const T& operator[](size_t i) const requires(M == Memory::Host) { return data_[i]; }

 private:
  Backend* be_ = nullptr;
  T* data_ = nullptr;
  size_t n_ = 0;
};

template <typename T>
using DeviceBuffer = BackendBuffer<T, Memory::Device>;
template <typename T>
using HostBuffer = BackendBuffer<T, Memory::Host>;

}  // namespace plinth::device
