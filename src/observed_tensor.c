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
} observed_t;

static dtf_status ensure_work(observed_t *s, int R) {
  if (s->R == R) return DTF_OK;
  free(s->work);
  s->work = malloc((size_t)R * sizeof(double));
  s->R = s->work ? R : 0;
  return s->work ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory");
}

/* out (dims[mode] x R) = sum over observations e of w_e * Hadamard of the other rows */
static dtf_status obs_mttkrp_w(dtf_tensor_t *t, int mode, const double *const *F, const double *w, int R,
                               double *out) {
  observed_t *s = t->impl;
  dtf_status st = ensure_work(s, R);
  if (st) return st;
  int N = t->nmodes;
  double *h = s->work;
  for (int64_t i = 0; i < t->dims[mode]; i++) {
    double *o = out + i * R;
    for (int r = 0; r < R; r++) o[r] = 0.0;
    for (int64_t p = s->row_ptr[mode][i]; p < s->row_ptr[mode][i + 1]; p++) {
      int64_t e = s->by_row[mode][p];
      const int64_t *ix = s->inds + e * N;
      double we = w ? w[e] : s->vals[e];
      for (int r = 0; r < R; r++) h[r] = we;
      for (int k = 0; k < N; k++) {
        if (k == mode) continue;
        const double *a = F[k] + ix[k] * R;
        for (int r = 0; r < R; r++) h[r] *= a[r];
      }
      for (int r = 0; r < R; r++) o[r] += h[r];
    }
  }
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
    vals[j] = s->vals[first + j];
  }
}

static void obs_destroy(dtf_tensor_t *t) {
  observed_t *s = t->impl;
  free(s->inds);
  free(s->vals);
  for (int n = 0; n < DTF_MAX_MODES; n++) {
    free(s->by_row[n]);
    free(s->row_ptr[n]);
    free(s->row_inds[n]);
    free(s->row_vals[n]);
  }
  free(s->work);
  free(s);
}

/* observed zeros are data: they count in the fingerprint */
static const dtf_tensor_ops_t observed_ops = {"observed",    obs_mttkrp,  obs_norm,
                                              obs_workspace, obs_entries, obs_entries_get,
                                              obs_mttkrp_w,  obs_destroy, 1};

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
  for (int n = 0; n < N; n++) {
    s->row_ptr[n] = calloc((size_t)dims[n] + 1, sizeof(int64_t));
    s->by_row[n] = dtf_alloc_large((size_t)(nnz ? nnz : 1) * sizeof(int64_t));
    if (!s->row_ptr[n] || !s->by_row[n]) {
      dtf_tensor_free(t);
      return dtf_error(DTF_ERR_INPUT, "out of memory grouping %lld observations by mode %d", (long long)nnz,
                       n + 1);
    }
    int64_t *ptr = s->row_ptr[n];
    for (int64_t e = 0; e < nnz; e++) ptr[inds[e * N + n] + 1]++;
    for (int64_t i = 0; i < dims[n]; i++) ptr[i + 1] += ptr[i];
    for (int64_t e = 0; e < nnz; e++) s->by_row[n][ptr[inds[e * N + n]]++] = e;
    for (int64_t i = dims[n]; i > 0; i--) ptr[i] = ptr[i - 1];
    ptr[0] = 0;
    s->v.by_row[n] = s->by_row[n];
    s->v.row_ptr[n] = s->row_ptr[n];
    /* the entries in this order (shared with the entries' own when it is the same) */
    int64_t *order = s->by_row[n], same = 1;
    for (int64_t e = 0; same && e < nnz; e++) same = order[e] == e;
    s->v.row_inds[n] = inds;
    s->v.row_vals[n] = vals;
    if (same) continue;
    s->row_inds[n] = dtf_alloc_large((size_t)(nnz ? nnz : 1) * N * sizeof(int64_t));
    s->row_vals[n] = dtf_alloc_large((size_t)(nnz ? nnz : 1) * sizeof(double));
    if (!s->row_inds[n] || !s->row_vals[n]) {
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
  s->norm = dtf_norm(nnz, vals);
  *out = t;
  return DTF_OK;
}

const dtf_observed_view_t *dtf_observed_view(const dtf_tensor_t *t) {
  return t && t->ops == &observed_ops ? &((const observed_t *)t->impl)->v : NULL;
}

/* "(i, j, k)" of a block-local index, 1-based global */
static void name_index(int N, const int64_t *start, const int64_t *local, char *buf, size_t size) {
  size_t used = 0;
  for (int m = 0; m < N && used < size; m++)
    used += (size_t)snprintf(buf + used, size - used, "%s%lld", m ? ", " : "(",
                             (long long)(start[m] + local[m] + 1));
  if (used < size) snprintf(buf + used, size - used, ")");
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
  *train = *test = NULL;
  const observed_t *s = t->impl;
  int N = t->nmodes;
  int64_t nnz = s->v.nnz, ntest = 0;
  unsigned char *is_test = malloc((size_t)(nnz ? nnz : 1));
  if (!is_test) return dtf_error(DTF_ERR_INPUT, "out of memory splitting the observations");
  int64_t g[DTF_MAX_MODES];
  for (int64_t e = 0; e < nnz; e++) {
    for (int m = 0; m < N; m++) g[m] = s->inds[e * N + m] + t->start[m];
    is_test[e] = dtf_rng_uniform(seed, DTF_STREAM_HOLDOUT, dtf_entry_key(N, gdims, g), 0) < frac;
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
