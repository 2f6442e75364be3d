/* Medium-grained distribution of sparse nonzeros: each goes to the rank whose block of
 * the Cartesian grid contains it, in one all-to-all exchange. */
#include "dtf/distribute.h"

#include "dtf/memory.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

int dtf_block_owner(int64_t n, int parts, int64_t i) {
  int64_t base = n / parts, extra = n % parts, big = extra * (base + 1);
  return (int)(i < big ? i / (base + 1) : extra + (i - big) / base);
}

dtf_status dtf_distribute_coo(const dtf_grid_t *g, const dtf_coo_t *in, dtf_coo_t *out,
                              dtf_comm_stats_t *stats) {
  int N = g->nmodes, P = g->size, tagged = in->tags != NULL;
  int64_t nnz = in->nnz;
  memset(out, 0, sizeof *out);
  out->nmodes = N;
  memcpy(out->dims, g->dims, sizeof out->dims);
  out->tag_is_line = in->tag_is_line;
  size_t one = (size_t)(nnz ? nnz : 1);
  int *dest = malloc(one * sizeof(int));
  int64_t *count = calloc((size_t)P, sizeof(int64_t)), *rcount = calloc((size_t)P, sizeof(int64_t));
  int *sc = malloc((size_t)P * sizeof(int)), *sd = malloc((size_t)P * sizeof(int)),
      *rc = malloc((size_t)P * sizeof(int)), *rd = malloc((size_t)P * sizeof(int));
  int64_t *sinds = dtf_alloc_large(one * N * sizeof(int64_t)),
          *stags = tagged ? dtf_alloc_large(one * sizeof(int64_t)) : NULL;
  int64_t *fill = calloc((size_t)P, sizeof(int64_t));
  double *svals = dtf_alloc_large(one * sizeof(double));
  dtf_status st =
      (dest && count && rcount && sc && sd && rc && rd && sinds && svals && fill && (!tagged || stags))
          ? DTF_OK
          : dtf_error(DTF_ERR_INPUT, "out of memory distributing %lld entries", (long long)nnz);
  if (!st)
    for (int64_t k = 0; k < nnz; k++) {
      int coords[DTF_MAX_MODES];
      for (int m = 0; m < N; m++) coords[m] = dtf_block_owner(g->dims[m], g->pdims[m], in->inds[k * N + m]);
      MPI_Cart_rank(g->comm, coords, &dest[k]);
      count[dest[k]]++;
    }
  st = dtf_agree(g->comm, st);
  if (!st) st = dtf_alltoall(g->comm, count, rcount, 1, MPI_INT64_T);
  /* MPI counts are int: one exchange carries fewer than 2^31 entries per pair and rank */
  int64_t total = 0, sent = 0;
  for (int q = 0; !st && q < P; q++) {
    sd[q] = (int)sent;
    rd[q] = (int)total;
    sc[q] = (int)count[q];
    rc[q] = (int)rcount[q];
    sent += count[q];
    total += rcount[q];
    if (sent > INT_MAX || total > INT_MAX)
      st = dtf_error(DTF_ERR_INPUT, "more than 2^31 entries per rank in one exchange; use more ranks");
  }
  size_t rone = (size_t)(total ? total : 1);
  if (!st &&
      !((out->inds = malloc(rone * N * sizeof(int64_t))) && (out->vals = malloc(rone * sizeof(double))) &&
        (!tagged || (out->tags = malloc(rone * sizeof(int64_t))))))
    st = dtf_error(DTF_ERR_INPUT, "out of memory receiving %lld entries", (long long)total);
  st = dtf_agree(g->comm, st);
  if (!st) {
    for (int64_t k = 0; k < nnz; k++) { /* pack by destination */
      int64_t at = sd[dest[k]] + fill[dest[k]]++;
      memcpy(sinds + at * N, in->inds + k * N, (size_t)N * sizeof(int64_t));
      svals[at] = in->vals[k];
      if (tagged) stags[at] = in->tags[k];
    }
    MPI_Datatype entry;
    MPI_Type_contiguous(N, MPI_INT64_T, &entry);
    MPI_Type_commit(&entry);
    st = dtf_alltoallv(g->comm, sinds, sc, sd, out->inds, rc, rd, entry, stats);
    MPI_Type_free(&entry);
    if (!st) st = dtf_alltoallv(g->comm, svals, sc, sd, out->vals, rc, rd, MPI_DOUBLE, stats);
    if (!st && tagged) st = dtf_alltoallv(g->comm, stags, sc, sd, out->tags, rc, rd, MPI_INT64_T, stats);
  }
  if (!st) {
    for (int64_t k = 0; k < total; k++) /* to block-local indices */
      for (int m = 0; m < N; m++) out->inds[k * N + m] -= g->start[m];
    out->nnz = total;
  } else
    dtf_coo_free(out);
  free(dest);
  free(count);
  free(rcount);
  free(sc);
  free(sd);
  free(rc);
  free(rd);
  free(sinds);
  free(stags);
  free(svals);
  free(fill);
  return st;
}
