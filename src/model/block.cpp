// block.cpp -- forward and backward of the GPT-2 and LLaMA transformer blocks, tensor-parallel.
// Local shapes: N = B*T rows, Ns rows of the residual stream (N/tp under sequence parallelism),
// C channels, QDl = NHl*HS, KVDl = NKVl*HS, Fl = MLP width on this rank. Backward follows
// forward in reverse and accumulates into the residual gradient in place.
#include "model/block.h"

#include "parallel/tensor_parallel.h"

namespace plinth::model {
namespace tpr = plinth::parallel;
namespace {

inline const float* at(const float* base, int64_t off) { return off >= 0 ? base + off : nullptr; }
inline float* at(float* base, int64_t off) { return off >= 0 ? base + off : nullptr; }
constexpr const float* kNoBias = nullptr;   // typed nulls: the kernels are templates
constexpr float* kNoGrad = nullptr;
inline void zero(device::Backend& be, float* p, int64_t n) { be.zero(p, static_cast<size_t>(n) * sizeof(float)); }

void norm_forward(device::Backend& be, const ModelConfig& c, float* out, float* mean, float* rstd, const float* in,
                  const float* w, const float* b, int64_t N) {
  if (c.arch == Arch::Gpt2)
    be.layernorm_forward(out, mean, rstd, in, w, b, N, c.n_embd, c.norm_eps);
  else
    be.rmsnorm_forward(out, rstd, in, w, N, c.n_embd, c.norm_eps);
}

void norm_backward(device::Backend& be, const ModelConfig& c, float* din, float* dw, float* db, const float* dout,
                   const float* in, const float* w, const float* mean, const float* rstd, int64_t N) {
  if (c.arch == Arch::Gpt2)
    be.layernorm_backward(din, dw, db, dout, in, w, mean, rstd, N, c.n_embd);
  else
    be.rmsnorm_backward(din, dw, dout, in, w, rstd, N, c.n_embd);
}

void add_bias_rows(device::Backend& be, float* x, const float* bias, int64_t rows, int64_t C) {
  if (bias) be.add_bias_rows(x, bias, rows, C);
}

// The input of a column-parallel region: the normalised shard, all-gathered under sequence
// parallelism (identity forward otherwise).
const float* column_input(device::Backend& be, comm::Communicator& tp, const TpDims& d, const float* norm_local,
                          float* full, Activations& a, int64_t B, int64_t T, int64_t C) {
  if (!d.sequence_parallel()) return norm_local;
  tpr::tp_gather_sequence(be, tp, norm_local, full, a.seq_scratch.data(), B, T, C);
  return full;
}

// out (Ns, C) = resid (Ns, C) + reduce_tp(inp (N, K) @ W^T) + bias. Row-parallel: W is this
// rank's (C, K) column slice; the partial sums are all-reduced (or reduce-scattered to the
// sequence shard); the replicated bias is added once, after the reduction.
void row_parallel_residual(device::Backend& be, comm::Communicator& tp, const TpDims& d, const float* inp,
                           const float* W, const float* bias, int64_t K, const float* resid, float* out, Activations& a,
                           int64_t B, int64_t T, int64_t C) {
  const int64_t N = B * T;
  float* partial = a.branch.data();   // (N, C)
  if (d.tp == 1) {
    be.matmul_forward(partial, inp, W, bias, N, K, C);
    be.add(out, resid, partial, N * C);
    return;
  }
  be.matmul_forward(partial, inp, W, kNoBias, N, K, C);
  if (d.sequence_parallel()) {
    tpr::tp_reduce_scatter_sequence(be, tp, partial, out, a.seq_scratch.data(), B, T, C);   // (Ns, C)
    add_bias_rows(be, out, bias, N / d.tp, C);
    be.add(out, resid, out, N / d.tp * C);
  } else {
    tpr::tp_reduce_region_forward(be, tp, partial, N * C);
    add_bias_rows(be, partial, bias, N, C);
    be.add(out, resid, partial, N * C);
  }
}

// Backward of row_parallel_residual given dres = d(out) (Ns, C): accumulates dinp (N, K),
// dW, dbias. Returns nothing; dres passes to resid unchanged (the residual path).
void row_parallel_backward(device::Backend& be, comm::Communicator& tp, const TpDims& d, float* dinp, float* dW,
                           float* dbias, const float* inp, const float* W, int64_t K, Activations& a, int64_t B,
                           int64_t T, int64_t C) {
  const int64_t N = B * T;
  const float* dfull = a.dres.data();   // identity backward of the reduction (replicated dres)
  if (d.sequence_parallel()) {
    // bias grad from this shard's rows (summed over tp with the other replicated grads)
    if (dbias) be.bias_backward(dbias, a.dres.data(), N / d.tp, C);
    tpr::tp_gather_sequence(be, tp, a.dres.data(), a.dfull.data(), a.seq_scratch.data(), B, T, C);
    dfull = a.dfull.data();
    dbias = nullptr;
  }
  be.matmul_backward(dinp, dW, dbias, dfull, inp, W, N, K, C);
}

// After the column-parallel matmuls' backward accumulated d(input) partial sums into dcol
// (N, C): reduce them over tp into a.dnorm (Ns, C), then the norm's backward adds into dres.
float* column_input_backward(device::Backend& be, comm::Communicator& tp, const TpDims& d, float* dcol, Activations& a,
                             int64_t B, int64_t T, int64_t C) {
  if (d.sequence_parallel()) {
    tpr::tp_reduce_scatter_sequence(be, tp, dcol, a.dnorm.data(), a.seq_scratch.data(), B, T, C);
    return a.dnorm.data();
  }
  tpr::tp_copy_region_backward(be, tp, dcol, B * T * C);
  return dcol;
}

}  // namespace

void block_forward(device::Backend& be, const ModelConfig& c, comm::Communicator& tp, const BlockOffsets& o,
                   const float* p, LayerActivations& la, const float* in, float* out, Activations& a, int64_t B,
                   int64_t T) {
  const TpDims& d = a.dims;
  const int64_t N = B * T, Ns = d.sequence_parallel() ? N / d.tp : N, C = c.n_embd, F = d.ffn, HS = c.head_size();
  const int64_t NH = d.n_head, NKV = d.n_head_kv, QD = d.q_dim, KVD = d.kv_dim;

  // attention branch
  norm_forward(be, c, la.norm1.data(), la.norm1_mean.data(), la.norm1_rstd.data(), in, at(p, o.norm1_w),
               at(p, o.norm1_b), Ns);   // (Ns, C)
  const float* h = column_input(be, tp, d, la.norm1.data(), la.norm1_full.data(), a, B, T, C);   // (N, C)
  be.matmul_forward(la.q.data(), h, at(p, o.q_w), at(p, o.q_b), N, C, QD);                       // (N, QDl)
  be.matmul_forward(la.k.data(), h, at(p, o.k_w), at(p, o.k_b), N, C, KVD);                      // (N, KVDl)
  be.matmul_forward(la.v.data(), h, at(p, o.v_w), at(p, o.v_b), N, C, KVD);                      // (N, KVDl)
  if (c.arch == Arch::Llama) {
    be.rope_forward(la.q.data(), B, T, NH, HS, c.rope_theta, 0);
    be.rope_forward(la.k.data(), B, T, NKV, HS, c.rope_theta, 0);
  }
  be.attention_forward(la.att.data(), la.lse.data(), la.q.data(), la.k.data(), la.v.data(), B, T, NH, NKV, HS);
  row_parallel_residual(be, tp, d, la.att.data(), at(p, o.proj_w), at(p, o.proj_b), QD, in, la.res_mid.data(), a, B, T,
                        C);

  // MLP branch
  norm_forward(be, c, la.norm2.data(), la.norm2_mean.data(), la.norm2_rstd.data(), la.res_mid.data(), at(p, o.norm2_w),
               at(p, o.norm2_b), Ns);
  const float* h2 = column_input(be, tp, d, la.norm2.data(), la.norm2_full.data(), a, B, T, C);
  if (c.arch == Arch::Gpt2) {
    be.matmul_forward(la.fc.data(), h2, at(p, o.fc_w), at(p, o.fc_b), N, C, F);   // (N, Fl)
    be.gelu_forward(la.act.data(), la.fc.data(), N * F);
    row_parallel_residual(be, tp, d, la.act.data(), at(p, o.fc_proj_w), at(p, o.fc_proj_b), F, la.res_mid.data(), out,
                          a, B, T, C);
  } else {
    be.matmul_forward(la.fc.data(), h2, at(p, o.gate_w), kNoBias, N, C, F);   // gate (N, Fl)
    be.matmul_forward(la.up.data(), h2, at(p, o.up_w), kNoBias, N, C, F);     // up (N, Fl)
    be.swiglu_forward(la.act.data(), la.fc.data(), la.up.data(), N * F);
    row_parallel_residual(be, tp, d, la.act.data(), at(p, o.down_w), kNoBias, F, la.res_mid.data(), out, a, B, T, C);
  }
}

void block_backward(device::Backend& be, const ModelConfig& c, comm::Communicator& tp, const BlockOffsets& o,
                    const float* p, float* g, const LayerActivations& la, const float* in, Activations& a, int64_t B,
                    int64_t T) {
  const TpDims& d = a.dims;
  const bool sp = d.sequence_parallel();
  const int64_t N = B * T, Ns = sp ? N / d.tp : N, C = c.n_embd, F = d.ffn, HS = c.head_size();
  const int64_t NH = d.n_head, NKV = d.n_head_kv, QD = d.q_dim, KVD = d.kv_dim;
  float* dres = a.dres.data();   // d(out) on entry; the residual path passes it through unchanged
  float* dcol = sp ? a.dnorm_full.data() : a.dnorm.data();   // (N, C) partial d(column input)
  const float* h1 = sp ? la.norm1_full.data() : la.norm1.data();
  const float* h2 = sp ? la.norm2_full.data() : la.norm2.data();

  // MLP branch: dres holds d(res_mid) through the residual; add the branch's share.
  zero(be, a.dact.data(), N * F);
  zero(be, a.dfc.data(), N * F);
  zero(be, dcol, N * C);
  if (c.arch == Arch::Gpt2) {
    row_parallel_backward(be, tp, d, a.dact.data(), at(g, o.fc_proj_w), at(g, o.fc_proj_b), la.act.data(),
                          at(p, o.fc_proj_w), F, a, B, T, C);
    be.gelu_backward(a.dfc.data(), la.fc.data(), a.dact.data(), N * F);
    be.matmul_backward(dcol, at(g, o.fc_w), at(g, o.fc_b), a.dfc.data(), h2, at(p, o.fc_w), N, C, F);
  } else {
    zero(be, a.dup.data(), N * F);
    row_parallel_backward(be, tp, d, a.dact.data(), at(g, o.down_w), kNoGrad, la.act.data(), at(p, o.down_w), F, a, B,
                          T, C);
    be.swiglu_backward(a.dfc.data(), a.dup.data(), a.dact.data(), la.fc.data(), la.up.data(), N * F);
    be.matmul_backward(dcol, at(g, o.gate_w), kNoGrad, a.dfc.data(), h2, at(p, o.gate_w), N, C, F);
    be.matmul_backward(dcol, at(g, o.up_w), kNoGrad, a.dup.data(), h2, at(p, o.up_w), N, C, F);
  }
  float* dn2 = column_input_backward(be, tp, d, dcol, a, B, T, C);   // (Ns, C)
  norm_backward(be, c, dres, at(g, o.norm2_w), at(g, o.norm2_b), dn2, la.res_mid.data(), at(p, o.norm2_w),
                la.norm2_mean.data(), la.norm2_rstd.data(), Ns);

  // attention branch: dres now holds d(res_mid) = d(in) through the residual.
  zero(be, a.datt.data(), N * QD);
  zero(be, a.dq.data(), N * QD);
  zero(be, a.dk.data(), N * KVD);
  zero(be, a.dv.data(), N * KVD);
  zero(be, dcol, N * C);
  row_parallel_backward(be, tp, d, a.datt.data(), at(g, o.proj_w), at(g, o.proj_b), la.att.data(), at(p, o.proj_w), QD,
                        a, B, T, C);
  be.attention_backward(a.dq.data(), a.dk.data(), a.dv.data(), a.datt.data(), la.q.data(), la.k.data(), la.v.data(),
                        la.att.data(), la.lse.data(), B, T, NH, NKV, HS);
  if (c.arch == Arch::Llama) {
    be.rope_backward(a.dq.data(), B, T, NH, HS, c.rope_theta, 0);
    be.rope_backward(a.dk.data(), B, T, NKV, HS, c.rope_theta, 0);
  }
  be.matmul_backward(dcol, at(g, o.q_w), at(g, o.q_b), a.dq.data(), h1, at(p, o.q_w), N, C, QD);
  be.matmul_backward(dcol, at(g, o.k_w), at(g, o.k_b), a.dk.data(), h1, at(p, o.k_w), N, C, KVD);
  be.matmul_backward(dcol, at(g, o.v_w), at(g, o.v_b), a.dv.data(), h1, at(p, o.v_w), N, C, KVD);
  float* dn1 = column_input_backward(be, tp, d, dcol, a, B, T, C);
  norm_backward(be, c, dres, at(g, o.norm1_w), at(g, o.norm1_b), dn1, in, at(p, o.norm1_w), la.norm1_mean.data(),
                la.norm1_rstd.data(), Ns);
}

}  // namespace plinth::model
