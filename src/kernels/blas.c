/* Thin wrappers over OpenBLAS (CBLAS) and LAPACK (Fortran ABI, hidden string lengths). */
#include "blas.h"

#include <cblas.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t len);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda, double *b,
             const int *ldb, int *info, size_t len);
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
            double *work, const int *lwork, int *info, size_t len1, size_t len2);
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info, size_t len1,
             size_t len2);

void blas_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, double alpha, const double *A, int64_t lda,
               const double *B, int64_t ldb, double beta, double *C, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) C[i * ldc + j] = beta == 0.0 ? 0.0 : beta * C[i * ldc + j];
    return;
  }
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n,
              (int)k, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

double blas_nrm2(int64_t n, const double *x) {
  double s = 0.0;
  for (int64_t i = 0; i < n; i += 1 << 30) {
    int m = (int)(n - i < (1 << 30) ? n - i : (1 << 30));
    s = hypot(s, cblas_dnrm2(m, x + i, 1)); /* chunks combine without overflow too */
  }
  return s;
}

void blas_gram(int64_t k, int64_t n, const double *A, double *C) {
  memset(C, 0, (size_t)(n * n) * sizeof(double));
  if (k == 0 || n == 0) return;
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)k, 1.0, A, (int)n, 0.0, C, (int)n);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < i; j++) C[i * n + j] = C[j * n + i];
}

void blas_syrk_upper(int64_t k, int64_t n, const double *A, double *C) {
  if (k == 0 || n == 0) return;
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)k, 1.0, A, (int)n, 1.0, C, (int)n);
}

void blas_syrk_rows(int64_t n, int64_t k, double alpha, const double *A, int64_t lda, double *C,
                    int64_t ldc) {
  if (k == 0 || n == 0) return;
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)k, alpha, A, (int)lda, 1.0, C, (int)ldc);
}

void blas_syrk_cols(int64_t n, int64_t k, double alpha, const double *A, int64_t lda, double *C,
                    int64_t ldc) {
  if (k == 0 || n == 0) return;
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)k, alpha, A, (int)lda, 1.0, C, (int)ldc);
}

int lapack_cholesky(int n, double *A) {
  int info = 0;
  dpotrf_("L", &n, A, &n, &info, 1);
  return info;
}

int lapack_cholesky_solve(int n, const double *L, int64_t nrhs, double *B) {
  int info = 0, m = (int)nrhs;
  if (nrhs == 0) return 0;
  dpotrs_("L", &n, &m, L, &n, B, &n, &info, 1);
  return info;
}

int lapack_symmetric_eigen(int n, double *A, double *w, double *work, int lwork) {
  int info = 0;
  dsyev_("V", "L", &n, A, &n, w, work, &lwork, &info, 1, 1);
  return info;
}

int lapack_symmetric_eigen_dc(int n, double *A, double *w, double *work, int lwork, int *iwork, int liwork) {
  int info = 0;
  dsyevd_("V", "L", &n, A, &n, w, work, &lwork, iwork, &liwork, &info, 1, 1);
  return info;
}
