/* Tucker's node-local numerics: a block's mode-n unfolding by columns, the n-mode product
 * (TTM) of a C-order block with a matrix, and the contraction of a core with one row of
 * every factor. */
#include <string.h>

#include "blas.h"
#include "dtf/kernels.h"

/* the modes before and after `mode`: A and B of the block viewed as A x dims[mode] x B */
static void outer_inner(int N, const int64_t *dims, int mode, int64_t *A, int64_t *B) {
  *A = *B = 1;
  for (int k = 0; k < mode; k++) *A *= dims[k];
  for (int k = mode + 1; k < N; k++) *B *= dims[k];
}

void dtf_unfold_columns(int N, const int64_t *dims, int mode, const double *X, int64_t j0, int64_t j1,
                        double scale, double *out) {
  int64_t A, B, L = dims[mode], c = j1 - j0;
  outer_inner(N, dims, mode, &A, &B);
  (void)A;
  for (int64_t i = 0; i < L; i++) {
    double *o = out + i * c;
    int64_t j = j0;
    while (j < j1) { /* a run of columns within one slab a: contiguous in X */
      int64_t a = j / B, b = j % B, run = B - b < j1 - j ? B - b : j1 - j;
      const double *x = X + (a * L + i) * B + b;
      for (int64_t k = 0; k < run; k++) o[k] = scale * x[k];
      o += run;
      j += run;
    }
  }
}

void dtf_gemm_acc(int ta, int tb, int64_t m, int64_t n, int64_t k, double alpha, const double *Am,
                  int64_t lda, const double *Bm, int64_t ldb, double *C, int64_t ldc) {
  if (m > 0 && n > 0 && k > 0) blas_gemm(ta, tb, m, n, k, alpha, Am, lda, Bm, ldb, 1.0, C, ldc);
}

void dtf_syrk_acc(int64_t n, int64_t k, const double *A, double *C, int64_t ldc) {
  blas_syrk_rows(n, k, 1.0, A, k, C, ldc);
}

void dtf_symmetrize_upper(int64_t n, double *C, int64_t ldc) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < i; j++) C[i * ldc + j] = C[j * ldc + i];
}

void dtf_unfold_gram(int N, const int64_t *dims, int mode, const double *X, double alpha, double *G) {
  int64_t A, B, L = dims[mode];
  outer_inner(N, dims, mode, &A, &B);
  if (L == 0 || A * B == 0) return;
  if (B == 1) /* the last mode: X is A x L, G += X^T X */
    blas_syrk_cols(L, A, alpha, X, L, G, L);
  else
    for (int64_t a = 0; a < A; a++) blas_syrk_rows(L, B, alpha, X + a * L * B, B, G, L);
  dtf_symmetrize_upper(L, G, L);
}

void dtf_ttm(int N, const int64_t *dims, int mode, const double *X, int trans, const double *M, int64_t rows,
             double alpha, double *Y) {
  int64_t A, B, L = dims[mode];
  outer_inner(N, dims, mode, &A, &B);
  if (A * B == 0 || rows == 0) return;
  if (L == 0) {
    memset(Y, 0, (size_t)(A * rows * B) * sizeof(double));
    return;
  }
  if (B == 1) { /* the last mode: Y (A x rows) = X (A x L) op(M)^T, one GEMM */
    blas_gemm(0, !trans, A, rows, L, alpha, X, L, M, trans ? rows : L, 0.0, Y, rows);
    return;
  }
  for (int64_t a = 0; a < A; a++) /* Y_a (rows x B) = op(M) X_a */
    blas_gemm(trans, 0, rows, B, L, alpha, M, trans ? rows : L, X + a * L * B, B, 0.0, Y + a * rows * B, B);
}

void dtf_ttm_inplace(int N, const int64_t *dims, int mode, double *X, const double *M, int64_t rows,
                     double alpha, double *work, int64_t chunk) {
  int64_t A, B, L = dims[mode];
  outer_inner(N, dims, mode, &A, &B);
  if (A * B == 0 || rows == 0) return;
  if (L == 0) {
    memset(X, 0, (size_t)(A * rows * B) * sizeof(double));
    return;
  }
  if (B == 1) { /* the last mode: rows a0.. of Y (A x rows) = X[a0..] (c x L) M */
    for (int64_t a0 = 0; a0 < A; a0 += chunk) {
      int64_t c = A - a0 < chunk ? A - a0 : chunk;
      blas_gemm(0, 0, c, rows, L, alpha, X + a0 * L, L, M, rows, 0.0, work, rows);
      memcpy(X + a0 * rows, work, (size_t)(c * rows) * sizeof(double));
    }
    return;
  }
  /* slab a, columns j0..: Y_a[:, j0..] (rows x c) = M^T X_a[:, j0..]; row r lands on X_a's row
   * r - a (L - rows) (or an earlier slab), in columns this chunk has read */
  for (int64_t a = 0; a < A; a++)
    for (int64_t j0 = 0; j0 < B; j0 += chunk) {
      int64_t c = B - j0 < chunk ? B - j0 : chunk;
      blas_gemm(1, 0, rows, c, L, alpha, M, rows, X + a * L * B + j0, B, 0.0, work, c);
      for (int64_t r = 0; r < rows; r++)
        memmove(X + (a * rows + r) * B + j0, work + r * c, (size_t)c * sizeof(double));
    }
}

void dtf_unfold_cross(int N, const int64_t *dims, int mode, const double *X, const double *W, int64_t k,
                      double alpha, double *Z) {
  int64_t A, B, L = dims[mode];
  outer_inner(N, dims, mode, &A, &B);
  if (L == 0 || k == 0 || A * B == 0) return;
  if (B == 1) { /* the last mode: X is A x L, W is A x k, Z += alpha X^T W */
    blas_gemm(1, 0, L, k, A, alpha, X, L, W, k, 1.0, Z, k);
    return;
  }
  for (int64_t a = 0; a < A; a++) /* Z += alpha X_a (L x B) W_a^T (B x k) */
    blas_gemm(0, 1, L, k, B, alpha, X + a * L * B, B, W + a * k * B, B, 1.0, Z, k);
}

int64_t dtf_tucker_point_work(int N, const int *ranks) {
  int64_t s = 1;
  for (int k = 0; k < N; k++) s *= ranks[k];
  return 2 * s;
}

double dtf_tucker_point(int N, const int *ranks, const double *core, const double *const *rows,
                        double *work) {
  /* contract the last mode first: v (R_0 .. R_{k-1}) = v (.. R_k) . rows[k] */
  int64_t s = 1;
  for (int k = 0; k < N; k++) s *= ranks[k];
  const double *v = core;
  double *bufs[2] = {work, work + s};
  for (int k = N - 1; k >= 0; k--) {
    int64_t R = ranks[k], outer = s / R;
    double *o = bufs[(N - 1 - k) & 1];
    for (int64_t a = 0; a < outer; a++) {
      const double *x = v + a * R;
      double t = 0;
      for (int64_t r = 0; r < R; r++) t += x[r] * rows[k][r];
      o[a] = t;
    }
    v = o;
    s = outer;
  }
  return v[0];
}
