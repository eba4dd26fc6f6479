// pipeline_partition.cpp -- even and explicit layer partitions over (virtual) pipeline stages.
#include "parallel/pipeline_partition.h"

#include <cctype>

#include "core/error.h"

namespace plinth::parallel {
namespace {

int64_t parse_index(const std::string& text, const std::string& item) {
  PLINTH_CHECK(!text.empty() && text.size() < 10, Config, "parallel.pp_layers: '", item,
               "' is not a layer range like 0-3");
  for (char ch : text)
    PLINTH_CHECK(std::isdigit(static_cast<unsigned char>(ch)), Config, "parallel.pp_layers: '", item,
                 "' is not a layer range like 0-3");
  return std::stoll(text);
}

std::vector<LayerRange> parse_ranges(const std::string& list) {
  std::vector<LayerRange> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    std::string item = list.substr(pos, comma - pos);
    std::string trimmed;
    for (char ch : item)
      if (!std::isspace(static_cast<unsigned char>(ch))) trimmed += ch;
    const size_t dash = trimmed.find('-');
    LayerRange r;
    if (dash == std::string::npos) {
      r.begin = parse_index(trimmed, item);
      r.end = r.begin + 1;
    } else {
      r.begin = parse_index(trimmed.substr(0, dash), item);
      r.end = parse_index(trimmed.substr(dash + 1), item) + 1;
      PLINTH_CHECK(r.end > r.begin, Config, "parallel.pp_layers: range '", item, "' is empty or reversed");
    }
    out.push_back(r);
    pos = comma + 1;
  }
  return out;
}

}  // namespace

std::vector<LayerRange> pipeline_partition(int64_t n_layers, int pp, int chunks, const std::string& explicit_ranges) {
  PLINTH_CHECK(pp >= 1, Config, "parallel.pp must be >= 1, got ", pp);
  PLINTH_CHECK(chunks >= 1, Config, "parallel.pp_chunks must be >= 1, got ", chunks);
  const int64_t V = static_cast<int64_t>(pp) * chunks;
  if (!explicit_ranges.empty()) {
    std::vector<LayerRange> r = parse_ranges(explicit_ranges);
    PLINTH_CHECK(static_cast<int64_t>(r.size()) == V, Config, "parallel.pp_layers lists ", r.size(),
                 " ranges but parallel.pp x parallel.pp_chunks = ", V, " virtual stages need one each");
    int64_t next = 0;
    for (size_t i = 0; i < r.size(); ++i) {
      PLINTH_CHECK(r[i].begin == next, Config, "parallel.pp_layers: virtual stage ", i, " starts at layer ",
                   r[i].begin, " but layer ", next, r[i].begin > next ? " is not covered" : " is already covered",
                   " (every layer exactly once, in order)");
      next = r[i].end;
    }
    PLINTH_CHECK(next == n_layers, Config, "parallel.pp_layers covers layers 0..", next - 1, " but model.n_layer = ",
                 n_layers, " (every layer exactly once)");
    return r;
  }
  PLINTH_CHECK(V <= n_layers, Config, "parallel.pp (", pp, ")", chunks > 1 ? str_cat(" x parallel.pp_chunks (", chunks, ")") : "",
               " = ", V, " stages is more than model.n_layer (", n_layers, "): every stage needs a layer");
  PLINTH_CHECK(chunks == 1 || n_layers % V == 0, Config, "interleaved pipeline: model.n_layer (", n_layers,
               ") is not divisible by parallel.pp x parallel.pp_chunks (", V,
               "); choose sizes that divide or list parallel.pp_layers");
  std::vector<LayerRange> out;
  int64_t next = 0;
  for (int64_t vs = 0; vs < V; ++vs) {
    const int64_t count = n_layers / V + (vs < n_layers % V ? 1 : 0);
    out.push_back({next, next + count});
    next += count;
  }
  return out;
}

std::vector<LayerRange> pipeline_stage_chunks(const std::vector<LayerRange>& all, int pp, int stage) {
  std::vector<LayerRange> out;
  for (size_t vs = static_cast<size_t>(stage); vs < all.size(); vs += static_cast<size_t>(pp)) out.push_back(all[vs]);
  return out;
}

std::string layer_ranges_string(const std::vector<LayerRange>& ranges) {
  std::string s;
  for (const LayerRange& r : ranges) {
    if (!s.empty()) s += ",";
    s += std::to_string(r.begin) + "-" + std::to_string(r.end - 1);
  }
  return s;
}

}  // namespace plinth::parallel
