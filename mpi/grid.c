/* The Cartesian process grid, its slice communicators and the block partition. */
#include "dtf/grid.h"

#include "dtf/fault.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dtf_block_range(int64_t n, int parts, int index, int64_t *start, int64_t *len) {
  int64_t base = n / parts, extra = n % parts;
  *len = base + (index < extra ? 1 : 0);
  *start = index * base + (index < extra ? index : extra);
}

/* Exhaustive search over ordered factorisations of nprocs; N <= 8 and the number of
 * divisors is small, so this is cheap for any realistic process count. */
static void search(int mode, int nmodes, int left, const int64_t *dims, int *cur, double cost, int *best,
                   double *best_cost) {
  if (mode == nmodes - 1) {
    if (left > dims[mode]) return;
    cur[mode] = left;
    cost += (double)dims[mode] / left;
    /* strict improvement keeps the first (lexicographically largest leading P) grid */
    if (cost < *best_cost - 1e-12 * cost) {
      *best_cost = cost;
      memcpy(best, cur, (size_t)nmodes * sizeof(int));
    }
    return;
  }
  for (int p = left; p >= 1; p--) {
    if (left % p || p > dims[mode]) continue;
    cur[mode] = p;
    search(mode + 1, nmodes, left / p, dims, cur, cost + (double)dims[mode] / p, best, best_cost);
  }
}

dtf_status dtf_grid_choose(int nprocs, int nmodes, const int64_t *dims, int *pdims) {
  int cur[DTF_MAX_MODES];
  double best_cost = 1e300;
  pdims[0] = 0;
  search(0, nmodes, nprocs, dims, cur, 0.0, pdims, &best_cost);
  if (pdims[0] == 0)
    return dtf_error(DTF_ERR_USAGE,
                     "%d ranks cannot form a grid with at most one rank per index of every mode; "
                     "use fewer ranks",
                     nprocs);
  return DTF_OK;
}

dtf_status dtf_grid_parse(const char *text, int nmodes, int *pdims) {
  const char *p = text;
  for (int n = 0; n < nmodes; n++) {
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || errno || v < 1 || v > INT_MAX)
      return dtf_error(DTF_ERR_USAGE, "--grid '%s': expected %d positive integers like 2x2x1", text, nmodes);
    pdims[n] = (int)v;
    p = end;
    if (n < nmodes - 1) {
      if (*p != 'x' && *p != 'X')
        return dtf_error(DTF_ERR_USAGE, "--grid '%s': the tensor has %d modes, so give %d sizes like 2x2x1",
                         text, nmodes, nmodes);
      p++;
    }
  }
  if (*p)
    return dtf_error(DTF_ERR_USAGE, "--grid '%s': the tensor has %d modes, so give %d sizes", text, nmodes,
                     nmodes);
  return DTF_OK;
}

dtf_status dtf_grid_create(MPI_Comm comm, int nmodes, const int64_t *dims, const int *pdims,
                           dtf_grid_t **out) {
  *out = NULL;
  if (nmodes < 2 || nmodes > DTF_MAX_MODES)
    return dtf_error(DTF_ERR_INPUT, "a tensor needs 2 to %d modes, not %d", DTF_MAX_MODES, nmodes);
  int size;
  MPI_Comm_size(comm, &size);
  int chosen[DTF_MAX_MODES];
  if (pdims) {
    int64_t prod = 1;
    for (int n = 0; n < nmodes; n++) {
      prod *= pdims[n];
      if (pdims[n] > dims[n])
        return dtf_error(DTF_ERR_USAGE, "--grid: %d ranks in mode %d, which has only %lld ind%s", pdims[n],
                         n + 1, (long long)dims[n], dims[n] == 1 ? "ex" : "ices");
    }
    if (prod != size)
      return dtf_error(DTF_ERR_USAGE, "--grid has %lld ranks but the job has %d", (long long)prod, size);
    memcpy(chosen, pdims, (size_t)nmodes * sizeof(int));
  } else {
    dtf_status st = dtf_grid_choose(size, nmodes, dims, chosen);
    if (st) return st;
  }
  dtf_grid_t *g = calloc(1, sizeof *g);
  if (!g) return dtf_error(DTF_ERR_INPUT, "out of memory");
  g->nmodes = nmodes;
  memcpy(g->dims, dims, (size_t)nmodes * sizeof(int64_t));
  memcpy(g->pdims, chosen, (size_t)nmodes * sizeof(int));
  int periods[DTF_MAX_MODES] = {0};
  MPI_Cart_create(comm, nmodes, g->pdims, periods, 0, &g->comm);
  /* failing MPI calls return their code (DTF_ERR_MPI) instead of aborting the job */
  MPI_Comm_set_errhandler(g->comm, MPI_ERRORS_RETURN);
  int world;
  MPI_Comm_rank(MPI_COMM_WORLD, &world);
  dtf_fault_set_rank(world);
  MPI_Comm_rank(g->comm, &g->rank);
  MPI_Comm_size(g->comm, &g->size);
  MPI_Cart_coords(g->comm, g->rank, nmodes, g->coords);
  for (int n = 0; n < nmodes; n++) {
    dtf_block_range(dims[n], g->pdims[n], g->coords[n], &g->start[n], &g->len[n]);
    int remain[DTF_MAX_MODES];
    for (int k = 0; k < nmodes; k++) remain[k] = (k != n);
    MPI_Cart_sub(g->comm, remain, &g->slice[n]);
    MPI_Comm_rank(g->slice[n], &g->slice_rank[n]);
    MPI_Comm_size(g->slice[n], &g->slice_size[n]);
  }
  *out = g;
  return DTF_OK;
}

int dtf_grid_rank(const dtf_grid_t *g, const int *coords) {
  int r = 0;
  MPI_Cart_rank(g->comm, coords, &r);
  return r;
}

void dtf_grid_free(dtf_grid_t *g) {
  if (!g) return;
  for (int n = 0; n < g->nmodes; n++) MPI_Comm_free(&g->slice[n]);
  MPI_Comm_free(&g->comm);
  free(g);
}

void dtf_grid_format(const dtf_grid_t *g, char *buf, int size) {
  int used = 0;
  buf[0] = '\0';
  for (int n = 0; n < g->nmodes && used < size; n++)
    used += snprintf(buf + used, (size_t)(size - used), n ? "x%d" : "%d", g->pdims[n]);
}

dtf_status dtf_grid_fibre(const dtf_grid_t *g, int mode, MPI_Comm *out) {
  int keep[DTF_MAX_MODES] = {0};
  keep[mode] = 1;
  if (MPI_Cart_sub(g->comm, keep, out) != MPI_SUCCESS)
    return dtf_error(DTF_ERR_MPI, "MPI_Cart_sub for the mode-%d fibres failed", mode + 1);
  return DTF_OK;
}

void dtf_grid_fibre_free(MPI_Comm *comm) {
  if (*comm != MPI_COMM_NULL) MPI_Comm_free(comm);
}
