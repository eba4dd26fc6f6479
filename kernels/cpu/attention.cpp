// attention.cpp -- causal self-attention, flash-attention style (blocked, online softmax).
// Forward: for each (b, h, query block of kBlock rows), key blocks up to the diagonal are
// visited; the transposed score block S^T = scale * K Q^T (keys as rows) is one GEMM into
// per-thread scratch, running per-query max / sum rescale the output accumulator, and
// out += P V is a second GEMM. lse (B, NH, T) is saved. Backward recomputes P = exp(S - lse)
// blockwise; D = rowsum(dout * out), dP = dout V^T, dS = P * (dP - D), dq += scale dS K,
// dk += scale dS^T Q, dv += P^T dout.
// Q (and dout) blocks are transposed once per query block so that every GEMM is NN or TN, which
// OpenBLAS runs on its fast small-matrix path (NT is ~1.6x slower at 64^3).
// Scratch per thread: forward S^T (kBlock^2) + Q^T and acc (kBlock x HS each) + 4 kBlock
// vectors; backward P^T and dS^T (2 kBlock^2) + Q^T, dout^T (2 HS x kBlock) + a kBlock vector.
// For float, kBlock = 64, HS = 64: 49 KiB forward, 64 KiB backward. Never (T, T).
// Compiled once per instruction-set variant (kernels/cpu/isa.h); dispatch.cpp checks shapes.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/aligned_buffer.h"
#include "kernels/cpu/isa_kernels.inc"
#include "kernels/cpu/vec_math.h"

namespace plinth::kernels::PLINTH_ISA_NS {

using detail::vexp;
using detail::vlog;

namespace {

constexpr int64_t kBlock = 64;  // query and key block rows

// dst (HS, rows), row stride kBlock  <-  src (rows, HS), row stride ld
template <typename F>
void transpose_block(F* dst, const F* src, int64_t rows, int64_t HS, int64_t ld) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t d = 0; d < HS; ++d) dst[d * kBlock + r] = src[r * ld + d];
}

}  // namespace

// q (B, T, NH, HS), k, v (B, T, NKV, HS) -> out (B, T, NH, HS), lse (B, NH, T)
template <typename F>
void attention_forward(F* out, F* lse, const F* q, const F* k, const F* v, int64_t B, int64_t T, int64_t NH,
                       int64_t NKV, int64_t HS) {
  const int64_t group = NH / NKV, qstride = NH * HS, kstride = NKV * HS;
  const int64_t nblk = (T + kBlock - 1) / kBlock, ntasks = B * NH * nblk;
  const F scale = F(1.0 / std::sqrt(double(HS)));
  const F neg_inf = -std::numeric_limits<F>::infinity();
#pragma omp parallel if (ntasks > 1)
  {
    AlignedBuffer<F> st_buf(kBlock * kBlock), qt_buf(HS * kBlock), acc_buf(kBlock * HS), vec_buf(4 * kBlock);
    F* st = st_buf.data();    // (bk, bq), row stride kBlock: scores^T, then probabilities^T
    F* qt = qt_buf.data();    // (HS, bq), row stride kBlock: the query block transposed
    F* acc = acc_buf.data();  // (bq, HS): unnormalised output
    F* m = vec_buf.data();    // (bq): running max per query
    F* l = m + kBlock;        // (bq): running sum of exp(s - m) per query
    F* mnew = l + kBlock;     // (bq): max after this key block
    F* lsum = mnew + kBlock;  // (bq): sum over this key block
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < ntasks; ++task) {
      // Longest rows (last query blocks) first, for load balance under dynamic scheduling.
      const int64_t qb = nblk - 1 - task / (B * NH), bh = task % (B * NH);
      const int64_t b = bh / NH, h = bh % NH, g = h / group;
      const int64_t i0 = qb * kBlock, bq = std::min(kBlock, T - i0);
      transpose_block(qt, q + ((b * T + i0) * NH + h) * HS, bq, HS, qstride);
      std::fill(m, m + bq, neg_inf);
      std::fill(l, l + bq, F(0));
      std::fill(acc, acc + bq * HS, F(0));
      for (int64_t kb = 0; kb <= qb; ++kb) {
        const int64_t j0 = kb * kBlock, bk = std::min(kBlock, T - j0);
        const F* kp = k + ((b * T + j0) * NKV + g) * HS;  // (bk, HS), row stride kstride
        const F* vp = v + ((b * T + j0) * NKV + g) * HS;
        gemm<F>(Trans::No, Trans::No, bk, bq, HS, scale, kp, kstride, qt, kBlock, F(0), st, kBlock);
        // On the diagonal block j0 == i0 and key c is visible to query r iff c <= r.
        const bool diag = kb == qb;
        std::copy(m, m + bq, mnew);
        for (int64_t c = 0; c < bk; ++c) {
          const F* row = st + c * kBlock;
#pragma omp simd
          for (int64_t r = diag ? c : 0; r < bq; ++r) mnew[r] = row[r] > mnew[r] ? row[r] : mnew[r];
        }
        std::fill(lsum, lsum + bq, F(0));
        for (int64_t c = 0; c < bk; ++c) {
          F* row = st + c * kBlock;
          const int64_t r0 = diag ? c : 0;
          for (int64_t r = 0; r < r0; ++r) row[r] = F(0);
#pragma omp simd
          for (int64_t r = r0; r < bq; ++r) {
            const F p = vexp(row[r] - mnew[r]);
            row[r] = p;
            lsum[r] += p;
          }
        }
        for (int64_t r = 0; r < bq; ++r) {
          const F corr = vexp(m[r] - mnew[r]);  // 0 on the first block (m = -inf)
          l[r] = l[r] * corr + lsum[r];
          m[r] = mnew[r];
          if (corr != F(1)) {
            F* ar = acc + r * HS;
#pragma omp simd
            for (int64_t d = 0; d < HS; ++d) ar[d] *= corr;
          }
        }
        // acc (bq, HS) += P V = (P^T)^T V
        gemm<F>(Trans::Yes, Trans::No, bq, HS, bk, F(1), st, kBlock, vp, kstride, F(1), acc, HS);
      }
      F* lse_row = lse + (b * NH + h) * T + i0;
      for (int64_t r = 0; r < bq; ++r) {
        const F inv = F(1) / l[r];
        F* orow = out + ((b * T + i0 + r) * NH + h) * HS;
        const F* ar = acc + r * HS;
#pragma omp simd
        for (int64_t d = 0; d < HS; ++d) orow[d] = ar[d] * inv;
        lse_row[r] = m[r] + vlog(l[r]);
      }
    }
  }
}

// Parallel over (b, kv head): a task owns dk, dv of its kv head and dq of the query heads of
// its group, so accumulation is race-free for GQA and results do not depend on thread count.
template <typename F>
void attention_backward(F* dq, F* dk, F* dv, const F* dout, const F* q, const F* k, const F* v, const F* out,
                        const F* lse, int64_t B, int64_t T, int64_t NH, int64_t NKV, int64_t HS) {
  if (!dq && !dk && !dv) return;
  const int64_t group = NH / NKV, qstride = NH * HS, kstride = NKV * HS;
  const int64_t nblk = (T + kBlock - 1) / kBlock, ntasks = B * NKV;
  const F scale = F(1.0 / std::sqrt(double(HS)));
#pragma omp parallel if (ntasks > 1)
  {
    AlignedBuffer<F> pt_buf(kBlock * kBlock), dst_buf(kBlock * kBlock), qt_buf(HS * kBlock),
        dot_buf(HS * kBlock), d_buf(kBlock);
    F* pt = pt_buf.data();    // (bk, bq), row stride kBlock: P^T
    F* dst = dst_buf.data();  // (bk, bq), row stride kBlock: dP^T, then dS^T
    F* qt = qt_buf.data();    // (HS, bq), row stride kBlock: Q^T of the query block
    F* dot = dot_buf.data();  // (HS, bq), row stride kBlock: dout^T of the query block
    F* D = d_buf.data();      // (bq): rowsum(dout * out)
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < ntasks; ++task) {
      const int64_t b = task / NKV, g = task % NKV;
      for (int64_t h = g * group; h < (g + 1) * group; ++h) {
        for (int64_t qb = 0; qb < nblk; ++qb) {
          const int64_t i0 = qb * kBlock, bq = std::min(kBlock, T - i0);
          const int64_t qoff = ((b * T + i0) * NH + h) * HS;  // rows (bq, HS), stride qstride
          const F *qp = q + qoff, *dop = dout + qoff, *op = out + qoff;
          const F* lse_row = lse + (b * NH + h) * T + i0;
          for (int64_t r = 0; r < bq; ++r) {
            const F *a = dop + r * qstride, *o = op + r * qstride;
            F acc = 0;
#pragma omp simd reduction(+ : acc)
            for (int64_t d = 0; d < HS; ++d) acc += a[d] * o[d];
            D[r] = acc;
          }
          transpose_block(qt, qp, bq, HS, qstride);
          if (dq || dk) transpose_block(dot, dop, bq, HS, qstride);
          for (int64_t kb = 0; kb <= qb; ++kb) {
            const int64_t j0 = kb * kBlock, bk = std::min(kBlock, T - j0);
            const int64_t koff = ((b * T + j0) * NKV + g) * HS;  // rows (bk, HS), stride kstride
            const F *kp = k + koff, *vp = v + koff;
            // P^T = exp(scale K Q^T - lse); on the diagonal key c sees query r iff c <= r
            gemm<F>(Trans::No, Trans::No, bk, bq, HS, scale, kp, kstride, qt, kBlock, F(0), pt, kBlock);
            const bool diag = kb == qb;
            for (int64_t c = 0; c < bk; ++c) {
              F* row = pt + c * kBlock;
              const int64_t r0 = diag ? c : 0;
              for (int64_t r = 0; r < r0; ++r) row[r] = F(0);
#pragma omp simd
              for (int64_t r = r0; r < bq; ++r) row[r] = vexp(row[r] - lse_row[r]);
            }
            if (dv) gemm<F>(Trans::No, Trans::No, bk, HS, bq, F(1), pt, kBlock, dop, qstride, F(1), dv + koff, kstride);
            if (!dq && !dk) continue;
            // dS^T = P^T * (V dout^T - D)
            gemm<F>(Trans::No, Trans::No, bk, bq, HS, F(1), vp, kstride, dot, kBlock, F(0), dst, kBlock);
            for (int64_t c = 0; c < bk; ++c) {
              F* dr = dst + c * kBlock;
              const F* pr = pt + c * kBlock;
#pragma omp simd
              for (int64_t r = 0; r < bq; ++r) dr[r] = pr[r] * (dr[r] - D[r]);
            }
            if (dk) gemm<F>(Trans::No, Trans::No, bk, HS, bq, scale, dst, kBlock, qp, qstride, F(1), dk + koff, kstride);
            if (dq) gemm<F>(Trans::Yes, Trans::No, bq, HS, bk, scale, dst, kBlock, kp, kstride, F(1), dq + qoff, qstride);
          }
        }
      }
    }
  }
}

template void attention_forward<float>(float*, float*, const float*, const float*, const float*, int64_t, int64_t,
                                       int64_t, int64_t, int64_t);
template void attention_forward<double>(double*, double*, const double*, const double*, const double*, int64_t,
                                        int64_t, int64_t, int64_t, int64_t);
template void attention_backward<float>(float*, float*, float*, const float*, const float*, const float*,
                                        const float*, const float*, const float*, int64_t, int64_t, int64_t,
                                        int64_t, int64_t);
template void attention_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                         const double*, const double*, const double*, int64_t, int64_t, int64_t,
                                         int64_t, int64_t);

}  // namespace plinth::kernels::PLINTH_ISA_NS
