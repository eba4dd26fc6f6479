// digest.h -- FNV-1a 64-bit digests, the checksum of the corpus format (checkpoints use XXH64,
// io/xxh64.h). Standard FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3), so
// any FNV implementation reproduces the digests. Fnv1a64 is incremental: feeding pieces one
// after another gives the digest of their concatenation. Digests are written as 16 lowercase
// hex digits (hex64), which the checkpoint format uses too.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace plinth::io {

class Fnv1a64 {
 public:
  static constexpr uint64_t kOffset = 0xcbf29ce484222325ull;
  static constexpr uint64_t kPrime = 0x100000001b3ull;

  void update(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    uint64_t h = h_;
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * kPrime;
    h_ = h;
  }
  void update(std::string_view s) { update(s.data(), s.size()); }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = kOffset;
};

inline uint64_t fnv1a64(const void* data, size_t n) {
  Fnv1a64 f;
  f.update(data, n);
  return f.value();
}

inline std::string hex64(uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<size_t>(i)] = digits[v & 15];
  return s;
}

}  // namespace plinth::io
