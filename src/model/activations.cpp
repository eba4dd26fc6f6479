// activations.cpp -- allocation of the forward-saved tensors and backward scratch.
#include "model/activations.h"

namespace plinth::model {

Activations activations_allocate(device::Backend& be, const ModelConfig& c, const TpDims& d, int64_t B, int64_t T,
                                 int64_t n_layers, HoldsHead head) {
  const bool sp = d.sequence_parallel();
  const int64_t N = B * T, Ns = sp ? N / d.tp : N, C = c.n_embd, F = d.ffn;
  const int64_t QD = d.q_dim, KVD = d.kv_dim;
  Activations a;
  a.B = B;
  a.T = T;
  a.dims = d;
  a.residual.resize(static_cast<size_t>(n_layers + 1));
  for (auto& r : a.residual) r.allocate(be, Ns * C);
  a.layers.resize(static_cast<size_t>(n_layers));
  for (auto& l : a.layers) {
    l.norm1.allocate(be, Ns * C); l.norm1_mean.allocate(be, Ns); l.norm1_rstd.allocate(be, Ns);
    if (sp) l.norm1_full.allocate(be, N * C);
    l.q.allocate(be, N * QD); l.k.allocate(be, N * KVD); l.v.allocate(be, N * KVD);
    l.att.allocate(be, N * QD); l.lse.allocate(be, B * d.n_head * T);
    l.res_mid.allocate(be, Ns * C);
    l.norm2.allocate(be, Ns * C); l.norm2_mean.allocate(be, Ns); l.norm2_rstd.allocate(be, Ns);
    if (sp) l.norm2_full.allocate(be, N * C);
    l.fc.allocate(be, N * F);
    if (c.arch == Arch::Llama) l.up.allocate(be, N * F);
    l.act.allocate(be, N * F);
  }
  if (head == HoldsHead::Yes) {
    a.fnorm.allocate(be, Ns * C); a.fnorm_mean.allocate(be, Ns); a.fnorm_rstd.allocate(be, Ns);
    if (sp) a.fnorm_full.allocate(be, N * C);
    a.logits.allocate(be, N * d.vocab);
    a.losses.allocate(be, N);
    a.ce_stats.allocate(be, 2 * N);
    if (d.tp > 1) { a.ce_max.allocate(be, N); a.ce_sums.allocate(be, 2 * N); }
    a.loss.allocate(be, 1);
  }
  a.dres.allocate(be, Ns * C); a.dnorm.allocate(be, Ns * C); a.branch.allocate(be, N * C);
  if (sp) { a.dfull.allocate(be, N * C); a.dnorm_full.allocate(be, N * C); }
  if (d.tp > 1) a.seq_scratch.allocate(be, N * C);
  a.dact.allocate(be, N * F); a.dfc.allocate(be, N * F);
  if (c.arch == Arch::Llama) a.dup.allocate(be, N * F);
  a.datt.allocate(be, N * QD); a.dq.allocate(be, N * QD); a.dk.allocate(be, N * KVD); a.dv.allocate(be, N * KVD);
  return a;
}

Activations activations_allocate(const ModelConfig& c, const TpDims& d, int64_t B, int64_t T) {
  return activations_allocate(device::cpu_backend(), c, d, B, T, c.n_layer, HoldsHead::Yes);
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
       ce_stats.size() + ce_max.size() + 2 * ce_sums.size() + loss.size();
  n += dres.size() + dnorm.size() + branch.size() + dfull.size() + dnorm_full.size() + seq_scratch.size() +
       dact.size() + dfc.size() + dup.size() + datt.size() + dq.size() + dk.size() + dv.size();
  return n * static_cast<int64_t>(sizeof(float));
}

}  // namespace plinth::model
