/* Nonnegative least squares by block principal pivoting (Kim and Park, "Fast nonnegative
 * matrix factorization: an active-set-like method and comparisons", SIAM J. Sci. Comput.
 * 2011; PLANC's `-a 2`), one row at a time: the exact minimiser of 1/2 x^T V x - m^T x over
 * x >= 0. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "blas.h"
#include "dtf/kernels.h"

int64_t dtf_bpp_work(int R) { return (int64_t)R * R + 4 * (int64_t)R; }

/* x_F from V_FF x_F = m_F (F: the passive set, flags in F), x_G = 0, and y = V x - m on G
 * (0 on F). A singular V_FF (a rank above what the data hold) gets a ridge of R eps times
 * its largest diagonal entry. */
static dtf_status passive_solve(int R, const double *V, const double *m, const double *F, double *x,
                                double *y, double *S, double *b) {
  int k = 0;
  double big = 0;
  for (int a = 0; a < R; a++) {
    if (!F[a]) continue;
    int l = 0;
    for (int c = 0; c < R; c++)
      if (F[c]) S[k * R + l++] = V[a * R + c];
    b[k] = m[a];
    big = fmax(big, V[a * R + a]);
    k++;
  }
  /* pack the k x k system contiguously for LAPACK */
  for (int a = 1; a < k; a++) memmove(S + a * k, S + a * R, (size_t)k * sizeof(double));
  if (k > 0 && lapack_cholesky(k, S)) {
    for (int a = 0, q = 0; a < R; a++) /* rebuild with the ridge and factor again */
      if (F[a]) {
        int l = 0;
        for (int c = 0; c < R; c++)
          if (F[c]) S[q * k + l++] = V[a * R + c] + (c == a ? R * DBL_EPSILON * big : 0);
        q++;
      }
    if (lapack_cholesky(k, S))
      return dtf_error(DTF_ERR_NUMERIC,
                       "the normal equations of a nonnegative row are not positive definite");
  }
  if (k > 0 && lapack_cholesky_solve(k, S, 1, b)) return dtf_error(DTF_ERR_NUMERIC, "Cholesky solve failed");
  for (int a = 0, q = 0; a < R; a++) x[a] = F[a] ? b[q++] : 0.0;
  for (int a = 0; a < R; a++) {
    y[a] = 0;
    if (F[a]) continue;
    double s = -m[a];
    for (int c = 0; c < R; c++) s += V[a * R + c] * x[c];
    y[a] = s;
  }
  return DTF_OK;
}

dtf_status dtf_bpp_rows(int R, const double *V, int64_t rows, const double *M, double *A, double *work) {
  double *S = work, *b = S + (int64_t)R * R, *F = b + R, *y = F + R, *x = y + R;
  dtf_status st = dtf_normal_check(R, V);
  for (int64_t i = 0; !st && i < rows; i++) {
    const double *m = M + i * R;
    double scale = 0;
    for (int a = 0; a < R; a++) scale = fmax(scale, fabs(m[a]));
    double tol = 1e-13 * scale; /* a dual this close to 0 is 0: rounding must not pivot */
    for (int a = 0; a < R; a++) F[a] = 0, x[a] = 0, y[a] = -m[a];
    int alpha = 3, beta = R + 1, it = 0;
    for (;; it++) {
      int bad = 0, last = -1;
      for (int a = 0; a < R; a++)
        if (F[a] ? x[a] < 0 : y[a] < -tol) bad++, last = a;
      if (!bad) break;
      if (it > 5 * R + 50)
        return dtf_error(DTF_ERR_NUMERIC, "block principal pivoting did not settle on row %lld",
                         (long long)i);
      if (bad < beta) /* progress: exchange every infeasible index */
        beta = bad, alpha = 3;
      else if (alpha > 0) /* no progress: a few more full exchanges */
        alpha--;
      else /* then Murty's backup rule: only the last infeasible index, which terminates */
        bad = 0;
      for (int a = 0; a < R; a++)
        if ((bad || a == last) && (F[a] ? x[a] < 0 : y[a] < -tol)) F[a] = !F[a];
      if ((st = passive_solve(R, V, m, F, x, y, S, b))) break;
    }
    if (!st) memcpy(A + i * R, x, (size_t)R * sizeof(double));
  }
  return st;
}
