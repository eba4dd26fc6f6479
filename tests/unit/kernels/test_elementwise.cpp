// test_elementwise.cpp -- GELU, SwiGLU, add, axpy, scale, sum_squares, RoPE, AdamW, setup.
// Float forwards against double formulas written here (1e-5 relative-ish; the float kernels
// use a polynomial exp), double backwards against central finite differences (1e-6).
#include <cmath>

#include "kernel_test_util.h"
#include "kernels/kernels.h"

namespace plinth::kernels::test {
namespace {

double ref_gelu(double x) {
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}
double ref_silu(double x) { return x / (1.0 + std::exp(-x)); }

// Includes large |x| to exercise the saturated ends of tanh / sigmoid.
Vec activation_inputs(size_t n, uint64_t seed) {
  Vec x = randn(n, seed, 3.0);
  x[0] = 0.0;
  x[1] = 40.0;
  x[2] = -40.0;
  x[3] = 1e-4;
  x[4] = -100.0;
  return x;
}

TEST(Gelu, ForwardMatchesFormula) {
  const Vec x = activation_inputs(5000, 1);
  std::vector<float> out(x.size());
  gelu_forward<float>(out.data(), cast<float>(x).data(), int64_t(x.size()));
  Vec want(x.size());
  for (size_t i = 0; i < x.size(); ++i) want[i] = ref_gelu(x[i]);
  expect_close(out, want, 1e-5, "gelu_forward");
}

TEST(Gelu, BackwardFiniteDifferencesAndAccumulates) {
  const int64_t n = 300;
  Vec x = randn(n, 2, 2.0);
  const Vec R = randn(n, 3);
  auto loss = [&] {
    Vec out(n);
    gelu_forward<double>(out.data(), x.data(), n);
    return dot(out, R);
  };
  Vec dx(n);
  gelu_backward<double>(dx.data(), x.data(), R.data(), n);
  check_grad("gelu dinp", x, dx, loss);
  Vec dx2 = dx;
  gelu_backward<double>(dx2.data(), x.data(), R.data(), n);
  expect_scaled(dx2, dx, 2.0, "gelu dinp twice");
}

TEST(Gelu, FloatBackwardMatchesDouble) {
  const Vec x = activation_inputs(4096, 4), g = randn(4096, 5);
  Vec dd(x.size());
  gelu_backward<double>(dd.data(), x.data(), g.data(), int64_t(x.size()));
  std::vector<float> df(x.size());
  gelu_backward<float>(df.data(), cast<float>(x).data(), cast<float>(g).data(), int64_t(x.size()));
  expect_close(df, dd, 1e-5, "gelu_backward float vs double");
}

TEST(Swiglu, ForwardMatchesFormula) {
  const Vec gate = activation_inputs(5000, 6), up = randn(5000, 7);
  std::vector<float> out(gate.size());
  swiglu_forward<float>(out.data(), cast<float>(gate).data(), cast<float>(up).data(), int64_t(gate.size()));
  Vec want(gate.size());
  for (size_t i = 0; i < gate.size(); ++i) want[i] = ref_silu(gate[i]) * up[i];
  expect_close(out, want, 1e-5, "swiglu_forward");
}

TEST(Swiglu, BackwardFiniteDifferencesAndAccumulates) {
  const int64_t n = 300;
  Vec gate = randn(n, 8, 2.0), up = randn(n, 9);
  const Vec R = randn(n, 10);
  auto loss = [&] {
    Vec out(n);
    swiglu_forward<double>(out.data(), gate.data(), up.data(), n);
    return dot(out, R);
  };
  Vec dg(n), du(n);
  swiglu_backward<double>(dg.data(), du.data(), R.data(), gate.data(), up.data(), n);
  check_grad("swiglu dgate", gate, dg, loss);
  check_grad("swiglu dup", up, du, loss);
  Vec dg2 = dg, du2 = du;
  swiglu_backward<double>(dg2.data(), du2.data(), R.data(), gate.data(), up.data(), n);
  expect_scaled(dg2, dg, 2.0, "swiglu dgate twice");
  expect_scaled(du2, du, 2.0, "swiglu dup twice");
  // One gradient at a time (null pointer = not needed) gives the same values.
  Vec dg1(n), du1(n);
  swiglu_backward<double>(dg1.data(), nullptr, R.data(), gate.data(), up.data(), n);
  swiglu_backward<double>(nullptr, du1.data(), R.data(), gate.data(), up.data(), n);
  expect_close(dg1, dg, 1e-15, "swiglu dgate alone");
  expect_close(du1, du, 1e-15, "swiglu dup alone");
}

TEST(Elementwise, AddAxpyScaleSumSquares) {
  const int64_t n = 100003;  // above the parallel threshold, odd length
  const Vec a = randn(n, 11), b = randn(n, 12);
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    std::vector<float> fa = cast<float>(a), fb = cast<float>(b), out(n);
    add_forward<float>(out.data(), fa.data(), fb.data(), n);
    add_forward<float>(fa.data(), fa.data(), fb.data(), n);  // aliasing out == a
    Vec want(n);
    for (int64_t i = 0; i < n; ++i) want[i] = double(float(a[i])) + double(float(b[i]));
    expect_close(out, want, 1e-7, "add_forward");
    expect_close(fa, want, 1e-7, "add_forward aliased");
    Vec y = a;
    axpy<double>(y.data(), b.data(), -0.25, n);
    for (int64_t i = 0; i < n; ++i) want[i] = a[i] - 0.25 * b[i];
    expect_close(y, want, 1e-15, "axpy");
    scale<double>(y.data(), 3.0, n);
    for (int64_t i = 0; i < n; ++i) want[i] *= 3.0;
    expect_close(y, want, 1e-15, "scale");
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += double(float(a[i])) * double(float(a[i]));
    EXPECT_NEAR(sum_squares<float>(cast<float>(a).data(), n), ss, 1e-10 * ss);
    EXPECT_NEAR(sum_squares<double>(a.data(), n), dot(a, a), 1e-10 * ss);
  }
  set_num_threads(1);
}

// ---- rope ----

// Direct formula: pair (i, i + HS/2), angle (pos_offset + t) * theta^(-2i/HS).
Vec ref_rope(Vec x, int64_t B, int64_t T, int64_t H, int64_t HS, double theta, int64_t off) {
  const int64_t half = HS / 2;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < half; ++i) {
          double* p = &x[((b * T + t) * H + h) * HS];
          const double ang = double(off + t) * std::pow(theta, -2.0 * i / HS);
          const double x0 = p[i], x1 = p[i + half];
          p[i] = x0 * std::cos(ang) - x1 * std::sin(ang);
          p[i + half] = x0 * std::sin(ang) + x1 * std::cos(ang);
        }
  return x;
}

TEST(Rope, ForwardMatchesFormula) {
  const int64_t B = 2, T = 37, H = 3, HS = 16, off = 5;
  const Vec x = randn(B * T * H * HS, 21);
  std::vector<float> xf = cast<float>(x);
  rope_forward<float>(xf.data(), B, T, H, HS, 10000.0, off);
  expect_close(xf, ref_rope(x, B, T, H, HS, 10000.0, off), 1e-5, "rope_forward");
}

TEST(Rope, BackwardFiniteDifferencesAndInverse) {
  const int64_t B = 2, T = 9, H = 2, HS = 8, off = 3;
  const double theta = 500000.0;
  Vec x = randn(B * T * H * HS, 22);
  const Vec R = randn(x.size(), 23);
  auto loss = [&] {
    Vec y = x;
    rope_forward<double>(y.data(), B, T, H, HS, theta, off);
    return dot(y, R);
  };
  Vec dx = R;  // in place: the gradient wrt the input is the inverse rotation of dout
  rope_backward<double>(dx.data(), B, T, H, HS, theta, off);
  check_grad("rope dx", x, dx, loss);
  Vec y = x;
  rope_forward<double>(y.data(), B, T, H, HS, theta, off);
  rope_backward<double>(y.data(), B, T, H, HS, theta, off);
  expect_close(y, x, 1e-14, "rope backward(forward(x)) == x");
}

// ---- adamw ----

TEST(AdamW, MatchesScalarReferenceOverSteps) {
  const int64_t n = 70001;  // parallel path
  const Vec p0 = randn(n, 31), m0 = randn(n, 32, 0.1);
  Vec v0 = randn(n, 33, 0.1);
  for (auto& x : v0) x = x * x;
  std::vector<float> p = cast<float>(p0), m = cast<float>(m0), v = cast<float>(v0);
  Vec rp = cast<double>(p), rm = cast<double>(m), rv = cast<double>(v);
  AdamWArgs args{3e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 0, 0.5f};
  set_num_threads(2);
  for (int64_t step = 1; step <= 3; ++step) {
    const std::vector<float> g = randn<float>(n, 40 + step);
    args.step = step;
    adamw_update(p.data(), g.data(), m.data(), v.data(), n, args);
    const double b1 = args.beta1, b2 = args.beta2;
    for (int64_t i = 0; i < n; ++i) {
      const double gi = double(g[i]) * args.grad_scale;
      rm[i] = b1 * rm[i] + (1 - b1) * gi;
      rv[i] = b2 * rv[i] + (1 - b2) * gi * gi;
      const double mhat = rm[i] / (1 - std::pow(b1, step)), vhat = rv[i] / (1 - std::pow(b2, step));
      rp[i] -= args.lr * (mhat / (std::sqrt(vhat) + args.eps) + args.weight_decay * rp[i]);
    }
  }
  set_num_threads(1);
  expect_close(m, rm, 1e-6, "adamw m");
  expect_close(v, rv, 1e-6, "adamw v");
  expect_close(p, rp, 1e-6, "adamw p");
}

TEST(AdamW, WeightDecayOnlyWhenGradientIsZero) {
  // g = 0, m = v = 0: the update is exactly p -= lr * wd * p.
  std::vector<float> p{1.0f, -2.0f, 0.5f}, g(3, 0.0f), m(3, 0.0f), v(3, 0.0f);
  adamw_update(p.data(), g.data(), m.data(), v.data(), 3, AdamWArgs{0.1f, 0.9f, 0.999f, 1e-8f, 0.5f, 1, 1.0f});
  expect_close(p, Vec{0.95, -1.9, 0.475}, 1e-7, "adamw decay");
}

TEST(Setup, DescribesThreadsBlasAndSimd) {
  set_num_threads(2);
  EXPECT_EQ(num_threads(), 2);
  const std::string s = compute_setup();
  set_num_threads(1);
  EXPECT_EQ(num_threads(), 1);
  EXPECT_NE(s.find("threads=2"), std::string::npos) << s;
  EXPECT_NE(s.find("blas=OpenBLAS"), std::string::npos) << s;
  EXPECT_NE(s.find("simd="), std::string::npos) << s;
  std::cout << "compute_setup: " << s << "\n";
  EXPECT_THROW(set_num_threads(0), std::exception);
}

}  // namespace
}  // namespace plinth::kernels::test
