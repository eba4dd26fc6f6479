// model_config.cpp -- validation, derived sizes, parameter and FLOP counts of a ModelConfig.
#include "model/model_config.h"

#include "core/error.h"

namespace plinth::model {

int64_t ModelConfig::padded_vocab() const {
  int64_t m = vocab_pad_multiple > 0 ? vocab_pad_multiple : 1;
  return (vocab_size + m - 1) / m * m;
}

int64_t ModelConfig::ffn() const {
  if (ffn_hidden > 0) return ffn_hidden;
  if (arch == Arch::Gpt2) return 4 * n_embd;
  int64_t h = 2 * (4 * n_embd) / 3;
  return (h + 63) / 64 * 64;
}

const char* arch_name(Arch a) { return a == Arch::Gpt2 ? "gpt2" : "llama"; }

Arch arch_parse(const std::string& s) {
  if (s == "gpt2") return Arch::Gpt2;
  if (s == "llama") return Arch::Llama;
  PLINTH_THROW(Config, "model.arch: unknown architecture '", s, "' (expected gpt2 or llama)");
}

void model_config_validate(const ModelConfig& c) {
  auto positive = [](const char* key, int64_t v) {
    PLINTH_CHECK(v > 0, Config, key, " must be positive, got ", v);
  };
  positive("model.vocab_size", c.vocab_size);
  positive("model.n_layer", c.n_layer);
  positive("model.n_embd", c.n_embd);
  positive("model.n_head", c.n_head);
  positive("model.seq_len", c.seq_len);
  PLINTH_CHECK(c.n_head_kv >= 0, Config, "model.n_head_kv must be >= 0 (0 = n_head), got ", c.n_head_kv);
  PLINTH_CHECK(c.ffn_hidden >= 0, Config, "model.ffn_hidden must be >= 0 (0 = default), got ", c.ffn_hidden);
  PLINTH_CHECK(c.n_embd % c.n_head == 0, Config, "model.n_embd (", c.n_embd,
               ") is not divisible by model.n_head (", c.n_head, ")");
  PLINTH_CHECK(c.n_head % c.kv_heads() == 0, Config, "model.n_head (", c.n_head,
               ") is not divisible by model.n_head_kv (", c.kv_heads(), ")");
  if (c.arch == Arch::Gpt2)
    PLINTH_CHECK(c.kv_heads() == c.n_head, Config,
                 "model.n_head_kv: grouped-query attention needs model.arch = llama");
  if (c.arch == Arch::Llama)
    PLINTH_CHECK(c.head_size() % 2 == 0, Config, "model.n_embd / model.n_head (", c.head_size(),
                 ") must be even for rotary embeddings");
  PLINTH_CHECK(c.norm_eps > 0, Config, "model.norm_eps must be positive");
  PLINTH_CHECK(c.rope_theta > 0, Config, "model.rope_theta must be positive");
  PLINTH_CHECK(c.init_std > 0, Config, "model.init_std must be positive");
  PLINTH_CHECK(c.vocab_pad_multiple > 0, Config, "model.vocab_pad_multiple must be positive");
  PLINTH_CHECK(c.vocab_size <= (int64_t{1} << 31) - 1, Config, "model.vocab_size too large");
}

void model_config_validate_tp(const ModelConfig& c, int tp, parallel::SequenceParallel sp) {
  PLINTH_CHECK(tp >= 1, Config, "parallel.tp must be >= 1, got ", tp);
  if (tp == 1) return;
  PLINTH_CHECK(c.n_head % tp == 0, Config, "model.n_head (", c.n_head, ") is not divisible by parallel.tp (", tp, ")");
  PLINTH_CHECK(c.kv_heads() >= tp, Config, "parallel.tp (", tp, ") is larger than model.n_head_kv (", c.kv_heads(),
               "): every tensor-parallel rank needs at least one key/value head");
  PLINTH_CHECK(c.kv_heads() % tp == 0, Config, "model.n_head_kv (", c.kv_heads(), ") is not divisible by parallel.tp (",
               tp, ")");
  PLINTH_CHECK(c.ffn() % tp == 0, Config, "the MLP width (model.ffn_hidden = ", c.ffn(),
               ") is not divisible by parallel.tp (", tp, ")");
  PLINTH_CHECK(c.padded_vocab() % tp == 0, Config, "the padded vocabulary (", c.padded_vocab(),
               ", model.vocab_pad_multiple = ", c.vocab_pad_multiple, ") is not divisible by parallel.tp (", tp,
               "): use a vocab_pad_multiple that tp divides");
  if (sp == parallel::SequenceParallel::On)
    PLINTH_CHECK(c.seq_len % tp == 0, Config, "parallel.sequence_parallel needs model.seq_len (", c.seq_len,
                 ") divisible by parallel.tp (", tp, ")");
}

TpDims model_tp_dims(const ModelConfig& c, int tp, int rank, parallel::SequenceParallel sp) {
  model_config_validate_tp(c, tp, sp);
  TpDims d;
  d.tp = tp;
  d.rank = rank;
  d.sp = sp;
  d.n_head = c.n_head / tp;
  d.n_head_kv = c.kv_heads() / tp;
  d.q_dim = d.n_head * c.head_size();
  d.kv_dim = d.n_head_kv * c.head_size();
  d.ffn = c.ffn() / tp;
  d.vocab = c.padded_vocab() / tp;
  d.vocab_begin = d.vocab * rank;
  return d;
}

std::string model_signature(const ModelConfig& c) {
  return str_cat("arch=", arch_name(c.arch), " vocab_size=", c.vocab_size, " padded_vocab=", c.padded_vocab(),
                 " n_layer=", c.n_layer, " n_embd=", c.n_embd, " n_head=", c.n_head,
                 " n_head_kv=", c.kv_heads(), " seq_len=", c.seq_len, " ffn=", c.ffn(),
                 " tie=", c.tie_embeddings == TieEmbeddings::Yes ? "yes" : "no");
}

ParamCounts model_param_counts(const ModelConfig& c) {
  const int64_t C = c.n_embd, F = c.ffn(), L = c.n_layer, V = c.vocab_size;
  const int64_t HS = c.head_size(), KV = c.kv_heads() * HS;
  ParamCounts p;
  int64_t per_layer = 0;
  if (c.arch == Arch::Gpt2) {
    per_layer = 2 * C                          // ln_1
                + (C * C + C) + 2 * (C * KV + KV)  // q, k, v
                + (C * C + C)                  // attn proj
                + 2 * C                        // ln_2
                + (C * F + F) + (F * C + C);   // mlp fc, proj
    p.embedding = V * C + c.seq_len * C;
    p.total = p.embedding + L * per_layer + 2 * C;
  } else {
    per_layer = C + C * C + 2 * C * KV + C * C + C + 3 * C * F;
    p.embedding = V * C;
    p.total = p.embedding + L * per_layer + C;
  }
  if (c.tie_embeddings == TieEmbeddings::No) {
    p.embedding += V * C;
    p.total += V * C;
  }
  return p;
}

FlopsBreakdown model_flops_breakdown(const ModelConfig& c, int64_t seq_len, FlopsCount count) {
  const double d = static_cast<double>(c.n_embd), V = static_cast<double>(c.vocab_size);
  const double L = static_cast<double>(c.n_layer), T = static_cast<double>(seq_len);
  const double kv = static_cast<double>(c.kv_heads() * c.head_size()), h = static_cast<double>(c.n_head);
  const double F = static_cast<double>(c.ffn());
  const bool hoffmann = count == FlopsCount::Hoffmann;
  const double keys = hoffmann ? T : (T + 1.0) / 2.0;   // causal: a query sees itself and the keys before it
  FlopsBreakdown b;
  b.embedding = hoffmann ? 2.0 * V * d : 0.0;
  b.qkv = L * 2.0 * d * (d + 2.0 * kv);
  b.scores = L * 2.0 * d * keys;
  b.softmax = hoffmann ? L * 3.0 * h * keys : 0.0;
  b.values = L * 2.0 * d * keys;
  b.attn_out = L * 2.0 * d * d;
  b.mlp = L * 2.0 * d * F * (c.arch == Arch::Gpt2 ? 2.0 : 3.0);
  b.logits = 2.0 * d * V;
  return b;
}

double model_flops_per_token(const ModelConfig& c, int64_t seq_len) {
  return model_flops_breakdown(c, seq_len, FlopsCount::Causal).training();
}

}  // namespace plinth::model
