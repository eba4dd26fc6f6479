// adamw.cu -- one AdamW step on the GPU, the same formula as kernels/cpu/adamw.cpp:
//   g' = g * grad_scale;  m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2
//   p -= lr * ( (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + wd * p )
// A grid-stride elementwise kernel; bias corrections are computed on the host in double.
#include <cuda_runtime.h>

#include <cmath>

#include "core/error.h"
#include "kernels/cuda/cuda_kernels.h"

namespace plinth::kernels::cuda {

namespace {

__global__ void adamw_kernel(float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
                             float* __restrict__ v, int64_t n, float lr, float b1, float b2, float eps, float wd,
                             float gs, float bc1, float bc2) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float gi = g[i] * gs;
    const float mi = b1 * m[i] + (1.0f - b1) * gi;
    const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const float pi = p[i];
    p[i] = pi - lr * ((mi * bc1) / (sqrtf(vi * bc2) + eps) + wd * pi);
  }
}

}  // namespace

void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWArgs& args, void* stream) {
  PLINTH_CHECK(args.step >= 1, Internal, "cuda::adamw_update: step is 1-based (got ", args.step, ")");
  PLINTH_CHECK(n >= 0, Internal, "cuda::adamw_update: negative length ", n);
  if (n == 0) return;
  const float bc1 = float(1.0 / (1.0 - std::pow(double(args.beta1), double(args.step))));
  const float bc2 = float(1.0 / (1.0 - std::pow(double(args.beta2), double(args.step))));
  constexpr int kThreads = 256;
  const int64_t want = (n + kThreads - 1) / kThreads;
  const int blocks = int(want < 65535 ? want : 65535);
  adamw_kernel<<<blocks, kThreads, 0, static_cast<cudaStream_t>(stream)>>>(p, g, m, v, n, args.lr, args.beta1, args.beta2, args.eps, args.weight_decay,
                                     args.grad_scale, bc1, bc2);
  const cudaError_t err = cudaGetLastError();
  PLINTH_CHECK(err == cudaSuccess, Internal, "cuda::adamw_update: kernel launch failed: ", cudaGetErrorString(err));
}

}  // namespace plinth::kernels::cuda
