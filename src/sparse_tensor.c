/* The sparse local tensor kind: the block's entries as one CSF tree per mode, each
 * rooted at its mode, so every mode's MTTKRP is a root-mode traversal (no atomics, no
 * scatter). Costs N copies of the entries; builds once, allocation-free afterwards.
 * The entries view is the leaf order of tree 0; a weighted MTTKRP in mode m maps the
 * weights onto tree m's leaves (a map built the first time it is needed). */
#include <stdlib.h>
#include <string.h>

#include "dtf/csf.h"
#include "dtf/kernels.h"
#include "dtf/memory.h"
#include "dtf/tensor.h"

typedef struct {
  int64_t nnz;
  double norm;
  dtf_csf_t csf[DTF_MAX_MODES];
  double *work; /* nmodes x R */
  int R;
  int64_t *view_of[DTF_MAX_MODES];         /* view_of[m][leaf of tree m] = its entry in the view (m > 0) */
  double *wleaf;                           /* weights in a tree's leaf order */
  dtf_fibre_index_t fibres[DTF_MAX_MODES]; /* built the first time a fibre of the mode is asked for */
} sparse_t;

enum { LEAF_CHUNK = 4096 }; /* leaves read at a time */

static dtf_status ensure_work(dtf_tensor_t *t, int R) {
  sparse_t *s = t->impl;
  if (s->R == R) return DTF_OK;
  free(s->work);
  s->work = malloc((size_t)(t->nmodes * R) * sizeof(double));
  s->R = s->work ? R : 0;
  return s->work ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory");
}

static dtf_status sparse_mttkrp(dtf_tensor_t *t, int mode, const double *const *F, const uint64_t *versions,
                                int R, double *out) {
  (void)versions;
  sparse_t *s = t->impl;
  dtf_status st = ensure_work(t, R);
  if (st) return st;
  dtf_csf_mttkrp(&s->csf[mode], t->dims[mode], F, R, s->work, out);
  return DTF_OK;
}

static double sparse_norm(const dtf_tensor_t *t) { return ((const sparse_t *)t->impl)->norm; }

static double sparse_workspace(const dtf_tensor_t *t, int R) {
  return (double)t->nmodes * R * sizeof(double);
}

static int64_t sparse_entries(const dtf_tensor_t *t) { return ((const sparse_t *)t->impl)->nnz; }

static void sparse_entries_get(const dtf_tensor_t *t, int64_t first, int64_t count, int64_t *inds,
                               double *vals) {
  const sparse_t *s = t->impl;
  int N = t->nmodes;
  dtf_csf_leaves(&s->csf[0], first, count, inds, vals);
  for (int64_t j = 0; j < count; j++)
    for (int m = 0; m < N; m++) inds[j * N + m] += t->start[m];
}

/* view_of[m]: find every leaf of tree m in tree 0 (the same coordinates are in both). */
static dtf_status build_map(dtf_tensor_t *t, int m) {
  sparse_t *s = t->impl;
  int N = t->nmodes;
  enum { CHUNK = 1024 };
  int64_t *map = dtf_alloc_large((size_t)(s->nnz ? s->nnz : 1) * sizeof(int64_t));
  int64_t *coords = malloc((size_t)CHUNK * N * sizeof(int64_t));
  if (!map || !coords) {
    free(map);
    free(coords);
    return dtf_error(DTF_ERR_INPUT, "out of memory mapping the entries of mode %d", m + 1);
  }
  for (int64_t k0 = 0; k0 < s->nnz; k0 += CHUNK) {
    int64_t n = s->nnz - k0 < CHUNK ? s->nnz - k0 : CHUNK;
    dtf_csf_leaves(&s->csf[m], k0, n, coords, NULL);
    for (int64_t j = 0; j < n; j++) map[k0 + j] = dtf_csf_find(&s->csf[0], coords + j * N);
  }
  free(coords);
  s->view_of[m] = map;
  return DTF_OK;
}

static dtf_status sparse_weighted_mttkrp(dtf_tensor_t *t, int mode, const double *const *F, const double *w,
                                         int R, double *out) {
  sparse_t *s = t->impl;
  dtf_status st = ensure_work(t, R);
  if (!st && mode > 0 && !s->view_of[mode]) st = build_map(t, mode);
  if (!st && !s->wleaf && !(s->wleaf = dtf_alloc_large((size_t)(s->nnz ? s->nnz : 1) * sizeof(double))))
    st = dtf_error(DTF_ERR_INPUT, "out of memory for the entry weights");
  if (st) return st;
  dtf_csf_t tree = s->csf[mode];
  if (mode == 0)
    tree.vals = (double *)w;
  else {
    for (int64_t k = 0; k < s->nnz; k++) s->wleaf[k] = w[s->view_of[mode][k]];
    tree.vals = s->wleaf;
  }
  dtf_csf_mttkrp(&tree, t->dims[mode], F, R, s->work, out);
  return DTF_OK;
}

static dtf_status sparse_tr_contract(dtf_tensor_t *t, int mode, const double *const *cores, const int *ranks,
                                     double *out) {
  sparse_t *s = t->impl;
  int N = t->nmodes, Rmax = 1;
  for (int k = 0; k < N; k++)
    if (ranks[k] > Rmax) Rmax = ranks[k];
  int64_t D = (int64_t)ranks[mode] * ranks[(mode + 1) % N];
  int64_t *inds = malloc((size_t)LEAF_CHUNK * N * sizeof(int64_t));
  double *vals = malloc(LEAF_CHUNK * sizeof(double)),
         *work = malloc((size_t)(D + 2 * Rmax * Rmax) * sizeof(double));
  if (!inds || !vals || !work) {
    free(inds);
    free(vals);
    free(work);
    return dtf_error(DTF_ERR_INPUT, "out of memory");
  }
  memset(out, 0, (size_t)(t->dims[mode] * D) * sizeof(double));
  for (int64_t k0 = 0; k0 < s->nnz; k0 += LEAF_CHUNK) { /* tree `mode`: one output row at a time */
    int64_t n = s->nnz - k0 < LEAF_CHUNK ? s->nnz - k0 : LEAF_CHUNK;
    dtf_csf_leaves(&s->csf[mode], k0, n, inds, vals);
    dtf_tr_entries_contract(N, mode, ranks, cores, n, inds, vals, out, work);
  }
  free(inds);
  free(vals);
  free(work);
  return DTF_OK;
}

/* the fibre index of mode, built the first time */
static dtf_status fibre_index(dtf_tensor_t *t, int mode) {
  sparse_t *s = t->impl;
  int N = t->nmodes;
  if (!s->fibres[mode].tup) {
    int64_t *inds = dtf_alloc_large((size_t)(s->nnz ? s->nnz : 1) * N * sizeof(int64_t));
    double *vals = dtf_alloc_large((size_t)(s->nnz ? s->nnz : 1) * sizeof(double));
    dtf_status st = inds && vals ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory indexing fibres");
    if (!st) {
      dtf_csf_leaves(&s->csf[0], 0, s->nnz, inds, vals);
      st = dtf_fibre_index_build(N, mode, s->nnz, inds, vals, &s->fibres[mode]);
    }
    free(inds);
    free(vals);
    if (st) return st;
  }
  return DTF_OK;
}

static dtf_status sparse_fibre(dtf_tensor_t *t, int mode, const int64_t *ix, double *out) {
  sparse_t *s = t->impl;
  dtf_status st = fibre_index(t, mode);
  if (!st) dtf_fibre_index_get(&s->fibres[mode], t->nmodes, mode, ix, t->dims[mode], out);
  return st;
}

static dtf_status sparse_values_at(dtf_tensor_t *t, int64_t count, const int64_t *inds, double *out,
                                   unsigned char *stored) {
  sparse_t *s = t->impl;
  dtf_status st = fibre_index(t, 0);
  for (int64_t k = 0; !st && k < count; k++)
    out[k] = dtf_fibre_index_value(&s->fibres[0], t->nmodes, 0, inds + k * t->nmodes, &stored[k]);
  return st;
}

static void sparse_destroy(dtf_tensor_t *t) {
  sparse_t *s = t->impl;
  for (int n = 0; n < t->nmodes; n++) {
    dtf_csf_free(&s->csf[n]);
    free(s->view_of[n]);
    dtf_fibre_index_free(&s->fibres[n]);
  }
  free(s->work);
  free(s->wleaf);
  free(s);
}

static const dtf_tensor_ops_t sparse_ops = {"sparse",
                                            sparse_mttkrp,
                                            sparse_norm,
                                            sparse_workspace,
                                            sparse_entries,
                                            sparse_entries_get,
                                            sparse_weighted_mttkrp,
                                            sparse_tr_contract,
                                            dtf_tr_entries_workspace,
                                            sparse_fibre,
                                            sparse_values_at,
                                            sparse_destroy,
                                            0};

dtf_status dtf_sparse_tensor_create(int nmodes, const int64_t *start, const int64_t *dims, int64_t nnz,
                                    const int64_t *inds, const double *vals, dtf_tensor_t **out) {
  *out = NULL;
  dtf_tensor_t *t = calloc(1, sizeof *t);
  sparse_t *s = calloc(1, sizeof *s);
  if (!t || !s) {
    free(t);
    free(s);
    return dtf_error(DTF_ERR_INPUT, "out of memory");
  }
  t->ops = &sparse_ops;
  t->nmodes = nmodes;
  memcpy(t->start, start, (size_t)nmodes * sizeof(int64_t));
  memcpy(t->dims, dims, (size_t)nmodes * sizeof(int64_t));
  t->impl = s;
  for (int n = 0; n < nmodes; n++) {
    dtf_status st = dtf_csf_build(nmodes, dims, nnz, inds, vals, n, &s->csf[n]);
    if (st) {
      dtf_tensor_free(t);
      return st;
    }
  }
  /* after equal coordinates were added: the norm and count of the tensor itself */
  s->nnz = s->csf[0].nodes[nmodes - 1];
  s->norm = dtf_norm(s->nnz, s->csf[0].vals);
  *out = t;
  return DTF_OK;
}

int64_t dtf_sparse_tensor_slices(const dtf_tensor_t *t, int mode, int64_t *ids, int64_t *counts) {
  const dtf_csf_t *c = &((const sparse_t *)t->impl)->csf[mode];
  for (int64_t k = 0; k < c->nodes[0]; k++) { /* the roots: the slices, in increasing order */
    int64_t lo = k, hi = k + 1;               /* the root's range, followed down to the leaves */
    for (int l = 0; l < c->nmodes - 1; l++) {
      lo = c->ptr[l][lo];
      hi = c->ptr[l][hi];
    }
    ids[k] = c->ids[0][k];
    counts[k] = hi - lo;
  }
  return c->nodes[0];
}
