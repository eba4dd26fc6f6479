// checkpoint_shard.cpp -- writing a rank's shard file, listing and reading its pieces.
#include "io/checkpoint_shard.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "io/digest.h"
#include "io/xxh64.h"
#include "io/fs_util.h"

namespace plinth::io {

static_assert(std::endian::native == std::endian::little, "checksums hash the in-memory float bytes");

namespace {

std::string join_dims(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

std::vector<int64_t> parse_dims(const std::string& s, const std::string& where) {
  std::vector<int64_t> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    const std::string item = s.substr(pos, comma - pos);
    PLINTH_CHECK(!item.empty() && item.find_first_not_of("0123456789") == std::string::npos && item.size() < 19,
                 Input, where, ": malformed dimension list '", s, "'");
    out.push_back(std::stoll(item));
    pos = comma + 1;
  }
  return out;
}

int64_t product(const std::vector<int64_t>& v) {
  int64_t n = 1;
  for (int64_t x : v) n *= x;
  return n;
}

}  // namespace

std::string checkpoint_shard_file_name(int rank) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "shard_%05d.h5", rank);
  return buf;
}

ShardWritten shard_write(const std::string& dir, int rank, const std::vector<ShardPiece>& pieces) {
  const std::string path = dir + "/" + checkpoint_shard_file_name(rank);
  int64_t bytes = 0;
  h5::File f = h5::File::create(path);
  {
    h5::Group root = f.root();
    root.set_attr("format", "plinth-checkpoint-shard");
    root.set_attr("rank", static_cast<int64_t>(rank));
    h5::Group g = root.create_group("pieces");
    std::string table;   // one line per piece, read back in one go by shard_list_pieces
    for (size_t k = 0; k < pieces.size(); ++k) {
      const ShardPiece& p = pieces[k];
      PLINTH_CHECK(p.start.size() == p.shape.size() && p.count.size() == p.shape.size() && p.data, Internal,
                   "checkpoint: malformed piece of ", p.group, "/", p.name);
      PLINTH_CHECK((p.group + p.name).find_first_of("\t\n") == std::string::npos, Internal,
                   "checkpoint: tensor name with a tab or newline: ", p.group, "/", p.name);
      table += str_cat(k, "\t", p.group, "\t", p.name, "\t", join_dims(p.shape), "\t", join_dims(p.start), "\t",
                       join_dims(p.count), "\n");
      h5::Dataset ds = g.create_dataset(std::to_string(k), h5::Dtype::F32, p.count);
      ds.write_all(h5::Dtype::F32, p.data);
      const size_t n = static_cast<size_t>(product(p.count)) * sizeof(float);
      ds.set_attr("group", p.group);
      ds.set_attr("tensor", p.name);
      ds.set_attr("shape", join_dims(p.shape));
      ds.set_attr("start", join_dims(p.start));
      ds.set_attr("checksum", hex64(xxh64(p.data, n)));
      bytes += static_cast<int64_t>(n);
    }
    root.create_string_dataset("piece_table", table);
  }
  f.close();
  fsync_file(path);
  return {bytes, file_checksum(path)};
}

uint64_t file_checksum(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  PLINTH_CHECK(f, Input, "cannot open '", path, "'");
  Xxh64 h;
  std::vector<char> buf(size_t{4} << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) h.update(buf.data(), n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  PLINTH_CHECK(!failed, Io, "reading '", path, "' failed");
  return h.value();
}

void shard_pieces_of_range(const std::string& group, const TensorSpec& spec, const float* slice, int64_t begin,
                           int64_t end, std::vector<ShardPiece>& out) {
  shard_pieces_of_block(group, spec, slice + begin, begin, end, out);
}

void shard_pieces_of_block(const std::string& group, const TensorSpec& spec, const float* block, int64_t begin,
                           int64_t end, std::vector<ShardPiece>& out) {
  if (begin >= end) return;
  const size_t rank = spec.local_shape.size();
  PLINTH_CHECK(rank == 1 || rank == 2, Internal, "checkpoint pieces of rank-", rank, " tensor ", spec.name);
  auto add = [&](std::vector<int64_t> local_start, std::vector<int64_t> count, int64_t flat) {
    ShardPiece p{group, spec.name, spec.global_shape, {}, std::move(count), block + (flat - begin)};
    for (size_t d = 0; d < rank; ++d) p.start.push_back(spec.local_start[d] + local_start[d]);
    out.push_back(std::move(p));
  };
  if (rank == 1) {
    add({begin}, {end - begin}, begin);
    return;
  }
  const int64_t L = spec.local_shape[1];
  int64_t r0 = begin / L, c0 = begin % L;
  const int64_t r1 = end / L, c1 = end % L;
  if (r0 == r1) {   // inside one row
    add({r0, c0}, {1, c1 - c0}, begin);
    return;
  }
  if (c0 > 0) {   // partial first row
    add({r0, c0}, {1, L - c0}, begin);
    ++r0;
  }
  if (r1 > r0) add({r0, 0}, {r1 - r0, L}, r0 * L);   // full rows
  if (c1 > 0) add({r1, 0}, {1, c1}, r1 * L);         // partial last row
}

std::vector<StoredPiece> shard_list_pieces(const std::string& shard_file) {
  h5::File f = h5::File::open(shard_file, h5::FileMode::ReadOnly);
  h5::Group root = f.root();
  PLINTH_CHECK(root.has_attr("format") && root.attr_string("format") == "plinth-checkpoint-shard", Input, "'",
               shard_file, "' is not a plinth checkpoint shard file");
  PLINTH_CHECK(root.has_dataset("piece_table"), Input, "'", shard_file, "' has no piece_table");
  // one dataset read instead of five attributes per piece (0.4 ms each: 0.15 s for a 400-tensor shard)
  const std::string table = root.open_dataset("piece_table").read_string();
  const std::string where = str_cat("'", shard_file, "' piece_table");
  PLINTH_CHECK(table.empty() || table.back() == '\n', Input, where, ": last line is not terminated");
  std::vector<StoredPiece> out;
  std::istringstream lines(table);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> fields;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, '\t');) fields.push_back(cell);
    PLINTH_CHECK(fields.size() == 6 && !fields[0].empty() &&
                     fields[0].find_first_not_of("0123456789") == std::string::npos,
                 Input, where, ": malformed line '", line.substr(0, 200),
                 "' (want: index, group, tensor, shape, start, count)");
    StoredPiece p;
    p.dataset = "/pieces/" + fields[0];
    p.group = fields[1];
    p.name = fields[2];
    const std::string piece_where = str_cat(where, ", piece ", fields[0]);
    p.shape = parse_dims(fields[3], piece_where);
    p.start = parse_dims(fields[4], piece_where);
    p.count = parse_dims(fields[5], piece_where);
    PLINTH_CHECK(p.shape.size() == p.count.size() && p.start.size() == p.count.size(), Input, piece_where,
                 ": piece of rank ", p.count.size(), " in a tensor of rank ", p.shape.size());
    for (size_t d = 0; d < p.shape.size(); ++d)
      PLINTH_CHECK(p.start[d] + p.count[d] <= p.shape[d], Input, piece_where, ": piece lies outside tensor ",
                   p.group, "/", p.name);
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<float> shard_read_piece(const h5::File& f, const std::string& dataset, const std::string& tensor_path) {
  PLINTH_CHECK(f.root().has_dataset(dataset.substr(dataset.find_first_not_of('/'))), Input, "shard file '", f.path(),
               "' has no piece ", dataset, " (part of tensor '", tensor_path, "')");
  h5::Dataset ds = f.root().open_dataset(dataset.substr(dataset.find_first_not_of('/')));
  PLINTH_CHECK(ds.dtype() == h5::Dtype::F32, Input, "shard file '", f.path(), "': piece ", dataset, " of tensor '",
               tensor_path, "' has dtype ", ds.dtype_description(), ", expected float32");
  std::vector<float> out(static_cast<size_t>(ds.numel()));
  if (!out.empty()) ds.read_all(h5::Dtype::F32, out.data());
  PLINTH_CHECK(ds.has_attr("checksum"), Input, "shard file '", f.path(), "': piece ", dataset, " of tensor '",
               tensor_path, "' has no checksum");
  const std::string stored = ds.attr_string("checksum");
  const std::string computed = hex64(xxh64(out.data(), out.size() * sizeof(float)));
  PLINTH_CHECK(stored == computed, Input, "checksum mismatch in shard file '", f.path(), "', tensor '", tensor_path,
               "' (piece ", dataset, "): stored ", stored, ", computed ", computed, " (the checkpoint is corrupt)");
  return out;
}

void copy_block_intersection(const std::vector<int64_t>& bs, const std::vector<int64_t>& bc, const float* block,
                             const std::vector<int64_t>& ds, const std::vector<int64_t>& dc, float* dst) {
  const size_t rank = bs.size();
  PLINTH_CHECK(rank == 1 || rank == 2, Internal, "block copy of rank ", rank);
  std::vector<int64_t> lo(rank), hi(rank);
  for (size_t d = 0; d < rank; ++d) {
    lo[d] = std::max(bs[d], ds[d]);
    hi[d] = std::min(bs[d] + bc[d], ds[d] + dc[d]);
    if (lo[d] >= hi[d]) return;
  }
  if (rank == 1) {
    std::copy(block + (lo[0] - bs[0]), block + (hi[0] - bs[0]), dst + (lo[0] - ds[0]));
    return;
  }
  for (int64_t r = lo[0]; r < hi[0]; ++r) {
    const float* src = block + (r - bs[0]) * bc[1] + (lo[1] - bs[1]);
    std::copy(src, src + (hi[1] - lo[1]), dst + (r - ds[0]) * dc[1] + (lo[1] - ds[1]));
  }
}

}  // namespace plinth::io
