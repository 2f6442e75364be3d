/* The sparse local tensor kind: the block's nonzeros as one CSF tree per mode, each
 * rooted at its mode, so every mode's MTTKRP is a root-mode traversal (no atomics, no
 * scatter). Costs N copies of the nonzeros; builds once, allocation-free afterwards. */
#include <stdlib.h>
#include <string.h>

#include "dtf/csf.h"
#include "dtf/tensor.h"

typedef struct {
  int64_t nnz;
  double norm2;
  dtf_csf_t csf[DTF_MAX_MODES];
  double *work; /* nmodes x R */
  int R;
} sparse_t;

static dtf_status sparse_mttkrp(dtf_tensor_t *t, int mode, const double *const *F, const uint64_t *versions,
                                int R, double *out) {
  (void)versions;
  sparse_t *s = t->impl;
  if (s->R != R) {
    free(s->work);
    s->work = malloc((size_t)(t->nmodes * R) * sizeof(double));
    s->R = s->work ? R : 0;
    if (!s->work) return dtf_error(DTF_ERR_INPUT, "out of memory");
  }
  dtf_csf_mttkrp(&s->csf[mode], t->dims[mode], F, R, s->work, out);
  return DTF_OK;
}

static double sparse_sum_squares(const dtf_tensor_t *t) { return ((const sparse_t *)t->impl)->norm2; }

static double sparse_workspace(const dtf_tensor_t *t, int R) {
  return (double)t->nmodes * R * sizeof(double);
}

static void sparse_destroy(dtf_tensor_t *t) {
  sparse_t *s = t->impl;
  for (int n = 0; n < t->nmodes; n++) dtf_csf_free(&s->csf[n]);
  free(s->work);
  free(s);
}

static const dtf_tensor_ops_t sparse_ops = {"sparse", sparse_mttkrp, sparse_sum_squares, sparse_workspace,
                                            sparse_destroy};

dtf_status dtf_sparse_tensor_create(int nmodes, const int64_t *dims, int64_t nnz, const int64_t *inds,
                                    const double *vals, dtf_tensor_t **out) {
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
  memcpy(t->dims, dims, (size_t)nmodes * sizeof(int64_t));
  t->impl = s;
  for (int n = 0; n < nmodes; n++) {
    dtf_status st = dtf_csf_build(nmodes, dims, nnz, inds, vals, n, &s->csf[n]);
    if (st) {
      dtf_tensor_free(t);
      return st;
    }
  }
  /* after duplicates were summed: the norm and count of the tensor itself */
  s->nnz = s->csf[0].nodes[nmodes - 1];
  for (int64_t k = 0; k < s->nnz; k++) s->norm2 += s->csf[0].vals[k] * s->csf[0].vals[k];
  *out = t;
  return DTF_OK;
}

void dtf_sparse_tensor_slice_counts(const dtf_tensor_t *t, int mode, int64_t *counts) {
  const dtf_csf_t *c = &((const sparse_t *)t->impl)->csf[mode];
  memset(counts, 0, (size_t)t->dims[mode] * sizeof(int64_t));
  for (int64_t k = 0; k < c->nodes[0]; k++) {
    int64_t lo = k, hi = k + 1; /* the root's range, followed down to the leaves */
    for (int l = 0; l < c->nmodes - 1; l++) {
      lo = c->ptr[l][lo];
      hi = c->ptr[l][hi];
    }
    counts[c->ids[0][k]] += hi - lo;
  }
}

int64_t dtf_sparse_tensor_nnz(const dtf_tensor_t *t) { return ((const sparse_t *)t->impl)->nnz; }
