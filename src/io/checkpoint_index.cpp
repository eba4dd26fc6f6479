// checkpoint_index.cpp -- the index file of a checkpoint (index.h5, format version 2): metadata,
// one HDF5 virtual dataset per tensor over the shard files' pieces, the shard list with a
// checksum per file; validation, and reading any hyperslab of any tensor from the pieces (each
// piece's checksum verified). Metadata datasets carry "checksum": XXH64 of their contents
// as little-endian bytes (strings: their UTF-8 bytes).
#include "io/checkpoint_index.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <map>
#include <memory>
#include <set>

#include "core/error.h"
#include "io/digest.h"
#include "io/xxh64.h"
#include "io/checkpoint_shard.h"
#include "io/fs_util.h"
#include "io/h5.h"

namespace plinth::io {

static_assert(std::endian::native == std::endian::little,
              "checkpoint checksums hash the in-memory float bytes, which must be little-endian");

namespace {

void check_key(const std::string& kind, const std::string& key) {
  PLINTH_CHECK(!key.empty() && key.find('/') == std::string::npos && key != "." && key != "..", Internal,
               "checkpoint: invalid ", kind, " name '", key, "' (must be non-empty and contain no '/')");
}

void verify_checksum(const h5::Dataset& ds, const std::string& computed) {
  PLINTH_CHECK(ds.has_attr("checksum"), Input, ds.where(), ": no checksum attribute");
  std::string stored = ds.attr_string("checksum");
  PLINTH_CHECK(stored == computed, Input, "checksum mismatch in file '", ds.file(), "', dataset '", ds.path(),
               "': stored ", stored, ", computed ", computed, " (the checkpoint is corrupt)");
}

std::string bytes_checksum(const void* p, size_t n) { return hex64(xxh64(p, n)); }

void write_string(const h5::Group& g, const std::string& name, const std::string& value) {
  g.create_string_dataset(name, value).set_attr("checksum", bytes_checksum(value.data(), value.size()));
}

template <typename T>
void write_checked_vector(const h5::Group& g, const std::string& name, const std::vector<T>& v) {
  h5::write_vector(g, name, v);
  g.open_dataset(name).set_attr("checksum", bytes_checksum(v.data(), v.size() * sizeof(T)));
}

void write_meta(const h5::Group& root, const CheckpointMeta& meta) {
  h5::Group m = root.create_group("meta");
  m.set_attr("step", meta.step);
  m.set_attr("tokenizer_kind", meta.tokenizer_kind);
  write_string(m, "config_ini", meta.config_ini);
  write_string(m, "model_signature", meta.model_signature);
  write_checked_vector(m, "tokenizer_model",
                       std::vector<uint8_t>(meta.tokenizer_model.begin(), meta.tokenizer_model.end()));
  h5::Group counters = m.create_group("counters");
  for (const auto& [k, v] : meta.counters) {
    check_key("counter", k);
    counters.set_attr(k, v);
  }
  h5::Group scalars = m.create_group("scalars");
  for (const auto& [k, v] : meta.scalars) {
    check_key("scalar", k);
    scalars.set_attr(k, v);
  }
  h5::Group rng = m.create_group("rng_states");
  for (const auto& [k, v] : meta.rng_states) {
    check_key("rng state", k);
    write_checked_vector(rng, k, v);
  }
}

std::string index_path(const std::string& dir) { return dir + "/" + kCheckpointIndexFile; }

constexpr const char* kChecksumAlgorithm = "xxh64";

h5::Group open_root(const h5::File& f) {
  h5::Group root = f.root();
  const std::string& file = f.path();
  PLINTH_CHECK(root.has_attr("format"), Input, "'", file, "' has no 'format' attribute: not a plinth checkpoint");
  std::string format = root.attr_string("format");
  PLINTH_CHECK(format == kCheckpointFormat, Input, "'", file, "' has format '", format, "', expected '",
               kCheckpointFormat, "'");
  int64_t version = root.attr_int("format_version");
  PLINTH_CHECK(version == kCheckpointFormatVersion, Input, "'", file, "' has plinth-checkpoint format_version ",
               version, "; this build reads version ", kCheckpointFormatVersion);
  const std::string algorithm = root.has_attr("checksum_algorithm") ? root.attr_string("checksum_algorithm") : "";
  PLINTH_CHECK(algorithm == kChecksumAlgorithm, Input, "'", file, "' has checksum_algorithm '", algorithm,
               "'; this build verifies '", kChecksumAlgorithm, "'");
  PLINTH_CHECK(root.has_group("meta"), Input, "'", file, "' has no /meta group");
  return root;
}


int64_t product(const std::vector<int64_t>& v) {
  int64_t n = 1;
  for (int64_t x : v) n *= x;
  return n;
}

std::string shape_str(const std::vector<int64_t>& v) {
  std::string s = "(";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + ")";
}

// Shard files opened while reading one checkpoint, by name.
class ShardCache {
 public:
  explicit ShardCache(std::string dir) : dir_(std::move(dir)) {}
  const h5::File& open(const std::string& name, const std::string& tensor) {
    auto it = files_.find(name);
    if (it != files_.end()) return *it->second;
    const std::string path = dir_ + "/" + name;
    PLINTH_CHECK(is_regular_file(path), Input, "checkpoint '", dir_, "': shard file '", name,
                 "' (holding part of tensor '", tensor, "') is missing");
    auto f = std::make_unique<h5::File>(h5::File::open(path, h5::FileMode::ReadOnly));
    return *files_.emplace(name, std::move(f)).first->second;
  }

 private:
  std::string dir_;
  std::map<std::string, std::unique_ptr<h5::File>> files_;
};

// A destination: the box [start, start + count) of a tensor, stored dense at dst.
struct Box {
  std::vector<int64_t> start, count;
  float* dst;
};

// Fills every box of tensor group/name from the pieces the index maps over it; each piece is read
// (and its checksum verified) once, however many boxes it touches. No boxes: only the tensor's
// entry is checked. Input errors name the tensor, file and piece.
void read_boxes(const h5::Group& root, ShardCache& shards, const std::string& dir, const std::string& group,
                const std::string& name, const std::vector<int64_t>& shape, const std::vector<Box>& boxes) {
  const std::string tensor = group + "/" + name;
  PLINTH_CHECK(root.has_group(group) && root.open_group(group).has_dataset(name), Input, "checkpoint '", dir,
               "': the index has no tensor '", tensor, "'");
  h5::Dataset ds = root.open_group(group).open_dataset(name);
  PLINTH_CHECK(ds.dtype() == h5::Dtype::F32, Input, "checkpoint '", dir, "': tensor '", tensor, "' has dtype ",
               ds.dtype_description(), ", expected float32");
  PLINTH_CHECK(ds.dims() == shape, Input, "checkpoint '", dir, "': tensor '", tensor, "' has shape ",
               shape_str(ds.dims()), " but the layout expects ", shape_str(shape));
  PLINTH_CHECK(ds.is_virtual(), Input, "checkpoint '", dir, "': tensor '", tensor, "' is not a virtual dataset");
  const auto maps = ds.virtual_mappings();
  int64_t covered = 0;
  for (const auto& m : maps) covered += product(m.count);
  PLINTH_CHECK(covered == product(shape), Input, "checkpoint '", dir, "': the index maps ", covered, " of the ",
               product(shape), " elements of tensor '", tensor, "'");
  auto overlaps = [&](const h5::VirtualMapping& m, const Box& b) {
    for (size_t d = 0; d < shape.size(); ++d)
      if (!(m.start[d] < b.start[d] + b.count[d] && b.start[d] < m.start[d] + m.count[d])) return false;
    return true;
  };
  for (const auto& m : maps) {
    if (std::none_of(boxes.begin(), boxes.end(), [&](const Box& b) { return overlaps(m, b); })) continue;
    const h5::File& f = shards.open(m.file, tensor);
    const std::vector<float> piece = shard_read_piece(f, m.dataset, tensor);
    PLINTH_CHECK(static_cast<int64_t>(piece.size()) == product(m.count), Input, "shard file '", f.path(),
                 "': piece ", m.dataset, " of tensor '", tensor, "' has ", piece.size(), " elements, the index maps ",
                 product(m.count));
    for (const Box& b : boxes)
      if (overlaps(m, b)) copy_block_intersection(m.start, m.count, piece.data(), b.start, b.count, b.dst);
  }
}

// The boxes of one tensor that a set asks for: its whole local slice, or (set.ranges) only the
// parts of the slice inside those flat ranges of the buffer, as rectangles of the tensor.
std::vector<Box> boxes_of(const CheckpointTensors& s, const TensorSpec& spec) {
  float* slice = s.data + spec.offset;
  if (!s.ranges) return {Box{spec.local_start, spec.local_shape, slice}};
  std::vector<ShardPiece> rects;
  for (const FlatRange& r : *s.ranges) {
    const int64_t lo = std::max(r.begin, spec.offset), hi = std::min(r.end, spec.offset + spec.numel());
    if (lo < hi) shard_pieces_of_range(s.group, spec, slice, lo - spec.offset, hi - spec.offset, rects);
  }
  std::vector<Box> out;
  for (const ShardPiece& p : rects) out.push_back(Box{p.start, p.count, slice + (p.data - slice)});   // p.data, writable
  return out;
}

// Relative paths of every dataset below `g`, recursing into subgroups.
void collect_datasets(const h5::Group& g, const std::string& prefix, std::vector<std::string>& out) {
  for (const std::string& name : g.children()) {
    if (g.has_group(name)) collect_datasets(g.open_group(name), prefix + name + "/", out);
    else out.push_back(prefix + name);
  }
}

}  // namespace

void index_write(const std::string& dir, const CheckpointMeta& meta, const std::vector<uint64_t>& shard_checksums) {
  const int n_shards = static_cast<int>(shard_checksums.size());
  PLINTH_CHECK(n_shards > 0, Internal, "checkpoint: no shard files");
  // every piece of every shard, grouped by tensor
  std::map<std::pair<std::string, std::string>, std::vector<h5::VirtualMapping>> tensors;
  std::map<std::pair<std::string, std::string>, std::vector<int64_t>> shapes;
  std::set<std::string> groups;
  for (int r = 0; r < n_shards; ++r) {
    const std::string name = checkpoint_shard_file_name(r);
    for (const StoredPiece& p : shard_list_pieces(dir + "/" + name)) {
      const auto key = std::make_pair(p.group, p.name);
      auto [it, fresh] = shapes.emplace(key, p.shape);
      PLINTH_CHECK(fresh || it->second == p.shape, Internal, "checkpoint: pieces of tensor ", p.group, "/", p.name,
                   " disagree on its shape");
      tensors[key].push_back({name, p.dataset, p.start, p.count});
      groups.insert(p.group);
    }
  }
  for (const auto& [key, maps] : tensors) {
    int64_t covered = 0;
    for (const auto& m : maps) covered += product(m.count);
    PLINTH_CHECK(covered == product(shapes[key]), Internal, "checkpoint: the shards hold ", covered, " of the ",
                 product(shapes[key]), " elements of tensor ", key.first, "/", key.second);
  }
  std::string group_list;
  for (const std::string& g : groups) group_list += (group_list.empty() ? "" : ",") + g;
  h5::File f = h5::File::create(index_path(dir));
  {
    h5::Group root = f.root();
    root.set_attr("format", kCheckpointFormat);
    root.set_attr("format_version", kCheckpointFormatVersion);
    root.set_attr("created_by", "plinth");
    root.set_attr("checksum_algorithm", kChecksumAlgorithm);
    root.set_attr("tensor_groups", group_list);
    write_meta(root, meta);
    for (const auto& [key, maps] : tensors)
      root.create_virtual_dataset(key.first + "/" + key.second, h5::Dtype::F32, shapes[key], maps);
    h5::Group shards = root.create_group("shards");
    shards.set_attr("count", static_cast<int64_t>(n_shards));
    for (int r = 0; r < n_shards; ++r) {
      const std::string name = checkpoint_shard_file_name(r);
      shards.set_attr(name, hex64(shard_checksums[static_cast<size_t>(r)]));
    }
  }
  f.close();
  fsync_file(index_path(dir));
}

void index_validate(const std::string& dir, int64_t expected_step, Validation validation, ShardShare share) {
  PLINTH_CHECK(share.parts >= 1 && share.part >= 0 && share.part < share.parts, Internal,
               "checkpoint validation: shard share ", share.part, " of ", share.parts);
  const std::string file = index_path(dir);
  PLINTH_CHECK(is_regular_file(file), Input, "checkpoint '", dir, "' has no ", kCheckpointIndexFile);
  h5::File f = h5::File::open(file, h5::FileMode::ReadOnly);
  h5::Group root = open_root(f);
  const int64_t step = index_read_meta(dir).step;   // reads (and checks) every metadata object
  PLINTH_CHECK(expected_step < 0 || step == expected_step, Input, "'", file, "' holds step ", step,
               " but its directory names step ", expected_step);
  PLINTH_CHECK(root.has_group("shards"), Input, "'", file, "' has no /shards group");
  h5::Group shards = root.open_group("shards");
  const int64_t n = shards.attr_int("count");
  for (int64_t r = 0; r < n; ++r) {
    const std::string name = checkpoint_shard_file_name(static_cast<int>(r));
    const std::string path = dir + "/" + name;
    PLINTH_CHECK(is_regular_file(path), Input, "checkpoint '", dir, "': shard file '", name, "' is missing");
    if (validation != Validation::Full || r % share.parts != share.part) continue;
    const std::string stored = shards.attr_string(name);
    if (hex64(file_checksum(path)) == stored) continue;
    // find the damaged tensor, to name it; if every piece reads back intact, the damage is in
    // the file's own metadata
    h5::File sf = h5::File::open(path, h5::FileMode::ReadOnly);
    for (const StoredPiece& p : shard_list_pieces(path)) shard_read_piece(sf, p.dataset, p.group + "/" + p.name);
    PLINTH_THROW(Input, "checksum mismatch in shard file '", path, "' (stored ", stored,
                 "): the file is damaged outside its tensor data");
  }
  // every tensor's mappings point at listed shard files
  for (const std::string& g : {std::string("model"), std::string("optim/exp_avg"), std::string("optim/exp_avg_sq")}) {
    if (!root.has_group(g)) continue;
    std::vector<std::string> names;
    collect_datasets(root.open_group(g), "", names);
    for (const std::string& t : names)
      for (const auto& m : root.open_group(g).open_dataset(t).virtual_mappings())
        PLINTH_CHECK(is_regular_file(dir + "/" + m.file), Input, "checkpoint '", dir, "': tensor '", g, "/", t,
                     "' maps shard file '", m.file, "', which is missing");
  }
}

CheckpointMeta index_read_meta(const std::string& dir) {
  const std::string file = index_path(dir);
  h5::File f = h5::File::open(file, h5::FileMode::ReadOnly);
  h5::Group m = open_root(f).open_group("meta");
  CheckpointMeta meta;
  meta.step = m.attr_int("step");
  meta.tokenizer_kind = m.attr_string("tokenizer_kind");
  auto read_checked_string = [&](const std::string& name) {
    h5::Dataset ds = m.open_dataset(name);
    std::string s = ds.read_string();
    verify_checksum(ds, bytes_checksum(s.data(), s.size()));
    return s;
  };
  meta.config_ini = read_checked_string("config_ini");
  meta.model_signature = read_checked_string("model_signature");
  h5::Dataset tm = m.open_dataset("tokenizer_model");
  auto model = h5::read_vector<uint8_t>(tm);
  verify_checksum(tm, bytes_checksum(model.data(), model.size()));
  meta.tokenizer_model.assign(model.begin(), model.end());
  h5::Group counters = m.open_group("counters");
  for (const std::string& k : counters.attr_names()) meta.counters[k] = counters.attr_int(k);
  h5::Group scalars = m.open_group("scalars");
  for (const std::string& k : scalars.attr_names()) meta.scalars[k] = scalars.attr_double(k);
  h5::Group rng = m.open_group("rng_states");
  for (const std::string& k : rng.children()) {
    h5::Dataset ds = rng.open_dataset(k);
    auto v = h5::read_vector<uint64_t>(ds);
    verify_checksum(ds, bytes_checksum(v.data(), v.size() * sizeof(uint64_t)));
    meta.rng_states[k] = std::move(v);
  }
  return meta;
}

void index_load(const std::string& dir, const std::vector<CheckpointTensors>& sets) {
  h5::File f = h5::File::open(index_path(dir), h5::FileMode::ReadOnly);
  h5::Group root = open_root(f);
  ShardCache shards(dir);
  for (const auto& s : sets) {
    PLINTH_CHECK(s.layout && (s.data || s.layout->specs().empty()), Internal, "checkpoint: tensor set '",
                 s.group, "' has no layout or data");
    PLINTH_CHECK(root.has_group(s.group), Input, "checkpoint '", dir, "' has no tensor group '/", s.group, "'");
    for (const TensorSpec& spec : s.layout->specs())
      read_boxes(root, shards, dir, s.group, spec.name, spec.global_shape, boxes_of(s, spec));
    if (s.coverage == TensorCoverage::Subset) continue;
    std::vector<std::string> stored;
    collect_datasets(root.open_group(s.group), "", stored);
    for (const std::string& name : stored)
      PLINTH_CHECK(s.layout->contains(name), Input, "checkpoint '", dir, "' holds tensor '", s.group, "/", name,
                   "' that the parameter layout does not have");
  }
}

std::vector<std::string> index_tensor_names(const std::string& dir, const std::string& group) {
  h5::File f = h5::File::open(index_path(dir), h5::FileMode::ReadOnly);
  h5::Group root = open_root(f);
  PLINTH_CHECK(root.has_group(group), Input, "checkpoint '", dir, "' has no tensor group '/", group, "'");
  std::vector<std::string> names;
  collect_datasets(root.open_group(group), "", names);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<float> index_read_tensor(const std::string& dir, const std::string& group, const std::string& name,
                                     std::vector<int64_t>* shape) {
  h5::File f = h5::File::open(index_path(dir), h5::FileMode::ReadOnly);
  h5::Group root = open_root(f);
  PLINTH_CHECK(root.has_group(group) && root.open_group(group).has_dataset(name), Input, "checkpoint '", dir,
               "': the index has no tensor '", group, "/", name, "'");
  const std::vector<int64_t> dims = root.open_group(group).open_dataset(name).dims();
  std::vector<float> out(static_cast<size_t>(product(dims)));
  ShardCache shards(dir);
  read_boxes(root, shards, dir, group, name, dims, {Box{std::vector<int64_t>(dims.size(), 0), dims, out.data()}});
  if (shape) *shape = dims;
  return out;
}

}  // namespace plinth::io
