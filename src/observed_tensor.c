/* The observed-entry tensor kind: the observations as plain arrays (indices, values) and,
 * per mode, the entries grouped by their index in that mode (a counting sort, once). Its
 * MTTKRP, over observations only, walks those groups: one output row at a time, no
 * atomics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/comm.h"
#include "dtf/kernels.h"
#include "dtf/memory.h"
#include "dtf/observed.h"
#include "dtf/rng.h"
#include "dtf/sort.h"

typedef struct {
  dtf_observed_view_t v;
  int64_t *inds;
  double *vals;
  int64_t *by_row[DTF_MAX_MODES], *row_ptr[DTF_MAX_MODES];
  int64_t *row_inds[DTF_MAX_MODES]; /* NULL where the order is the entries' own */
  double *row_vals[DTF_MAX_MODES];
  double norm;
  double *work; /* R */
  int R;
  dtf_fibre_index_t fibres[DTF_MAX_MODES];
} observed_t;

static dtf_status ensure_work(observed_t *s, int R) {
  if (s->R == R) return DTF_OK;
  free(s->work);
  s->work = malloc((size_t)R * sizeof(double));
  s->R = s->work ? R : 0;
  return s->work ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory");
}

/* out (dims[mode] x R) = sum over observations e of w_e * Hadamard of the other rows,
 * fibre by fibre in the mode's row order (w: NULL for the values, else in entry order) */
static dtf_status obs_mttkrp_w(dtf_tensor_t *t, int mode, const double *const *F, const double *w, int R,
                               double *out) {
  observed_t *s = t->impl;
  const dtf_observed_view_t *v = &s->v;
  dtf_status st = ensure_work(s, R);
  if (st) return st;
  double *wp = NULL;
  if (w) { /* the weights in the row order */
    if (!(wp = dtf_alloc_large((size_t)(v->nnz ? v->nnz : 1) * sizeof(double))))
      return dtf_error(DTF_ERR_INPUT, "out of memory");
    for (int64_t p = 0; p < v->nnz; p++) wp[p] = w[v->by_row[mode][p]];
  }
  memset(out, 0, (size_t)(t->dims[mode] * R) * sizeof(double));
  dtf_rows_mttkrp(t->nmodes, mode, v->fibre[mode], t->dims[mode], v->row_ptr[mode], v->row_inds[mode], v->nnz,
                  NULL, w ? wp : v->row_vals[mode], F, R, out, R, NULL, s->work);
  free(wp);
  return DTF_OK;
}

static dtf_status obs_mttkrp(dtf_tensor_t *t, int mode, const double *const *F, const uint64_t *versions,
                             int R, double *out) {
  (void)versions;
  return obs_mttkrp_w(t, mode, F, NULL, R, out);
}

static double obs_norm(const dtf_tensor_t *t) { return ((const observed_t *)t->impl)->norm; }

static double obs_workspace(const dtf_tensor_t *t, int R) {
  (void)t;
  return (double)R * sizeof(double);
}

static int64_t obs_entries(const dtf_tensor_t *t) { return ((const observed_t *)t->impl)->v.nnz; }

static void obs_entries_get(const dtf_tensor_t *t, int64_t first, int64_t count, int64_t *inds,
                            double *vals) {
  const observed_t *s = t->impl;
  int N = t->nmodes;
  for (int64_t j = 0; j < count; j++) {
    for (int m = 0; m < N; m++) inds[j * N + m] = s->inds[(first + j) * N + m] + t->start[m];
    if (vals) vals[j] = s->vals[first + j];
  }
}

/* the observations as a tensor that is zero where unobserved, in mode's row order */
static dtf_status obs_tr_contract(dtf_tensor_t *t, int mode, const double *const *cores, const int *ranks,
                                  double *out) {
  const observed_t *s = t->impl;
  int N = t->nmodes, Rmax = 1;
  for (int k = 0; k < N; k++)
    if (ranks[k] > Rmax) Rmax = ranks[k];
  int64_t D = (int64_t)ranks[mode] * ranks[(mode + 1) % N];
  double *work = malloc((size_t)(D + 2 * Rmax * Rmax) * sizeof(double));
  if (!work) return dtf_error(DTF_ERR_INPUT, "out of memory");
  memset(out, 0, (size_t)(t->dims[mode] * D) * sizeof(double));
  dtf_tr_entries_contract(N, mode, ranks, cores, s->v.nnz, s->v.row_inds[mode], s->v.row_vals[mode], out,
                          work);
  free(work);
  return DTF_OK;
}

static dtf_status fibre_index(dtf_tensor_t *t, int mode) {
  observed_t *s = t->impl;
  if (s->fibres[mode].tup) return DTF_OK;
  return dtf_fibre_index_build(t->nmodes, mode, s->v.nnz, s->inds, s->vals, &s->fibres[mode]);
}

static dtf_status obs_fibre(dtf_tensor_t *t, int mode, const int64_t *ix, double *out) {
  observed_t *s = t->impl;
  dtf_status st = fibre_index(t, mode);
  if (!st) dtf_fibre_index_get(&s->fibres[mode], t->nmodes, mode, ix, t->dims[mode], out);
  return st;
}

static dtf_status obs_values_at(dtf_tensor_t *t, int64_t count, const int64_t *inds, double *out,
                                unsigned char *stored) {
  observed_t *s = t->impl;
  dtf_status st = fibre_index(t, 0);
  for (int64_t k = 0; !st && k < count; k++)
    out[k] = dtf_fibre_index_value(&s->fibres[0], t->nmodes, 0, inds + k * t->nmodes, &stored[k]);
  return st;
}

static void obs_destroy(dtf_tensor_t *t) {
  observed_t *s = t->impl;
  free(s->inds);
  free(s->vals);
  for (int n = 0; n < DTF_MAX_MODES; n++) {
    dtf_fibre_index_free(&s->fibres[n]);
    free(s->by_row[n]);
    free(s->row_ptr[n]);
    free(s->row_inds[n]);
    free(s->row_vals[n]);
  }
  free(s->work);
  free(s);
}

/* observed zeros are data: they count in the fingerprint */
static const dtf_tensor_ops_t observed_ops = {"observed",
                                              obs_mttkrp,
                                              obs_norm,
                                              obs_workspace,
                                              obs_entries,
                                              obs_entries_get,
                                              obs_mttkrp_w,
                                              obs_tr_contract,
                                              dtf_tr_entries_workspace,
                                              obs_fibre,
                                              obs_values_at,
                                              obs_destroy,
                                              1};

double dtf_observed_bytes(int N, const int64_t *len, int64_t nnz) {
  double bytes = (double)nnz * (N + 1) * 8 * 2; /* indices and values, the sort's tuples */
  for (int n = 0; n < N; n++)                   /* offsets, the order, the entries in that order */
    bytes += ((double)len[n] + 1) * 8 + (double)nnz * (N + 2) * 8;
  return bytes;
}

dtf_status dtf_observed_tensor_create(int N, const int64_t *start, const int64_t *dims, int64_t nnz,
                                      int64_t *inds, double *vals, dtf_tensor_t **out) {
  *out = NULL;
  dtf_tensor_t *t = calloc(1, sizeof *t);
  observed_t *s = calloc(1, sizeof *s);
  if (!t || !s) {
    free(t);
    free(s);
    free(inds);
    free(vals);
    return dtf_error(DTF_ERR_INPUT, "out of memory");
  }
  t->ops = &observed_ops;
  t->nmodes = N;
  memcpy(t->start, start, (size_t)N * sizeof(int64_t));
  memcpy(t->dims, dims, (size_t)N * sizeof(int64_t));
  t->impl = s;
  s->inds = inds;
  s->vals = vals;
  s->v.nmodes = N;
  s->v.nnz = nnz;
  s->v.inds = inds;
  s->v.vals = vals;
  /* per mode: (row, the other modes, the fibre mode last) tuples with the entry's
   * position, sorted; the fibre mode is the longest other one, for long fibres */
  int64_t *tup = dtf_alloc_large((size_t)(nnz ? nnz : 1) * (N + 1) * sizeof(int64_t));
  if (!tup) {
    dtf_tensor_free(t);
    return dtf_error(DTF_ERR_INPUT, "out of memory grouping %lld observations", (long long)nnz);
  }
  for (int n = 0; n < N; n++) {
    int L = -1, key[DTF_MAX_MODES], k = 1;
    for (int m = 0; m < N; m++)
      if (m != n && (L < 0 || dims[m] >= dims[L])) L = m;
    key[0] = n;
    for (int m = 0; m < N; m++)
      if (m != n && m != L) key[k++] = m;
    key[N - 1] = L;
    s->v.fibre[n] = L;
    for (int64_t e = 0; e < nnz; e++) {
      for (int q = 0; q < N; q++) tup[e * (N + 1) + q] = inds[e * N + key[q]];
      tup[e * (N + 1) + N] = e;
    }
    s->row_ptr[n] = calloc((size_t)dims[n] + 1, sizeof(int64_t));
    s->by_row[n] = dtf_alloc_large((size_t)(nnz ? nnz : 1) * sizeof(int64_t));
    if (!s->row_ptr[n] || !s->by_row[n] || dtf_sort_tuples(tup, nnz, N + 1, N)) {
      free(tup);
      dtf_tensor_free(t);
      return dtf_error(DTF_ERR_INPUT, "out of memory grouping %lld observations by mode %d", (long long)nnz,
                       n + 1);
    }
    int64_t *ptr = s->row_ptr[n], *order = s->by_row[n], same = 1;
    for (int64_t p = 0; p < nnz; p++) {
      order[p] = tup[p * (N + 1) + N];
      ptr[tup[p * (N + 1)] + 1]++;
      same &= order[p] == p;
    }
    for (int64_t i = 0; i < dims[n]; i++) ptr[i + 1] += ptr[i];
    s->v.by_row[n] = order;
    s->v.row_ptr[n] = ptr;
    /* the entries in this order (shared with the entries' own when it is the same) */
    s->v.row_inds[n] = inds;
    s->v.row_vals[n] = vals;
    if (same) continue;
    s->row_inds[n] = dtf_alloc_large((size_t)(nnz ? nnz : 1) * N * sizeof(int64_t));
    s->row_vals[n] = dtf_alloc_large((size_t)(nnz ? nnz : 1) * sizeof(double));
    if (!s->row_inds[n] || !s->row_vals[n]) {
      free(tup);
      dtf_tensor_free(t);
      return dtf_error(DTF_ERR_INPUT, "out of memory ordering %lld observations by mode %d", (long long)nnz,
                       n + 1);
    }
    for (int64_t p = 0; p < nnz; p++) {
      memcpy(s->row_inds[n] + p * N, inds + order[p] * N, (size_t)N * sizeof(int64_t));
      s->row_vals[n][p] = vals[order[p]];
    }
    s->v.row_inds[n] = s->row_inds[n];
    s->v.row_vals[n] = s->row_vals[n];
  }
  free(tup);
  s->norm = dtf_norm(nnz, vals);
  *out = t;
  return DTF_OK;
}

const dtf_observed_view_t *dtf_observed_view(const dtf_tensor_t *t) {
  return t && t->ops == &observed_ops ? &((const observed_t *)t->impl)->v : NULL;
}

/* "(i, j, k) (1-based)" of a block-local index, 1-based global */
static void name_index(int N, const int64_t *start, const int64_t *local, char *buf, size_t size) {
  size_t used = 0;
  for (int m = 0; m < N && used < size; m++)
    used += (size_t)snprintf(buf + used, size - used, "%s%lld", m ? ", " : "(",
                             (long long)(start[m] + local[m] + 1));
  if (used < size) snprintf(buf + used, size - used, ") (1-based)");
}

dtf_status dtf_observed_from_dense(int N, const int64_t *start, const int64_t *dims, const double *X,
                                   const uint8_t *mask, const char *what, dtf_tensor_t **out) {
  *out = NULL;
  int64_t cells = 1, nnz = 0;
  for (int m = 0; m < N; m++) cells *= dims[m];
  int64_t sub[DTF_MAX_MODES] = {0};
  char where[256];
  for (int64_t k = 0; k < cells; k++) {
    int obs = mask ? mask[k] : !isnan(X[k]);
    if (mask && mask[k] > 1) {
      for (int64_t q = k, m = N - 1; m >= 0; m--) sub[m] = q % dims[m], q /= dims[m];
      name_index(N, start, sub, where, sizeof where);
      return dtf_error(DTF_ERR_INPUT,
                       "the mask of %s holds %u at %s; a mask holds 1 (observed) or 0 (missing)", what,
                       (unsigned)mask[k], where);
    }
    if (obs && !isfinite(X[k])) {
      for (int64_t q = k, m = N - 1; m >= 0; m--) sub[m] = q % dims[m], q /= dims[m];
      name_index(N, start, sub, where, sizeof where);
      return dtf_error(DTF_ERR_INPUT, "%s holds %g at %s, which %s", what, X[k], where,
                       mask ? "the mask says is observed" : "is not a number (NaN marks a missing entry)");
    }
    nnz += obs;
  }
  int64_t *inds = dtf_alloc_large((size_t)(nnz ? nnz : 1) * N * sizeof(int64_t));
  double *vals = dtf_alloc_large((size_t)(nnz ? nnz : 1) * sizeof(double));
  if (!inds || !vals) {
    free(inds);
    free(vals);
    return dtf_error(DTF_ERR_INPUT, "out of memory for %lld observations", (long long)nnz);
  }
  memset(sub, 0, sizeof sub);
  int64_t e = 0;
  for (int64_t k = 0; k < cells; k++) {
    if (mask ? mask[k] : !isnan(X[k])) {
      memcpy(inds + e * N, sub, (size_t)N * sizeof(int64_t));
      vals[e++] = X[k];
    }
    for (int m = N - 1; m >= 0; m--) { /* the next cell in C order */
      if (++sub[m] < dims[m]) break;
      sub[m] = 0;
    }
  }
  return dtf_observed_tensor_create(N, start, dims, nnz, inds, vals, out);
}

uint64_t dtf_entry_key(int N, const int64_t *dims, const int64_t *global) {
  uint64_t lin = 0;
  for (int m = 0; m < N; m++) lin = lin * (uint64_t)dims[m] + (uint64_t)global[m];
  return lin;
}

dtf_status dtf_observed_split(const dtf_tensor_t *t, const int64_t *gdims, double frac, uint64_t seed,
                              dtf_tensor_t **train, dtf_tensor_t **test) {
  return dtf_observed_split_stream(t, gdims, frac, seed, DTF_STREAM_HOLDOUT, train, test);
}

dtf_status dtf_observed_split_stream(const dtf_tensor_t *t, const int64_t *gdims, double frac, uint64_t seed,
                                     uint64_t stream, dtf_tensor_t **train, dtf_tensor_t **test) {
  *train = *test = NULL;
  const observed_t *s = t->impl;
  int N = t->nmodes;
  int64_t nnz = s->v.nnz, ntest = 0;
  unsigned char *is_test = malloc((size_t)(nnz ? nnz : 1));
  if (!is_test) return dtf_error(DTF_ERR_INPUT, "out of memory splitting the observations");
  int64_t g[DTF_MAX_MODES];
  for (int64_t e = 0; e < nnz; e++) {
    for (int m = 0; m < N; m++) g[m] = s->inds[e * N + m] + t->start[m];
    is_test[e] = dtf_rng_uniform(seed, stream, dtf_entry_key(N, gdims, g), 0) < frac;
    ntest += is_test[e];
  }
  int64_t n[2] = {nnz - ntest, ntest};
  int64_t *inds[2];
  double *vals[2];
  dtf_status st = DTF_OK;
  for (int p = 0; p < 2; p++) {
    inds[p] = dtf_alloc_large((size_t)(n[p] ? n[p] : 1) * N * sizeof(int64_t));
    vals[p] = dtf_alloc_large((size_t)(n[p] ? n[p] : 1) * sizeof(double));
    if (!inds[p] || !vals[p]) st = dtf_error(DTF_ERR_INPUT, "out of memory splitting the observations");
  }
  if (!st) {
    int64_t k[2] = {0, 0};
    for (int64_t e = 0; e < nnz; e++) {
      int p = is_test[e];
      memcpy(inds[p] + k[p] * N, s->inds + e * N, (size_t)N * sizeof(int64_t));
      vals[p][k[p]++] = s->vals[e];
    }
  }
  free(is_test);
  if (st) {
    for (int p = 0; p < 2; p++) free(inds[p]), free(vals[p]);
    return st;
  }
  st = dtf_observed_tensor_create(N, t->start, t->dims, n[0], inds[0], vals[0], train);
  if (st) {
    free(inds[1]);
    free(vals[1]);
    return st;
  }
  st = dtf_observed_tensor_create(N, t->start, t->dims, n[1], inds[1], vals[1], test);
  if (st) {
    dtf_tensor_free(*train);
    *train = NULL;
  }
  return st;
}

dtf_status dtf_observed_count(const dtf_grid_t *g, const dtf_tensor_t *t, int64_t *count) {
  *count = t->ops->entries(t);
  return dtf_allreduce(g->comm, count, 1, MPI_INT64_T, MPI_SUM, NULL);
}
