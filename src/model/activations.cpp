// activations.cpp -- allocation of the forward-saved tensors and backward scratch.
#include "model/activations.h"

namespace plinth::model {

Activations activations_allocate(const ModelConfig& c, const TpDims& d, int64_t B, int64_t T, int64_t n_layers,
                                 HoldsHead head) {
  const bool sp = d.sequence_parallel();
  const int64_t N = B * T, Ns = sp ? N / d.tp : N, C = c.n_embd, F = d.ffn;
  const int64_t QD = d.q_dim, KVD = d.kv_dim;
  Activations a;
  a.B = B;
  a.T = T;
  a.dims = d;
  a.residual.resize(static_cast<size_t>(n_layers + 1));
  for (auto& r : a.residual) r.resize(Ns * C);
  a.layers.resize(static_cast<size_t>(n_layers));
  for (auto& l : a.layers) {
    l.norm1.resize(Ns * C); l.norm1_mean.resize(Ns); l.norm1_rstd.resize(Ns);
    if (sp) l.norm1_full.resize(N * C);
    l.q.resize(N * QD); l.k.resize(N * KVD); l.v.resize(N * KVD);
    l.att.resize(N * QD); l.lse.resize(B * d.n_head * T);
    l.res_mid.resize(Ns * C);
    l.norm2.resize(Ns * C); l.norm2_mean.resize(Ns); l.norm2_rstd.resize(Ns);
    if (sp) l.norm2_full.resize(N * C);
    l.fc.resize(N * F);
    if (c.arch == Arch::Llama) l.up.resize(N * F);
    l.act.resize(N * F);
  }
  if (head == HoldsHead::Yes) {
    a.fnorm.resize(Ns * C); a.fnorm_mean.resize(Ns); a.fnorm_rstd.resize(Ns);
    if (sp) a.fnorm_full.resize(N * C);
    a.logits.resize(N * d.vocab);
    a.losses.resize(N);
    a.ce_stats.resize(2 * N);
  }
  a.dres.resize(Ns * C); a.dnorm.resize(Ns * C); a.branch.resize(N * C);
  if (sp) { a.dfull.resize(N * C); a.dnorm_full.resize(N * C); }
  if (d.tp > 1) a.seq_scratch.resize(N * C);
  a.dact.resize(N * F); a.dfc.resize(N * F);
  if (c.arch == Arch::Llama) a.dup.resize(N * F);
  a.datt.resize(N * QD); a.dq.resize(N * QD); a.dk.resize(N * KVD); a.dv.resize(N * KVD);
  return a;
}

Activations activations_allocate(const ModelConfig& c, const TpDims& d, int64_t B, int64_t T) {
  return activations_allocate(c, d, B, T, c.n_layer, HoldsHead::Yes);
}

Activations activations_allocate(const ModelConfig& c, int64_t B, int64_t T) {
  return activations_allocate(c, model_tp_dims(c, 1, 0, parallel::SequenceParallel::Off), B, T);
}

int64_t Activations::bytes() const {
  int64_t n = 0;
  for (const auto& r : residual) n += r.size();
  for (const auto& l : layers)
    n += l.norm1.size() + l.norm1_mean.size() + l.norm1_rstd.size() + l.norm1_full.size() + l.q.size() +
         l.k.size() + l.v.size() + l.att.size() + l.lse.size() + l.res_mid.size() + l.norm2.size() +
         l.norm2_mean.size() + l.norm2_rstd.size() + l.norm2_full.size() + l.fc.size() + l.up.size() + l.act.size();
  n += fnorm.size() + fnorm_mean.size() + fnorm_rstd.size() + fnorm_full.size() + logits.size() + losses.size() +
       ce_stats.size();
  n += dres.size() + dnorm.size() + branch.size() + dfull.size() + dnorm_full.size() + seq_scratch.size() +
       dact.size() + dfc.size() + dup.size() + datt.size() + dq.size() + dk.size() + dv.size();
  return n * static_cast<int64_t>(sizeof(float));
}

}  // namespace plinth::model
