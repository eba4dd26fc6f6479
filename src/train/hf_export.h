// hf_export.h -- export a plinth checkpoint's model as a Hugging Face model folder:
// model.safetensors (written here, no Python: 8-byte little-endian header length, a JSON header
// with dtype / shape / data_offsets per tensor, raw little-endian float32 data) and config.json
// for GPT2LMHeadModel (gpt2 arch) or LlamaForCausalLM (llama arch), chosen so that transformers
// computes the same function as plinth's forward. Tensors are read through the checkpoint API
// (io::checkpoint_read_tensor, checksums verified), never from the files directly.
// docs/formats.md ("Hugging Face export") has the name mapping.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/model_config.h"

namespace plinth::train {

enum class ExportFormat { Safetensors };
// "safetensors"; anything else is a Config error naming --format.
ExportFormat export_format_parse(const std::string& s);

// A source of plinth tensors by global name ("embed.wte", "layers.0.attn.q.weight", ...): the
// full logical tensor (row-major float32) and its shape.
using TensorSource = std::function<std::vector<float>(const std::string& name, std::vector<int64_t>* shape)>;

// One tensor of the exported file: its Hugging Face name and shape, and how to compute its
// values from plinth's tensors (read lazily, so a model is never held twice in memory).
struct HfTensorPlan {
  std::string name;
  std::vector<int64_t> shape;
  std::function<std::vector<float>(const TensorSource&)> produce;
};

// The tensors of the Hugging Face model for `c`, in file order. GPT-2: Conv1D weights are the
// transposes of plinth's (out, in) matrices, q/k/v are fused into c_attn (grouped-query k/v heads
// repeated per query head), the head is tied or lm_head.weight; LLaMA: q/k/v/o, gate/up/down
// unchanged (plinth's RoPE is HF's rotate-half pairing). Vocabulary rows beyond
// c.vocab_size (padding) are dropped. Config error when the model cannot be expressed.
std::vector<HfTensorPlan> hf_tensor_plan(const model::ModelConfig& c);

// config.json text for `c` (GPT2Config or LlamaConfig fields; see the .cpp for each choice).
std::string hf_config_json(const model::ModelConfig& c);

// Writes a safetensors file at `path` (temporary name, fsync, rename) from a plan; every produced
// tensor's size must match its planned shape (Internal otherwise). Returns the bytes written.
int64_t safetensors_write(const std::string& path, const std::vector<HfTensorPlan>& plan, const TensorSource& src);

struct ExportSummary {
  std::string out_dir;
  int64_t tensors = 0;     // tensors in model.safetensors
  int64_t file_bytes = 0;  // size of model.safetensors
  int64_t params = 0;      // values in model.safetensors
};

// Exports the "model" group of checkpoint `ckpt_dir` (whose model configuration is `c`) into
// `out_dir` (created if missing; model.safetensors and config.json are replaced atomically).
// Every tensor's stored shape is checked against `c` (Input error naming the tensor).
ExportSummary hf_export_checkpoint(const std::string& ckpt_dir, const model::ModelConfig& c,
                                   const std::string& out_dir, ExportFormat format);

}  // namespace plinth::train
