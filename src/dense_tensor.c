/* The dense local tensor kind. Its MTTKRP keeps a two-level dimension tree: the modes
 * split into a left group [0, m) and a right group [m, N). One GEMM contracts the right
 * group into a partial result shared by every left mode, and one GEMM contracts the left
 * group for every right mode, so a sweep costs two tensor-sized GEMMs instead of N. A
 * partial result is reused while the factor versions it was built from are unchanged. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/comm.h"
#include "dtf/kernels.h"
#include "dtf/memory.h"
#include "dtf/tensor.h"

typedef struct {
  double *X;
  int64_t n;
  double norm; /* computed once when wrapped */
  int split;
  int64_t L, Rr; /* entries of the left and right groups */
  int R;
  double *kr, *part_left, *part_right, *work;
  uint64_t used[DTF_MAX_MODES]; /* factor versions the partials were built from */
  int have_left, have_right;
  double *wwork; /* weighted MTTKRP and tensor-ring workspace */
  int64_t wwork_len;
} dense_t;

/* d->wwork of at least need doubles */
static dtf_status ensure_wwork(dense_t *d, int64_t need, const char *what) {
  if (need <= d->wwork_len) return DTF_OK;
  free(d->wwork);
  d->wwork = dtf_alloc_large((size_t)need * sizeof(double));
  d->wwork_len = d->wwork ? need : 0;
  return d->wwork ? DTF_OK
                  : dtf_error(DTF_ERR_INPUT, "out of memory for the %s workspace (%.1f MiB)", what,
                              (double)need * 8 / 1048576.0);
}

static int valid(const dense_t *d, const uint64_t *versions, int from, int to) {
  for (int k = from; k < to; k++)
    if (d->used[k] != versions[k]) return 0;
  return 1;
}

static dtf_status prepare(dense_t *d, int R) {
  if (d->R == R) return DTF_OK;
  free(d->kr);
  d->R = R;
  int64_t big = d->L > d->Rr ? d->L : d->Rr;
  int64_t total = (big + d->L + d->Rr + big + 2) * R;
  d->kr = dtf_alloc_large((size_t)total * sizeof(double));
  if (!d->kr) {
    d->R = 0;
    return dtf_error(DTF_ERR_INPUT, "out of memory for the MTTKRP workspace (%.1f MiB)",
                     (double)total * 8 / 1048576.0);
  }
  d->part_left = d->kr + big * R;
  d->part_right = d->part_left + d->L * R;
  d->work = d->part_right + d->Rr * R;
  d->have_left = d->have_right = 0;
  return DTF_OK;
}

static dtf_status dense_mttkrp(dtf_tensor_t *t, int mode, const double *const *F, const uint64_t *versions,
                               int R, double *out) {
  dense_t *d = t->impl;
  dtf_status st = prepare(d, R);
  if (st) return st;
  int N = t->nmodes, m = d->split;
  if (mode < m) {
    if (!d->have_left || !valid(d, versions, m, N)) {
      dtf_dense_contract_right(N, t->dims, d->X, m, F, R, d->kr, d->part_left);
      for (int k = m; k < N; k++) d->used[k] = versions[k];
      d->have_left = 1;
    }
    dtf_partial_mttv(m, t->dims, d->part_left, mode, F, R, d->work, out);
  } else {
    if (!d->have_right || !valid(d, versions, 0, m)) {
      dtf_dense_contract_left(N, t->dims, d->X, m, F, R, d->kr, d->part_right);
      for (int k = 0; k < m; k++) d->used[k] = versions[k];
      d->have_right = 1;
    }
    dtf_partial_mttv(N - m, t->dims + m, d->part_right, mode - m, F + m, R, d->work, out);
  }
  return DTF_OK;
}

static double dense_norm(const dtf_tensor_t *t) { return ((const dense_t *)t->impl)->norm; }

static double dense_workspace(const dtf_tensor_t *t, int R) {
  const dense_t *d = t->impl;
  double big = (double)(d->L > d->Rr ? d->L : d->Rr);
  return (2 * big + (double)d->L + (double)d->Rr + 2) * R * sizeof(double);
}

static int64_t dense_entries(const dtf_tensor_t *t) { return ((const dense_t *)t->impl)->n; }

/* Cell k of the block in C order, as global indices. */
static void dense_entries_get(const dtf_tensor_t *t, int64_t first, int64_t count, int64_t *inds,
                              double *vals) {
  const dense_t *d = t->impl;
  int N = t->nmodes;
  int64_t sub[DTF_MAX_MODES], rest = first;
  for (int m = N - 1; m >= 0; m--) {
    sub[m] = rest % t->dims[m];
    rest /= t->dims[m];
  }
  for (int64_t j = 0; j < count; j++) {
    for (int m = 0; m < N; m++) inds[j * N + m] = t->start[m] + sub[m];
    if (vals) vals[j] = d->X[first + j];
    for (int m = N - 1; m >= 0 && ++sub[m] == t->dims[m]; m--) sub[m] = 0;
  }
}

/* The weights form a dense block of the tensor's shape: MTTKRP of that block. */
static dtf_status dense_weighted_mttkrp(dtf_tensor_t *t, int mode, const double *const *F, const double *w,
                                        int R, double *out) {
  dense_t *d = t->impl;
  dtf_status st = ensure_wwork(d, dtf_dense_mttkrp_work(t->nmodes, t->dims, mode, R), "weighted MTTKRP");
  if (st) return st;
  dtf_dense_mttkrp(t->nmodes, t->dims, w, mode, F, R, d->wwork, out);
  return DTF_OK;
}

static dtf_status dense_tr_contract(dtf_tensor_t *t, int mode, const double *const *cores, const int *ranks,
                                    double *out) {
  dense_t *d = t->impl;
  dtf_status st = ensure_wwork(d, dtf_tr_dense_work(t->nmodes, t->dims, ranks, mode), "tensor-ring");
  if (st) return st;
  dtf_tr_dense_contract(t->nmodes, t->dims, d->X, mode, cores, ranks, out, d->wwork);
  return DTF_OK;
}

static double dense_tr_workspace(const dtf_tensor_t *t, const int *ranks) {
  double most = 0;
  for (int n = 0; n < t->nmodes; n++) {
    double w = (double)dtf_tr_dense_work(t->nmodes, t->dims, ranks, n) * sizeof(double);
    if (w > most) most = w;
  }
  return most;
}

static dtf_status dense_fibre(dtf_tensor_t *t, int mode, const int64_t *ix, double *out) {
  const dense_t *d = t->impl;
  int64_t at = 0, stride = 1, step = 1;
  for (int m = t->nmodes - 1; m >= 0; m--) {
    if (m == mode)
      step = stride;
    else
      at += ix[m] * stride;
    stride *= t->dims[m];
  }
  for (int64_t i = 0; i < t->dims[mode]; i++) out[i] = d->X[at + i * step];
  return DTF_OK;
}

static dtf_status dense_values_at(dtf_tensor_t *t, int64_t count, const int64_t *inds, double *out,
                                  unsigned char *stored) {
  const dense_t *d = t->impl;
  int N = t->nmodes;
  for (int64_t k = 0; k < count; k++) {
    int64_t lin = 0;
    for (int m = 0; m < N; m++) lin = lin * t->dims[m] + inds[k * N + m];
    out[k] = d->X[lin];
    stored[k] = 1;
  }
  return DTF_OK;
}

static void dense_destroy(dtf_tensor_t *t) {
  dense_t *d = t->impl;
  free(d->X);
  free(d->kr);
  free(d->wwork);
  free(d);
}

static const dtf_tensor_ops_t dense_ops = {"dense",
                                           dense_mttkrp,
                                           dense_norm,
                                           dense_workspace,
                                           dense_entries,
                                           dense_entries_get,
                                           dense_weighted_mttkrp,
                                           dense_tr_contract,
                                           dense_tr_workspace,
                                           dense_fibre,
                                           dense_values_at,
                                           dense_destroy,
                                           0};

dtf_status dtf_dense_tensor_wrap(int nmodes, const int64_t *start, const int64_t *dims, double *data,
                                 dtf_tensor_t **out) {
  dtf_tensor_t *t = calloc(1, sizeof *t);
  dense_t *d = calloc(1, sizeof *d);
  if (!t || !d) {
    free(t);
    free(d);
    return dtf_error(DTF_ERR_INPUT, "out of memory");
  }
  t->ops = &dense_ops;
  t->nmodes = nmodes;
  memcpy(t->start, start, (size_t)nmodes * sizeof(int64_t));
  memcpy(t->dims, dims, (size_t)nmodes * sizeof(int64_t));
  t->impl = d;
  d->X = data;
  d->n = 1;
  for (int k = 0; k < nmodes; k++) d->n *= dims[k];
  d->norm = dtf_norm(d->n, d->X);
  d->split = dtf_dense_split(nmodes, dims, &d->L, &d->Rr);
  *out = t;
  return DTF_OK;
}

const double *dtf_dense_tensor_data(const dtf_tensor_t *t) { return ((const dense_t *)t->impl)->X; }

double *dtf_dense_tensor_spend(dtf_tensor_t *t) { return ((dense_t *)t->impl)->X; }

dtf_status dtf_dense_require_finite(const dtf_grid_t *g, const double *local, const char *what) {
  int64_t n = 1;
  for (int k = 0; k < g->nmodes; k++) n *= g->len[k];
  int64_t bad = dtf_first_nonfinite(n, local);
  dtf_status st = DTF_OK;
  if (bad >= 0) {
    char idx[256];
    int used = 0;
    int64_t rest = bad, sub[DTF_MAX_MODES];
    for (int k = g->nmodes - 1; k >= 0; k--) {
      sub[k] = rest % g->len[k];
      rest /= g->len[k];
    }
    for (int k = 0; k < g->nmodes && used < (int)sizeof idx; k++)
      used += snprintf(idx + used, sizeof idx - (size_t)used, k ? ", %" PRId64 : "%" PRId64,
                       g->start[k] + sub[k]);
    st = dtf_error(DTF_ERR_INPUT, "%s has the value %g at index [%s] (0-based); every entry must be finite",
                   what, local[bad], idx);
  }
  return dtf_agree(g->comm, st);
}
