// activations.cpp -- allocation of the forward-saved tensors and backward scratch.
#include "model/activations.h"

namespace plinth::model {

Activations activations_allocate(const ModelConfig& c, int64_t B, int64_t T) {
  const int64_t N = B * T, C = c.n_embd, F = c.ffn(), HS = c.head_size();
  const int64_t QD = c.n_head * HS, KVD = c.kv_heads() * HS;
  Activations a;
  a.B = B;
  a.T = T;
  a.residual.resize(c.n_layer + 1);
  for (auto& r : a.residual) r.resize(N * C);
  a.layers.resize(c.n_layer);
  for (auto& l : a.layers) {
    l.norm1.resize(N * C); l.norm1_mean.resize(N); l.norm1_rstd.resize(N);
    l.q.resize(N * QD); l.k.resize(N * KVD); l.v.resize(N * KVD);
    l.att.resize(N * QD); l.lse.resize(B * c.n_head * T);
    l.res_mid.resize(N * C);
    l.norm2.resize(N * C); l.norm2_mean.resize(N); l.norm2_rstd.resize(N);
    l.fc.resize(N * F);
    if (c.arch == Arch::Llama) l.up.resize(N * F);
    l.act.resize(N * F);
  }
  a.fnorm.resize(N * C); a.fnorm_mean.resize(N); a.fnorm_rstd.resize(N);
  a.logits.resize(N * c.padded_vocab());
  a.losses.resize(N);
  a.dres.resize(N * C); a.dnorm.resize(N * C); a.branch.resize(N * C);
  a.dact.resize(N * F); a.dfc.resize(N * F);
  if (c.arch == Arch::Llama) a.dup.resize(N * F);
  a.datt.resize(N * QD); a.dq.resize(N * QD); a.dk.resize(N * KVD); a.dv.resize(N * KVD);
  return a;
}

int64_t Activations::bytes() const {
  int64_t n = 0;
  for (const auto& r : residual) n += r.size();
  for (const auto& l : layers)
    n += l.norm1.size() + l.norm1_mean.size() + l.norm1_rstd.size() + l.q.size() + l.k.size() +
         l.v.size() + l.att.size() + l.lse.size() + l.res_mid.size() + l.norm2.size() +
         l.norm2_mean.size() + l.norm2_rstd.size() + l.fc.size() + l.up.size() + l.act.size();
  n += fnorm.size() + fnorm_mean.size() + fnorm_rstd.size() + logits.size() + losses.size();
  n += dres.size() + dnorm.size() + branch.size() + dact.size() + dfc.size() + dup.size() +
       datt.size() + dq.size() + dk.size() + dv.size();
  return n * static_cast<int64_t>(sizeof(float));
}

}  // namespace plinth::model
