// xxh64.cpp -- XXH64 with seed 0, written from the published algorithm description: four
// accumulators over 32-byte stripes, then the remaining 8-, 4- and 1-byte pieces, then the
// final avalanche. Known-answer and incremental tests: tests/unit/io/test_xxh64.cpp.
#include "io/xxh64.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace plinth::io {
namespace {

static_assert(std::endian::native == std::endian::little, "XXH64 reads little-endian words");

constexpr uint64_t kP1 = 0x9E3779B185EBCA87ull;
constexpr uint64_t kP2 = 0xC2B2AE3D27D4EB4Full;
constexpr uint64_t kP3 = 0x165667B19E3779F9ull;
constexpr uint64_t kP4 = 0x85EBCA77C2B2AE63ull;
constexpr uint64_t kP5 = 0x27D4EB2F165667C5ull;

uint64_t read64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

uint32_t read32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

uint64_t lane_round(uint64_t acc, uint64_t word) {
  acc += word * kP2;
  acc = std::rotl(acc, 31);
  return acc * kP1;
}

uint64_t merge_lane(uint64_t h, uint64_t acc) {
  h ^= lane_round(0, acc);
  return h * kP1 + kP4;
}

// Consumes whole 32-byte stripes from p (n a multiple of 32).
void stripes(std::array<uint64_t, 4>& acc, const unsigned char* p, size_t n) {
  uint64_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  for (const unsigned char* end = p + n; p < end; p += 32) {
    a0 = lane_round(a0, read64(p));
    a1 = lane_round(a1, read64(p + 8));
    a2 = lane_round(a2, read64(p + 16));
    a3 = lane_round(a3, read64(p + 24));
  }
  acc = {a0, a1, a2, a3};
}

}  // namespace

Xxh64::Xxh64() : acc_{kP1 + kP2, kP2, 0, 0 - kP1} {}

void Xxh64::update(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  total_ += n;
  if (tail_len_ > 0) {   // complete the held stripe first
    const size_t take = std::min(n, tail_.size() - tail_len_);
    std::memcpy(tail_.data() + tail_len_, p, take);
    tail_len_ += take;
    p += take;
    n -= take;
    if (tail_len_ < tail_.size()) return;
    stripes(acc_, tail_.data(), tail_.size());
    tail_len_ = 0;
  }
  const size_t whole = n - n % 32;
  stripes(acc_, p, whole);
  std::memcpy(tail_.data(), p + whole, n - whole);
  tail_len_ = n - whole;
}

uint64_t Xxh64::value() const {
  uint64_t h;
  if (total_ >= 32) {
    h = std::rotl(acc_[0], 1) + std::rotl(acc_[1], 7) + std::rotl(acc_[2], 12) + std::rotl(acc_[3], 18);
    for (uint64_t a : acc_) h = merge_lane(h, a);
  } else {
    h = kP5;   // seed 0 + P5
  }
  h += total_;
  const unsigned char* p = tail_.data();
  const unsigned char* end = p + tail_len_;
  for (; p + 8 <= end; p += 8) {
    h ^= lane_round(0, read64(p));
    h = std::rotl(h, 27) * kP1 + kP4;
  }
  if (p + 4 <= end) {
    h ^= static_cast<uint64_t>(read32(p)) * kP1;
    h = std::rotl(h, 23) * kP2 + kP3;
    p += 4;
  }
  for (; p < end; ++p) {
    h ^= static_cast<uint64_t>(*p) * kP5;
    h = std::rotl(h, 11) * kP1;
  }
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

uint64_t xxh64(const void* data, size_t n) {
  Xxh64 x;
  x.update(data, n);
  return x.value();
}

}  // namespace plinth::io
