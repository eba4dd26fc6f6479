// cuda_attention.cu -- causal self-attention on the GPU, memory linear in T (no (T, T) matrix),
// the math of kernels/cpu/attention.cpp: scale 1/sqrt(HS), query head h reads kv head
// h / (NH / NKV), lse (B, NH, T) saved by the forward.
//   forward: one warp per query row (b, h, t); keys 0..t in order with an online softmax; each
//     lane holds HS/32 dimensions of q and of the output accumulator; dot products are warp
//     xor-butterfly sums (every lane ends with the same bits).
//   backward: D = rowsum(dout * out) per query row (warp per row, into scratch); dq per query row
//     (loop over keys j <= t, p = exp(s - lse), ds = p (dout.v_j - D)); dk and dv per KEY row
//     (loop over the kv head's query heads in order, then queries t >= j), so every gradient
//     element is owned by one lane: deterministic, no atomics. All three accumulate (+=).
// A simple correct kernel, not a fast one (issue 17 will bring a tiled one). HS <= 256.
// Status: compiled, not yet run on a GPU.
#include <cmath>

#include "core/error.h"
#include "device/cuda_ops.h"

namespace plinth::device::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;
constexpr int kMaxPerLane = 8;   // HS <= 32 * 8

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// lane's dimensions d = lane + 32 i, i < kMaxPerLane, d < HS
#define LANE_DIMS(i, d) \
  _Pragma("unroll") for (int i = 0, d = lane; i < kMaxPerLane; ++i, d += 32) if (d < HS)

__device__ __forceinline__ float dot(const float (&a)[kMaxPerLane], const float* b, int lane, int HS) {
  float s = 0.0f;
  LANE_DIMS(i, d) s += a[i] * b[d];
  return warp_sum(s);
}

// row r = (b * NH + h) * T + t: the lse / D index; q / out / dout at ((b * T + t) * NH + h) * HS
__global__ void attention_forward_k(float* out, float* lse, const float* q, const float* k, const float* v, int64_t B,
                                    int64_t T, int64_t NH, int64_t NKV, int HS, float scale) {
  const int lane = threadIdx.x % 32;
  const int64_t rows = B * NH * T;
  const int64_t group = NH / NKV;
  for (int64_t r = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; r < rows;
       r += int64_t(gridDim.x) * kWarpsPerBlock) {
    const int64_t t = r % T, h = (r / T) % NH, b = r / (T * NH), kvh = h / group;
    const float* qr = q + ((b * T + t) * NH + h) * HS;
    float qv[kMaxPerLane] = {}, acc[kMaxPerLane] = {};
    LANE_DIMS(i, d) qv[i] = qr[d];
    float m = -INFINITY, l = 0.0f;
    for (int64_t j = 0; j <= t; ++j) {
      const int64_t kv_off = ((b * T + j) * NKV + kvh) * HS;
      const float s = dot(qv, k + kv_off, lane, HS) * scale;
      const float m_new = fmaxf(m, s);
      const float corr = expf(m - m_new), p = expf(s - m_new);
      l = l * corr + p;
      LANE_DIMS(i, d) acc[i] = acc[i] * corr + p * v[kv_off + d];
      m = m_new;
    }
    float* o = out + ((b * T + t) * NH + h) * HS;
    const float inv = 1.0f / l;
    LANE_DIMS(i, d) o[d] = acc[i] * inv;
    if (lane == 0) lse[r] = m + logf(l);
  }
}

__global__ void attention_rowdot_k(float* D, const float* dout, const float* out, int64_t B, int64_t T, int64_t NH,
                                   int HS) {
  const int lane = threadIdx.x % 32;
  const int64_t rows = B * NH * T;
  for (int64_t r = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; r < rows;
       r += int64_t(gridDim.x) * kWarpsPerBlock) {
    const int64_t t = r % T, h = (r / T) % NH, b = r / (T * NH);
    const int64_t off = ((b * T + t) * NH + h) * HS;
    float s = 0.0f;
    LANE_DIMS(i, d) s += dout[off + d] * out[off + d];
    s = warp_sum(s);
    if (lane == 0) D[r] = s;
  }
}

__global__ void attention_dq_k(float* dq, const float* dout, const float* q, const float* k, const float* v,
                               const float* lse, const float* D, int64_t B, int64_t T, int64_t NH, int64_t NKV, int HS,
                               float scale) {
  const int lane = threadIdx.x % 32;
  const int64_t rows = B * NH * T;
  const int64_t group = NH / NKV;
  for (int64_t r = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; r < rows;
       r += int64_t(gridDim.x) * kWarpsPerBlock) {
    const int64_t t = r % T, h = (r / T) % NH, b = r / (T * NH), kvh = h / group;
    const int64_t off = ((b * T + t) * NH + h) * HS;
    float qv[kMaxPerLane] = {}, gv[kMaxPerLane] = {}, acc[kMaxPerLane] = {};
    LANE_DIMS(i, d) {
      qv[i] = q[off + d];
      gv[i] = dout[off + d];
    }
    const float lse_r = lse[r], D_r = D[r];
    for (int64_t j = 0; j <= t; ++j) {
      const int64_t kv_off = ((b * T + j) * NKV + kvh) * HS;
      const float p = expf(dot(qv, k + kv_off, lane, HS) * scale - lse_r);
      const float ds = p * (dot(gv, v + kv_off, lane, HS) - D_r);
      LANE_DIMS(i, d) acc[i] += ds * k[kv_off + d];
    }
    LANE_DIMS(i, d) dq[off + d] += acc[i] * scale;
  }
}

// key row rk = (b * NKV + kvh) * T + j
__global__ void attention_dkv_k(float* dk, float* dv, const float* dout, const float* q, const float* k,
                                const float* v, const float* lse, const float* D, int64_t B, int64_t T, int64_t NH,
                                int64_t NKV, int HS, float scale) {
  const int lane = threadIdx.x % 32;
  const int64_t rows = B * NKV * T;
  const int64_t group = NH / NKV;
  for (int64_t rk = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; rk < rows;
       rk += int64_t(gridDim.x) * kWarpsPerBlock) {
    const int64_t j = rk % T, kvh = (rk / T) % NKV, b = rk / (T * NKV);
    const int64_t kv_off = ((b * T + j) * NKV + kvh) * HS;
    float kv[kMaxPerLane] = {}, vv[kMaxPerLane] = {}, dk_acc[kMaxPerLane] = {}, dv_acc[kMaxPerLane] = {};
    LANE_DIMS(i, d) {
      kv[i] = k[kv_off + d];
      vv[i] = v[kv_off + d];
    }
    for (int64_t g = 0; g < group; ++g) {   // the kv head's query heads, in order
      const int64_t h = kvh * group + g;
      for (int64_t t = j; t < T; ++t) {
        const int64_t off = ((b * T + t) * NH + h) * HS;
        const int64_t r = (b * NH + h) * T + t;
        const float p = expf(dot(kv, q + off, lane, HS) * scale - lse[r]);
        const float ds = D ? p * (dot(vv, dout + off, lane, HS) - D[r]) : 0.0f;
        LANE_DIMS(i, d) {
          dv_acc[i] += p * dout[off + d];
          dk_acc[i] += ds * q[off + d];
        }
      }
    }
    LANE_DIMS(i, d) {
      if (dk) dk[kv_off + d] += dk_acc[i] * scale;
      if (dv) dv[kv_off + d] += dv_acc[i];
    }
  }
}

unsigned warp_grid(int64_t rows) {
  const int64_t want = (rows + kWarpsPerBlock - 1) / kWarpsPerBlock;
  return unsigned(want < (int64_t(1) << 20) ? want : (int64_t(1) << 20));
}

void check_shape(const char* what, int64_t B, int64_t T, int64_t NH, int64_t NKV, int64_t HS) {
  PLINTH_CHECK(B >= 0 && T >= 0 && NH > 0 && NKV > 0 && NH % NKV == 0 && HS > 0 && HS <= 32 * kMaxPerLane, Internal,
               what, ": unsupported shape B=", B, " T=", T, " NH=", NH, " NKV=", NKV, " HS=", HS,
               " (NH % NKV == 0 and HS <= ", 32 * kMaxPerLane, " on the CUDA backend)");
}

}  // namespace

void attention_forward(cudaStream_t s, float* out, float* lse, const float* q, const float* k, const float* v,
                       int64_t B, int64_t T, int64_t NH, int64_t NKV, int64_t HS) {
  check_shape("attention_forward", B, T, NH, NKV, HS);
  if (B * T == 0) return;
  const float scale = float(1.0 / std::sqrt(double(HS)));
  attention_forward_k<<<warp_grid(B * NH * T), 32 * kWarpsPerBlock, 0, s>>>(out, lse, q, k, v, B, T, NH, NKV, int(HS),
                                                                            scale);
  PLINTH_CUDA_LAUNCHED("attention_forward_k");
}

void attention_backward(cudaStream_t s, Scratch& scratch, float* dq, float* dk, float* dv, const float* dout,
                        const float* q, const float* k, const float* v, const float* out, const float* lse,
                        int64_t B, int64_t T, int64_t NH, int64_t NKV, int64_t HS) {
  check_shape("attention_backward", B, T, NH, NKV, HS);
  if (B * T == 0 || (!dq && !dk && !dv)) return;
  const float scale = float(1.0 / std::sqrt(double(HS)));
  const int64_t qrows = B * NH * T;
  float* D = nullptr;
  if (dq || dk) {
    D = static_cast<float*>(scratch.get(size_t(qrows) * sizeof(float)));
    attention_rowdot_k<<<warp_grid(qrows), 32 * kWarpsPerBlock, 0, s>>>(D, dout, out, B, T, NH, int(HS));
    PLINTH_CUDA_LAUNCHED("attention_rowdot_k");
  }
  if (dq) {
    attention_dq_k<<<warp_grid(qrows), 32 * kWarpsPerBlock, 0, s>>>(dq, dout, q, k, v, lse, D, B, T, NH, NKV, int(HS),
                                                                   scale);
    PLINTH_CUDA_LAUNCHED("attention_dq_k");
  }
  if (dk || dv) {
    attention_dkv_k<<<warp_grid(B * NKV * T), 32 * kWarpsPerBlock, 0, s>>>(dk, dv, dout, q, k, v, lse, D, B, T, NH,
                                                                           NKV, int(HS), scale);
    PLINTH_CUDA_LAUNCHED("attention_dkv_k");
  }
}

}  // namespace plinth::device::cuda
