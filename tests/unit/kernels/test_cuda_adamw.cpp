// test_cuda_adamw.cpp -- the GPU AdamW step against the CPU one (same formula).
// Plain main: exits 77 ("skipped" for ctest) with a SKIP line when no CUDA device is usable,
// which is the normal outcome on build machines without a GPU.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_kernels.h"
#include "kernels/kernels.h"

namespace {

#define CUDA_OK(call)                                                                      \
  do {                                                                                     \
    cudaError_t e_ = (call);                                                               \
    if (e_ != cudaSuccess) {                                                               \
      std::fprintf(stderr, "FAIL: %s: %s\n", #call, cudaGetErrorString(e_));               \
      return 1;                                                                            \
    }                                                                                      \
  } while (0)

int run() {
  namespace k = plinth::kernels;
  const int64_t n = 1000003;
  std::mt19937 gen(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> p(n), m(n), v(n);
  for (int64_t i = 0; i < n; ++i) {
    p[i] = dist(gen);
    m[i] = 0.1f * dist(gen);
    v[i] = 0.01f * dist(gen) * dist(gen);
  }
  std::vector<float> cp = p, cm = m, cv = v;
  float *dp, *dg, *dm, *dv;
  CUDA_OK(cudaMalloc(&dp, n * sizeof(float)));
  CUDA_OK(cudaMalloc(&dg, n * sizeof(float)));
  CUDA_OK(cudaMalloc(&dm, n * sizeof(float)));
  CUDA_OK(cudaMalloc(&dv, n * sizeof(float)));
  CUDA_OK(cudaMemcpy(dp, p.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(dm, m.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(dv, v.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  k::AdamWArgs args{1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 0, 0.7f};
  for (int64_t step = 1; step <= 3; ++step) {
    std::vector<float> g(n);
    for (auto& x : g) x = dist(gen);
    args.step = step;
    CUDA_OK(cudaMemcpy(dg, g.data(), n * sizeof(float), cudaMemcpyHostToDevice));
    k::cuda::adamw_update(dp, dg, dm, dv, n, args);
    k::adamw_update(cp.data(), g.data(), cm.data(), cv.data(), n, args);
  }
  CUDA_OK(cudaDeviceSynchronize());
  CUDA_OK(cudaMemcpy(p.data(), dp, n * sizeof(float), cudaMemcpyDeviceToHost));
  CUDA_OK(cudaMemcpy(m.data(), dm, n * sizeof(float), cudaMemcpyDeviceToHost));
  CUDA_OK(cudaMemcpy(v.data(), dv, n * sizeof(float), cudaMemcpyDeviceToHost));
  for (float* d : {dp, dg, dm, dv}) CUDA_OK(cudaFree(d));
  // GPU and CPU may contract multiply-adds differently: compare to 1e-6 relative-ish.
  int bad = 0;
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (auto [got, want] : {std::pair{p[i], cp[i]}, std::pair{m[i], cm[i]}, std::pair{v[i], cv[i]}}) {
      const double err = std::abs(double(got) - double(want)) / (1.0 + std::abs(double(want)));
      worst = std::max(worst, err);
      if (!(err <= 1e-6) && ++bad <= 5)
        std::fprintf(stderr, "FAIL: element %lld: gpu %.9g cpu %.9g\n", (long long)i, got, want);
    }
  }
  std::printf("cuda adamw vs cpu: n=%lld worst relative error %.3g\n", (long long)n, worst);
  return bad == 0 ? 0 : 1;
}

}  // namespace

int main() {
  std::string why;
  if (plinth::kernels::cuda::cuda_device_count(&why) == 0) {
    std::printf("SKIP: no CUDA device (%s)\n", why.c_str());
    return 77;
  }
  try {
    return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "FAIL: %s\n", e.what());
    return 1;
  }
}
