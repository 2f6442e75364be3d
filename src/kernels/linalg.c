/* Gram matrices and the R x R normal-equation solves of ALS. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "dtf/kernels.h"
#include "dtf/memory.h"

void dtf_gram(int64_t rows, int R, const double *A, double *G) { blas_gram(rows, R, A, G); }

void dtf_cross(int64_t rows, int Ra, const double *A, int Rb, const double *B, double *C) {
  blas_gemm(1, 0, Ra, Rb, rows, 1.0, A, Ra, B, Rb, 0.0, C, Rb);
}

void dtf_matmul(int ta, int tb, int64_t m, int64_t n, int64_t k, const double *A, const double *B,
                double *C) {
  blas_gemm(ta, tb, m, n, k, 1.0, A, ta ? m : k, B, tb ? k : n, 0.0, C, n);
}

double dtf_norm(int64_t n, const double *x) { return blas_nrm2(n, x); }

int dtf_pow2_exponent(double norm) {
  int e = 0;
  if (!(norm > 0) || !isfinite(norm)) return 0;
  frexp(norm, &e);
  if (e > 1000) e = 1000;
  if (e < -1000) e = -1000;
  return e;
}

double dtf_pow2_scale(double norm) { return ldexp(1.0, -dtf_pow2_exponent(norm)); }

double dtf_fit_scaled(double x2, double m2, double ip, int K) {
  /* ||X - M||^2 / 4^K when the model is the larger (K > 0), else as it is: neither
   * overflows where the fit itself does not */
  double r2 =
      K > 0 ? ldexp(x2, -2 * K) + m2 - 2.0 * ldexp(ip, -K) : x2 + ldexp(m2, 2 * K) - 2.0 * ldexp(ip, K);
  if (r2 < 0) r2 = 0; /* rounding; a NaN stays one */
  double ratio = sqrt(r2) / sqrt(x2);
  return 1.0 - (K > 0 ? ldexp(ratio, K) : ratio);
}

int64_t dtf_first_nonfinite(int64_t n, const double *x) {
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(x[i])) return i;
  return -1;
}

#define PINV_CHUNK 64
#define EIGEN_LWORK(R) (34 * (int64_t)(R))

int64_t dtf_spd_solve_work(int R) {
  return 2 * (int64_t)R * R + PINV_CHUNK * (int64_t)R + (int64_t)R + EIGEN_LWORK(R);
}

dtf_status dtf_normal_check(int R, const double *V) {
  for (int64_t i = 0; i < (int64_t)R * R; i++)
    if (!isfinite(V[i]))
      return dtf_error(DTF_ERR_NUMERIC, "normal equations have a non-finite entry (%g)", V[i]);
  return DTF_OK;
}

dtf_status dtf_spd_solve(int R, const double *V, int64_t rows, double *B, double *work, int *used_pinv) {
  *used_pinv = 0;
  dtf_status st = dtf_normal_check(R, V);
  if (st) return st;
  double *C = work;
  memcpy(C, V, (size_t)R * R * sizeof(double));
  if (lapack_cholesky(R, C) == 0) {
    if (lapack_cholesky_solve(R, C, rows, B) != 0) return dtf_error(DTF_ERR_NUMERIC, "Cholesky solve failed");
    return DTF_OK;
  }
  /* Not positive definite: B <- B V^+ with V^+ = Q diag(1/w) Q^T over the kept w. */
  *used_pinv = 1;
  double *P = C + (int64_t)R * R, *chunk = P + (int64_t)R * R, *w = chunk + PINV_CHUNK * (int64_t)R,
         *lw = w + R;
  memcpy(C, V, (size_t)R * R * sizeof(double));
  if (lapack_symmetric_eigen(R, C, w, lw, (int)EIGEN_LWORK(R)) != 0)
    return dtf_error(DTF_ERR_NUMERIC, "eigen-decomposition of the normal equations failed");
  double cut = w[R - 1] * R * DBL_EPSILON;
  memset(P, 0, (size_t)R * R * sizeof(double));
  for (int k = 0; k < R; k++) {
    if (w[k] <= cut) continue;
    const double *q = C + (int64_t)k * R;
    for (int i = 0; i < R; i++)
      for (int j = 0; j < R; j++) P[i * R + j] += q[i] * q[j] / w[k];
  }
  for (int64_t i0 = 0; i0 < rows; i0 += PINV_CHUNK) {
    int64_t n = rows - i0 < PINV_CHUNK ? rows - i0 : PINV_CHUNK;
    memcpy(chunk, B + i0 * R, (size_t)(n * R) * sizeof(double));
    blas_gemm(0, 0, n, R, R, 1.0, chunk, R, P, R, 0.0, B + i0 * R, R);
  }
  return DTF_OK;
}

int64_t dtf_packed_size(int D) { return (int64_t)D * (D + 1) / 2; }

int64_t dtf_sym_eigen_work(int n) { return EIGEN_LWORK(n); }

dtf_status dtf_sym_eigen(int n, double *A, double *w, double *work) {
  for (int64_t i = 0; i < (int64_t)n * n; i++)
    if (!isfinite(A[i])) return dtf_error(DTF_ERR_NUMERIC, "a symmetric eigenproblem has a non-finite entry");
  if (lapack_symmetric_eigen(n, A, w, work, (int)EIGEN_LWORK(n)) != 0)
    return dtf_error(DTF_ERR_NUMERIC, "a symmetric eigen-decomposition (LAPACK dsyev) failed");
  return DTF_OK;
}

/* dsyevd's workspace for eigenvectors: 1 + 6n + 2n^2 doubles, 3 + 5n ints */
#define DC_LWORK(n) (1 + 6 * (int64_t)(n) + 2 * (int64_t)(n) * (n))
#define DC_LIWORK(n) (3 + 5 * (int64_t)(n))

double dtf_sym_eigen_large_bytes(int n) { return 8.0 * (double)DC_LWORK(n) + 4.0 * (double)DC_LIWORK(n); }

dtf_status dtf_sym_eigen_large(int n, double *A, double *w) {
  for (int64_t i = 0; i < (int64_t)n * n; i++)
    if (!isfinite(A[i])) return dtf_error(DTF_ERR_NUMERIC, "a symmetric eigenproblem has a non-finite entry");
  if (DC_LWORK(n) > INT32_MAX)
    return dtf_error(DTF_ERR_INPUT, "an eigenproblem of order %d is too large for LAPACK", n);
  double *work = dtf_alloc_large((size_t)DC_LWORK(n) * sizeof(double));
  int *iwork = malloc((size_t)DC_LIWORK(n) * sizeof(int));
  dtf_status st = work && iwork
                      ? DTF_OK
                      : dtf_error(DTF_ERR_INPUT, "out of memory for an eigen-decomposition of order %d", n);
  if (!st && lapack_symmetric_eigen_dc(n, A, w, work, (int)DC_LWORK(n), iwork, (int)DC_LIWORK(n)) != 0)
    st = dtf_error(DTF_ERR_NUMERIC, "a symmetric eigen-decomposition (LAPACK dsyevd) failed");
  free(work);
  free(iwork);
  return st;
}

int64_t dtf_packed_solve_work(int D) { return (int64_t)D * D + dtf_spd_solve_work(D); }

dtf_status dtf_packed_solve(int D, const double *S, double scale, const double *diag, const double *b,
                            double bscale, double *a, double *work, int *used_pinv) {
  double *V = work;
  const double *s = S;
  for (int r = 0; r < D; r++) {
    for (int q = r; q < D; q++) V[r * D + q] = V[q * D + r] = scale * s[q - r];
    V[r * D + r] += diag[r];
    s += D - r;
  }
  for (int r = 0; r < D; r++) a[r] = bscale * b[r];
  return dtf_spd_solve(D, V, 1, a, work + (int64_t)D * D, used_pinv);
}
