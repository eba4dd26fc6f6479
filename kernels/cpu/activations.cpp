// activations.cpp -- elementwise kernels: GELU (tanh approximation), SwiGLU, add, axpy, scale,
// and the sum of squares (for gradient-norm clipping, accumulated in double).
// All loops are `omp parallel for simd` over the flat range; float uses the vectorisable
// exp from vec_math.h, double uses <cmath> (exact, for the finite-difference tests).
// Compiled once per instruction-set variant (kernels/cpu/isa.h); entry points in dispatch.cpp.
#include <cmath>

#include "kernels/cpu/isa_kernels.inc"
#include "kernels/cpu/vec_math.h"

namespace plinth::kernels::PLINTH_ISA_NS {

using detail::kParallelMin;
using detail::vsigmoid;
using detail::vtanh;

namespace {
constexpr double kGeluC = 0.7978845608028654;   // sqrt(2 / pi)
constexpr double kGeluA = 0.044715;
}  // namespace

// out (n) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
template <typename F>
void gelu_forward(F* out, const F* inp, int64_t n) {
  const F c = F(kGeluC), a = F(kGeluA);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const F x = inp[i];
    out[i] = F(0.5) * x * (F(1) + vtanh(c * (x + a * x * x * x)));
  }
}

// dinp (n) += dout * gelu'(x)
template <typename F>
void gelu_backward(F* dinp, const F* inp, const F* dout, int64_t n) {
  const F c = F(kGeluC), a = F(kGeluA);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const F x = inp[i];
    const F th = vtanh(c * (x + a * x * x * x));
    const F dth = c * (F(1) + F(3) * a * x * x);
    const F grad = F(0.5) * (F(1) + th) + F(0.5) * x * (F(1) - th * th) * dth;
    dinp[i] += dout[i] * grad;
  }
}

// out (n) = silu(gate) * up
template <typename F>
void swiglu_forward(F* out, const F* gate, const F* up, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const F g = gate[i];
    out[i] = g * vsigmoid(g) * up[i];
  }
}

// dgate (n) += dout * up * silu'(gate), silu'(g) = s (1 + g (1 - s)), s = sigmoid(g)
// dup (n) += dout * silu(gate)
template <typename F>
void swiglu_backward(F* dgate, F* dup, const F* dout, const F* gate, const F* up, int64_t n) {
  if (dgate && dup) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      const F g = gate[i], s = vsigmoid(g);
      dgate[i] += dout[i] * up[i] * s * (F(1) + g * (F(1) - s));
      dup[i] += dout[i] * g * s;
    }
  } else if (dgate) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      const F g = gate[i], s = vsigmoid(g);
      dgate[i] += dout[i] * up[i] * s * (F(1) + g * (F(1) - s));
    }
  } else if (dup) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) dup[i] += dout[i] * gate[i] * vsigmoid(gate[i]);
  }
}

// out (n) = a + b; out may alias a or b (same index read before written)
template <typename F>
void add_forward(F* out, const F* a, const F* b, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

// y (n) += alpha * x
template <typename F>
void axpy(F* y, const F* x, F alpha, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

// sum_i x[i]^2, accumulated in double
template <typename F>
double sum_squares(const F* x, int64_t n) {
  double total = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : total) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) total += double(x[i]) * double(x[i]);
  return total;
}

// x (n) *= s
template <typename F>
void scale(F* x, F s, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

#define PLINTH_INSTANTIATE(F)                                                  \
  template void gelu_forward<F>(F*, const F*, int64_t);                        \
  template void gelu_backward<F>(F*, const F*, const F*, int64_t);             \
  template void swiglu_forward<F>(F*, const F*, const F*, int64_t);            \
  template void swiglu_backward<F>(F*, F*, const F*, const F*, const F*, int64_t); \
  template void add_forward<F>(F*, const F*, const F*, int64_t);               \
  template void axpy<F>(F*, const F*, F, int64_t);                             \
  template double sum_squares<F>(const F*, int64_t);                           \
  template void scale<F>(F*, F, int64_t);
PLINTH_INSTANTIATE(float)
PLINTH_INSTANTIATE(double)
#undef PLINTH_INSTANTIATE

}  // namespace plinth::kernels::PLINTH_ISA_NS
