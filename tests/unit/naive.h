/* Naive reference loops the unit tests compare the kernels with. */
#ifndef DTF_TESTS_NAIVE_H
#define DTF_TESTS_NAIVE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline int64_t product(int n, const int64_t *d) {
  int64_t p = 1;
  for (int k = 0; k < n; k++) p *= d[k];
  return p;
}

/* M(i_mode, r) = sum over all entries X(i) prod_{k != mode} A_k(i_k, r) */
static inline void naive_mttkrp(int N, const int64_t *dims, const double *X, int mode, double *const *F,
                                int R, double *out) {
  memset(out, 0, (size_t)(dims[mode] * R) * sizeof(double));
  int64_t sub[8] = {0}, n = product(N, dims);
  for (int64_t i = 0; i < n; i++) {
    for (int r = 0; r < R; r++) {
      double v = X[i];
      for (int k = 0; k < N; k++)
        if (k != mode) v *= F[k][sub[k] * R + r];
      out[sub[mode] * R + r] += v;
    }
    for (int k = N - 1; k >= 0 && ++sub[k] == dims[k]; k--) sub[k] = 0;
  }
}

static inline double max_rel_diff(int64_t n, const double *a, const double *b) {
  double m = 0, scale = 0;
  for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
  for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
  return m / (scale > 0 ? scale : 1);
}

#endif
