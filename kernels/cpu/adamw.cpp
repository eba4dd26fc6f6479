// adamw.cpp -- one AdamW step (decoupled weight decay) over a range of the flat buffers.
//   g' = g * grad_scale;  m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2
//   p -= lr * ( (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + wd * p )
// The bias corrections are computed once in double; the loop is `omp parallel for simd`.
// kernels/cuda/adamw.cu implements the same formula on the GPU.
// Compiled once per instruction-set variant (kernels/cpu/isa.h); dispatch.cpp checks the step
// and the length before calling it.
#include <cmath>

#include "kernels/cpu/isa_kernels.inc"
#include "kernels/cpu/vec_math.h"

namespace plinth::kernels::PLINTH_ISA_NS {

// p, g, m, v (n)
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWArgs& args) {
  const float b1 = args.beta1, b2 = args.beta2, eps = args.eps, lr = args.lr, wd = args.weight_decay;
  const float gs = args.grad_scale;
  const float bc1 = float(1.0 / (1.0 - std::pow(double(b1), double(args.step))));  // 1 / (1 - b1^t)
  const float bc2 = float(1.0 / (1.0 - std::pow(double(b2), double(args.step))));  // 1 / (1 - b2^t)
#pragma omp parallel for simd schedule(static) if (n >= detail::kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i] * gs;
    const float mi = b1 * m[i] + (1.0f - b1) * gi;
    const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= lr * ((mi * bc1) / (std::sqrt(vi * bc2) + eps) + wd * p[i]);
  }
}

}  // namespace plinth::kernels::PLINTH_ISA_NS
