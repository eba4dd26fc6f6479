// param_layout.cpp -- parameter tensor names, shapes, tensor-parallel slices and deterministic init.
#include "model/param_layout.h"

#include <cmath>

#include "core/error.h"
#include "core/rng.h"

namespace plinth::model {
namespace {

enum class Split { None, Rows, Cols };   // replicated, split dim 0, split dim 1

struct Builder {
  ParamLayout layout;
  TpShard tp;

  void add(const std::string& name, std::vector<int64_t> shape, Split split, InitKind init, float std) {
    TensorSpec s;
    s.name = name;
    s.global_shape = shape;
    s.local_shape = shape;
    s.local_start.assign(shape.size(), 0);
    s.decay = shape.size() >= 2 ? Decay::Yes : Decay::No;
    s.init = init;
    s.init_std = std;
    if (split != Split::None && tp.size > 1) {
      int d = split == Split::Rows ? 0 : 1;
      PLINTH_CHECK(shape[d] % tp.size == 0, Config, "tensor '", name, "' dim ", d, " (", shape[d],
                   ") is not divisible by tp (", tp.size, ")");
      s.split_dim = d;
      s.local_shape[d] = shape[d] / tp.size;
      s.local_start[d] = s.local_shape[d] * tp.rank;
    }
    layout.add(std::move(s));
  }
};

}  // namespace

std::string block_tensor_name(int64_t layer, const std::string& leaf) {
  return "layers." + std::to_string(layer) + "." + leaf;
}

ParamLayout model_param_layout(const ModelConfig& c, TpShard tp, const std::vector<LayerSpan>& chunks) {
  bool first = chunks.empty(), last = chunks.empty();
  std::vector<char> holds(static_cast<size_t>(c.n_layer), chunks.empty() ? 1 : 0);
  for (const LayerSpan& r : chunks) {
    PLINTH_CHECK(r.begin >= 0 && r.end <= c.n_layer && r.begin < r.end, Internal, "layer range [", r.begin, ", ",
                 r.end, ") outside model.n_layer = ", c.n_layer);
    for (int64_t l = r.begin; l < r.end; ++l) holds[static_cast<size_t>(l)] = 1;
    first = first || r.begin == 0;
    last = last || r.end == c.n_layer;
  }
  const int64_t C = c.n_embd, F = c.ffn(), Vp = c.padded_vocab(), HS = c.head_size();
  const int64_t QD = c.n_head * HS, KVD = c.kv_heads() * HS;
  const float std = c.init_std;
  const float proj_std = c.init_std / std::sqrt(2.0f * static_cast<float>(c.n_layer));
  Builder b{{}, tp};
  if (first || (last && c.tie_embeddings == TieEmbeddings::Yes))
    b.add("embed.wte", {Vp, C}, Split::Rows, InitKind::Normal, std);
  if (first && c.arch == Arch::Gpt2) b.add("embed.wpe", {c.seq_len, C}, Split::None, InitKind::Normal, std);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    if (!holds[static_cast<size_t>(l)]) continue;
    auto n = [&](const char* leaf) { return block_tensor_name(l, leaf); };
    if (c.arch == Arch::Gpt2) {
      b.add(n("ln_1.weight"), {C}, Split::None, InitKind::Ones, 0);
      b.add(n("ln_1.bias"), {C}, Split::None, InitKind::Zeros, 0);
      b.add(n("attn.q.weight"), {QD, C}, Split::Rows, InitKind::Normal, std);
      b.add(n("attn.q.bias"), {QD}, Split::Rows, InitKind::Zeros, 0);
      b.add(n("attn.k.weight"), {KVD, C}, Split::Rows, InitKind::Normal, std);
      b.add(n("attn.k.bias"), {KVD}, Split::Rows, InitKind::Zeros, 0);
      b.add(n("attn.v.weight"), {KVD, C}, Split::Rows, InitKind::Normal, std);
      b.add(n("attn.v.bias"), {KVD}, Split::Rows, InitKind::Zeros, 0);
      b.add(n("attn.proj.weight"), {C, QD}, Split::Cols, InitKind::Normal, proj_std);
      b.add(n("attn.proj.bias"), {C}, Split::None, InitKind::Zeros, 0);
      b.add(n("ln_2.weight"), {C}, Split::None, InitKind::Ones, 0);
      b.add(n("ln_2.bias"), {C}, Split::None, InitKind::Zeros, 0);
      b.add(n("mlp.fc.weight"), {F, C}, Split::Rows, InitKind::Normal, std);
      b.add(n("mlp.fc.bias"), {F}, Split::Rows, InitKind::Zeros, 0);
      b.add(n("mlp.proj.weight"), {C, F}, Split::Cols, InitKind::Normal, proj_std);
      b.add(n("mlp.proj.bias"), {C}, Split::None, InitKind::Zeros, 0);
    } else {
      b.add(n("attn_norm.weight"), {C}, Split::None, InitKind::Ones, 0);
      b.add(n("attn.q.weight"), {QD, C}, Split::Rows, InitKind::Normal, std);
      b.add(n("attn.k.weight"), {KVD, C}, Split::Rows, InitKind::Normal, std);
      b.add(n("attn.v.weight"), {KVD, C}, Split::Rows, InitKind::Normal, std);
      b.add(n("attn.proj.weight"), {C, QD}, Split::Cols, InitKind::Normal, proj_std);
      b.add(n("mlp_norm.weight"), {C}, Split::None, InitKind::Ones, 0);
      b.add(n("mlp.gate.weight"), {F, C}, Split::Rows, InitKind::Normal, std);
      b.add(n("mlp.up.weight"), {F, C}, Split::Rows, InitKind::Normal, std);
      b.add(n("mlp.down.weight"), {C, F}, Split::Cols, InitKind::Normal, proj_std);
    }
  }
  if (!last) return std::move(b.layout);
  b.add("final_norm.weight", {C}, Split::None, InitKind::Ones, 0);
  if (c.arch == Arch::Gpt2) b.add("final_norm.bias", {C}, Split::None, InitKind::Zeros, 0);
  if (c.tie_embeddings == TieEmbeddings::No)
    b.add("head.weight", {Vp, C}, Split::Rows, InitKind::Normal, std);
  return std::move(b.layout);
}

void model_init_params(const ParamLayout& layout, float* params, uint64_t seed) {
  for (const TensorSpec& s : layout.specs()) {
    float* p = params + s.offset;
    const int64_t n = s.numel();
    switch (s.init) {
      case InitKind::Zeros:
        for (int64_t i = 0; i < n; ++i) p[i] = 0.0f;
        break;
      case InitKind::Ones:
        for (int64_t i = 0; i < n; ++i) p[i] = 1.0f;
        break;
      case InitKind::Normal: {
        const uint64_t key = hash_combine(seed, hash_string(s.name));
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; ++i)
          p[i] = s.init_std * normal_at(key, static_cast<uint64_t>(s.global_index(i)));
        break;
      }
    }
  }
}

ModelOffsets model_offsets(const ModelConfig& c, const ParamLayout& layout) {
  auto off = [&](const std::string& name) { return layout.contains(name) ? layout.at(name).offset : int64_t{-1}; };
  ModelOffsets m;
  m.wte = off("embed.wte");
  m.wpe = off("embed.wpe");
  for (int64_t l = 0; l < c.n_layer; ++l) {
    auto o = [&](const char* leaf) { return off(block_tensor_name(l, leaf)); };
    BlockOffsets b;
    if (c.arch == Arch::Gpt2) {
      b.norm1_w = o("ln_1.weight"); b.norm1_b = o("ln_1.bias");
      b.norm2_w = o("ln_2.weight"); b.norm2_b = o("ln_2.bias");
      b.q_b = o("attn.q.bias"); b.k_b = o("attn.k.bias"); b.v_b = o("attn.v.bias");
      b.proj_b = o("attn.proj.bias");
      b.fc_w = o("mlp.fc.weight"); b.fc_b = o("mlp.fc.bias");
      b.fc_proj_w = o("mlp.proj.weight"); b.fc_proj_b = o("mlp.proj.bias");
    } else {
      b.norm1_w = o("attn_norm.weight");
      b.norm2_w = o("mlp_norm.weight");
      b.gate_w = o("mlp.gate.weight"); b.up_w = o("mlp.up.weight"); b.down_w = o("mlp.down.weight");
    }
    b.q_w = o("attn.q.weight"); b.k_w = o("attn.k.weight"); b.v_w = o("attn.v.weight");
    b.proj_w = o("attn.proj.weight");
    m.blocks.push_back(b);
  }
  m.final_norm_w = off("final_norm.weight");
  m.final_norm_b = off("final_norm.bias");
  m.head = c.tie_embeddings == TieEmbeddings::Yes ? m.wte : off("head.weight");
  return m;
}

}  // namespace plinth::model
