// test_kernel_variants.cpp -- the instruction-set variants of the hot CPU kernels (kernels/cpu/isa.h).
// Every variant this CPU can run (avx2, avx512) is called explicitly on the same inputs as the
// baseline variant and must agree with it to 3e-6 relative-ish in float: they differ only in
// rounding (FMA contraction) and in the summation order of vector-width-dependent reductions.
// The variant the public kernels use is the widest available, or the one PLINTH_CPU_ISA names
// (ctest also runs test_kernels with PLINTH_CPU_ISA=baseline, against the references there).
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/cpu/isa.h"
#include "kernels/kernels.h"

namespace plinth::kernels::test {
namespace {

using detail::CpuIsa;
using detail::isa_available;
using detail::isa_name;
using Floats = std::vector<float>;

constexpr double kTol = 3e-6;  // measured worst: 1.3e-6 (layernorm dx, avx512)

CpuIsa widest_available() {
  for (CpuIsa isa : {CpuIsa::Avx512, CpuIsa::Avx2})
    if (isa_available(isa)) return isa;
  return CpuIsa::Default;
}

TEST(KernelVariant, TheWidestAvailableRunsUnlessPlinthCpuIsaNamesOne) {
  EXPECT_TRUE(isa_available(CpuIsa::Default));
  const char* env = std::getenv("PLINTH_CPU_ISA");
  const std::string want = env && *env && std::string(env) != "auto" ? env : isa_name(widest_available());
  EXPECT_EQ(cpu_isa_name(), want);
  const std::string setup = compute_setup();
  EXPECT_NE(setup.find("kernels=" + want), std::string::npos) << setup;
  std::cout << "kernel variant: " << cpu_isa_name() << "\n";
}

TEST(KernelVariant, PortableBuildRequiresNothingBeyondTheBaseline) {
  if (!PLINTH_KERNELS_MULTI_ISA) GTEST_SKIP() << "one-variant build (PLINTH_NATIVE=ON or not x86-64 GCC)";
  EXPECT_TRUE(build_isa_requirements().empty());
}

#if PLINTH_KERNELS_MULTI_ISA

// The function `fn` of variant `isa`, e.g. VARIANT(isa, gelu_forward<float>).
template <typename Fn>
Fn pick_variant(CpuIsa isa, Fn default_fn, Fn avx2_fn, Fn avx512_fn) {
  return isa == CpuIsa::Avx512 ? avx512_fn : isa == CpuIsa::Avx2 ? avx2_fn : default_fn;
}
#define VARIANT(isa, fn) pick_variant(isa, &isa_default::fn, &isa_avx2::fn, &isa_avx512::fn)

// compute(isa) returns every output of one kernel call as one vector; each wider variant this
// CPU runs must reproduce the baseline's.
void expect_variants_agree(const std::string& what, const std::function<Floats(CpuIsa)>& compute) {
  std::vector<CpuIsa> wider;
  for (CpuIsa isa : {CpuIsa::Avx2, CpuIsa::Avx512})
    if (isa_available(isa)) wider.push_back(isa);
  if (wider.empty()) GTEST_SKIP() << "this CPU runs the baseline variant only";
  const Floats want = compute(CpuIsa::Default);
  for (CpuIsa isa : wider) expect_close(compute(isa), want, kTol, what + " (" + isa_name(isa) + " vs baseline)");
}

Floats randf(size_t n, uint64_t seed, double stddev = 1.0) { return randn<float>(n, seed, stddev); }

Floats concat(std::initializer_list<const Floats*> parts) {
  Floats out;
  for (const Floats* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

// Longer than kParallelMin and not a multiple of any vector width: parallel path and tails.
constexpr int64_t kN = 3 * (1 << 15) + 13;

TEST(KernelVariant, ActivationsAgree) {
  const Floats x = randf(kN, 1, 3.0), y = randf(kN, 2, 3.0), g = randf(kN, 3);
  expect_variants_agree("gelu", [&](CpuIsa isa) {
    Floats out(kN), dx = randf(kN, 4);
    VARIANT(isa, gelu_forward<float>)(out.data(), x.data(), kN);
    VARIANT(isa, gelu_backward<float>)(dx.data(), x.data(), g.data(), kN);
    return concat({&out, &dx});
  });
  expect_variants_agree("swiglu", [&](CpuIsa isa) {
    Floats out(kN), dgate = randf(kN, 5), dup = randf(kN, 6), dgate_only(kN), dup_only(kN);
    VARIANT(isa, swiglu_forward<float>)(out.data(), x.data(), y.data(), kN);
    VARIANT(isa, swiglu_backward<float>)(dgate.data(), dup.data(), g.data(), x.data(), y.data(), kN);
    VARIANT(isa, swiglu_backward<float>)(dgate_only.data(), nullptr, g.data(), x.data(), y.data(), kN);
    VARIANT(isa, swiglu_backward<float>)(nullptr, dup_only.data(), g.data(), x.data(), y.data(), kN);
    return concat({&out, &dgate, &dup, &dgate_only, &dup_only});
  });
}

TEST(KernelVariant, ElementwiseAndReductionsAgree) {
  const Floats x = randf(kN, 7), y = randf(kN, 8);
  expect_variants_agree("add, axpy, scale, sum_squares", [&](CpuIsa isa) {
    Floats sum(kN), acc = y, scaled = x;
    VARIANT(isa, add_forward<float>)(sum.data(), x.data(), y.data(), kN);
    VARIANT(isa, axpy<float>)(acc.data(), x.data(), 0.37f, kN);
    VARIANT(isa, scale<float>)(scaled.data(), -1.7f, kN);
    const double ss = VARIANT(isa, sum_squares<float>)(x.data(), kN);
    Floats out = concat({&sum, &acc, &scaled});
    out.push_back(float(ss));
    return out;
  });
}

TEST(KernelVariant, NormsAgree) {
  const int64_t N = 37, C = 771;
  const Floats x = randf(N * C, 9, 2.0), w = randf(C, 10), b = randf(C, 11), g = randf(N * C, 12);
  expect_variants_agree("layernorm", [&](CpuIsa isa) {
    Floats out(N * C), mean(N), rstd(N), dx(N * C), dw(C), db(C);
    VARIANT(isa, layernorm_forward<float>)(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C,
                                           1e-5f);
    VARIANT(isa, layernorm_backward<float>)(dx.data(), dw.data(), db.data(), g.data(), x.data(), w.data(),
                                            mean.data(), rstd.data(), N, C);
    return concat({&out, &mean, &rstd, &dx, &dw, &db});
  });
  expect_variants_agree("rmsnorm", [&](CpuIsa isa) {
    Floats out(N * C), rstd(N), dx(N * C), dw(C);
    VARIANT(isa, rmsnorm_forward<float>)(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5f);
    VARIANT(isa, rmsnorm_backward<float>)(dx.data(), dw.data(), g.data(), x.data(), w.data(), rstd.data(), N, C);
    return concat({&out, &rstd, &dx, &dw});
  });
}

TEST(KernelVariant, AttentionAgrees) {
  // T = 150: two full key blocks and a partial one; grouped-query heads.
  const int64_t B = 2, T = 150, NH = 4, NKV = 2, HS = 32;
  const Floats q = randf(B * T * NH * HS, 13), k = randf(B * T * NKV * HS, 14), v = randf(B * T * NKV * HS, 15);
  const Floats dout = randf(B * T * NH * HS, 16);
  expect_variants_agree("attention", [&](CpuIsa isa) {
    Floats out(q.size()), lse(B * NH * T), dq(q.size()), dk(k.size()), dv(v.size());
    VARIANT(isa, attention_forward<float>)(out.data(), lse.data(), q.data(), k.data(), v.data(), B, T, NH, NKV, HS);
    VARIANT(isa, attention_backward<float>)(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(),
                                            v.data(), out.data(), lse.data(), B, T, NH, NKV, HS);
    return concat({&out, &lse, &dq, &dk, &dv});
  });
}

TEST(KernelVariant, CrossEntropyAgrees) {
  const int64_t N = 9, V = 5003, Vp = 5056;
  const Floats logits = randf(N * Vp, 17, 4.0), dlosses = randf(N, 18);
  std::vector<int32_t> targets{0, 17, 5002, -1, 4095, 2048, 1, 3000, 77};
  expect_variants_agree("cross-entropy", [&](CpuIsa isa) {
    Floats losses(N), dlogits(N * Vp);
    VARIANT(isa, crossentropy_forward<float>)(losses.data(), logits.data(), targets.data(), N, V, Vp);
    VARIANT(isa, crossentropy_backward<float>)(dlogits.data(), logits.data(), targets.data(), dlosses.data(), N, V,
                                               Vp);
    return concat({&losses, &dlogits});
  });
}

TEST(KernelVariant, AdamWAgrees) {
  const Floats p0 = randf(kN, 19), g = randf(kN, 20, 0.1), m0 = randf(kN, 21, 0.01);
  Floats v0 = randf(kN, 22, 0.01);
  for (float& x : v0) x = x * x;
  expect_variants_agree("adamw", [&](CpuIsa isa) {
    Floats p = p0, m = m0, v = v0;
    VARIANT(isa, adamw_update)(p.data(), g.data(), m.data(), v.data(), kN,
                               AdamWArgs{3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, 7, 0.5f});
    return concat({&p, &m, &v});
  });
}

#endif  // PLINTH_KERNELS_MULTI_ISA

}  // namespace
}  // namespace plinth::kernels::test
