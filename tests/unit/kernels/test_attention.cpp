// test_attention.cpp -- blocked causal attention (online softmax) with GQA.
// The reference here materialises the full (T, T) softmax per (b, h) in double. T = 67 and
// T = 130 span two and three 64-row blocks with a ragged last block. Backward (double) is
// checked with central finite differences of L = sum(out * R); float and double kernels agree.
#include "kernel_test_util.h"
#include "kernels/kernels.h"

namespace plinth::kernels::test {
namespace {

struct Shape {
  int64_t B, T, NH, NKV, HS;
  size_t q_size() const { return size_t(B * T * NH * HS); }
  size_t kv_size() const { return size_t(B * T * NKV * HS); }
};

// q (B, T, NH, HS), k, v (B, T, NKV, HS) -> out (B, T, NH, HS), lse (B, NH, T)
void ref_attention(const Shape& s, const Vec& q, const Vec& k, const Vec& v, Vec* out, Vec* lse) {
  const auto [B, T, NH, NKV, HS] = s;
  out->assign(s.q_size(), 0.0);
  lse->assign(size_t(B * NH * T), 0.0);
  const double scale = 1.0 / std::sqrt(double(HS));
  Vec p(T * T);  // full softmax matrix (test only)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < NH; ++h) {
      const int64_t g = h / (NH / NKV);
      for (int64_t i = 0; i < T; ++i) {
        double mx = -1e300;
        for (int64_t j = 0; j <= i; ++j) {
          double sc = 0;
          for (int64_t d = 0; d < HS; ++d) sc += q[((b * T + i) * NH + h) * HS + d] * k[((b * T + j) * NKV + g) * HS + d];
          p[i * T + j] = sc * scale;
          mx = std::max(mx, sc * scale);
        }
        double sum = 0;
        for (int64_t j = 0; j <= i; ++j) sum += std::exp(p[i * T + j] - mx);
        for (int64_t j = 0; j <= i; ++j) p[i * T + j] = std::exp(p[i * T + j] - mx) / sum;
        (*lse)[(b * NH + h) * T + i] = mx + std::log(sum);
        for (int64_t j = 0; j <= i; ++j)
          for (int64_t d = 0; d < HS; ++d)
            (*out)[((b * T + i) * NH + h) * HS + d] += p[i * T + j] * v[((b * T + j) * NKV + g) * HS + d];
      }
    }
}

void check_forward_float(const Shape& s, uint64_t seed) {
  const Vec q = randn(s.q_size(), seed, 1.5), k = randn(s.kv_size(), seed + 1, 1.5), v = randn(s.kv_size(), seed + 2);
  Vec out, lse;
  ref_attention(s, q, k, v, &out, &lse);
  std::vector<float> fo(s.q_size(), 7.0f), fl(size_t(s.B * s.NH * s.T), 7.0f);
  attention_forward<float>(fo.data(), fl.data(), cast<float>(q).data(), cast<float>(k).data(), cast<float>(v).data(),
                           s.B, s.T, s.NH, s.NKV, s.HS);
  const std::string tag = "T=" + std::to_string(s.T) + " NH=" + std::to_string(s.NH) + " NKV=" + std::to_string(s.NKV);
  expect_close(fo, out, 1e-5, "attention out " + tag);
  expect_close(fl, lse, 1e-5, "attention lse " + tag);
}

TEST(Attention, ForwardMatchesNaiveSoftmax) {
  check_forward_float({2, 130, 4, 2, 16}, 100);  // GQA, three blocks
  check_forward_float({1, 67, 3, 3, 8}, 200);    // MHA, two blocks
  check_forward_float({2, 64, 4, 1, 32}, 300);   // MQA, exactly one block
  check_forward_float({3, 1, 2, 2, 4}, 400);     // single token
}

void check_backward_fd(const Shape& s, uint64_t seed, size_t max_coords) {
  Vec q = randn(s.q_size(), seed), k = randn(s.kv_size(), seed + 1), v = randn(s.kv_size(), seed + 2);
  const Vec R = randn(s.q_size(), seed + 3);
  Vec out(s.q_size()), lse(size_t(s.B * s.NH * s.T));
  auto loss = [&] {
    attention_forward<double>(out.data(), lse.data(), q.data(), k.data(), v.data(), s.B, s.T, s.NH, s.NKV, s.HS);
    return dot(out, R);
  };
  loss();
  const Vec out0 = out, lse0 = lse;
  Vec dq(s.q_size()), dk(s.kv_size()), dv(s.kv_size());
  attention_backward<double>(dq.data(), dk.data(), dv.data(), R.data(), q.data(), k.data(), v.data(), out0.data(),
                             lse0.data(), s.B, s.T, s.NH, s.NKV, s.HS);
  const std::string tag = " T=" + std::to_string(s.T) + " NH=" + std::to_string(s.NH) + " NKV=" + std::to_string(s.NKV);
  check_grad("attention dq" + tag, q, dq, loss, max_coords);
  check_grad("attention dk" + tag, k, dk, loss, max_coords);
  check_grad("attention dv" + tag, v, dv, loss, max_coords);
  // Accumulates: a second call doubles every gradient.
  Vec dq2 = dq, dk2 = dk, dv2 = dv;
  attention_backward<double>(dq2.data(), dk2.data(), dv2.data(), R.data(), q.data(), k.data(), v.data(), out0.data(),
                             lse0.data(), s.B, s.T, s.NH, s.NKV, s.HS);
  expect_scaled(dq2, dq, 2.0, "attention dq twice" + tag);
  expect_scaled(dk2, dk, 2.0, "attention dk twice" + tag);
  expect_scaled(dv2, dv, 2.0, "attention dv twice" + tag);
  // Null gradient pointers: the others are unchanged.
  Vec dv_only(s.kv_size()), dq_only(s.q_size());
  attention_backward<double>(nullptr, nullptr, dv_only.data(), R.data(), q.data(), k.data(), v.data(), out0.data(),
                             lse0.data(), s.B, s.T, s.NH, s.NKV, s.HS);
  attention_backward<double>(dq_only.data(), nullptr, nullptr, R.data(), q.data(), k.data(), v.data(), out0.data(),
                             lse0.data(), s.B, s.T, s.NH, s.NKV, s.HS);
  expect_close(dv_only, dv, 1e-14, "attention dv alone" + tag);
  expect_close(dq_only, dq, 1e-14, "attention dq alone" + tag);
}

TEST(Attention, BackwardFiniteDifferencesGqaT67) { check_backward_fd({1, 67, 4, 2, 8}, 500, 5000); }
TEST(Attention, BackwardFiniteDifferencesMhaT67) { check_backward_fd({2, 67, 2, 2, 4}, 600, 5000); }
TEST(Attention, BackwardFiniteDifferencesGqaT130) { check_backward_fd({1, 130, 4, 2, 8}, 700, 400); }
TEST(Attention, BackwardFiniteDifferencesMhaT130) { check_backward_fd({1, 130, 4, 4, 4}, 800, 400); }

TEST(Attention, FloatAgreesWithDouble) {
  const Shape s{2, 130, 4, 2, 32};
  const Vec q = randn(s.q_size(), 900), k = randn(s.kv_size(), 901), v = randn(s.kv_size(), 902);
  const Vec g = randn(s.q_size(), 903);
  Vec out(s.q_size()), lse(size_t(s.B * s.NH * s.T)), dq(s.q_size()), dk(s.kv_size()), dv(s.kv_size());
  attention_forward<double>(out.data(), lse.data(), q.data(), k.data(), v.data(), s.B, s.T, s.NH, s.NKV, s.HS);
  attention_backward<double>(dq.data(), dk.data(), dv.data(), g.data(), q.data(), k.data(), v.data(), out.data(),
                             lse.data(), s.B, s.T, s.NH, s.NKV, s.HS);
  const std::vector<float> fq = cast<float>(q), fk = cast<float>(k), fv = cast<float>(v), fg = cast<float>(g);
  std::vector<float> fo(s.q_size()), fl(lse.size()), fdq(s.q_size()), fdk(s.kv_size()), fdv(s.kv_size());
  attention_forward<float>(fo.data(), fl.data(), fq.data(), fk.data(), fv.data(), s.B, s.T, s.NH, s.NKV, s.HS);
  attention_backward<float>(fdq.data(), fdk.data(), fdv.data(), fg.data(), fq.data(), fk.data(), fv.data(), fo.data(),
                            fl.data(), s.B, s.T, s.NH, s.NKV, s.HS);
  expect_close(fo, out, 1e-5, "attention out float vs double");
  expect_close(fl, lse, 1e-5, "attention lse float vs double");
  expect_close(fdq, dq, 1e-4, "attention dq float vs double");
  expect_close(fdk, dk, 1e-4, "attention dk float vs double");
  expect_close(fdv, dv, 1e-4, "attention dv float vs double");
}

TEST(Attention, ResultsIndependentOfThreadCount) {
  const Shape s{2, 130, 6, 2, 16};
  const std::vector<float> q = randn<float>(s.q_size(), 1000), k = randn<float>(s.kv_size(), 1001),
                           v = randn<float>(s.kv_size(), 1002), g = randn<float>(s.q_size(), 1003);
  auto run = [&](int threads) {
    set_num_threads(threads);
    std::vector<float> out(s.q_size()), lse(size_t(s.B * s.NH * s.T)), dq(s.q_size()), dk(s.kv_size()),
        dv(s.kv_size());
    attention_forward<float>(out.data(), lse.data(), q.data(), k.data(), v.data(), s.B, s.T, s.NH, s.NKV, s.HS);
    attention_backward<float>(dq.data(), dk.data(), dv.data(), g.data(), q.data(), k.data(), v.data(), out.data(),
                              lse.data(), s.B, s.T, s.NH, s.NKV, s.HS);
    set_num_threads(1);
    for (auto* x : {&lse, &dq, &dk, &dv}) out.insert(out.end(), x->begin(), x->end());
    return out;
  };
  EXPECT_EQ(run(1), run(3));  // bitwise: every task's arithmetic is the same
}

TEST(Attention, RejectsBadHeadCounts) {
  std::vector<float> buf(64);
  EXPECT_THROW(attention_forward<float>(buf.data(), buf.data(), buf.data(), buf.data(), buf.data(), 1, 1, 3, 2, 4),
               std::exception);
}

}  // namespace
}  // namespace plinth::kernels::test
