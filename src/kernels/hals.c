/* Hierarchical ALS (HALS): one pass of exact coordinate descent over the columns of a
 * factor's rows, the nonnegative row update of CP (Cichocki and Phan's HALS; PLANC's
 * `-a 1`). */
#include <math.h>

#include "dtf/kernels.h"

void dtf_hals_rows(int R, const double *V, int64_t rows, const double *M, double *A, int nonneg) {
  for (int64_t i = 0; i < rows; i++) {
    double *a = A + i * R;
    const double *m = M + i * R;
    for (int r = 0; r < R; r++) {
      double vrr = V[r * R + r];
      if (!(vrr > 0)) continue; /* the component is zero in another mode: any value fits */
      double g = m[r];
      for (int q = 0; q < R; q++) g -= a[q] * V[q * R + r];
      double x = a[r] + g / vrr;
      a[r] = nonneg ? fmax(x, DTF_HALS_FLOOR) : x;
    }
  }
}
