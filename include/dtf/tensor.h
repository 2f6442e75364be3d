/* A rank's local piece of a distributed tensor, behind one table of operations, so that
 * dense, sparse and observed-entry kinds (observed.h) share every solver. */
#ifndef DTF_TENSOR_H
#define DTF_TENSOR_H

#include <stdint.h>

#include "dtf/grid.h"
#include "dtf/state.h"
#include "dtf/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dtf_tensor dtf_tensor_t;

typedef struct {
  const char *name;
  /* out (dims[mode] x R) = local MTTKRP in `mode`, given the block rows of every factor.
   * versions[n] changes whenever factor n changes, so a kind may reuse partial results
   * across modes (the dense kind keeps a dimension tree). */
  dtf_status (*mttkrp)(dtf_tensor_t *t, int mode, const double *const *factors, const uint64_t *versions,
                       int R, double *out);
  /* 2-norm of the local entries, computed without overflow or underflow. */
  double (*norm)(const dtf_tensor_t *t);
  /* Bytes the MTTKRP needs beyond the tensor itself, for R columns (an estimate). */
  double (*workspace_bytes)(const dtf_tensor_t *t, int R);
  /* The entries view: the local entries in a stable order (dense: every cell in C order;
   * sparse: the stored entries). entries() counts them; entries_get() gives entries
   * [first, first + count): global 0-based indices (count x nmodes, row-major) and values
   * (vals may be NULL).
   * Entrywise work (losses, sampling, hashes) keys on the global index, so it does not
   * depend on the distribution. */
  int64_t (*entries)(const dtf_tensor_t *t);
  void (*entries_get)(const dtf_tensor_t *t, int64_t first, int64_t count, int64_t *inds, double *vals);
  /* out (dims[mode] x R) = MTTKRP of the tensor that has the weight w[k] at entry k of the
   * entries view (and the same zeros as t) instead of t's values. */
  dtf_status (*weighted_mttkrp)(dtf_tensor_t *t, int mode, const double *const *factors, const double *w,
                                int R, double *out);
  /* Tensor ring: out (dims[mode] x R_mode R_{mode+1}) = sum over the block's entries of
   * X(i) h(i), h(i) the design row of core `mode` (kernels.h, dtf_tr_design), given the
   * block rows of every core and the bond ranks. */
  dtf_status (*tr_contract)(dtf_tensor_t *t, int mode, const double *const *cores, const int *ranks,
                            double *out);
  /* Bytes tr_contract needs for these bond ranks (the largest over the modes). */
  double (*tr_workspace_bytes)(const dtf_tensor_t *t, const int *ranks);
  /* out (dims[mode]) = the block's mode-`mode` fibre through the block-local index ix (its
   * entry in `mode` ignored): the values, 0 where nothing is stored. */
  dtf_status (*fibre)(dtf_tensor_t *t, int mode, const int64_t *ix, double *out);
  /* The values at count block-local indices inds (count x nmodes): out[k] the value and
   * stored[k] 1 if the entry is stored (a dense block stores every cell), else out[k] 0. */
  dtf_status (*values_at)(dtf_tensor_t *t, int64_t count, const int64_t *inds, double *out,
                          unsigned char *stored);
  void (*destroy)(dtf_tensor_t *t);
  /* 1 if a stored zero is data (an observed zero), not the zero of an unstored entry */
  int zeros_are_data;
} dtf_tensor_ops_t;

struct dtf_tensor {
  const dtf_tensor_ops_t *ops;
  int nmodes;
  int64_t start[DTF_MAX_MODES]; /* global index of the block's first index, per mode */
  int64_t dims[DTF_MAX_MODES];  /* local block shape */
  void *impl;
};

/* A dense local block (C order) of shape dims starting at global index start, as a
 * tensor; takes ownership of data (freed with free(), so malloc or dtf_alloc_large
 * memory). The data must not change afterwards: its norm is computed here, once. */
dtf_status dtf_dense_tensor_wrap(int nmodes, const int64_t *start, const int64_t *dims, double *data,
                                 dtf_tensor_t **out);

/* The entries of a dense tensor made by dtf_dense_tensor_wrap. */
const double *dtf_dense_tensor_data(const dtf_tensor_t *t);

/* The same entries, for a caller that overwrites them (an ST-HOSVD that truncates its input
 * in place): the tensor is spent, its values, norm and caches no longer agree, and it may
 * only be freed afterwards. */
double *dtf_dense_tensor_spend(dtf_tensor_t *t);

/* A sparse local block as a tensor: nnz entries with block-local 0-based indices inds
 * (nnz x nmodes, row-major, each < dims) and values vals, copied into one CSF tree per
 * mode (the inputs are not kept). Equal coordinates add up (the loaders resolve them
 * first, by the --duplicates rule). start: the block's global offset per mode. */
dtf_status dtf_sparse_tensor_create(int nmodes, const int64_t *start, const int64_t *dims, int64_t nnz,
                                    const int64_t *inds, const double *vals, dtf_tensor_t **out);

/* The local slices of `mode` that hold stored entries, in increasing order: returns their
 * number n, with block-local index ids[k] and stored entries counts[k] (ids and counts
 * have room for entries() each; nothing is sized by the mode's length). */
int64_t dtf_sparse_tensor_slices(const dtf_tensor_t *t, int mode, int64_t *ids, int64_t *counts);

/* Fail collectively (DTF_ERR_INPUT) if any rank's dense block holds NaN or Inf; the
 * message names `what`, the global index and the value. */
dtf_status dtf_dense_require_finite(const dtf_grid_t *grid, const double *local, const char *what);

/* ||X|| over all ranks, without overflow or underflow. Collective. */
dtf_status dtf_tensor_norm(const dtf_grid_t *grid, const dtf_tensor_t *t, double *norm);

/* Fail collectively (DTF_ERR_INPUT) if a stored entry of t is a value that invalid()
 * refuses (it returns what the value should be, or NULL), naming the first one found:
 * "<what> (i, j, k) is <value>; <rule> needs <why>", indices 1-based ("observed entry",
 * "the poisson likelihood"). Collective. */
dtf_status dtf_tensor_check_values(const dtf_grid_t *grid, const dtf_tensor_t *t,
                                   const char *(*invalid)(double), const char *what, const char *rule);

/* The fingerprint of t on grid. labels (NULL, or NULL per mode): the original index of
 * each global index of a relabelled mode, so that a relabelled tensor has the
 * fingerprint of the input it came from. Collective. */
dtf_status dtf_tensor_fingerprint(const dtf_grid_t *grid, const dtf_tensor_t *t, const int64_t *const *labels,
                                  dtf_fingerprint_t *fp);

/* For tensor kinds that store entries: the mode-`mode` fibres of nnz entries (block-local
 * indices inds, values vals), found by one binary search over the entries sorted by
 * their other indices. */
typedef struct {
  int64_t *tup; /* nnz x (N + 1): the other indices, the index in mode, the value's bits */
  int64_t nnz;
} dtf_fibre_index_t;
dtf_status dtf_fibre_index_build(int N, int mode, int64_t nnz, const int64_t *inds, const double *vals,
                                 dtf_fibre_index_t *fi);
/* out (len doubles, zeroed here) receives the fibre through ix (its entry in mode ignored). */
void dtf_fibre_index_get(const dtf_fibre_index_t *fi, int N, int mode, const int64_t *ix, int64_t len,
                         double *out);
/* The value at the full index ix (*stored 0 and 0.0 if none). */
double dtf_fibre_index_value(const dtf_fibre_index_t *fi, int N, int mode, const int64_t *ix,
                             unsigned char *stored);
void dtf_fibre_index_free(dtf_fibre_index_t *fi);

/* tr_workspace_bytes of the kinds that contract entry by entry: one design row and its
 * products, a chunk of entries. */
double dtf_tr_entries_workspace(const dtf_tensor_t *t, const int *ranks);

/* A fresh factor version, never returned before in this process (for mttkrp's versions). */
uint64_t dtf_tensor_next_version(void);

void dtf_tensor_free(dtf_tensor_t *t);

#ifdef __cplusplus
}
#endif
#endif
