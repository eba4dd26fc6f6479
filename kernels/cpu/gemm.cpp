// gemm.cpp -- the row-major GEMM wrapper over CBLAS (sgemm / dgemm).
// c (M, N) = alpha * op(a) @ op(b) + beta * c. Leading dimensions are row strides, so callers
// can address a strided sub-matrix (e.g. one head of a (T, heads, HS) tensor) without copying.
// Sizes are checked to fit BLAS's 32-bit integers; violations throw plinth::Error (Internal).
#include <cblas.h>

#include <climits>
#include <type_traits>

#include "core/error.h"
#include "kernels/kernels.h"

namespace plinth::kernels {

template <typename F>
void gemm(Trans trans_a, Trans trans_b, int64_t M, int64_t N, int64_t K, F alpha, const F* a,
          int64_t lda, const F* b, int64_t ldb, F beta, F* c, int64_t ldc) {
  PLINTH_CHECK(M >= 0 && N >= 0 && K >= 0, Internal, "gemm: negative size (", M, ", ", N, ", ", K, ")");
  if (M == 0 || N == 0) return;
  const bool ta = trans_a == Trans::Yes, tb = trans_b == Trans::Yes;
  // a: op(a) is (M, K), stored (M, K) or (K, M); b: op(b) is (K, N), stored (K, N) or (N, K).
  const int64_t a_cols = ta ? M : K, b_cols = tb ? K : N;
  PLINTH_CHECK(lda >= (a_cols > 0 ? a_cols : 1) && ldb >= (b_cols > 0 ? b_cols : 1) && ldc >= N, Internal,
               "gemm: leading dimension too small (lda=", lda, " ldb=", ldb, " ldc=", ldc, " M=", M,
               " N=", N, " K=", K, ")");
  PLINTH_CHECK(M <= INT_MAX && N <= INT_MAX && K <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX &&
                   ldc <= INT_MAX,
               Internal, "gemm: size exceeds 32-bit BLAS integers");
  const CBLAS_TRANSPOSE cta = ta ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE ctb = tb ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<F, float>) {
    cblas_sgemm(CblasRowMajor, cta, ctb, int(M), int(N), int(K), alpha, a, int(lda), b, int(ldb), beta, c,
                int(ldc));
  } else {
    cblas_dgemm(CblasRowMajor, cta, ctb, int(M), int(N), int(K), alpha, a, int(lda), b, int(ldb), beta, c,
                int(ldc));
  }
}

template void gemm<float>(Trans, Trans, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t);
template void gemm<double>(Trans, Trans, int64_t, int64_t, int64_t, double, const double*, int64_t,
                           const double*, int64_t, double, double*, int64_t);

}  // namespace plinth::kernels
