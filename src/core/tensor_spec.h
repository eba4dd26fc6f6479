// tensor_spec.h -- named tensor specs and the layout of one flat buffer.
// Parameters, gradients and optimizer moments each live in one contiguous float buffer; a
// ParamLayout says where every named tensor sits in it (offset, local shape) and how the local
// slice relates to the global logical tensor (tensor-parallel split dimension, start index).
// Data-parallel buckets, ZeRO shards and checkpoint slices are offset arithmetic on this table.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace plinth {

enum class Decay { Yes, No };            // AdamW weight decay applies (matrices) or not (norms, biases)
enum class InitKind { Normal, Zeros, Ones };

// A range [begin, end) of a flat buffer (a bucket, a ZeRO-1 piece, an optimizer range).
struct FlatRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};

struct TensorSpec {
  std::string name;                      // global name, e.g. "layers.3.attn.q.weight"
  std::vector<int64_t> global_shape;     // logical shape of the whole tensor
  std::vector<int64_t> local_shape;      // shape of the slice this rank holds
  std::vector<int64_t> local_start;      // where the slice starts in the global tensor, per dim
  int split_dim = -1;                    // tensor-parallel split dimension, -1 when replicated
  Decay decay = Decay::No;
  InitKind init = InitKind::Zeros;
  float init_std = 0.0f;                 // for InitKind::Normal
  int64_t offset = 0;                    // first element inside the flat buffer

  int64_t numel() const;                 // elements of the local slice
  int64_t global_numel() const;
  // Global row-major index of local element `i` (used for init keyed by global index).
  int64_t global_index(int64_t local_i) const;
};

std::string shape_str(const std::vector<int64_t>& shape);

class ParamLayout {
 public:
  static constexpr int64_t kAlign = 16;  // every tensor starts on a 64-byte boundary

  // Adds a tensor; offset is assigned. Throws on a duplicate name or an inconsistent shape.
  const TensorSpec& add(TensorSpec spec);

  const std::vector<TensorSpec>& specs() const { return specs_; }
  int64_t size() const { return size_; }           // floats in the flat buffer (with padding)
  int64_t numel() const;                           // floats in all tensors (no padding)
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  const TensorSpec& at(const std::string& name) const;  // throws naming the tensor

 private:
  std::vector<TensorSpec> specs_;
  std::unordered_map<std::string, size_t> index_;
  int64_t size_ = 0;
};

}  // namespace plinth
