// hf_export.cpp -- plinth checkpoint -> Hugging Face model folder (model.safetensors + config.json).
// The tensor plan maps plinth's global tensor names to GPT2LMHeadModel / LlamaForCausalLM names
// and layouts; the safetensors writer streams one tensor at a time after a header computed from
// the plan's shapes, so the export never holds the whole model twice.
//
// Why the config.json values make transformers compute plinth's function (kernels/kernels.h):
//   GPT-2  LayerNorm (biased variance, eps inside the sqrt)  -> layer_norm_epsilon = model.norm_eps
//          GELU tanh approximation                            -> activation_function = "gelu_new"
//          scores scaled by 1/sqrt(head size)                 -> scale_attn_weights = true
//          learned positions (model.seq_len rows)             -> n_positions = model.seq_len
//          biases on every linear layer, none on the head     -> GPT-2's own structure
//          grouped-query attention                            -> k/v heads repeated per query head
//   LLaMA  RMSNorm 1/sqrt(mean(x^2) + eps)                    -> rms_norm_eps = model.norm_eps
//          RoPE, rotate-half pairs (i, i + HS/2), theta^(-2i/HS) -> rope_theta, no rope_scaling
//          SwiGLU silu(gate) * up, no biases anywhere         -> hidden_act = "silu", *_bias = false
//          grouped-query attention                            -> num_key_value_heads
// Dropout is off in both (plinth has none).
#include "train/hf_export.h"

#include <bit>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/fs_util.h"
#include "model/param_layout.h"

namespace plinth::train {
namespace {

using model::Arch;
using model::ModelConfig;
using model::TieEmbeddings;

std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// Reads plinth tensor `name` and checks its stored shape against the model configuration.
std::vector<float> read_expected(const TensorSource& src, const std::string& name, const std::vector<int64_t>& want) {
  std::vector<int64_t> got;
  std::vector<float> v = src(name, &got);
  PLINTH_CHECK(got == want, Input, "tensor '", name, "' has shape ", shape_text(got), " but the checkpoint's model "
               "configuration gives ", shape_text(want));
  int64_t n = 1;
  for (int64_t d : want) n *= d;
  PLINTH_CHECK(static_cast<int64_t>(v.size()) == n, Input, "tensor '", name, "' holds ", v.size(),
               " values, its shape ", shape_text(want), " needs ", n);
  return v;
}

// (rows, cols) row-major -> (cols, rows) row-major.
std::vector<float> transposed(const std::vector<float>& a, int64_t rows, int64_t cols) {
  std::vector<float> t(a.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) t[static_cast<size_t>(c * rows + r)] = a[static_cast<size_t>(r * cols + c)];
  return t;
}

// Rows [0, keep) of a (rows, cols) matrix: drops the vocabulary padding.
std::vector<float> first_rows(std::vector<float> a, int64_t keep, int64_t cols) {
  a.resize(static_cast<size_t>(keep * cols));
  return a;
}

// (KVD, ...) rows of kv_heads heads of HS rows each -> (n_head * HS, ...): query head h reads kv
// head h / (n_head / kv_heads), as in kernels::attention_forward. Identity without GQA.
std::vector<float> repeat_kv_rows(const std::vector<float>& a, const ModelConfig& c, int64_t row_len) {
  const int64_t NH = c.n_head, NKV = c.kv_heads(), HS = c.head_size(), group = NH / NKV;
  if (group == 1) return a;
  std::vector<float> out(static_cast<size_t>(NH * HS * row_len));
  for (int64_t h = 0; h < NH; ++h) {
    const float* from = a.data() + (h / group) * HS * row_len;
    std::memcpy(out.data() + h * HS * row_len, from, static_cast<size_t>(HS * row_len) * sizeof(float));
  }
  return out;
}

std::string layer_name(int64_t l, const char* leaf) { return model::block_tensor_name(l, leaf); }

void plan_gpt2(const ModelConfig& c, const ParamLayout& layout, std::vector<HfTensorPlan>& plan) {
  const int64_t C = c.n_embd, V = c.vocab_size, Vp = c.padded_vocab(), QD = c.n_head * c.head_size();
  auto shape = [&](const std::string& n) { return layout.at(n).global_shape; };
  // A Conv1D weight: transpose of plinth's (out, in) matrix.
  auto conv = [&](const std::string& hf, const std::string& src) {
    const auto s = shape(src);
    plan.push_back({hf, {s[1], s[0]}, [=](const TensorSource& t) {
                      return transposed(read_expected(t, src, s), s[0], s[1]);
                    }});
  };
  auto copy = [&](const std::string& hf, const std::string& src) {
    const auto s = shape(src);
    plan.push_back({hf, s, [=](const TensorSource& t) { return read_expected(t, src, s); }});
  };
  plan.push_back({"transformer.wte.weight", {V, C}, [=](const TensorSource& t) {
                    return first_rows(read_expected(t, "embed.wte", {Vp, C}), V, C);
                  }});
  copy("transformer.wpe.weight", "embed.wpe");
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string hf = "transformer.h." + std::to_string(l) + ".";
    copy(hf + "ln_1.weight", layer_name(l, "ln_1.weight"));
    copy(hf + "ln_1.bias", layer_name(l, "ln_1.bias"));
    // c_attn: (C, 3C) = [q | k | v] columns, k/v expanded to every query head.
    const std::string qw = layer_name(l, "attn.q.weight"), kw = layer_name(l, "attn.k.weight"),
                      vw = layer_name(l, "attn.v.weight");
    const auto qs = shape(qw), ks = shape(kw);
    plan.push_back({hf + "attn.c_attn.weight", {C, 3 * QD}, [=](const TensorSource& t) {
                      std::vector<float> rows = read_expected(t, qw, qs);   // (3*QD, C) stacked, then transposed
                      for (const std::string& n : {kw, vw}) {
                        std::vector<float> kv = repeat_kv_rows(read_expected(t, n, ks), c, C);
                        rows.insert(rows.end(), kv.begin(), kv.end());
                      }
                      return transposed(rows, 3 * QD, C);
                    }});
    const std::string qb = layer_name(l, "attn.q.bias"), kb = layer_name(l, "attn.k.bias"),
                      vb = layer_name(l, "attn.v.bias");
    const auto qbs = shape(qb), kbs = shape(kb);
    plan.push_back({hf + "attn.c_attn.bias", {3 * QD}, [=](const TensorSource& t) {
                      std::vector<float> b = read_expected(t, qb, qbs);
                      for (const std::string& n : {kb, vb}) {
                        std::vector<float> kv = repeat_kv_rows(read_expected(t, n, kbs), c, 1);
                        b.insert(b.end(), kv.begin(), kv.end());
                      }
                      return b;
                    }});
    conv(hf + "attn.c_proj.weight", layer_name(l, "attn.proj.weight"));
    copy(hf + "attn.c_proj.bias", layer_name(l, "attn.proj.bias"));
    copy(hf + "ln_2.weight", layer_name(l, "ln_2.weight"));
    copy(hf + "ln_2.bias", layer_name(l, "ln_2.bias"));
    conv(hf + "mlp.c_fc.weight", layer_name(l, "mlp.fc.weight"));
    copy(hf + "mlp.c_fc.bias", layer_name(l, "mlp.fc.bias"));
    conv(hf + "mlp.c_proj.weight", layer_name(l, "mlp.proj.weight"));
    copy(hf + "mlp.c_proj.bias", layer_name(l, "mlp.proj.bias"));
  }
  copy("transformer.ln_f.weight", "final_norm.weight");
  copy("transformer.ln_f.bias", "final_norm.bias");
  if (c.tie_embeddings == TieEmbeddings::No)
    plan.push_back({"lm_head.weight", {V, C}, [=](const TensorSource& t) {
                      return first_rows(read_expected(t, "head.weight", {Vp, C}), V, C);
                    }});
}

void plan_llama(const ModelConfig& c, const ParamLayout& layout, std::vector<HfTensorPlan>& plan) {
  const int64_t C = c.n_embd, V = c.vocab_size, Vp = c.padded_vocab();
  auto copy = [&](const std::string& hf, const std::string& src) {
    const auto s = layout.at(src).global_shape;
    plan.push_back({hf, s, [=](const TensorSource& t) { return read_expected(t, src, s); }});
  };
  plan.push_back({"model.embed_tokens.weight", {V, C}, [=](const TensorSource& t) {
                    return first_rows(read_expected(t, "embed.wte", {Vp, C}), V, C);
                  }});
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string hf = "model.layers." + std::to_string(l) + ".";
    copy(hf + "input_layernorm.weight", layer_name(l, "attn_norm.weight"));
    copy(hf + "self_attn.q_proj.weight", layer_name(l, "attn.q.weight"));
    copy(hf + "self_attn.k_proj.weight", layer_name(l, "attn.k.weight"));
    copy(hf + "self_attn.v_proj.weight", layer_name(l, "attn.v.weight"));
    copy(hf + "self_attn.o_proj.weight", layer_name(l, "attn.proj.weight"));
    copy(hf + "post_attention_layernorm.weight", layer_name(l, "mlp_norm.weight"));
    copy(hf + "mlp.gate_proj.weight", layer_name(l, "mlp.gate.weight"));
    copy(hf + "mlp.up_proj.weight", layer_name(l, "mlp.up.weight"));
    copy(hf + "mlp.down_proj.weight", layer_name(l, "mlp.down.weight"));
  }
  copy("model.norm.weight", "final_norm.weight");
  if (c.tie_embeddings == TieEmbeddings::No)
    plan.push_back({"lm_head.weight", {V, C}, [=](const TensorSource& t) {
                      return first_rows(read_expected(t, "head.weight", {Vp, C}), V, C);
                    }});
}

// Shortest decimal text that reads back as the same float (1e-05, not 9.99999975e-06).
std::string float_text(float x) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, x);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

std::string double_text(double x) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, x);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

// Little-endian bytes of n floats (a copy on big-endian hosts).
void write_le_floats(std::FILE* f, const float* p, size_t n, const std::string& path) {
  static_assert(sizeof(float) == 4);
  size_t written = 0;
  if constexpr (std::endian::native == std::endian::little) {
    written = std::fwrite(p, sizeof(float), n, f);
  } else {
    std::vector<uint32_t> tmp(n);
    std::memcpy(tmp.data(), p, n * sizeof(float));
    for (uint32_t& u : tmp) u = __builtin_bswap32(u);
    written = std::fwrite(tmp.data(), sizeof(float), n, f);
  }
  PLINTH_CHECK(written == n, Io, "cannot write '", path, "': ", std::strerror(errno));
}

}  // namespace

ExportFormat export_format_parse(const std::string& s) {
  if (s == "safetensors") return ExportFormat::Safetensors;
  PLINTH_THROW(Config, "--format '", s, "' is not supported (known: safetensors)");
}

std::vector<HfTensorPlan> hf_tensor_plan(const ModelConfig& c) {
  PLINTH_CHECK(c.n_head % c.kv_heads() == 0, Config, "model.n_head (", c.n_head,
               ") is not a multiple of model.n_head_kv (", c.kv_heads(), ")");
  PLINTH_CHECK(c.n_head * c.head_size() == c.n_embd, Config, "model.n_embd (", c.n_embd,
               ") is not divisible by model.n_head (", c.n_head, ")");
  const ParamLayout layout = model::model_param_layout(c);
  std::vector<HfTensorPlan> plan;
  if (c.arch == Arch::Gpt2) plan_gpt2(c, layout, plan);
  else plan_llama(c, layout, plan);
  return plan;
}

std::string hf_config_json(const ModelConfig& c) {
  const std::string tie = c.tie_embeddings == TieEmbeddings::Yes ? "true" : "false";
  std::string j = "{\n";
  auto field = [&](const std::string& k, const std::string& v) { j += "  \"" + k + "\": " + v + ",\n"; };
  auto num = [&](const std::string& k, int64_t v) { field(k, std::to_string(v)); };
  if (c.arch == Arch::Gpt2) {
    field("architectures", "[\"GPT2LMHeadModel\"]");
    field("model_type", "\"gpt2\"");
    num("vocab_size", c.vocab_size);
    num("n_positions", c.seq_len);
    num("n_ctx", c.seq_len);
    num("n_embd", c.n_embd);
    num("n_layer", c.n_layer);
    num("n_head", c.n_head);
    num("n_inner", c.ffn());
    field("activation_function", "\"gelu_new\"");
    field("layer_norm_epsilon", float_text(c.norm_eps));
    field("resid_pdrop", "0.0");
    field("embd_pdrop", "0.0");
    field("attn_pdrop", "0.0");
    field("scale_attn_weights", "true");
    field("scale_attn_by_inverse_layer_idx", "false");
    field("reorder_and_upcast_attn", "false");
  } else {
    field("architectures", "[\"LlamaForCausalLM\"]");
    field("model_type", "\"llama\"");
    num("vocab_size", c.vocab_size);
    num("hidden_size", c.n_embd);
    num("intermediate_size", c.ffn());
    num("num_hidden_layers", c.n_layer);
    num("num_attention_heads", c.n_head);
    num("num_key_value_heads", c.kv_heads());
    num("head_dim", c.head_size());
    num("max_position_embeddings", c.seq_len);
    field("hidden_act", "\"silu\"");
    field("rms_norm_eps", float_text(c.norm_eps));
    field("rope_theta", double_text(c.rope_theta));
    field("rope_scaling", "null");
    field("attention_bias", "false");
    field("attention_dropout", "0.0");
    field("mlp_bias", "false");
    num("pretraining_tp", 1);
  }
  field("initializer_range", float_text(c.init_std));
  field("tie_word_embeddings", tie);
  field("bos_token_id", "null");
  field("eos_token_id", "null");
  field("use_cache", "true");
  j += "  \"torch_dtype\": \"float32\"\n}\n";
  return j;
}

int64_t safetensors_write(const std::string& path, const std::vector<HfTensorPlan>& plan, const TensorSource& src) {
  // Header: {"__metadata__": {...}, name: {"dtype", "shape", "data_offsets": [begin, end)}, ...},
  // offsets relative to the first data byte; padded with spaces to a multiple of 8 bytes so
  // the data is aligned.
  std::string header = "{\"__metadata__\":{\"format\":\"pt\",\"producer\":\"plinth\"}";
  int64_t offset = 0;
  for (const HfTensorPlan& t : plan) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    header += ",\"" + t.name + "\":{\"dtype\":\"F32\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); ++i) header += (i ? "," : "") + std::to_string(t.shape[i]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + 4 * n) + "]}";
    offset += 4 * n;
  }
  header += "}";
  while (header.size() % 8 != 0) header += ' ';

  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  PLINTH_CHECK(f, Io, "cannot create '", tmp, "': ", std::strerror(errno));
  try {
    unsigned char len[8];
    const uint64_t hl = header.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(hl >> (8 * i));
    PLINTH_CHECK(std::fwrite(len, 1, 8, f) == 8 && std::fwrite(header.data(), 1, header.size(), f) == header.size(),
                 Io, "cannot write '", tmp, "': ", std::strerror(errno));
    for (const HfTensorPlan& t : plan) {
      int64_t n = 1;
      for (int64_t d : t.shape) n *= d;
      std::vector<float> v = t.produce(src);
      PLINTH_CHECK(static_cast<int64_t>(v.size()) == n, Internal, "export of '", t.name, "' produced ", v.size(),
                   " values for shape ", shape_text(t.shape));
      write_le_floats(f, v.data(), v.size(), tmp);
    }
    PLINTH_CHECK(std::fflush(f) == 0, Io, "cannot write '", tmp, "': ", std::strerror(errno));
  } catch (...) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  PLINTH_CHECK(std::fclose(f) == 0, Io, "cannot close '", tmp, "': ", std::strerror(errno));
  io::fsync_file(tmp);
  io::rename_path(tmp, path);
  io::fsync_dir(io::parent_dir(path));
  return 8 + static_cast<int64_t>(header.size()) + offset;
}

ExportSummary hf_export_checkpoint(const std::string& ckpt_dir, const ModelConfig& c, const std::string& out_dir,
                                   ExportFormat format) {
  PLINTH_CHECK(format == ExportFormat::Safetensors, Internal, "unknown export format");
  model::model_config_validate(c);
  const std::vector<HfTensorPlan> plan = hf_tensor_plan(c);
  // Every stored model tensor must be one the configuration names (no silent leftovers).
  const ParamLayout layout = model::model_param_layout(c);
  for (const std::string& name : io::checkpoint_tensor_names(ckpt_dir, "model"))
    PLINTH_CHECK(layout.contains(name), Input, "checkpoint '", ckpt_dir, "' holds tensor 'model/", name,
                 "' that its model configuration does not have");
  TensorSource src = [&](const std::string& name, std::vector<int64_t>* shape) {
    return io::checkpoint_read_tensor(ckpt_dir, "model", name, shape);
  };
  if (!io::is_directory(out_dir)) {
    PLINTH_CHECK(!io::path_exists(out_dir), Input, "--out '", out_dir, "' exists and is not a directory");
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    PLINTH_CHECK(!ec, Io, "cannot create directory '", out_dir, "': ", ec.message());
  }
  ExportSummary s;
  s.out_dir = out_dir;
  s.file_bytes = safetensors_write(out_dir + "/model.safetensors", plan, src);
  io::write_file_atomic(out_dir + "/config.json", hf_config_json(c));
  s.tensors = static_cast<int64_t>(plan.size());
  for (const HfTensorPlan& t : plan) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    s.params += n;
  }
  return s;
}

}  // namespace plinth::train
