// kernel_timers.cpp -- linker-wrapped timers around the float kernels the model calls.
// Each wrapper has the C++ kernel's mangled name prefixed with __wrap_ and forwards to
// __real_<mangled name>; the signatures must match kernels/kernels.h (float instantiation).
// The output-layer matmul (OC = padded vocabulary, kernel_timers_set_head_oc) is reported apart
// from the block matmuls (in the benchmarked configs no block matmul has that OC).
#include "kernel_timers.h"

#include <chrono>
#include <cstdint>

#include "kernels/kernels.h"

namespace plinth_bench {
namespace {

enum Family {
  kMatmulFwd, kMatmulBwd, kHeadFwd, kHeadBwd, kAttnFwd, kAttnBwd, kNormFwd, kNormBwd, kGeluFwd,
  kGeluBwd, kAdd, kEmbFwd, kEmbBwd, kCeFwd, kCeBwd, kRope, kSwiglu, kSumSquares, kAdamw, kCount
};
const char* kNames[kCount] = {
    "matmul_forward", "matmul_backward", "head_matmul_forward", "head_matmul_backward",
    "attention_forward", "attention_backward", "norm_forward", "norm_backward", "gelu_forward",
    "gelu_backward", "add_forward", "embedding_forward", "embedding_backward",
    "crossentropy_forward", "crossentropy_backward", "rope", "swiglu", "sum_squares", "adamw_update"};

bool g_on = false;
double g_secs[kCount] = {};

struct Scope {
  Family f;
  std::chrono::steady_clock::time_point t0;
  explicit Scope(Family fam) : f(fam) {
    if (g_on) t0 = std::chrono::steady_clock::now();
  }
  ~Scope() {
    if (g_on) g_secs[f] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
};

}  // namespace

void kernel_timers_enable(bool on) { g_on = on; }
void kernel_timers_reset() {
  for (double& s : g_secs) s = 0;
}
std::vector<std::pair<std::string, double>> kernel_timers_report() {
  std::vector<std::pair<std::string, double>> r;
  for (int i = 0; i < kCount; ++i)
    if (g_secs[i] > 0) r.emplace_back(kNames[i], g_secs[i]);
  return r;
}

}  // namespace plinth_bench

using plinth_bench::Scope;
namespace pb = plinth_bench;
using AdamWArgs = plinth::kernels::AdamWArgs;
using i64 = int64_t;

// Declares __real_<sym> and defines __wrap_<sym> timing family FAM (an expression).
#define PLINTH_WRAP(SYM, FAM, PARAMS, ARGS, RET)      \
  extern "C" RET __real_##SYM PARAMS;                 \
  extern "C" RET __wrap_##SYM PARAMS {                \
    Scope scope_(FAM);                                \
    return __real_##SYM ARGS;                         \
  }

// The output layer's matmul is the one whose OC equals the padded vocabulary (set by the caller).
static i64 g_vp = -1;
void plinth_bench::kernel_timers_set_head_oc(int64_t oc) { g_vp = oc; }

PLINTH_WRAP(_ZN6plinth7kernels14matmul_forwardIfEEvPT_PKS2_S5_S5_lll,
            (OC == g_vp ? pb::kHeadFwd : pb::kMatmulFwd),
            (float* out, const float* inp, const float* w, const float* b, i64 N, i64 C, i64 OC),
            (out, inp, w, b, N, C, OC), void)
PLINTH_WRAP(_ZN6plinth7kernels15matmul_backwardIfEEvPT_S3_S3_PKS2_S5_S5_lll,
            (OC == g_vp ? pb::kHeadBwd : pb::kMatmulBwd),
            (float* dinp, float* dw, float* db, const float* dout, const float* inp, const float* w, i64 N,
             i64 C, i64 OC),
            (dinp, dw, db, dout, inp, w, N, C, OC), void)
PLINTH_WRAP(_ZN6plinth7kernels17attention_forwardIfEEvPT_S3_PKS2_S5_S5_lllll, pb::kAttnFwd,
            (float* out, float* lse, const float* q, const float* k, const float* v, i64 B, i64 T, i64 NH,
             i64 NKV, i64 HS),
            (out, lse, q, k, v, B, T, NH, NKV, HS), void)
PLINTH_WRAP(_ZN6plinth7kernels18attention_backwardIfEEvPT_S3_S3_PKS2_S5_S5_S5_S5_S5_lllll, pb::kAttnBwd,
            (float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k, const float* v,
             const float* out, const float* lse, i64 B, i64 T, i64 NH, i64 NKV, i64 HS),
            (dq, dk, dv, dout, q, k, v, out, lse, B, T, NH, NKV, HS), void)
PLINTH_WRAP(_ZN6plinth7kernels17layernorm_forwardIfEEvPT_S3_S3_PKS2_S5_S5_llS2_, pb::kNormFwd,
            (float* out, float* mean, float* rstd, const float* inp, const float* w, const float* b, i64 N, i64 C,
             float eps),
            (out, mean, rstd, inp, w, b, N, C, eps), void)
PLINTH_WRAP(_ZN6plinth7kernels18layernorm_backwardIfEEvPT_S3_S3_PKS2_S5_S5_S5_S5_ll, pb::kNormBwd,
            (float* dinp, float* dw, float* db, const float* dout, const float* inp, const float* w,
             const float* mean, const float* rstd, i64 N, i64 C),
            (dinp, dw, db, dout, inp, w, mean, rstd, N, C), void)
PLINTH_WRAP(_ZN6plinth7kernels15rmsnorm_forwardIfEEvPT_S3_PKS2_S5_llS2_, pb::kNormFwd,
            (float* out, float* rstd, const float* inp, const float* w, i64 N, i64 C, float eps),
            (out, rstd, inp, w, N, C, eps), void)
PLINTH_WRAP(_ZN6plinth7kernels16rmsnorm_backwardIfEEvPT_S3_PKS2_S5_S5_S5_ll, pb::kNormBwd,
            (float* dinp, float* dw, const float* dout, const float* inp, const float* w, const float* rstd, i64 N,
             i64 C),
            (dinp, dw, dout, inp, w, rstd, N, C), void)
PLINTH_WRAP(_ZN6plinth7kernels12gelu_forwardIfEEvPT_PKS2_l, pb::kGeluFwd, (float* out, const float* inp, i64 n),
            (out, inp, n), void)
PLINTH_WRAP(_ZN6plinth7kernels13gelu_backwardIfEEvPT_PKS2_S5_l, pb::kGeluBwd,
            (float* dinp, const float* inp, const float* dout, i64 n), (dinp, inp, dout, n), void)
PLINTH_WRAP(_ZN6plinth7kernels11add_forwardIfEEvPT_PKS2_S5_l, pb::kAdd,
            (float* out, const float* a, const float* b, i64 n), (out, a, b, n), void)
PLINTH_WRAP(_ZN6plinth7kernels17embedding_forwardIfEEvPT_PKiPKS2_ll, pb::kEmbFwd,
            (float* out, const int32_t* tokens, const float* wte, i64 N, i64 C), (out, tokens, wte, N, C), void)
PLINTH_WRAP(_ZN6plinth7kernels18embedding_backwardIfEEvPT_PKS2_PKill, pb::kEmbBwd,
            (float* dwte, const float* dout, const int32_t* tokens, i64 N, i64 C), (dwte, dout, tokens, N, C), void)
PLINTH_WRAP(_ZN6plinth7kernels18positional_forwardIfEEvPT_PKS2_llll, pb::kEmbFwd,
            (float* out, const float* wpe, i64 B, i64 T, i64 C, i64 off), (out, wpe, B, T, C, off), void)
PLINTH_WRAP(_ZN6plinth7kernels19positional_backwardIfEEvPT_PKS2_llll, pb::kEmbBwd,
            (float* dwpe, const float* dout, i64 B, i64 T, i64 C, i64 off), (dwpe, dout, B, T, C, off), void)
PLINTH_WRAP(_ZN6plinth7kernels20crossentropy_forwardIfEEvPT_PKS2_PKilll, pb::kCeFwd,
            (float* losses, const float* logits, const int32_t* targets, i64 N, i64 V, i64 Vp),
            (losses, logits, targets, N, V, Vp), void)
PLINTH_WRAP(_ZN6plinth7kernels21crossentropy_backwardIfEEvPT_PKS2_PKiS5_lll, pb::kCeBwd,
            (float* dlogits, const float* logits, const int32_t* targets, const float* dlosses, i64 N, i64 V,
             i64 Vp),
            (dlogits, logits, targets, dlosses, N, V, Vp), void)
PLINTH_WRAP(_ZN6plinth7kernels12rope_forwardIfEEvPT_lllldl, pb::kRope,
            (float* x, i64 B, i64 T, i64 H, i64 HS, double theta, i64 off), (x, B, T, H, HS, theta, off), void)
PLINTH_WRAP(_ZN6plinth7kernels13rope_backwardIfEEvPT_lllldl, pb::kRope,
            (float* x, i64 B, i64 T, i64 H, i64 HS, double theta, i64 off), (x, B, T, H, HS, theta, off), void)
PLINTH_WRAP(_ZN6plinth7kernels14swiglu_forwardIfEEvPT_PKS2_S5_l, pb::kSwiglu,
            (float* out, const float* g, const float* u, i64 n), (out, g, u, n), void)
PLINTH_WRAP(_ZN6plinth7kernels15swiglu_backwardIfEEvPT_S3_PKS2_S5_S5_l, pb::kSwiglu,
            (float* dg, float* du, const float* dout, const float* g, const float* u, i64 n),
            (dg, du, dout, g, u, n), void)
PLINTH_WRAP(_ZN6plinth7kernels11sum_squaresIfEEdPKT_l, pb::kSumSquares, (const float* x, i64 n), (x, n), double)
PLINTH_WRAP(_ZN6plinth7kernels12adamw_updateEPfPKfS1_S1_lRKNS0_9AdamWArgsE, pb::kAdamw,
            (float* p, const float* g, float* m, float* v, i64 n, const AdamWArgs& a), (p, g, m, v, n, a), void)
