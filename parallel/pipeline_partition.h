// pipeline_partition.h -- which layers each pipeline stage (and virtual stage) holds.
// Layers are plain indices here; parallel/ knows nothing of the model. Virtual stage
// vs = chunk * pp + stage holds the contiguous range ranges[vs]; the first virtual stage also
// holds the input embedding and the last one the output layer and loss (the model decides
// what that means).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace plinth::parallel {

struct LayerRange {
  int64_t begin = 0, end = 0;   // [begin, end)
  int64_t size() const { return end - begin; }
  bool operator==(const LayerRange&) const = default;
};

// n_layers split into pp * chunks contiguous ranges, in virtual-stage order.
//   explicit_ranges empty: as even as possible; the first (n % V) virtual stages get one more.
//   otherwise "a-b,c-d,..." (inclusive layer indices, one item per virtual stage), which must
//   cover every layer exactly once, in order.
// Throws plinth::Error(Config) naming parallel.pp / parallel.pp_chunks / parallel.pp_layers when
// there are more virtual stages than layers, the interleaved chunks do not divide the layers
// evenly (chunks > 1 without an explicit list), or the list is malformed, overlaps or leaves gaps.
std::vector<LayerRange> pipeline_partition(int64_t n_layers, int pp, int chunks, const std::string& explicit_ranges);

// The ranges of `stage`'s chunks, chunk 0 first.
std::vector<LayerRange> pipeline_stage_chunks(const std::vector<LayerRange>& all, int pp, int stage);

std::string layer_ranges_string(const std::vector<LayerRange>& ranges);   // "0-3,4-7"

}  // namespace plinth::parallel
