/* Distributed factor matrices: block rows per rank, owned rows per slice rank. */
#include "dtf/factor.h"

#include <stdlib.h>
#include <string.h>

#include "dtf/distribute.h"
#include "dtf/kernels.h"
#include "dtf/rng.h"

dtf_status dtf_factor_init(const dtf_grid_t *g, int mode, int R, dtf_factor_t *f) {
  memset(f, 0, sizeof *f);
  f->mode = mode;
  f->R = R;
  f->rows = g->dims[mode];
  f->block_start = g->start[mode];
  f->block_len = g->len[mode];
  f->slice = g->slice[mode];
  int q = g->slice_size[mode];
  if (f->block_len * (int64_t)R > INT32_MAX)
    return dtf_error(
        DTF_ERR_INPUT,
        "factor %d block of %lld x %d entries exceeds MPI's count limit; use more ranks in mode %d", mode + 1,
        (long long)f->block_len, R, mode + 1);
  f->block = calloc((size_t)(f->block_len ? f->block_len : 1) * (size_t)R, sizeof(double));
  f->counts = malloc((size_t)q * sizeof(int));
  f->displs = malloc((size_t)q * sizeof(int));
  if (!f->block || !f->counts || !f->displs) {
    dtf_factor_free(f);
    return dtf_error(DTF_ERR_INPUT, "out of memory for factor %d (%lld x %d)", mode + 1,
                     (long long)f->block_len, R);
  }
  for (int s = 0; s < q; s++) {
    int64_t st, len;
    dtf_block_range(f->block_len, q, s, &st, &len);
    f->counts[s] = (int)(len * R);
    f->displs[s] = (int)(st * R);
    if (s == g->slice_rank[mode]) {
      f->own_start = f->block_start + st;
      f->own_len = len;
    }
  }
  return DTF_OK;
}

void dtf_factor_free(dtf_factor_t *f) {
  free(f->block);
  free(f->counts);
  free(f->displs);
  f->block = NULL;
  f->counts = f->displs = NULL;
}

double *dtf_factor_owned(const dtf_factor_t *f) { return f->block + (f->own_start - f->block_start) * f->R; }

dtf_status dtf_factor_reduce_scatter(const dtf_factor_t *f, const double *local, double *out,
                                     dtf_comm_stats_t *stats) {
  return dtf_reduce_scatter_sum(f->slice, local, out, f->counts, stats);
}

dtf_status dtf_factor_allgather(dtf_factor_t *f, dtf_comm_stats_t *stats) {
  return dtf_allgatherv_inplace(f->slice, f->block, f->counts, f->displs, stats);
}

void dtf_factor_fill_normal(dtf_factor_t *f, uint64_t seed, uint64_t stream, const int64_t *labels) {
  for (int64_t i = 0; i < f->block_len; i++) {
    int64_t g = f->block_start + i, label = labels ? labels[g] : g;
    for (int r = 0; r < f->R; r++)
      f->block[i * f->R + r] = dtf_rng_normal(seed, stream, (uint64_t)f->mode, (uint64_t)(label * f->R + r));
  }
}

dtf_status dtf_factor_relabel(const dtf_grid_t *g, const dtf_factor_t *src, const int64_t *labels,
                              dtf_factor_t *dst, dtf_comm_stats_t *stats) {
  int P = g->size, m = src->mode, R = src->R;
  /* who owns row q of dst: the rank at block coordinate b of mode m with slice rank s */
  int pair[2] = {g->coords[m], g->slice_rank[m]}, *pairs = malloc((size_t)P * 2 * sizeof(int));
  int *sc = calloc((size_t)P, sizeof(int)), *sd = malloc((size_t)P * sizeof(int)),
      *rc = malloc((size_t)P * sizeof(int)), *rd = malloc((size_t)P * sizeof(int)),
      *dest = malloc((size_t)(src->own_len ? src->own_len : 1) * sizeof(int));
  double *sbuf = malloc((size_t)(src->own_len ? src->own_len : 1) * (R + 1) * sizeof(double));
  double *rbuf = malloc((size_t)(dst->own_len ? dst->own_len : 1) * (R + 1) * sizeof(double));
  int *fill = calloc((size_t)P, sizeof(int));
  dtf_status st = (pairs && sc && sd && rc && rd && dest && sbuf && rbuf && fill)
                      ? DTF_OK
                      : dtf_error(DTF_ERR_INPUT, "out of memory relabelling factor %d", m + 1);
  st = dtf_agree(g->comm, st);
  if (!st) {
    st = dtf_allgather(g->comm, pair, 2, MPI_INT, pairs);
  }
  if (!st) {
    const double *own = dtf_factor_owned(src);
    for (int64_t i = 0; i < src->own_len; i++) {
      int64_t q = labels[src->own_start + i], bs, bl;
      int b = dtf_block_owner(src->rows, g->pdims[m], q);
      dtf_block_range(src->rows, g->pdims[m], b, &bs, &bl);
      int s = dtf_block_owner(bl, g->slice_size[m], q - bs);
      for (int p = 0; p < P; p++)
        if (pairs[2 * p] == b && pairs[2 * p + 1] == s) dest[i] = p;
      sc[dest[i]] += R + 1;
    }
    for (int p = 0, at = 0; p < P; at += sc[p], p++) sd[p] = at;
    for (int64_t i = 0; i < src->own_len; i++) { /* (target row, values) */
      double *e = sbuf + sd[dest[i]] + fill[dest[i]];
      fill[dest[i]] += R + 1;
      e[0] = (double)labels[src->own_start + i];
      for (int r = 0; r < R; r++) e[1 + r] = own[i * R + r];
    }
    st = dtf_alltoall(g->comm, sc, rc, 1, MPI_INT);
  }
  int total = 0;
  if (!st) {
    for (int p = 0; p < P; total += rc[p], p++) rd[p] = total;
    st = dtf_alltoallv(g->comm, sbuf, sc, sd, rbuf, rc, rd, MPI_DOUBLE, stats);
  }
  if (!st) {
    double *downed = dtf_factor_owned(dst);
    for (int k = 0; k < total; k += R + 1) {
      int64_t q = (int64_t)rbuf[k] - dst->own_start;
      for (int r = 0; r < R; r++) downed[q * R + r] = rbuf[k + 1 + r];
    }
    st = dtf_factor_allgather(dst, stats);
  }
  free(pairs);
  free(sc);
  free(sd);
  free(rc);
  free(rd);
  free(dest);
  free(sbuf);
  free(rbuf);
  free(fill);
  return st;
}

dtf_status dtf_factor_gram(const dtf_factor_t *f, MPI_Comm all, double *G, dtf_comm_stats_t *stats) {
  dtf_gram(f->own_len, f->R, dtf_factor_owned(f), G);
  return dtf_allreduce_sum(all, G, (int64_t)f->R * f->R, stats);
}

dtf_status dtf_factor_cross(const dtf_factor_t *a, const dtf_factor_t *b, MPI_Comm all, double *C,
                            dtf_comm_stats_t *stats) {
  dtf_cross(a->own_len, a->R, dtf_factor_owned(a), b->R, dtf_factor_owned(b), C);
  return dtf_allreduce_sum(all, C, (int64_t)a->R * b->R, stats);
}
