// cuda_elementwise.cu -- the CUDA backend's elementwise kernels: fill/add/axpy/scale/bias rows,
// GELU (tanh approximation) and SwiGLU, casts f32 <-> bf16 (bit for bit kernels/cpu/loss_cast.cpp),
// RoPE (angles in double like kernels/cpu/rope.cpp), token and positional embeddings.
// Grid-stride loops, one thread per output element. Gradients of embeddings are deterministic
// without atomics: one thread owns one column and walks the rows in order (embedding_backward:
// the same order per element as the CPU, so bit-identical), or one (position, column) and walks
// the batch in order (positional_backward).
// Status: compiled, not yet run on a GPU.
#include <cmath>

#include "core/error.h"
#include "device/cuda_ops.h"

namespace plinth::device::cuda {
namespace {

constexpr int kThreads = 256;

#define GRID_STRIDE(i, n) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

__global__ void fill_k(float* x, float value, int64_t n) {
  GRID_STRIDE(i, n) x[i] = value;
}
__global__ void add_k(float* out, const float* a, const float* b, int64_t n) {
  GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}
__global__ void axpy_k(float* y, const float* x, float alpha, int64_t n) {
  GRID_STRIDE(i, n) y[i] += alpha * x[i];
}
__global__ void scale_k(float* x, float s, int64_t n) {
  GRID_STRIDE(i, n) x[i] *= s;
}
__global__ void add_bias_rows_k(float* x, const float* bias, int64_t n, int64_t C) {
  GRID_STRIDE(i, n) x[i] += bias[i % C];
}
__global__ void set_rows_k(float* x, const float* row, int64_t n, int64_t C) {
  GRID_STRIDE(i, n) x[i] = row[i % C];
}
__global__ void scale_matrix_k(float* c, int64_t M, int64_t N, int64_t ldc, int64_t stride, int64_t batch,
                               float beta) {
  GRID_STRIDE(i, batch * M * N) {
    const int64_t bi = i / (M * N), r = (i / N) % M, col = i % N;
    float* p = c + bi * stride + r * ldc + col;
    *p = beta == 0.0f ? 0.0f : beta * *p;
  }
}

constexpr float kGeluC = 0.7978845608028654f;   // sqrt(2 / pi)
constexpr float kGeluA = 0.044715f;

__global__ void gelu_forward_k(float* out, const float* inp, int64_t n) {
  GRID_STRIDE(i, n) {
    const float x = inp[i];
    out[i] = 0.5f * x * (1.0f + tanhf(kGeluC * (x + kGeluA * x * x * x)));
  }
}
__global__ void gelu_backward_k(float* dinp, const float* inp, const float* dout, int64_t n) {
  GRID_STRIDE(i, n) {
    const float x = inp[i];
    const float th = tanhf(kGeluC * (x + kGeluA * x * x * x));
    const float dth = kGeluC * (1.0f + 3.0f * kGeluA * x * x);
    const float grad = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * dth;
    dinp[i] += dout[i] * grad;
  }
}

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

__global__ void swiglu_forward_k(float* out, const float* gate, const float* up, int64_t n) {
  GRID_STRIDE(i, n) {
    const float g = gate[i];
    out[i] = g * sigmoid(g) * up[i];
  }
}
__global__ void swiglu_backward_k(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                                  int64_t n) {
  GRID_STRIDE(i, n) {
    const float g = gate[i], s = sigmoid(g);
    if (dgate) dgate[i] += dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
    if (dup) dup[i] += dout[i] * g * s;
  }
}

__global__ void cast_f32_to_bf16_k(uint16_t* dst, const float* src, int64_t n) {
  GRID_STRIDE(i, n) {
    const uint32_t u = __float_as_uint(src[i]);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) {
      dst[i] = static_cast<uint16_t>((u >> 16) | 0x0040u);   // NaN: keep it a (quiet) NaN
    } else {
      const uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);   // to nearest, ties to even
      dst[i] = static_cast<uint16_t>((u + rounding) >> 16);
    }
  }
}
__global__ void cast_bf16_to_f32_k(float* dst, const uint16_t* src, int64_t n) {
  GRID_STRIDE(i, n) dst[i] = __uint_as_float(static_cast<uint32_t>(src[i]) << 16);
}

// One thread per (b, t, h, i < HS/2) pair (i, i + HS/2). The angle, its cos and sin in double,
// then rounded to float, like kernels/cpu/rope.cpp's tables.
__global__ void rope_k(float* x, int64_t BT, int64_t T, int64_t H, int64_t HS, double theta, int64_t pos_offset,
                       float sign) {
  const int64_t half = HS / 2;
  GRID_STRIDE(idx, BT * H * half) {
    const int64_t i = idx % half, bth = idx / half, t = (bth / H) % T;
    const double inv_freq = pow(theta, -2.0 * double(i) / double(HS));
    const double ang = double(pos_offset + t) * inv_freq;
    const float cs = float(cos(ang)), sn = sign * float(sin(ang));
    float* x0 = x + bth * HS;
    const float a = x0[i], b = x0[i + half];
    x0[i] = a * cs - b * sn;
    x0[i + half] = a * sn + b * cs;
  }
}

// Tokens outside [v_begin, v_begin + v_local) give a zero row (negative ids included: the device
// cannot throw; the CPU reference rejects them with Error(Input)).
__global__ void embedding_forward_k(float* out, const int32_t* tokens, const float* wte, int64_t N, int64_t C,
                                    int64_t v_begin, int64_t v_local) {
  GRID_STRIDE(i, N * C) {
    const int64_t n = i / C, c = i % C, v = int64_t(tokens[n]) - v_begin;
    out[i] = (tokens[n] >= 0 && v >= 0 && v < v_local) ? wte[v * C + c] : 0.0f;
  }
}
// One thread per column: rows in order, so each dwte element sums in the CPU's order.
__global__ void embedding_backward_k(float* dwte, const float* dout, const int32_t* tokens, int64_t N, int64_t C,
                                     int64_t v_begin, int64_t v_local) {
  GRID_STRIDE(c, C) {
    for (int64_t n = 0; n < N; ++n) {
      const int64_t v = int64_t(tokens[n]) - v_begin;
      if (tokens[n] < 0 || v < 0 || v >= v_local) continue;
      dwte[v * C + c] += dout[n * C + c];
    }
  }
}
__global__ void positional_forward_k(float* out, const float* wpe, int64_t BT, int64_t T, int64_t C,
                                     int64_t pos_offset) {
  GRID_STRIDE(i, BT * C) {
    const int64_t bt = i / C, c = i % C;
    out[i] += wpe[(pos_offset + bt % T) * C + c];
  }
}
// One thread per (t, c): the batch in order.
__global__ void positional_backward_k(float* dwpe, const float* dout, int64_t B, int64_t T, int64_t C,
                                      int64_t pos_offset) {
  GRID_STRIDE(i, T * C) {
    const int64_t t = i / C, c = i % C;
    float acc = dwpe[(pos_offset + t) * C + c];
    for (int64_t b = 0; b < B; ++b) acc += dout[(b * T + t) * C + c];
    dwpe[(pos_offset + t) * C + c] = acc;
  }
}

}  // namespace

#define LAUNCH(kernel, n, ...)                                              \
  do {                                                                      \
    if ((n) <= 0) return;                                                   \
    kernel<<<grid_for((n), kThreads), kThreads, 0, s>>>(__VA_ARGS__);       \
    PLINTH_CUDA_LAUNCHED(#kernel);                                          \
  } while (0)

void fill(cudaStream_t s, float* x, float value, int64_t n) { LAUNCH(fill_k, n, x, value, n); }
void add(cudaStream_t s, float* out, const float* a, const float* b, int64_t n) { LAUNCH(add_k, n, out, a, b, n); }
void axpy(cudaStream_t s, float* y, const float* x, float alpha, int64_t n) { LAUNCH(axpy_k, n, y, x, alpha, n); }
void scale(cudaStream_t s, float* x, float alpha, int64_t n) { LAUNCH(scale_k, n, x, alpha, n); }
void add_bias_rows(cudaStream_t s, float* x, const float* bias, int64_t rows, int64_t C) {
  LAUNCH(add_bias_rows_k, rows * C, x, bias, rows * C, C);
}
void set_rows(cudaStream_t s, float* x, const float* row, int64_t rows, int64_t C) {
  LAUNCH(set_rows_k, rows * C, x, row, rows * C, C);
}
void scale_matrix(cudaStream_t s, float* c, int64_t M, int64_t N, int64_t ldc, int64_t stride, int64_t batch,
                  float beta) {
  if (beta == 1.0f) return;
  LAUNCH(scale_matrix_k, batch * M * N, c, M, N, ldc, stride, batch, beta);
}
void gelu_forward(cudaStream_t s, float* out, const float* inp, int64_t n) { LAUNCH(gelu_forward_k, n, out, inp, n); }
void gelu_backward(cudaStream_t s, float* dinp, const float* inp, const float* dout, int64_t n) {
  if (!dinp) return;
  LAUNCH(gelu_backward_k, n, dinp, inp, dout, n);
}
void swiglu_forward(cudaStream_t s, float* out, const float* gate, const float* up, int64_t n) {
  LAUNCH(swiglu_forward_k, n, out, gate, up, n);
}
void swiglu_backward(cudaStream_t s, float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                     int64_t n) {
  if (!dgate && !dup) return;
  LAUNCH(swiglu_backward_k, n, dgate, dup, dout, gate, up, n);
}
void cast_f32_to_bf16(cudaStream_t s, uint16_t* dst, const float* src, int64_t n) {
  LAUNCH(cast_f32_to_bf16_k, n, dst, src, n);
}
void cast_bf16_to_f32(cudaStream_t s, float* dst, const uint16_t* src, int64_t n) {
  LAUNCH(cast_bf16_to_f32_k, n, dst, src, n);
}
void rope(cudaStream_t s, float* x, int64_t B, int64_t T, int64_t H, int64_t HS, double theta, int64_t pos_offset,
          float sign) {
  PLINTH_CHECK(B >= 0 && T >= 0 && H > 0 && HS > 0 && HS % 2 == 0, Internal, "rope: bad shape B=", B, " T=", T,
               " H=", H, " HS=", HS, " (HS must be even)");
  PLINTH_CHECK(theta > 0, Internal, "rope: theta must be positive (got ", theta, ")");
  LAUNCH(rope_k, B * T * H * (HS / 2), x, B * T, T, H, HS, theta, pos_offset, sign);
}
void embedding_forward(cudaStream_t s, float* out, const int32_t* tokens, const float* wte, int64_t N, int64_t C,
                       int64_t v_begin, int64_t v_local) {
  PLINTH_CHECK(N >= 0 && C > 0, Internal, "embedding_forward: bad shape N=", N, " C=", C);
  LAUNCH(embedding_forward_k, N * C, out, tokens, wte, N, C, v_begin, v_local);
}
void embedding_backward(cudaStream_t s, float* dwte, const float* dout, const int32_t* tokens, int64_t N, int64_t C,
                        int64_t v_begin, int64_t v_local) {
  PLINTH_CHECK(N >= 0 && C > 0, Internal, "embedding_backward: bad shape N=", N, " C=", C);
  if (N == 0) return;
  LAUNCH(embedding_backward_k, C, dwte, dout, tokens, N, C, v_begin, v_local);
}
void positional_forward(cudaStream_t s, float* out, const float* wpe, int64_t B, int64_t T, int64_t C,
                        int64_t pos_offset) {
  PLINTH_CHECK(B >= 0 && T >= 0 && C > 0 && pos_offset >= 0, Internal, "positional_forward: bad shape B=", B,
               " T=", T, " C=", C, " pos_offset=", pos_offset);
  LAUNCH(positional_forward_k, B * T * C, out, wpe, B * T, T, C, pos_offset);
}
void positional_backward(cudaStream_t s, float* dwpe, const float* dout, int64_t B, int64_t T, int64_t C,
                         int64_t pos_offset) {
  PLINTH_CHECK(B >= 0 && T >= 0 && C > 0 && pos_offset >= 0, Internal, "positional_backward: bad shape B=", B,
               " T=", T, " C=", C, " pos_offset=", pos_offset);
  if (B == 0) return;
  LAUNCH(positional_backward_k, T * C, dwpe, dout, B, T, C, pos_offset);
}

}  // namespace plinth::device::cuda
