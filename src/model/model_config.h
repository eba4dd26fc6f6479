// model_config.h -- the shape of a decoder-only model (GPT-2 or LLaMA block) and its checks.
// model_config_validate() runs before any allocation and names the offending keys.
// Parsing from INI/command line lives in launch/; this file only knows the values.
#pragma once
#include <cstdint>
#include <string>

#include "parallel/parallel_options.h"

namespace plinth::model {

enum class Arch { Gpt2, Llama };
enum class TieEmbeddings { Yes, No };

struct ModelConfig {
  Arch arch = Arch::Gpt2;
  int64_t vocab_size = 0;          // real vocabulary (tokens the corpus can produce); 0 = from the corpus
  int64_t vocab_pad_multiple = 64; // the embedding / head rows are padded to a multiple of this
  int64_t n_layer = 4;
  int64_t n_embd = 128;
  int64_t n_head = 4;
  int64_t n_head_kv = 0;           // 0 = n_head (no grouped-query attention)
  int64_t seq_len = 128;           // maximum context (learned positions for GPT-2)
  int64_t ffn_hidden = 0;          // 0 = 4*n_embd (GPT-2) or SwiGLU's 2/3*4*n_embd rounded to 64 (LLaMA)
  float norm_eps = 1e-5f;
  double rope_theta = 10000.0;
  TieEmbeddings tie_embeddings = TieEmbeddings::Yes;
  float init_std = 0.02f;

  int64_t head_size() const { return n_embd / n_head; }
  int64_t kv_heads() const { return n_head_kv > 0 ? n_head_kv : n_head; }
  int64_t padded_vocab() const;
  int64_t ffn() const;
};

const char* arch_name(Arch a);
Arch arch_parse(const std::string& s);             // "gpt2" | "llama", throws Config error

// Throws plinth::Error(Config) naming the key, e.g. "model.n_embd (130) is not divisible by
// model.n_head (4)". Call before allocating anything.
void model_config_validate(const ModelConfig& c);

// The local (per tensor-parallel rank) sizes of a model. With tp = 1 they are the global ones.
struct TpDims {
  int tp = 1, rank = 0;
  parallel::SequenceParallel sp = parallel::SequenceParallel::Off;
  int64_t n_head = 0, n_head_kv = 0;   // heads on this rank
  int64_t q_dim = 0, kv_dim = 0;       // n_head * HS, n_head_kv * HS on this rank
  int64_t ffn = 0;                     // MLP hidden width on this rank
  int64_t vocab = 0, vocab_begin = 0;  // padded-vocabulary rows on this rank, and the first one
  bool sequence_parallel() const { return sp == parallel::SequenceParallel::On; }
};

// Checks that the model splits over tp (and, with sequence parallelism, that tp divides the
// sequence); throws plinth::Error(Config) naming the keys. Call before any allocation.
void model_config_validate_tp(const ModelConfig& c, int tp, parallel::SequenceParallel sp);
TpDims model_tp_dims(const ModelConfig& c, int tp, int rank, parallel::SequenceParallel sp);

// A one-line description of every shape-defining value; two checkpoints are compatible when
// their signatures are equal.
std::string model_signature(const ModelConfig& c);

// Parameter counts of the logical (unsharded, unpadded-vocab) model.
struct ParamCounts {
  int64_t total = 0;
  int64_t embedding = 0;           // token (+ position) embeddings, and an untied head
  int64_t non_embedding() const { return total - embedding; }
};
ParamCounts model_param_counts(const ModelConfig& c);

// FLOPs per token of the logical model, by part; a multiply-add counts 2, training = forward +
// backward = 3 x forward. With T' the keys a query attends to:
//   FlopsCount::Causal   the matrix products plinth computes: QKV 2d(d + 2kv), scores 2dT' and
//                        weighted values 2dT' over T' = (T+1)/2 keys (the causal mask), output
//                        projection 2d^2, MLP 2df x 2 (GPT-2) or x 3 (SwiGLU) per layer, and the
//                        output layer 2dV. The embedding is a row lookup and the softmax, norms and
//                        activations are element-wise: none is counted (the MFU convention).
//   FlopsCount::Hoffmann Appendix F of Hoffmann et al. 2022: also the embedding as a one-hot
//                        product 2Vd and the softmax 3hT', attention over all T' = T keys.
enum class FlopsCount { Causal, Hoffmann };
struct FlopsBreakdown {   // forward FLOPs per token
  double embedding = 0, qkv = 0, scores = 0, softmax = 0, values = 0, attn_out = 0, mlp = 0, logits = 0;
  double forward() const { return embedding + qkv + scores + softmax + values + attn_out + mlp + logits; }
  double training() const { return 3.0 * forward(); }
};
FlopsBreakdown model_flops_breakdown(const ModelConfig& c, int64_t seq_len, FlopsCount count);

// Training FLOPs per token, FlopsCount::Causal: the numerator of the trainer's MFU (and the
// sweeps' "causal" formula).
double model_flops_per_token(const ModelConfig& c, int64_t seq_len);

}  // namespace plinth::model
