/* Full tensors and norms of CP models. */
#include "blas.h"
#include "dtf/kernels.h"

int64_t dtf_cp_full_work(int nmodes, const int64_t *dims, int R) {
  int64_t L, Rr;
  dtf_dense_split(nmodes, dims, &L, &Rr);
  return (L + Rr) * R;
}

void dtf_cp_full(int nmodes, const int64_t *dims, const double *const *F, int R, double *work, double *out) {
  int64_t L, Rr;
  int m = dtf_dense_split(nmodes, dims, &L, &Rr);
  double *left = work, *right = work + L * R;
  dtf_khatri_rao(m, F, dims, R, left);
  dtf_khatri_rao(nmodes - m, F + m, dims + m, R, right);
  blas_gemm(0, 1, L, Rr, R, 1.0, left, R, right, R, 0.0, out, Rr);
}

double dtf_cp_norm2(int nmodes, int R, const double *lambda, const double *const *grams) {
  double s = 0.0;
  for (int r = 0; r < R; r++)
    for (int q = 0; q < R; q++) {
      double h = lambda[r] * lambda[q];
      for (int n = 0; n < nmodes; n++) h *= grams[n][r * R + q];
      s += h;
    }
  return s;
}
