// block.cpp -- forward and backward of the GPT-2 and LLaMA transformer blocks.
// All shapes are local (tp = 1 today): N = B*T rows, C channels, QD = NH*HS, KVD = NKV*HS,
// F = MLP hidden width. Backward follows forward in reverse, accumulating into the residual
// gradient in place (the kernels' backward functions accumulate).
#include "model/block.h"

#include <cstring>

#include "kernels/kernels.h"

namespace plinth::model {
namespace k = plinth::kernels;
namespace {

inline const float* at(const float* base, int64_t off) { return off >= 0 ? base + off : nullptr; }
inline float* at(float* base, int64_t off) { return off >= 0 ? base + off : nullptr; }
constexpr const float* kNoBias = nullptr;   // typed nulls: the kernels are templates
constexpr float* kNoGrad = nullptr;
inline void zero(float* p, int64_t n) { std::memset(p, 0, static_cast<size_t>(n) * sizeof(float)); }

void norm_forward(const ModelConfig& c, float* out, float* mean, float* rstd, const float* in,
                  const float* w, const float* b, int64_t N) {
  if (c.arch == Arch::Gpt2)
    k::layernorm_forward(out, mean, rstd, in, w, b, N, c.n_embd, c.norm_eps);
  else
    k::rmsnorm_forward(out, rstd, in, w, N, c.n_embd, c.norm_eps);
}

void norm_backward(const ModelConfig& c, float* din, float* dw, float* db, const float* dout,
                   const float* in, const float* w, const float* mean, const float* rstd, int64_t N) {
  if (c.arch == Arch::Gpt2)
    k::layernorm_backward(din, dw, db, dout, in, w, mean, rstd, N, c.n_embd);
  else
    k::rmsnorm_backward(din, dw, dout, in, w, rstd, N, c.n_embd);
}

}  // namespace

void block_forward(const ModelConfig& c, const BlockOffsets& o, const float* p, LayerActivations& la,
                   const float* in, float* out, float* scratch, int64_t B, int64_t T) {
  const int64_t N = B * T, C = c.n_embd, F = c.ffn(), HS = c.head_size();
  const int64_t NH = c.n_head, NKV = c.kv_heads(), QD = NH * HS, KVD = NKV * HS;

  // attention branch
  norm_forward(c, la.norm1.data(), la.norm1_mean.data(), la.norm1_rstd.data(), in, at(p, o.norm1_w),
               at(p, o.norm1_b), N);                                               // (N, C)
  k::matmul_forward(la.q.data(), la.norm1.data(), at(p, o.q_w), at(p, o.q_b), N, C, QD);    // (N, QD)
  k::matmul_forward(la.k.data(), la.norm1.data(), at(p, o.k_w), at(p, o.k_b), N, C, KVD);   // (N, KVD)
  k::matmul_forward(la.v.data(), la.norm1.data(), at(p, o.v_w), at(p, o.v_b), N, C, KVD);   // (N, KVD)
  if (c.arch == Arch::Llama) {
    k::rope_forward(la.q.data(), B, T, NH, HS, c.rope_theta, 0);
    k::rope_forward(la.k.data(), B, T, NKV, HS, c.rope_theta, 0);
  }
  k::attention_forward(la.att.data(), la.lse.data(), la.q.data(), la.k.data(), la.v.data(), B, T, NH,
                       NKV, HS);                                                   // (B, T, NH, HS)
  k::matmul_forward(scratch, la.att.data(), at(p, o.proj_w), at(p, o.proj_b), N, QD, C);    // (N, C)
  k::add_forward(la.res_mid.data(), in, scratch, N * C);

  // MLP branch
  norm_forward(c, la.norm2.data(), la.norm2_mean.data(), la.norm2_rstd.data(), la.res_mid.data(),
               at(p, o.norm2_w), at(p, o.norm2_b), N);
  if (c.arch == Arch::Gpt2) {
    k::matmul_forward(la.fc.data(), la.norm2.data(), at(p, o.fc_w), at(p, o.fc_b), N, C, F);  // (N, F)
    k::gelu_forward(la.act.data(), la.fc.data(), N * F);
    k::matmul_forward(scratch, la.act.data(), at(p, o.fc_proj_w), at(p, o.fc_proj_b), N, F, C);
  } else {
    k::matmul_forward(la.fc.data(), la.norm2.data(), at(p, o.gate_w), kNoBias, N, C, F);      // gate (N, F)
    k::matmul_forward(la.up.data(), la.norm2.data(), at(p, o.up_w), kNoBias, N, C, F);        // up (N, F)
    k::swiglu_forward(la.act.data(), la.fc.data(), la.up.data(), N * F);
    k::matmul_forward(scratch, la.act.data(), at(p, o.down_w), kNoBias, N, F, C);
  }
  k::add_forward(out, la.res_mid.data(), scratch, N * C);
}

void block_backward(const ModelConfig& c, const BlockOffsets& o, const float* p, float* g,
                    const LayerActivations& la, const float* in, Activations& a, int64_t B, int64_t T) {
  const int64_t N = B * T, C = c.n_embd, F = c.ffn(), HS = c.head_size();
  const int64_t NH = c.n_head, NKV = c.kv_heads(), QD = NH * HS, KVD = NKV * HS;
  float* dres = a.dres.data();   // d(out) on entry; the residual path passes it through unchanged

  // MLP branch: dres already holds d(res_mid) through the residual; add the branch's share.
  zero(a.dact.data(), N * F);
  zero(a.dfc.data(), N * F);
  zero(a.dnorm.data(), N * C);
  if (c.arch == Arch::Gpt2) {
    k::matmul_backward(a.dact.data(), at(g, o.fc_proj_w), at(g, o.fc_proj_b), dres, la.act.data(),
                       at(p, o.fc_proj_w), N, F, C);
    k::gelu_backward(a.dfc.data(), la.fc.data(), a.dact.data(), N * F);
    k::matmul_backward(a.dnorm.data(), at(g, o.fc_w), at(g, o.fc_b), a.dfc.data(), la.norm2.data(),
                       at(p, o.fc_w), N, C, F);
  } else {
    zero(a.dup.data(), N * F);
    k::matmul_backward(a.dact.data(), at(g, o.down_w), kNoGrad, dres, la.act.data(), at(p, o.down_w), N,
                       F, C);
    k::swiglu_backward(a.dfc.data(), a.dup.data(), a.dact.data(), la.fc.data(), la.up.data(), N * F);
    k::matmul_backward(a.dnorm.data(), at(g, o.gate_w), kNoGrad, a.dfc.data(), la.norm2.data(),
                       at(p, o.gate_w), N, C, F);
    k::matmul_backward(a.dnorm.data(), at(g, o.up_w), kNoGrad, a.dup.data(), la.norm2.data(),
                       at(p, o.up_w), N, C, F);
  }
  norm_backward(c, dres, at(g, o.norm2_w), at(g, o.norm2_b), a.dnorm.data(), la.res_mid.data(),
                at(p, o.norm2_w), la.norm2_mean.data(), la.norm2_rstd.data(), N);

  // attention branch: dres now holds d(res_mid) = d(in) through the residual.
  zero(a.datt.data(), N * QD);
  zero(a.dq.data(), N * QD);
  zero(a.dk.data(), N * KVD);
  zero(a.dv.data(), N * KVD);
  zero(a.dnorm.data(), N * C);
  k::matmul_backward(a.datt.data(), at(g, o.proj_w), at(g, o.proj_b), dres, la.att.data(), at(p, o.proj_w),
                     N, QD, C);
  k::attention_backward(a.dq.data(), a.dk.data(), a.dv.data(), a.datt.data(), la.q.data(), la.k.data(),
                        la.v.data(), la.att.data(), la.lse.data(), B, T, NH, NKV, HS);
  if (c.arch == Arch::Llama) {
    k::rope_backward(a.dq.data(), B, T, NH, HS, c.rope_theta, 0);
    k::rope_backward(a.dk.data(), B, T, NKV, HS, c.rope_theta, 0);
  }
  k::matmul_backward(a.dnorm.data(), at(g, o.q_w), at(g, o.q_b), a.dq.data(), la.norm1.data(),
                     at(p, o.q_w), N, C, QD);
  k::matmul_backward(a.dnorm.data(), at(g, o.k_w), at(g, o.k_b), a.dk.data(), la.norm1.data(),
                     at(p, o.k_w), N, C, KVD);
  k::matmul_backward(a.dnorm.data(), at(g, o.v_w), at(g, o.v_b), a.dv.data(), la.norm1.data(),
                     at(p, o.v_w), N, C, KVD);
  norm_backward(c, dres, at(g, o.norm1_w), at(g, o.norm1_b), a.dnorm.data(), in, at(p, o.norm1_w),
                la.norm1_mean.data(), la.norm1_rstd.data(), N);
}

}  // namespace plinth::model
