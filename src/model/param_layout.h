// param_layout.h -- the named parameter tensors of a model and where they sit in the flat buffer.
// Built from (config, tensor-parallel shard): column-parallel weights split dim 0, row-parallel
// weights split dim 1, the vocabulary-parallel embedding and head split dim 0; everything else
// is replicated. With tp = 1 every local tensor is the whole logical tensor.
// Initialisation is keyed by the global tensor name and global element index, so every layout
// starts from identical weights.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor_spec.h"
#include "model/model_config.h"

namespace plinth::model {

struct TpShard {
  int rank = 0;
  int size = 1;
};

// A contiguous range of transformer layers [begin, end): one pipeline (virtual) stage's chunk.
struct LayerSpan {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};

// chunks: the layer ranges this rank holds (pipeline parallelism); empty = every layer.
// A rank holds the embeddings when a chunk starts at layer 0, the final norm and head when one
// ends at n_layer; with tied embeddings the rank holding the head also holds embed.wte (its
// weight), so under pipeline parallelism the first and last stage each keep a copy.
ParamLayout model_param_layout(const ModelConfig& c, TpShard tp = {}, const std::vector<LayerSpan>& chunks = {});

// Fills params (layout.size() floats; padding stays 0) deterministically from seed.
void model_init_params(const ParamLayout& layout, float* params, uint64_t seed);

// Offsets of the tensors of one transformer block, resolved once by name.
// Entries of tensors the architecture lacks are -1.
struct BlockOffsets {
  int64_t norm1_w = -1, norm1_b = -1;
  int64_t q_w = -1, q_b = -1, k_w = -1, k_b = -1, v_w = -1, v_b = -1;
  int64_t proj_w = -1, proj_b = -1;
  int64_t norm2_w = -1, norm2_b = -1;
  int64_t fc_w = -1, fc_b = -1, fc_proj_w = -1, fc_proj_b = -1;   // GPT-2 MLP
  int64_t gate_w = -1, up_w = -1, down_w = -1;                    // LLaMA SwiGLU MLP
};

struct ModelOffsets {
  int64_t wte = -1, wpe = -1;
  std::vector<BlockOffsets> blocks;
  int64_t final_norm_w = -1, final_norm_b = -1;
  int64_t head = -1;               // == wte when embeddings are tied
};

ModelOffsets model_offsets(const ModelConfig& c, const ParamLayout& layout);

std::string block_tensor_name(int64_t layer, const std::string& leaf);  // "layers.3.<leaf>"

}  // namespace plinth::model
