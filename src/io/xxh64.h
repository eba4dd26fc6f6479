// xxh64.h -- XXH64 (seed 0), the checksum of the checkpoint format (shard files, the blocks in
// them, the metadata objects of the index). The public xxHash 64-bit algorithm, so any xxHash
// library reproduces the digests (Python: xxhash.xxh64(data).hexdigest()); about eight times the
// speed of byte-wise FNV-1a, which is what made checksumming dominate checkpoint save and load.
// Xxh64 is incremental: feeding pieces one after another gives the digest of their
// concatenation, whatever the piece sizes.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

namespace plinth::io {

class Xxh64 {
 public:
  Xxh64();
  void update(const void* data, size_t n);
  uint64_t value() const;   // the digest of everything fed so far (the state is not changed)

 private:
  std::array<uint64_t, 4> acc_;      // the four lanes, each over every fourth 8-byte word
  std::array<unsigned char, 32> tail_{};
  size_t tail_len_ = 0;              // bytes of an incomplete 32-byte stripe held in tail_
  uint64_t total_ = 0;               // bytes fed
};

uint64_t xxh64(const void* data, size_t n);

}  // namespace plinth::io
