/* Tucker's randomized range finder (docs/algorithms.md, "Tucker", "Randomized range finder";
 * --eig randomized): a Khatri-Rao sketch of mode n, its orthonormal basis, power
 * iterations, and the rank from the exact residual, in place of the Gram. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/kernels.h"
#include "dtf/memory.h"
#include "dtf/rng.h"
#include "tucker_impl.h"

/* orthonormal columns spanning Z (I x k, row-major, in place) by two rounds of the
 * eigen-decomposition of Z^T Z; returns the columns kept (those of eigenvalue above
 * 1e-13 of the largest), moved to the front */
static int orthonormalize(int64_t I, int k, double *Z, double *tmp) {
  double *C = malloc((size_t)k * k * sizeof(double)), *w = malloc((size_t)k * sizeof(double)),
         *work = malloc((size_t)dtf_sym_eigen_work(k) * sizeof(double)),
         *V = malloc((size_t)k * k * sizeof(double));
  int kept = k;
  for (int round = 0; round < 2 && C && w && work && V; round++) {
    dtf_matmul(1, 0, kept, kept, I, Z, Z, C); /* Z^T Z (Z: I x kept, leading dimension kept) */
    if (dtf_sym_eigen(kept, C, w, work)) break;
    int keep = 0;
    for (int j = kept - 1; j >= 0; j--) /* largest first */
      if (w[j] > 1e-13 * w[kept - 1]) {
        for (int i = 0; i < kept; i++) V[i * kept + keep] = C[(int64_t)j * kept + i] / sqrt(w[j]);
        keep++;
      }
    /* tmp (I x keep) = Z V, then back into Z with leading dimension keep */
    for (int64_t i = 0; i < I; i++)
      for (int c = 0; c < keep; c++) {
        double t = 0;
        for (int j = 0; j < kept; j++) t += Z[i * kept + j] * V[j * kept + c];
        tmp[i * keep + c] = t;
      }
    memcpy(Z, tmp, (size_t)(I * keep) * sizeof(double));
    kept = keep;
  }
  free(C);
  free(w);
  free(work);
  free(V);
  return kept;
}

/* Z (I x k, on every rank) from each rank's rows of it (its block of mode n, partial sums):
 * summed over the slice, then the row blocks gathered over the fibre */
static dtf_status rows_everywhere(dtf_tucker_t *s, int n, int64_t I, int64_t k, double *Z) {
  const dtf_grid_t *g = s->g;
  int P = g->pdims[n];
  int *counts = malloc((size_t)P * 2 * sizeof(int)), *displs = counts ? counts + P : NULL;
  dtf_status st = dtf_agree(g->comm, counts ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory"));
  if (!st) st = dtf_allreduce_sum(g->slice[n], Z + g->start[n] * k, g->len[n] * k, &s->comm);
  for (int q = 0; !st && q < P; q++) {
    int64_t o, l;
    dtf_block_range(I, P, q, &o, &l);
    counts[q] = (int)(l * k);
    displs[q] = (int)(o * k);
  }
  if (!st) st = dtf_allgatherv_inplace(s->fibre[n], Z, counts, displs, &s->comm);
  free(counts);
  return st;
}

/* A power iteration's product: Z (I x k, on every rank) = alpha Y_(n) W_(n)^T for W =
 * Q^T x_n Y (its mode n split over the fibre like a truncated mode): W's parts gathered in
 * the fibre, one GEMM per slab (dtf_unfold_cross), summed over the slice, the row blocks
 * gathered over the fibre. */
static dtf_status power_product(dtf_tucker_t *s, const block_t *y, const block_t *W, int n, int k,
                                double alpha, double *Z) {
  const dtf_grid_t *g = s->g;
  int N = s->N, P = g->pdims[n];
  int64_t I = y->dims[n], other = tucker_prod_except(N, y->len, n), A = 1, B = 1;
  for (int m = 0; m < n; m++) A *= y->len[m];
  B = other / (A ? A : 1);
  double *full = P == 1 ? NULL : dtf_alloc_large((size_t)(2 * other * k + 1) * sizeof(double));
  int *counts = malloc((size_t)P * 2 * sizeof(int)), *displs = counts ? counts + P : NULL;
  dtf_status st = dtf_agree(g->comm, (P == 1 || full) && counts
                                         ? DTF_OK
                                         : dtf_error(DTF_ERR_INPUT, "out of memory for a power iteration"));
  const double *Wf = W->data;
  if (!st && P > 1) { /* the parts, one after another, then into one block of k in mode n */
    double *parts = full + other * k;
    for (int q = 0; q < P; q++) {
      int64_t o, l;
      dtf_block_range(k, P, q, &o, &l);
      counts[q] = (int)(l * other);
      displs[q] = (int)(o * other);
    }
    memcpy(parts + displs[g->coords[n]], W->data, (size_t)counts[g->coords[n]] * sizeof(double));
    st = dtf_allgatherv_inplace(s->fibre[n], parts, counts, displs, &s->comm);
    for (int q = 0; !st && q < P; q++) {
      int64_t o, l;
      dtf_block_range(k, P, q, &o, &l);
      for (int64_t a = 0; a < A; a++)
        memcpy(full + (a * k + o) * B, parts + displs[q] + a * l * B, (size_t)(l * B) * sizeof(double));
    }
    Wf = full;
  }
  int64_t off = y->start[n];
  memset(Z, 0, (size_t)(I * k) * sizeof(double));
  if (!st) dtf_unfold_cross(N, y->len, n, y->data, Wf, k, alpha, Z + off * k);
  if (!st) st = rows_everywhere(s, n, I, k, Z);
  free(full);
  free(counts);
  return st;
}

/* One randomized step for mode n of the block cur: Z = Y_(n) Omega with a Khatri-Rao test
 * matrix (one Gaussian I_k x width matrix per other mode, keyed by global index), Q its
 * orthonormal basis, W = Q^T x_n Y, the eigen-decomposition of W's small Gram; the rank from
 * the exact residual ||Y||^2 - ||U^T Y_(n)||^2 (the sketch doubled while --tol is not met),
 * U = Q V. *next receives V_R^T x_n W = U^T x_n Y, w the kq eigenvalues (zeros after), and
 * *outside the energy of Y outside the sketch's span. alpha: the scale applied to Y. */
dtf_status tucker_randomized(dtf_tucker_t *s, int n, double alpha, int fixed, double **U, double *w,
                             int64_t *neig, double *outside, block_t *next) {
  const dtf_grid_t *g = s->g;
  block_t *y = &s->cur;
  int N = s->N;
  int64_t I = y->dims[n], L = y->len[n], cells = 1;
  for (int k = 0; k < N; k++) cells *= y->len[k];
  double ny2 = 0; /* ||alpha Y||^2 */
  for (int64_t i = 0; i < cells; i++) ny2 += (alpha * y->data[i]) * (alpha * y->data[i]);
  dtf_status st = dtf_allreduce_sum(g->comm, &ny2, 1, &s->comm);
  int want = fixed ? fixed : s->o.tol > 0 ? 0 : s->o.ranks[n];
  int width = want ? want + s->o.oversample : 32;
  if (width > I) width = (int)I;
  double budget = s->o.tol * s->o.tol * s->nx2 / N;
  for (;;) {
    double *om[DTF_MAX_MODES] = {0}, *Z = NULL, *tmp = NULL, *work = NULL;
    int ok = 1;
    for (int k = 0; k < N; k++) { /* this rank's rows of every test matrix */
      if (k == n) continue;
      om[k] = malloc((size_t)(y->len[k] * width + 1) * sizeof(double));
      ok &= om[k] != NULL;
      for (int64_t i = 0; ok && i < y->len[k]; i++)
        for (int c = 0; c < width; c++)
          om[k][i * width + c] = dtf_rng_normal(s->o.seed, DTF_STREAM_SKETCH, (uint64_t)(s->step * N + k),
                                                (uint64_t)(y->start[k] + i) * 1048576u + (uint64_t)c);
    }
    Z = calloc((size_t)(I * width), sizeof(double));
    tmp = malloc((size_t)(I * width) * sizeof(double));
    int64_t wl = dtf_dense_mttkrp_work(N, y->len, n, width);
    work = dtf_alloc_large((size_t)(wl + 1) * sizeof(double));
    ok &= Z && tmp && work;
    st = dtf_agree(g->comm, st ? st : ok ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for a sketch"));
    int64_t off = y->start[n];
    if (!st && cells > 0) {
      const double *f[DTF_MAX_MODES];
      for (int k = 0; k < N; k++) f[k] = om[k];
      dtf_dense_mttkrp(N, y->len, y->data, n, f, width, work, Z + off * width);
      for (int64_t i = 0; i < L * width; i++) Z[off * width + i] *= alpha;
    }
    if (!st) st = rows_everywhere(s, n, I, width, Z);
    for (int k = 0; k < N; k++) free(om[k]);
    free(work);
    int kq = st ? 0 : orthonormalize(I, width, Z, tmp); /* the same on every rank: Z is */
    for (int it = 0; !st && it < s->o.power; it++) {    /* Q <- orth(Y_(n) Y_(n)^T Q) */
      block_t Wp = {0};
      st = tucker_ttm(s, y, n, Z, kq, alpha, 0, &Wp);
      if (!st) st = power_product(s, y, &Wp, n, kq, alpha, Z);
      tucker_block_free(&Wp);
      if (!st) kq = orthonormalize(I, kq, Z, tmp);
    }
    free(tmp);
    /* W = Q^T x_n Y, distributed like a truncated mode of kq indices; its Gram kq x kq */
    block_t W = {0};
    if (!st) st = tucker_ttm(s, y, n, Z, kq, alpha, 0, &W);
    double *rows = NULL, *V = NULL, *ev = malloc((size_t)(kq + 1) * sizeof(double));
    if (!st) {
      rows = calloc((size_t)(W.len[n] * kq + 1), sizeof(double));
      st = dtf_agree(g->comm, rows && ev ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory"));
    }
    int R = 0;
    if (!st) st = tucker_gram(s, &W, n, 1.0, rows);
    if (!st) { /* all of V (kq x kq) from LAPACK on rank 0 (fixed = kq), then the rank */
      st = tucker_eigen(s, n, kq, W.len[n], W.start[n], kq, rows, &V, ev);
      rows = NULL;
    }
    int done = 1;
    if (!st) {
      if (want)
        R = want;
      else { /* the exact residual of the first R columns of U = Q V: ||Y||^2 - sum_{j<R} ev_j */
        double kept = 0;
        R = 0;
        while (R < kq && ny2 - kept > budget) kept += fmax(0.0, ev[R++]);
        if (ny2 - kept > budget && kq < I && width < I) done = 0; /* not met: a wider sketch */
        if (R < 1) R = 1;
      }
      if (R > kq) R = kq;
    }
    if (!st && done) {
      double *Uo = malloc((size_t)(I * R) * sizeof(double)), *VR = malloc((size_t)(kq * R) * sizeof(double));
      st = dtf_agree(g->comm, Uo && VR ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory"));
      if (!st) {
        for (int64_t i = 0; i < kq; i++)
          for (int r = 0; r < R; r++) VR[i * R + r] = V[i * kq + r];
        dtf_matmul(0, 0, I, R, kq, Z, VR, Uo); /* U = Q V_R */
        tucker_fix_signs(I, R, Uo, kq, VR);    /* the same flips in V_R, so that next = U^T x_n Y */
        st = tucker_ttm(s, &W, n, VR, R, 1.0, 0, next);
      }
      if (!st) {
        free(*U);
        *U = Uo;
        s->ranks[n] = R;
        double seen = 0;
        for (int64_t j = 0; j < I; j++) {
          w[j] = j < kq ? ev[j] : 0;
          seen += fmax(0.0, w[j]);
        }
        *neig = kq;
        *outside = fmax(0.0, ny2 - seen);
      } else
        free(Uo);
      free(VR);
    }
    free(V);
    free(ev);
    free(rows);
    free(Z);
    tucker_block_free(&W);
    if (st || done) return st;
    width = width * 2 > I ? (int)I : width * 2;
  }
}
