/* Khatri-Rao products, built in place from the last factor outwards. */
#include <string.h>

#include "dtf/kernels.h"
#include "multiversion.h"

DTF_KERNEL void dtf_khatri_rao(int nf, const double *const *F, const int64_t *rows, int R, double *out) {
  if (nf == 0) {
    for (int r = 0; r < R; r++) out[r] = 1.0;
    return;
  }
  int64_t total = 1;
  for (int k = 0; k < nf; k++) total *= rows[k];
  /* The product of factors k..nf-1 sits at the end of out; extending it by factor k-1
   * writes rows ending exactly where the old ones end, and the last slab of the new
   * block overwrites the old block row by row after reading it. */
  int64_t cur = rows[nf - 1];
  double *end = out + total * R;
  memcpy(end - cur * R, F[nf - 1], (size_t)(cur * R) * sizeof(double));
  for (int k = nf - 2; k >= 0; k--) {
    const double *old = end - cur * R;
    double *dst = end - rows[k] * cur * R;
    for (int64_t i = 0; i < rows[k]; i++) {
      const double *a = F[k] + i * R;
      for (int64_t j = 0; j < cur; j++) {
        double *d = dst + (i * cur + j) * R;
        const double *o = old + j * R;
        for (int r = 0; r < R; r++) d[r] = a[r] * o[r];
      }
    }
    cur *= rows[k];
  }
}
