/* Dense MTTKRP as one GEMM against a Khatri-Rao product of one side of the modes,
 * followed by a column-wise contraction of the partial result. The Khatri-Rao product
 * is the size of one side, never the size of the tensor. */
#include <string.h>

#include "blas.h"
#include "dtf/kernels.h"
#include "multiversion.h"

static int64_t prod(const int64_t *d, int from, int to) {
  int64_t p = 1;
  for (int k = from; k < to; k++) p *= d[k];
  return p;
}

void dtf_dense_contract_right(int nmodes, const int64_t *dims, const double *X, int split,
                              const double *const *F, int R, double *kr, double *out) {
  int64_t L = prod(dims, 0, split), Rr = prod(dims, split, nmodes);
  dtf_khatri_rao(nmodes - split, F + split, dims + split, R, kr);
  blas_gemm(0, 0, L, R, Rr, 1.0, X, Rr, kr, R, 0.0, out, R);
}

void dtf_dense_contract_left(int nmodes, const int64_t *dims, const double *X, int split,
                             const double *const *F, int R, double *kr, double *out) {
  int64_t L = prod(dims, 0, split), Rr = prod(dims, split, nmodes);
  dtf_khatri_rao(split, F, dims, R, kr);
  blas_gemm(1, 0, Rr, R, L, 1.0, X, Rr, kr, R, 0.0, out, R);
}

DTF_KERNEL void dtf_partial_mttv(int k, const int64_t *dims, const double *T, int mode,
                                 const double *const *F, int R, double *work, double *out) {
  int64_t a = prod(dims, 0, mode), I = dims[mode], b = prod(dims, mode + 1, k);
  if (k == 1) {
    memcpy(out, T, (size_t)(I * R) * sizeof(double));
    return;
  }
  double *kra = work, *krb = work + a * R, *tmp = krb + b * R;
  dtf_khatri_rao(mode, F, dims, R, kra);
  dtf_khatri_rao(k - mode - 1, F + mode + 1, dims + mode + 1, R, krb);
  memset(out, 0, (size_t)(I * R) * sizeof(double));
  for (int64_t ia = 0; ia < a; ia++) {
    const double *ka = kra + ia * R;
    for (int64_t i = 0; i < I; i++) {
      const double *t = T + (ia * I + i) * b * R;
      for (int r = 0; r < R; r++) tmp[r] = 0.0;
      for (int64_t ib = 0; ib < b; ib++) {
        const double *kb = krb + ib * R, *ti = t + ib * R;
        for (int r = 0; r < R; r++) tmp[r] += ti[r] * kb[r];
      }
      double *o = out + i * R;
      for (int r = 0; r < R; r++) o[r] += ka[r] * tmp[r];
    }
  }
}

int dtf_dense_split(int nmodes, const int64_t *dims, int64_t *left, int64_t *right) {
  int best = 1;
  int64_t best_sum = -1;
  for (int m = 1; m < nmodes; m++) {
    int64_t a = prod(dims, 0, m), b = prod(dims, m, nmodes);
    if (best_sum < 0 || a + b < best_sum) {
      best_sum = a + b;
      best = m;
      *left = a;
      *right = b;
    }
  }
  return best;
}

/* The right contraction keeps the modes up to `mode`; the left one the modes from it.
 * Keep the side that leaves the smaller partial result. */
static int use_right(int nmodes, const int64_t *dims, int mode) {
  return prod(dims, 0, mode) <= prod(dims, mode + 1, nmodes);
}

int64_t dtf_dense_mttkrp_work(int nmodes, const int64_t *dims, int mode, int R) {
  int64_t L = prod(dims, 0, mode), I = dims[mode], Rr = prod(dims, mode + 1, nmodes);
  if (use_right(nmodes, dims, mode)) return (Rr + L * I + L + 2) * R;
  return (L + I * Rr + Rr + 2) * R;
}

void dtf_dense_mttkrp(int nmodes, const int64_t *dims, const double *X, int mode, const double *const *F,
                      int R, double *work, double *out) {
  int64_t L = prod(dims, 0, mode), I = dims[mode], Rr = prod(dims, mode + 1, nmodes);
  if (use_right(nmodes, dims, mode)) {
    double *kr = work, *part = work + Rr * R, *rest = part + L * I * R;
    dtf_dense_contract_right(nmodes, dims, X, mode + 1, F, R, kr, part);
    dtf_partial_mttv(mode + 1, dims, part, mode, F, R, rest, out);
  } else {
    double *kr = work, *part = work + L * R, *rest = part + I * Rr * R;
    dtf_dense_contract_left(nmodes, dims, X, mode, F, R, kr, part);
    dtf_partial_mttv(nmodes - mode, dims + mode, part, 0, F + mode, R, rest, out);
  }
}
