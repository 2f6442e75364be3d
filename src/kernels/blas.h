/* The one place dtf reaches BLAS and LAPACK: thin row-major wrappers. */
#ifndef DTF_KERNELS_BLAS_H
#define DTF_KERNELS_BLAS_H

#include <stdint.h>

/* C (m x n) = alpha op(A) op(B) + beta C, row-major; ta/tb nonzero transpose. */
void blas_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, double alpha, const double *A, int64_t lda,
               const double *B, int64_t ldb, double beta, double *C, int64_t ldc);

/* ||x||_2 over n entries, scaled so that it neither overflows nor underflows. */
double blas_nrm2(int64_t n, const double *x);

/* C (n x n, full) = A^T A for A (k x n) row-major. */
void blas_gram(int64_t k, int64_t n, const double *A, double *C);

/* The upper triangle of C (n x n, row-major) += A^T A for A (k x n) row-major. */
void blas_syrk_upper(int64_t k, int64_t n, const double *A, double *C);

/* The upper triangle of C (n x n, leading dimension ldc) += alpha A A^T for A (n x k,
 * leading dimension lda) row-major. */
void blas_syrk_rows(int64_t n, int64_t k, double alpha, const double *A, int64_t lda, double *C, int64_t ldc);

/* The upper triangle of C (n x n, leading dimension ldc) += alpha A^T A for A (k x n,
 * leading dimension lda) row-major. */
void blas_syrk_cols(int64_t n, int64_t k, double alpha, const double *A, int64_t lda, double *C, int64_t ldc);

/* Cholesky factorisation of a symmetric n x n matrix in place; returns LAPACK's info. */
int lapack_cholesky(int n, double *A);

/* Solve with a Cholesky factor: B holds nrhs right-hand sides of length n, contiguous. */
int lapack_cholesky_solve(int n, const double *L, int64_t nrhs, double *B);

/* Eigen-decomposition of a symmetric n x n matrix: A becomes the eigenvectors (one per
 * contiguous n-vector), w the eigenvalues ascending. work of lwork doubles. */
int lapack_symmetric_eigen(int n, double *A, double *w, double *work, int lwork);

/* The same by divide and conquer (dsyevd: several times faster for large n, more
 * workspace): work of lwork doubles, iwork of liwork ints (dtf_sym_eigen_large sizes them). */
int lapack_symmetric_eigen_dc(int n, double *A, double *w, double *work, int lwork, int *iwork, int liwork);

#endif
