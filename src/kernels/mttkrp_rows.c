/* Row statistics of the completion solvers over observations grouped by row: an MTTKRP
 * (the observations of a row that differ only in their fibre mode are one fibre, and the
 * product of the other modes' rows is taken once per fibre, not once per observation),
 * and the Gram of the design rows (buffered, one SYRK per buffer). */
#include <math.h>
#include <string.h>

#include "blas.h"
#include "dtf/kernels.h"
#include "multiversion.h"

/* the row of position p0: the last i with row_ptr[i] <= p0 (rows may be empty) */
static int64_t first_row(int64_t rows, const int64_t *row_ptr, int64_t p0) {
  int64_t i = 0, hi = p0 < rows - 1 ? p0 : rows - 1;
  while (i < hi) {
    int64_t mid = i + (hi - i + 1) / 2;
    if (row_ptr[mid] <= p0)
      i = mid;
    else
      hi = mid - 1;
  }
  return i;
}

DTF_KERNEL void dtf_rows_mttkrp(int N, int mode, int fibre, int64_t rows, const int64_t *row_ptr,
                                const int64_t *inds, int64_t count, const int64_t *pos, const double *w,
                                const double *const *F, int W, double *out, int64_t ldo,
                                unsigned char *touched, double *work) {
  double *restrict t = work;
  if (count == 0) return;
  int64_t i = first_row(rows, row_ptr, pos ? pos[0] : 0);
  for (int64_t k = 0; k < count;) {
    int64_t p = pos ? pos[k] : k;
    while (row_ptr[i + 1] <= p) i++;
    int64_t end = row_ptr[i + 1];
    const int64_t *ix = inds + p * N;
    const double *restrict f = F[fibre] + ix[fibre] * W;
    double wk = w ? w[k] : 1.0;
    for (int j = 0; j < W; j++) t[j] = wk * f[j];
    for (k++; k < count; k++) {
      int64_t q = pos ? pos[k] : k;
      if (q >= end) break;
      const int64_t *iq = inds + q * N;
      int same = 1;
      for (int n = 0; n < N && same; n++) same = n == fibre || iq[n] == ix[n];
      if (!same) break;
      f = F[fibre] + iq[fibre] * W;
      wk = w ? w[k] : 1.0;
      for (int j = 0; j < W; j++) t[j] += wk * f[j];
    }
    for (int n = 0; n < N; n++) {
      if (n == mode || n == fibre) continue;
      const double *restrict a = F[n] + ix[n] * W;
      for (int j = 0; j < W; j++) t[j] *= a[j];
    }
    double *restrict o = out + i * ldo;
    for (int j = 0; j < W; j++) o[j] += t[j];
    if (touched) touched[i] = 1;
  }
}

enum { GRAM_BUF = 64 };

int64_t dtf_rows_gram_work(int R) { return (int64_t)(GRAM_BUF + R) * R; }

/* What forms one observation's design row h (D doubles) from its indices ix. */
typedef struct {
  int N, mode;
  const double *const *F; /* CP: the factors' block rows; TR: the cores' */
  const int *ranks;       /* TR: the bond ranks */
  double *work;           /* TR: the design row's products */
} design_t;

static inline void cp_design(const design_t *d, const int64_t *ix, int R, double *restrict h) {
  int first = d->mode == 0 ? 1 : 0;
  const double *restrict a = d->F[first] + ix[first] * R;
  for (int r = 0; r < R; r++) h[r] = a[r];
  for (int n = first + 1; n < d->N; n++) {
    if (n == d->mode) continue;
    const double *restrict b = d->F[n] + ix[n] * R;
    for (int r = 0; r < R; r++) h[r] *= b[r];
  }
}

static inline void tr_design(const design_t *d, const int64_t *ix, int R, double *restrict h) {
  (void)R;
  dtf_tr_design(d->N, d->mode, d->ranks, d->F, ix, h, d->work);
}

/* The Gram and right-hand side of each listed row's design rows (see dtf_rows_gram);
 * inlined into each caller with its design function. */
static inline void rows_gram(const design_t *d,
                             void (*design)(const design_t *, const int64_t *, int, double *), int64_t rows,
                             const int64_t *row_ptr, const int64_t *inds, int64_t count, const int64_t *pos,
                             const double *w, const double *c, int R, double *out, int64_t ldo,
                             unsigned char *touched, double *work) {
  if (count == 0) return;
  int N = d->N;
  double *buf = work, *G = work + GRAM_BUF * R;
  int64_t i = first_row(rows, row_ptr, pos ? pos[0] : 0);
  for (int64_t k = 0; k < count;) {
    int64_t p = pos ? pos[k] : k;
    while (row_ptr[i + 1] <= p) i++;
    int64_t end = row_ptr[i + 1];
    int nb = 0, gram = 0;
    double *restrict o = out + i * ldo, *restrict rhs = o + (int64_t)R * (R + 1) / 2;
    for (; k < count; k++) {
      int64_t q = pos ? pos[k] : k;
      if (q >= end) break;
      double *restrict h = buf + (int64_t)nb * R;
      design(d, inds + q * N, R, h);
      for (int r = 0; r < R; r++) rhs[r] += c[k] * h[r];
      if (w) {
        double s = sqrt(w[k]);
        for (int r = 0; r < R; r++) h[r] *= s;
      }
      if (++nb == GRAM_BUF) {
        if (!gram) memset(G, 0, (size_t)R * R * sizeof(double));
        blas_syrk_upper(nb, R, buf, G);
        gram = 1;
        nb = 0;
      }
    }
    if (touched) touched[i] = 1;
    for (int e = 0; e < nb; e++) { /* a short remainder: no BLAS call */
      const double *h = buf + (int64_t)e * R;
      for (int r = 0, j = 0; r < R; r++)
        for (int u = r; u < R; u++, j++) o[j] += h[r] * h[u];
    }
    for (int r = 0, j = 0; gram && r < R; r++)
      for (int u = r; u < R; u++, j++) o[j] += G[r * R + u];
  }
}

DTF_KERNEL void dtf_rows_gram(int N, int mode, int64_t rows, const int64_t *row_ptr, const int64_t *inds,
                              int64_t count, const int64_t *pos, const double *w, const double *c,
                              const double *const *F, int R, double *out, int64_t ldo, unsigned char *touched,
                              double *work) {
  design_t d = {N, mode, F, NULL, NULL};
  rows_gram(&d, cp_design, rows, row_ptr, inds, count, pos, w, c, R, out, ldo, touched, work);
}

int64_t dtf_tr_rows_gram_work(int N, const int *ranks, int mode) {
  int Rmax = 1, D = ranks[mode] * ranks[(mode + 1) % N];
  for (int n = 0; n < N; n++)
    if (ranks[n] > Rmax) Rmax = ranks[n];
  return dtf_rows_gram_work(D) + 2 * (int64_t)Rmax * Rmax;
}

void dtf_tr_rows_gram(int N, int mode, int64_t rows, const int64_t *row_ptr, const int64_t *inds,
                      int64_t count, const int64_t *pos, const double *w, const double *c, const int *ranks,
                      const double *const *cores, double *out, int64_t ldo, unsigned char *touched,
                      double *work) {
  int D = ranks[mode] * ranks[(mode + 1) % N];
  design_t d = {N, mode, cores, ranks, work + dtf_rows_gram_work(D)};
  rows_gram(&d, tr_design, rows, row_ptr, inds, count, pos, w, c, D, out, ldo, touched, work);
}

DTF_KERNEL void dtf_coo_mttkrp(int N, int mode, int64_t count, const int64_t *inds, const double *w,
                               const double *const *F, int R, double *out) {
  int first = mode == 0 ? 1 : 0;
  for (int64_t k = 0; k < count; k++) {
    const int64_t *ix = inds + k * N;
    double *restrict o = out + ix[mode] * R;
    const double *restrict a = F[first] + ix[first] * R;
    double t[64];
    for (int r0 = 0; r0 < R; r0 += 64) { /* 64 columns at a time: the products vectorise */
      int rc = R - r0 < 64 ? R - r0 : 64;
      for (int r = 0; r < rc; r++) t[r] = w[k] * a[r0 + r];
      for (int n = first + 1; n < N; n++) {
        if (n == mode) continue;
        const double *restrict b = F[n] + ix[n] * R + r0;
        for (int r = 0; r < rc; r++) t[r] *= b[r];
      }
      for (int r = 0; r < rc; r++) o[r0 + r] += t[r];
    }
  }
}
