// checkpoint_shard.h -- one rank's shard file of a checkpoint (format version 2), and reading
// pieces back.
// A shard file (shard_RRRRR.h5, R = world rank) holds the blocks of tensors that rank owns, each
// a dataset /pieces/<k> (float32, the block's shape) with string attributes
//   group    "model" | "optim/exp_avg" | "optim/exp_avg_sq"
//   tensor   the tensor's global name, e.g. "layers.3.attn.q.weight"
//   shape    the tensor's global shape, e.g. "512,128"
//   start    where the block sits in it, e.g. "256,0"
//   checksum XXH64 of the block's little-endian bytes (hex)
// Blocks are written without collective I/O; the index file (checkpoint_index.h) maps them
// into full logical tensors with HDF5 virtual datasets.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor_spec.h"
#include "io/checkpoint.h"
#include "io/h5.h"

namespace plinth::io {

// Writes <dir>/shard_RRRRR.h5 (truncating), fsyncs it, and checksums the whole file (read back
// by the writing thread, so that the committing rank need not read every shard).
ShardWritten shard_write(const std::string& dir, int rank, const std::vector<ShardPiece>& pieces);

// XXH64 of a whole file's bytes (the /shards checksums of the index).
uint64_t file_checksum(const std::string& path);

// What a shard file holds, as read back (for the index and for verification).
struct StoredPiece {
  std::string group, name, dataset;          // dataset: path inside the shard file
  std::vector<int64_t> shape, start, count;
};
std::vector<StoredPiece> shard_list_pieces(const std::string& shard_file);

// Reads a stored piece and verifies its checksum; Input error naming the file and tensor.
std::vector<float> shard_read_piece(const h5::File& f, const std::string& dataset, const std::string& tensor_path);

// Copies the part of a block (block_start, block_count; dense data) that falls inside the
// destination box (dst_start, dst_count; dense dst) of the same tensor. Tensors of rank 1 or 2.
void copy_block_intersection(const std::vector<int64_t>& block_start, const std::vector<int64_t>& block_count,
                             const float* block, const std::vector<int64_t>& dst_start,
                             const std::vector<int64_t>& dst_count, float* dst);

}  // namespace plinth::io
