// tensor_spec.cpp -- TensorSpec index arithmetic and ParamLayout construction.
#include "core/tensor_spec.h"

#include "core/error.h"

namespace plinth {

static int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

int64_t TensorSpec::numel() const { return product(local_shape); }
int64_t TensorSpec::global_numel() const { return product(global_shape); }

int64_t TensorSpec::global_index(int64_t local_i) const {
  // Unravel the local index, shift by local_start, ravel against the global shape.
  int64_t g = 0, stride = 1;
  for (int d = static_cast<int>(local_shape.size()) - 1; d >= 0; --d) {
    int64_t coord = local_i % local_shape[d];
    local_i /= local_shape[d];
    g += (coord + local_start[d]) * stride;
    stride *= global_shape[d];
  }
  return g;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}

const TensorSpec& ParamLayout::add(TensorSpec spec) {
  PLINTH_CHECK(!index_.count(spec.name), Internal, "duplicate tensor name '", spec.name, "'");
  if (spec.local_shape.empty()) spec.local_shape = spec.global_shape;
  if (spec.local_start.empty()) spec.local_start.assign(spec.global_shape.size(), 0);
  PLINTH_CHECK(spec.local_shape.size() == spec.global_shape.size() &&
                   spec.local_start.size() == spec.global_shape.size(),
               Internal, "tensor '", spec.name, "': rank of local and global shapes differ");
  for (size_t d = 0; d < spec.global_shape.size(); ++d)
    PLINTH_CHECK(spec.local_start[d] + spec.local_shape[d] <= spec.global_shape[d], Internal,
                 "tensor '", spec.name, "': local slice ", shape_str(spec.local_shape),
                 " exceeds global shape ", shape_str(spec.global_shape));
  spec.offset = size_;
  size_ += (spec.numel() + kAlign - 1) / kAlign * kAlign;
  index_[spec.name] = specs_.size();
  specs_.push_back(std::move(spec));
  return specs_.back();
}

int64_t ParamLayout::numel() const {
  int64_t n = 0;
  for (const auto& s : specs_) n += s.numel();
  return n;
}

const TensorSpec& ParamLayout::at(const std::string& name) const {
  auto it = index_.find(name);
  PLINTH_CHECK(it != index_.end(), Internal, "no tensor named '", name, "' in the parameter layout");
  return specs_[it->second];
}

}  // namespace plinth
