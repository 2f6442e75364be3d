/* Distributed factor matrices: block rows per rank, owned rows per slice rank. */
#include "dtf/factor.h"

#include <stdlib.h>
#include <string.h>

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

void dtf_factor_fill_normal(dtf_factor_t *f, uint64_t seed, uint64_t stream) {
  for (int64_t i = 0; i < f->block_len; i++)
    for (int r = 0; r < f->R; r++)
      f->block[i * f->R + r] =
          dtf_rng_normal(seed, stream, (uint64_t)f->mode, (uint64_t)((f->block_start + i) * f->R + r));
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
