/* Tucker's n-mode product (docs/algorithms.md, "Tucker", step 4): reduce-scattered in the
 * fibre, so that the truncated mode stays distributed over the same ranks, or written over
 * the block where the mode has one rank in its fibre. */
#include <stdlib.h>
#include <string.h>

#include "dtf/kernels.h"
#include "dtf/memory.h"
#include "timer.h"
#include "tucker_impl.h"

/* out = alpha U^T x_n in (U: I_n x R), out's mode n split over the fibre like any mode. With
 * inplace, a mode on one rank of its fibre, and a block that may be overwritten, the product
 * is written over the block (dtf_ttm_inplace): out takes in's buffer and in is left empty. */
dtf_status tucker_ttm(dtf_tucker_t *s, block_t *in, int n, const double *U, int R, double alpha, int inplace,
                      block_t *out) {
  if (inplace && in->mut && s->g->pdims[n] == 1) {
    int64_t L = in->len[n], chunk = TTM_CHUNK;
    double *Uq = malloc((size_t)(L * R + 1) * sizeof(double)),
           *work = malloc((size_t)(R * chunk + 1) * sizeof(double));
    dtf_status st = dtf_agree(
        s->g->comm, Uq && work ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for an n-mode product"));
    if (!st) {
      for (int64_t i = 0; i < L; i++)
        memcpy(Uq + i * R, U + (in->start[n] + i) * R, (size_t)R * sizeof(double));
      dtf_ttm_inplace(s->N, in->len, n, in->mut, Uq, R, alpha, work, chunk);
      *out = *in;
      out->dims[n] = out->len[n] = R;
      out->start[n] = 0;
      in->own = in->mut = NULL;
      in->data = NULL;
    }
    free(Uq);
    free(work);
    return st;
  }
  const dtf_grid_t *g = s->g;
  int N = s->N, P = g->pdims[n], me = g->coords[n];
  int64_t L = in->len[n], start = in->start[n], other = tucker_prod_except(N, in->len, n);
  int64_t off, len;
  dtf_block_range(R, P, me, &off, &len);
  double *next = dtf_alloc_large((size_t)(other * len + 1) * sizeof(double));
  /* with one rank in the fibre the product is the result: no second buffer */
  double *send = P == 1 ? next : dtf_alloc_large((size_t)(other * R + 1) * sizeof(double));
  double *Uq = malloc((size_t)(L * R + 1) * sizeof(double));
  int *counts = malloc((size_t)P * sizeof(int));
  dtf_status st =
      send && Uq && counts && next ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for an n-mode product");
  if (!st && (double)other * R > 2147483647.0)
    st = dtf_error(DTF_ERR_INPUT,
                   "an n-mode product of %.3g entries is too large for one reduce-scatter; use more ranks",
                   (double)other * R);
  st = dtf_agree(g->comm, st);
  int64_t pos = 0;
  for (int q = 0; !st && q < P; q++) { /* the part bound for fibre rank q: rows oq .. oq+lq of U^T X */
    int64_t oq, lq;
    dtf_block_range(R, P, q, &oq, &lq);
    for (int64_t i = 0; i < L; i++)
      for (int64_t r = 0; r < lq; r++) Uq[i * lq + r] = U[(start + i) * R + oq + r];
    dtf_ttm(N, in->len, n, in->data, 1, Uq, lq, alpha, send + pos);
    counts[q] = (int)(other * lq);
    pos += other * lq;
  }
  double t0 = dtf_now();
  if (!st && P > 1) st = dtf_reduce_scatter_sum(s->fibre[n], send, next, counts, &s->comm);
  s->t_comm += dtf_now() - t0;
  if (send != next) free(send);
  free(Uq);
  free(counts);
  if (st) {
    free(next);
    return st;
  }
  *out = *in;
  out->data = out->own = out->mut = next;
  out->dims[n] = R;
  out->start[n] = off;
  out->len[n] = len;
  return DTF_OK;
}
