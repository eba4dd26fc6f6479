// dispatch.cpp -- the public entry points (kernels.h) of the hot CPU kernels: each checks its
// arguments here, in code compiled for the build's baseline, then calls the instruction-set
// variant chosen for this CPU (kernels/cpu/isa.h). The loops live in activations.cpp,
// adamw.cpp, attention.cpp, crossentropy.cpp and norms.cpp, compiled once per variant.
#include "core/error.h"
#include "kernels/cpu/isa.h"
#include "kernels/kernels.h"

namespace plinth::kernels {

namespace {

void check_attention_shape(const char* what, int64_t B, int64_t T, int64_t NH, int64_t NKV, int64_t HS) {
  PLINTH_CHECK(B >= 0 && T >= 0 && NH > 0 && NKV > 0 && HS > 0 && NH % NKV == 0, Internal, what,
               ": bad shape B=", B, " T=", T, " NH=", NH, " NKV=", NKV, " HS=", HS,
               " (NH must be a multiple of NKV)");
}

void check_targets(const char* what, const int32_t* targets, int64_t N, int64_t V, int64_t Vp) {
  PLINTH_CHECK(N >= 0 && V > 0 && Vp >= V, Internal, what, ": bad shape N=", N, " V=", V, " Vp=", Vp);
  for (int64_t n = 0; n < N; ++n)
    PLINTH_CHECK(targets[n] < V, Input, what, ": target ", targets[n], " at row ", n, " is outside the vocabulary (V=",
                 V, ")");
}

void check_rows(const char* what, int64_t N, int64_t C) {
  PLINTH_CHECK(N >= 0 && C > 0, Internal, what, ": bad shape N=", N, " C=", C);
}

}  // namespace

// ---- activations and elementwise ----

template <typename F>
void gelu_forward(F* out, const F* inp, int64_t n) {
  PLINTH_ISA_DISPATCH(gelu_forward<F>)(out, inp, n);
}

template <typename F>
void gelu_backward(F* dinp, const F* inp, const F* dout, int64_t n) {
  PLINTH_ISA_DISPATCH(gelu_backward<F>)(dinp, inp, dout, n);
}

template <typename F>
void swiglu_forward(F* out, const F* gate, const F* up, int64_t n) {
  PLINTH_ISA_DISPATCH(swiglu_forward<F>)(out, gate, up, n);
}

template <typename F>
void swiglu_backward(F* dgate, F* dup, const F* dout, const F* gate, const F* up, int64_t n) {
  PLINTH_ISA_DISPATCH(swiglu_backward<F>)(dgate, dup, dout, gate, up, n);
}

template <typename F>
void add_forward(F* out, const F* a, const F* b, int64_t n) {
  PLINTH_ISA_DISPATCH(add_forward<F>)(out, a, b, n);
}

template <typename F>
void axpy(F* y, const F* x, F alpha, int64_t n) {
  PLINTH_ISA_DISPATCH(axpy<F>)(y, x, alpha, n);
}

template <typename F>
double sum_squares(const F* x, int64_t n) {
  return PLINTH_ISA_DISPATCH(sum_squares<F>)(x, n);
}

template <typename F>
void scale(F* x, F s, int64_t n) {
  PLINTH_ISA_DISPATCH(scale<F>)(x, s, n);
}

// ---- normalisation ----

template <typename F>
void layernorm_forward(F* out, F* mean, F* rstd, const F* inp, const F* weight, const F* bias, int64_t N,
                       int64_t C, F eps) {
  check_rows("layernorm_forward", N, C);
  PLINTH_ISA_DISPATCH(layernorm_forward<F>)(out, mean, rstd, inp, weight, bias, N, C, eps);
}

template <typename F>
void layernorm_backward(F* dinp, F* dweight, F* dbias, const F* dout, const F* inp, const F* weight,
                        const F* mean, const F* rstd, int64_t N, int64_t C) {
  check_rows("layernorm_backward", N, C);
  PLINTH_ISA_DISPATCH(layernorm_backward<F>)(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
}

template <typename F>
void rmsnorm_forward(F* out, F* rstd, const F* inp, const F* weight, int64_t N, int64_t C, F eps) {
  check_rows("rmsnorm_forward", N, C);
  PLINTH_ISA_DISPATCH(rmsnorm_forward<F>)(out, rstd, inp, weight, N, C, eps);
}

template <typename F>
void rmsnorm_backward(F* dinp, F* dweight, const F* dout, const F* inp, const F* weight, const F* rstd,
                      int64_t N, int64_t C) {
  check_rows("rmsnorm_backward", N, C);
  PLINTH_ISA_DISPATCH(rmsnorm_backward<F>)(dinp, dweight, dout, inp, weight, rstd, N, C);
}

// ---- attention ----

template <typename F>
void attention_forward(F* out, F* lse, const F* q, const F* k, const F* v, int64_t B, int64_t T, int64_t NH,
                       int64_t NKV, int64_t HS) {
  check_attention_shape("attention_forward", B, T, NH, NKV, HS);
  PLINTH_ISA_DISPATCH(attention_forward<F>)(out, lse, q, k, v, B, T, NH, NKV, HS);
}

template <typename F>
void attention_backward(F* dq, F* dk, F* dv, const F* dout, const F* q, const F* k, const F* v, const F* out,
                        const F* lse, int64_t B, int64_t T, int64_t NH, int64_t NKV, int64_t HS) {
  check_attention_shape("attention_backward", B, T, NH, NKV, HS);
  PLINTH_ISA_DISPATCH(attention_backward<F>)(dq, dk, dv, dout, q, k, v, out, lse, B, T, NH, NKV, HS);
}

// ---- cross-entropy ----

template <typename F>
void crossentropy_forward(F* losses, const F* logits, const int32_t* targets, int64_t N, int64_t V, int64_t Vp) {
  check_targets("crossentropy_forward", targets, N, V, Vp);
  PLINTH_ISA_DISPATCH(crossentropy_forward<F>)(losses, logits, targets, N, V, Vp);
}

template <typename F>
void crossentropy_backward(F* dlogits, const F* logits, const int32_t* targets, const F* dlosses, int64_t N,
                           int64_t V, int64_t Vp) {
  check_targets("crossentropy_backward", targets, N, V, Vp);
  PLINTH_ISA_DISPATCH(crossentropy_backward<F>)(dlogits, logits, targets, dlosses, N, V, Vp);
}

// ---- optimizer ----

void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWArgs& args) {
  PLINTH_CHECK(args.step >= 1, Internal, "adamw_update: step is 1-based (got ", args.step, ")");
  PLINTH_CHECK(n >= 0, Internal, "adamw_update: negative length ", n);
  PLINTH_ISA_DISPATCH(adamw_update)(p, g, m, v, n, args);
}

#define PLINTH_INSTANTIATE(F)                                                                                   \
  template void gelu_forward<F>(F*, const F*, int64_t);                                                         \
  template void gelu_backward<F>(F*, const F*, const F*, int64_t);                                              \
  template void swiglu_forward<F>(F*, const F*, const F*, int64_t);                                             \
  template void swiglu_backward<F>(F*, F*, const F*, const F*, const F*, int64_t);                              \
  template void add_forward<F>(F*, const F*, const F*, int64_t);                                                \
  template void axpy<F>(F*, const F*, F, int64_t);                                                              \
  template double sum_squares<F>(const F*, int64_t);                                                            \
  template void scale<F>(F*, F, int64_t);                                                                       \
  template void layernorm_forward<F>(F*, F*, F*, const F*, const F*, const F*, int64_t, int64_t, F);            \
  template void layernorm_backward<F>(F*, F*, F*, const F*, const F*, const F*, const F*, const F*, int64_t,    \
                                      int64_t);                                                                 \
  template void rmsnorm_forward<F>(F*, F*, const F*, const F*, int64_t, int64_t, F);                            \
  template void rmsnorm_backward<F>(F*, F*, const F*, const F*, const F*, const F*, int64_t, int64_t);          \
  template void attention_forward<F>(F*, F*, const F*, const F*, const F*, int64_t, int64_t, int64_t, int64_t,  \
                                     int64_t);                                                                  \
  template void attention_backward<F>(F*, F*, F*, const F*, const F*, const F*, const F*, const F*, const F*,   \
                                      int64_t, int64_t, int64_t, int64_t, int64_t);                             \
  template void crossentropy_forward<F>(F*, const F*, const int32_t*, int64_t, int64_t, int64_t);               \
  template void crossentropy_backward<F>(F*, const F*, const int32_t*, const F*, int64_t, int64_t, int64_t);
PLINTH_INSTANTIATE(float)
PLINTH_INSTANTIATE(double)
#undef PLINTH_INSTANTIATE

}  // namespace plinth::kernels
