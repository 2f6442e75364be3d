/* What every tensor kind shares: versions, release, the global norm and the fingerprint,
 * all computed through the operations table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/comm.h"
#include "dtf/memory.h"
#include "dtf/rng.h"
#include "dtf/sort.h"
#include "dtf/tensor.h"

uint64_t dtf_tensor_next_version(void) {
  static _Atomic uint64_t counter = 0;
  return ++counter;
}

void dtf_tensor_free(dtf_tensor_t *t) {
  if (!t) return;
  t->ops->destroy(t);
  free(t);
}

dtf_status dtf_tensor_norm(const dtf_grid_t *g, const dtf_tensor_t *t, double *norm) {
  return dtf_allreduce_norm(g->comm, t->ops->norm(t), norm, NULL);
}

dtf_status dtf_tensor_check_values(const dtf_grid_t *g, const dtf_tensor_t *t, const char *(*invalid)(double),
                                   const char *what, const char *rule) {
  enum { CHUNK = 1024 };
  int N = g->nmodes;
  int64_t *inds = malloc((size_t)CHUNK * N * sizeof(int64_t)), n = t->ops->entries(t);
  double *vals = malloc(CHUNK * sizeof(double));
  dtf_status st = (inds && vals) ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory");
  for (int64_t k0 = 0; !st && k0 < n; k0 += CHUNK) {
    int64_t c = n - k0 < CHUNK ? n - k0 : CHUNK;
    t->ops->entries_get(t, k0, c, inds, vals);
    for (int64_t k = 0; k < c && !st; k++) {
      const char *why = invalid(vals[k]);
      if (!why) continue;
      char where[256];
      size_t used = 0;
      for (int m = 0; m < N; m++)
        used += (size_t)snprintf(where + used, sizeof where - used, "%s%lld", m ? ", " : "",
                                 (long long)(inds[k * N + m] + 1));
      st = dtf_error(DTF_ERR_INPUT, "%s (%s) (1-based) is %.17g; %s needs %s", what, where, vals[k], rule,
                     why);
    }
  }
  free(inds);
  free(vals);
  return dtf_agree(g->comm, st);
}

dtf_status dtf_tensor_fingerprint(const dtf_grid_t *g, const dtf_tensor_t *t, const int64_t *const *labels,
                                  dtf_fingerprint_t *fp) {
  memset(fp, 0, sizeof *fp);
  int N = g->nmodes;
  fp->nmodes = N;
  memcpy(fp->dims, g->dims, (size_t)N * sizeof(int64_t));
  enum { CHUNK = 4096 };
  int64_t *inds = malloc((size_t)CHUNK * N * sizeof(int64_t)), n = t->ops->entries(t);
  double *vals = malloc(CHUNK * sizeof(double));
  dtf_status st = (inds && vals) ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory");
  uint64_t sums[2] = {(uint64_t)n, 0}; /* entries, checksum: sums modulo 2^64 are exact in any order */
  for (int64_t k0 = 0; !st && k0 < n; k0 += CHUNK) {
    int64_t c = n - k0 < CHUNK ? n - k0 : CHUNK;
    t->ops->entries_get(t, k0, c, inds, vals);
    for (int64_t j = 0; j < c; j++) {
      /* a stored zero is the zero that is not stored, unless zeros are observations */
      if (vals[j] == 0.0 && !t->ops->zeros_are_data) continue;
      uint64_t lin = 0, bits;
      for (int m = 0; m < N; m++) {
        int64_t i = inds[j * N + m];
        lin = lin * (uint64_t)g->dims[m] + (uint64_t)(labels && labels[m] ? labels[m][i] : i);
      }
      memcpy(&bits, &vals[j], sizeof bits);
      sums[1] += dtf_rng_u64(lin, DTF_STREAM_CHECKSUM, bits, 0);
    }
  }
  free(inds);
  free(vals);
  st = dtf_agree(g->comm, st);
  if (!st) st = dtf_allreduce(g->comm, sums, 2, MPI_UINT64_T, MPI_SUM, NULL);
  if (!st) st = dtf_tensor_norm(g, t, &fp->norm);
  fp->entries = (int64_t)sums[0];
  fp->checksum = sums[1];
  return st;
}

dtf_status dtf_fibre_index_build(int N, int mode, int64_t nnz, const int64_t *inds, const double *vals,
                                 dtf_fibre_index_t *fi) {
  fi->nnz = nnz;
  fi->tup = dtf_alloc_large((size_t)(nnz ? nnz : 1) * (N + 1) * sizeof(int64_t));
  if (!fi->tup) return dtf_error(DTF_ERR_INPUT, "out of memory indexing the fibres of mode %d", mode + 1);
  for (int64_t e = 0; e < nnz; e++) {
    int64_t *t = fi->tup + e * (N + 1);
    for (int m = 0, k = 0; m < N; m++)
      if (m != mode) t[k++] = inds[e * N + m];
    t[N - 1] = inds[e * N + mode];
    memcpy(&t[N], &vals[e], sizeof(double));
  }
  if (dtf_sort_tuples(fi->tup, nnz, N + 1, N)) {
    dtf_fibre_index_free(fi);
    return dtf_error(DTF_ERR_INPUT, "out of memory indexing the fibres of mode %d", mode + 1);
  }
  return DTF_OK;
}

/* -1, 0, 1 as tuple t's first N - 1 indices (the other modes) are below, equal to, above key */
static int compare_prefix(const int64_t *t, const int64_t *key, int n) {
  for (int k = 0; k < n; k++)
    if (t[k] != key[k]) return t[k] < key[k] ? -1 : 1;
  return 0;
}

/* the first tuple whose other indices are not below ix's */
static int64_t first_of_fibre(const dtf_fibre_index_t *fi, int N, int mode, const int64_t *ix, int64_t *key) {
  int64_t lo = 0, hi = fi->nnz;
  for (int m = 0, k = 0; m < N; m++)
    if (m != mode) key[k++] = ix[m];
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (compare_prefix(fi->tup + mid * (N + 1), key, N - 1) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

double dtf_fibre_index_value(const dtf_fibre_index_t *fi, int N, int mode, const int64_t *ix,
                             unsigned char *stored) {
  int64_t key[DTF_MAX_MODES];
  *stored = 0;
  for (int64_t lo = first_of_fibre(fi, N, mode, ix, key); lo < fi->nnz; lo++) {
    const int64_t *t = fi->tup + lo * (N + 1);
    if (compare_prefix(t, key, N - 1) || t[N - 1] > ix[mode]) break;
    if (t[N - 1] == ix[mode]) {
      double v;
      memcpy(&v, &t[N], sizeof v);
      *stored = 1;
      return v;
    }
  }
  return 0.0;
}

void dtf_fibre_index_get(const dtf_fibre_index_t *fi, int N, int mode, const int64_t *ix, int64_t len,
                         double *out) {
  int64_t key[DTF_MAX_MODES], lo = first_of_fibre(fi, N, mode, ix, key);
  memset(out, 0, (size_t)len * sizeof(double));
  for (; lo < fi->nnz; lo++) {
    const int64_t *t = fi->tup + lo * (N + 1);
    if (compare_prefix(t, key, N - 1)) break;
    memcpy(&out[t[N - 1]], &t[N], sizeof(double));
  }
}

void dtf_fibre_index_free(dtf_fibre_index_t *fi) {
  free(fi->tup);
  fi->tup = NULL;
  fi->nnz = 0;
}

double dtf_tr_entries_workspace(const dtf_tensor_t *t, const int *ranks) {
  int R = 1;
  for (int n = 0; n < t->nmodes; n++)
    if (ranks[n] > R) R = ranks[n];
  return (3.0 * R * R + 4096.0 * (t->nmodes + 1)) * sizeof(double);
}
