// checkpoint_state.cpp -- writing, validating and reading one checkpoint state.h5.
// Tensors are full logical float32 datasets (contiguous, global shape) written and read at the
// layout's local slice through hyperslabs. Every dataset carries "checksum": the FNV-1a-64 of its
// whole contents in row-major order as little-endian bytes (strings: their UTF-8 bytes).
#include "io/checkpoint_state.h"

#include <algorithm>
#include <bit>
#include <set>

#include "core/error.h"
#include "io/digest.h"
#include "io/h5.h"

namespace plinth::io {

static_assert(std::endian::native == std::endian::little,
              "checkpoint checksums hash the in-memory float bytes, which must be little-endian");

namespace {

constexpr int64_t kBlockBytes = int64_t{64} << 20;   // read granularity for checksums

void check_key(const std::string& kind, const std::string& key) {
  PLINTH_CHECK(!key.empty() && key.find('/') == std::string::npos && key != "." && key != "..", Internal,
               "checkpoint: invalid ", kind, " name '", key, "' (must be non-empty and contain no '/')");
}

// Checksum of a whole dataset, read in blocks of rows along dim 0.
template <typename T>
std::string checksum_blocks(const h5::Dataset& ds) {
  auto dims = ds.dims();
  Fnv1a64 h;
  if (dims.empty()) {
    T v{};
    ds.read(h5::dtype_of<T>(), {}, {}, &v);
    h.update(&v, sizeof v);
    return hex64(h.value());
  }
  int64_t row = 1;
  for (size_t d = 1; d < dims.size(); ++d) row *= dims[d];
  if (row == 0 || dims[0] == 0) return hex64(h.value());
  int64_t rows_per_block = std::max<int64_t>(1, kBlockBytes / (row * static_cast<int64_t>(sizeof(T))));
  std::vector<T> buf;
  for (int64_t r = 0; r < dims[0]; r += rows_per_block) {
    int64_t n = std::min(rows_per_block, dims[0] - r);
    std::vector<int64_t> start(dims.size(), 0), count = dims;
    start[0] = r;
    count[0] = n;
    buf.resize(static_cast<size_t>(n * row));
    ds.read(h5::dtype_of<T>(), start, count, buf.data());
    h.update(buf.data(), buf.size() * sizeof(T));
  }
  return hex64(h.value());
}

std::string dataset_checksum(const h5::Dataset& ds) {
  switch (ds.dtype()) {
    case h5::Dtype::F32: return checksum_blocks<float>(ds);
    case h5::Dtype::U8: return checksum_blocks<uint8_t>(ds);
    case h5::Dtype::U64: return checksum_blocks<uint64_t>(ds);
    case h5::Dtype::String: {
      std::string v = ds.read_string();
      return hex64(fnv1a64(v.data(), v.size()));
    }
    default: break;
  }
  PLINTH_THROW(Input, ds.where(), ": unexpected dtype ", ds.dtype_description(), " in a checkpoint");
}

void verify_checksum(const h5::Dataset& ds, const std::string& computed) {
  PLINTH_CHECK(ds.has_attr("checksum"), Input, ds.where(), ": no checksum attribute");
  std::string stored = ds.attr_string("checksum");
  PLINTH_CHECK(stored == computed, Input, "checksum mismatch in file '", ds.file(), "', dataset '", ds.path(),
               "': stored ", stored, ", computed ", computed, " (the checkpoint is corrupt)");
}

std::string bytes_checksum(const void* p, size_t n) { return hex64(fnv1a64(p, n)); }

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

void write_tensor(const h5::Group& g, const TensorSpec& spec, const float* data) {
  h5::Dataset ds = g.create_dataset(spec.name, h5::Dtype::F32, spec.global_shape);
  ds.write(h5::Dtype::F32, spec.local_start, spec.local_shape, data + spec.offset);
  // A slice that is the whole tensor is hashed from memory; a partial slice is read back whole.
  std::string sum = spec.numel() == spec.global_numel()
                        ? bytes_checksum(data + spec.offset, static_cast<size_t>(spec.numel()) * sizeof(float))
                        : dataset_checksum(ds);
  ds.set_attr("checksum", sum);
}

// Relative paths of every dataset below `g`, recursing into subgroups.
void collect_datasets(const h5::Group& g, const std::string& prefix, std::vector<std::string>& out) {
  for (const std::string& name : g.children()) {
    if (g.has_group(name)) collect_datasets(g.open_group(name), prefix + name + "/", out);
    else out.push_back(prefix + name);
  }
}

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
  PLINTH_CHECK(root.has_group("meta"), Input, "'", file, "' has no /meta group");
  return root;
}

}  // namespace

void state_write(const std::string& file, const CheckpointMeta& meta, const std::vector<CheckpointTensors>& sets) {
  std::set<std::string> groups;
  std::string group_list;
  for (const auto& s : sets) {
    PLINTH_CHECK(s.layout && (s.data || s.layout->specs().empty()), Internal, "checkpoint: tensor set '",
                 s.group, "' has no layout or data");
    PLINTH_CHECK(!s.group.empty() && s.group.front() != '/' && s.group.back() != '/' && s.group != "meta" &&
                     s.group.rfind("meta/", 0) != 0,
                 Internal, "checkpoint: invalid tensor group name '", s.group, "'");
    PLINTH_CHECK(groups.insert(s.group).second, Internal, "checkpoint: tensor group '", s.group, "' given twice");
    group_list += (group_list.empty() ? "" : ",") + s.group;
  }
  h5::File f = h5::File::create(file);
  {
    h5::Group root = f.root();
    root.set_attr("format", kCheckpointFormat);
    root.set_attr("format_version", kCheckpointFormatVersion);
    root.set_attr("created_by", "plinth");
    root.set_attr("checksum_algorithm", "fnv1a64");
    root.set_attr("tensor_groups", group_list);
    write_meta(root, meta);
    for (const auto& s : sets) {
      h5::Group g = root.create_group(s.group);
      for (const TensorSpec& spec : s.layout->specs()) {
        PLINTH_CHECK(!spec.name.empty() && spec.name.front() != '/', Internal, "checkpoint: invalid tensor name '",
                     spec.name, "'");
        write_tensor(g, spec, s.data);
      }
    }
  }
  f.close();
}

void state_validate(const std::string& file, int64_t expected_step, Validation validation) {
  h5::File f = h5::File::open(file, h5::FileMode::ReadOnly);
  h5::Group root = open_root(f);
  h5::Group meta = root.open_group("meta");
  int64_t step = meta.attr_int("step");
  PLINTH_CHECK(expected_step < 0 || step == expected_step, Input, "'", file, "' holds step ", step,
               " but its directory names step ", expected_step);
  std::vector<std::string> datasets;
  collect_datasets(root, "", datasets);
  for (const std::string& name : datasets) {
    h5::Dataset ds = root.open_dataset(name);
    PLINTH_CHECK(ds.has_attr("checksum"), Input, ds.where(), ": no checksum attribute");
    if (validation == Validation::Full) verify_checksum(ds, dataset_checksum(ds));
  }
}

CheckpointMeta state_read_meta(const std::string& file) {
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

void state_load(const std::string& file, const std::vector<CheckpointTensors>& sets) {
  h5::File f = h5::File::open(file, h5::FileMode::ReadOnly);
  h5::Group root = open_root(f);
  for (const auto& s : sets) {
    PLINTH_CHECK(s.layout && (s.data || s.layout->specs().empty()), Internal, "checkpoint: tensor set '",
                 s.group, "' has no layout or data");
    PLINTH_CHECK(root.has_group(s.group), Input, "checkpoint '", file, "' has no tensor group '/", s.group, "'");
    h5::Group g = root.open_group(s.group);
    for (const TensorSpec& spec : s.layout->specs()) {
      std::string tensor = s.group + "/" + spec.name;
      PLINTH_CHECK(g.has_dataset(spec.name), Input, "checkpoint '", file, "' has no tensor '", tensor, "'");
      h5::Dataset ds = g.open_dataset(spec.name);
      PLINTH_CHECK(ds.dtype() == h5::Dtype::F32, Input, "checkpoint '", file, "': tensor '", tensor, "' has dtype ",
                   ds.dtype_description(), ", expected float32");
      auto dims = ds.dims();
      PLINTH_CHECK(dims == spec.global_shape, Input, "checkpoint '", file, "': tensor '", tensor, "' has shape ",
                   shape_str(dims), " but the layout expects ", shape_str(spec.global_shape));
      float* dst = s.data + spec.offset;
      ds.read(h5::Dtype::F32, spec.local_start, spec.local_shape, dst);
      verify_checksum(ds, spec.numel() == spec.global_numel()
                              ? bytes_checksum(dst, static_cast<size_t>(spec.numel()) * sizeof(float))
                              : dataset_checksum(ds));
    }
    if (s.coverage == TensorCoverage::Subset) continue;
    std::vector<std::string> stored;
    collect_datasets(g, "", stored);
    for (const std::string& name : stored)
      PLINTH_CHECK(s.layout->contains(name), Input, "checkpoint '", file, "' holds tensor '", s.group, "/", name,
                   "' that the parameter layout does not have");
  }
}

std::vector<std::string> state_tensor_names(const std::string& file, const std::string& group) {
  h5::File f = h5::File::open(file, h5::FileMode::ReadOnly);
  h5::Group root = open_root(f);
  PLINTH_CHECK(root.has_group(group), Input, "checkpoint '", file, "' has no tensor group '/", group, "'");
  std::vector<std::string> names;
  collect_datasets(root.open_group(group), "", names);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<float> state_read_tensor(const std::string& file, const std::string& group, const std::string& name,
                                     std::vector<int64_t>* shape) {
  h5::File f = h5::File::open(file, h5::FileMode::ReadOnly);
  h5::Group root = open_root(f);
  const std::string path = group + "/" + name;
  PLINTH_CHECK(root.has_group(group) && root.open_group(group).has_dataset(name), Input, "checkpoint '", file,
               "' has no tensor '", path, "'");
  h5::Dataset ds = root.open_group(group).open_dataset(name);
  PLINTH_CHECK(ds.dtype() == h5::Dtype::F32, Input, "checkpoint '", file, "': tensor '", path, "' has dtype ",
               ds.dtype_description(), ", expected float32");
  std::vector<int64_t> dims = ds.dims();
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  std::vector<float> out(static_cast<size_t>(n));
  ds.read_all(h5::Dtype::F32, out.data());
  verify_checksum(ds, bytes_checksum(out.data(), out.size() * sizeof(float)));
  if (shape) *shape = dims;
  return out;
}

}  // namespace plinth::io
