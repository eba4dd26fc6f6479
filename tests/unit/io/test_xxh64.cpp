// test_xxh64.cpp -- the checkpoint checksum: XXH64 known answers (digests from the reference
// xxHash library, python3-xxhash: xxhash.xxh64(data).hexdigest()), incremental feeding equal
// to one call for every split, and sensitivity to a single flipped bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "io/digest.h"
#include "io/xxh64.h"

namespace plinth::io {
namespace {

// bytes (i * 7 + 3) mod 256, i = 0 .. n-1
std::vector<unsigned char> pattern(size_t n) {
  std::vector<unsigned char> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<unsigned char>((i * 7 + 3) % 256);
  return v;
}

TEST(Xxh64, KnownAnswers) {
  EXPECT_EQ(hex64(xxh64("", 0)), "ef46db3751d8e999");
  EXPECT_EQ(hex64(xxh64("a", 1)), "d24ec4f1a98c6e5b");
  EXPECT_EQ(hex64(xxh64("abc", 3)), "44bc2cf5ad770999");
  // every tail path: 1-byte, 4-byte, 8-byte pieces, exactly one stripe, stripes + tails
  const std::vector<std::pair<size_t, std::string>> cases = {
      {1, "1f25c8d0bc1f4bb6"},  {3, "31d2363f52e564c9"},  {4, "9bb64b7d66ee9fda"},   {7, "9a7b149959ce60d8"},
      {8, "dab99d95c6f90092"},  {31, "a2aa5f33cc4a6119"}, {32, "23c3c17ef790fd97"},  {33, "50a7cfc7ba588784"},
      {63, "5e3e54b431c7493c"}, {100, "a61f8d4c170fe531"}, {768, "bb377ec5e408838a"}};
  for (const auto& [n, want] : cases) {
    const auto d = pattern(n);
    EXPECT_EQ(hex64(xxh64(d.data(), d.size())), want) << "length " << n;
  }
}

TEST(Xxh64, IncrementalEqualsOneCall) {
  std::mt19937 rng(7);
  for (size_t n : {0u, 5u, 31u, 32u, 33u, 64u, 95u, 1000u, 4099u}) {
    const auto d = pattern(n);
    const uint64_t whole = xxh64(d.data(), d.size());
    for (int trial = 0; trial < 20; ++trial) {
      Xxh64 x;
      size_t at = 0;
      while (at < n) {
        const size_t take = std::min(n - at, static_cast<size_t>(rng() % 40));
        x.update(d.data() + at, take);
        at += take;
      }
      EXPECT_EQ(x.value(), whole) << "length " << n << ", trial " << trial;
    }
  }
}

TEST(Xxh64, EveryFlippedBitChangesTheDigest) {
  auto d = pattern(200);
  const uint64_t base = xxh64(d.data(), d.size());
  for (size_t i = 0; i < d.size(); ++i)
    for (int b = 0; b < 8; ++b) {
      d[i] ^= static_cast<unsigned char>(1u << b);
      EXPECT_NE(xxh64(d.data(), d.size()), base) << "byte " << i << " bit " << b;
      d[i] ^= static_cast<unsigned char>(1u << b);
    }
}

}  // namespace
}  // namespace plinth::io
