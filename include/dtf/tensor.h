/* A rank's local piece of a distributed tensor, behind the small set of operations the
 * ALS driver needs, so dense and sparse kinds share one driver. */
#ifndef DTF_TENSOR_H
#define DTF_TENSOR_H

#include <stdint.h>

#include "dtf/grid.h"
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
  /* Sum of squares of the local entries. */
  double (*sum_squares)(const dtf_tensor_t *t);
  /* Bytes the MTTKRP needs beyond the tensor itself, for R columns (an estimate). */
  double (*workspace_bytes)(const dtf_tensor_t *t, int R);
  void (*destroy)(dtf_tensor_t *t);
} dtf_tensor_ops_t;

struct dtf_tensor {
  const dtf_tensor_ops_t *ops;
  int nmodes;
  int64_t dims[DTF_MAX_MODES]; /* local block shape */
  void *impl;
};

/* A dense local block (C order) as a tensor; takes ownership of data (freed with free(),
 * so malloc or dtf_alloc_large memory). The data must not change afterwards: its sum
 * of squares is computed here, once. */
dtf_status dtf_dense_tensor_wrap(int nmodes, const int64_t *dims, double *data, dtf_tensor_t **out);

/* The entries of a dense tensor made by dtf_dense_tensor_wrap. */
const double *dtf_dense_tensor_data(const dtf_tensor_t *t);

/* A sparse local block as a tensor: nnz entries with block-local 0-based indices inds
 * (nnz x nmodes, row-major, each < dims) and values vals, copied into one CSF tree per
 * mode (the inputs are not kept). Duplicate coordinates add up. */
dtf_status dtf_sparse_tensor_create(int nmodes, const int64_t *dims, int64_t nnz, const int64_t *inds,
                                    const double *vals, dtf_tensor_t **out);

/* Distinct nonzero coordinates of a tensor made by dtf_sparse_tensor_create. */
int64_t dtf_sparse_tensor_nnz(const dtf_tensor_t *t);

/* counts[i] (dims[mode] entries, zeroed here) = nonzeros in local slice i of `mode`. */
void dtf_sparse_tensor_slice_counts(const dtf_tensor_t *t, int mode, int64_t *counts);

/* Fail collectively (DTF_ERR_INPUT) if any rank's dense block holds NaN or Inf; the
 * message names `what`, the global index and the value. */
dtf_status dtf_dense_require_finite(const dtf_grid_t *grid, const double *local, const char *what);

/* A fresh factor version, never returned before in this process (for mttkrp's versions). */
uint64_t dtf_tensor_next_version(void);

void dtf_tensor_free(dtf_tensor_t *t);

#ifdef __cplusplus
}
#endif
#endif
