/* Medium-grained distribution of sparse nonzeros: each goes to the rank whose block of
 * the Cartesian grid contains it, in one all-to-all exchange. */
#include "dtf/distribute.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

int dtf_block_owner(int64_t n, int parts, int64_t i) {
  int64_t base = n / parts, extra = n % parts, big = extra * (base + 1);
  return (int)(i < big ? i / (base + 1) : extra + (i - big) / base);
}

dtf_status dtf_distribute_coo(const dtf_grid_t *g, int64_t nnz, const int64_t *inds, const double *vals,
                              int64_t *local_nnz, int64_t **local_inds, double **local_vals,
                              dtf_comm_stats_t *stats) {
  int N = g->nmodes, P = g->size;
  *local_nnz = 0;
  *local_inds = NULL;
  *local_vals = NULL;
  int *dest = malloc((size_t)(nnz ? nnz : 1) * sizeof(int));
  int64_t *count = calloc((size_t)P, sizeof(int64_t)), *rcount = calloc((size_t)P, sizeof(int64_t));
  int *sc = malloc((size_t)P * sizeof(int)), *sd = malloc((size_t)P * sizeof(int)),
      *rc = malloc((size_t)P * sizeof(int)), *rd = malloc((size_t)P * sizeof(int));
  int64_t *sinds = malloc((size_t)(nnz ? nnz : 1) * N * sizeof(int64_t)), *rinds = NULL, *fill = NULL;
  double *svals = malloc((size_t)(nnz ? nnz : 1) * sizeof(double)), *rvals = NULL;
  dtf_status st = (dest && count && rcount && sc && sd && rc && rd && sinds && svals)
                      ? DTF_OK
                      : dtf_error(DTF_ERR_INPUT, "out of memory distributing %lld nonzeros", (long long)nnz);
  if (!st)
    for (int64_t k = 0; k < nnz; k++) {
      int coords[DTF_MAX_MODES];
      for (int m = 0; m < N; m++) coords[m] = dtf_block_owner(g->dims[m], g->pdims[m], inds[k * N + m]);
      MPI_Cart_rank(g->comm, coords, &dest[k]);
      count[dest[k]]++;
    }
  st = dtf_agree(g->comm, st);
  if (!st) MPI_Alltoall(count, 1, MPI_INT64_T, rcount, 1, MPI_INT64_T, g->comm);
  /* counts travel in entries; MPI counts are int */
  int64_t total = 0, sent = 0;
  for (int q = 0; !st && q < P; q++) {
    if (count[q] > INT_MAX || rcount[q] > INT_MAX || total > INT_MAX || sent > INT_MAX)
      st = dtf_error(DTF_ERR_INPUT, "too many nonzeros per rank for one exchange; use more ranks");
    sd[q] = (int)sent;
    rd[q] = (int)total;
    sc[q] = (int)count[q];
    rc[q] = (int)rcount[q];
    sent += count[q];
    total += rcount[q];
  }
  if (!st && !((rinds = malloc((size_t)(total ? total : 1) * N * sizeof(int64_t))) &&
               (rvals = malloc((size_t)(total ? total : 1) * sizeof(double))) &&
               (fill = calloc((size_t)P, sizeof(int64_t)))))
    st = dtf_error(DTF_ERR_INPUT, "out of memory receiving %lld nonzeros", (long long)total);
  st = dtf_agree(g->comm, st);
  if (!st) {
    for (int64_t k = 0; k < nnz; k++) { /* pack by destination */
      int64_t at = sd[dest[k]] + fill[dest[k]]++;
      memcpy(sinds + at * N, inds + k * N, (size_t)N * sizeof(int64_t));
      svals[at] = vals[k];
    }
    MPI_Datatype entry;
    MPI_Type_contiguous(N, MPI_INT64_T, &entry);
    MPI_Type_commit(&entry);
    MPI_Alltoallv(sinds, sc, sd, entry, rinds, rc, rd, entry, g->comm);
    MPI_Type_free(&entry);
    MPI_Alltoallv(svals, sc, sd, MPI_DOUBLE, rvals, rc, rd, MPI_DOUBLE, g->comm);
    if (stats) {
      stats->bytes_sent += (uint64_t)(sent - count[g->rank]) * (uint64_t)(N * 8 + 8);
      stats->collectives += 3;
    }
    for (int64_t k = 0; k < total; k++) /* to block-local indices */
      for (int m = 0; m < N; m++) rinds[k * N + m] -= g->start[m];
    *local_nnz = total;
    *local_inds = rinds;
    *local_vals = rvals;
    rinds = NULL;
    rvals = NULL;
  }
  free(dest);
  free(count);
  free(rcount);
  free(sc);
  free(sd);
  free(rc);
  free(rd);
  free(sinds);
  free(svals);
  free(rinds);
  free(rvals);
  free(fill);
  return st;
}
