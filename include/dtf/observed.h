/* The observed-entry tensor kind: a rank's observations of a partly observed tensor, the
 * unlisted entries missing (not zero). Behind the tensor operations table like the dense
 * and sparse kinds (its MTTKRP is the one of the tensor that is zero where unobserved),
 * and with the per-row grouping the completion solvers walk: for every mode, the entries
 * in order of their index in that mode. */
#ifndef DTF_OBSERVED_H
#define DTF_OBSERVED_H

#include <stdint.h>

#include "dtf/grid.h"
#include "dtf/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The local observations as arrays. Entry e has block-local indices inds[e * nmodes ..]
 * and value vals[e]; by_row[n][row_ptr[n][i] .. row_ptr[n][i + 1]) lists the entries
 * whose mode-n local index is i, and row_inds[n], row_vals[n] hold the entries in that
 * order (position p is entry by_row[n][p]), so that a pass over the rows of mode n reads
 * memory in sequence. Within a row the entries are sorted by their other indices with
 * mode fibre[n] (the longest other mode) last: the entries of a fibre are adjacent. */
typedef struct {
  int nmodes;
  int64_t nnz;
  const int64_t *inds;
  const double *vals;
  const int64_t *by_row[DTF_MAX_MODES];
  const int64_t *row_ptr[DTF_MAX_MODES]; /* dims[n] + 1 offsets */
  const int64_t *row_inds[DTF_MAX_MODES];
  const double *row_vals[DTF_MAX_MODES];
  int fibre[DTF_MAX_MODES];
} dtf_observed_view_t;

/* An observed-entry tensor of nnz observations with block-local indices inds (nnz x
 * nmodes, row-major, each < dims, no two equal) and values vals, both malloc'd: the
 * tensor takes ownership of them (also on failure). start: the block's global offset. */
dtf_status dtf_observed_tensor_create(int nmodes, const int64_t *start, const int64_t *dims, int64_t nnz,
                                      int64_t *inds, double *vals, dtf_tensor_t **out);

/* Estimated bytes of an observed-entry tensor of nnz observations on a block of shape
 * len (dtf_observed_tensor_create's peak): the entries, their grouping by every mode, and
 * one offset per index of every mode. Node-local. */
double dtf_observed_bytes(int nmodes, const int64_t *len, int64_t nnz);

/* The observations of a dense block X (C order, shape dims, global offset start): the
 * cells where mask is 1 (mask NULL: the cells that are not NaN). DTF_ERR_INPUT naming
 * `what` and the global index if an observed cell is NaN or Inf, or a mask value is not
 * 0 or 1. Node-local: agree on the status. */
dtf_status dtf_observed_from_dense(int nmodes, const int64_t *start, const int64_t *dims, const double *X,
                                   const uint8_t *mask, const char *what, dtf_tensor_t **out);

/* The view of an observed-entry tensor, or NULL for another kind. */
const dtf_observed_view_t *dtf_observed_view(const dtf_tensor_t *t);

/* 64 bits that identify an entry by its global index (not its rank or position). */
uint64_t dtf_entry_key(int nmodes, const int64_t *dims, const int64_t *global);

/* Split t's observations: those whose key draws below frac under seed go to *test, the
 * others to *train (the same split for any number of ranks). Either part may be empty
 * on a rank. t is left as it was. */
dtf_status dtf_observed_split(const dtf_tensor_t *t, const int64_t *global_dims, double frac, uint64_t seed,
                              dtf_tensor_t **train, dtf_tensor_t **test);
/* The same with the draws of RNG stream `stream` (DTF_STREAM_HOLDOUT above), so that
 * splits of different purposes are independent of each other. */
dtf_status dtf_observed_split_stream(const dtf_tensor_t *t, const int64_t *global_dims, double frac,
                                     uint64_t seed, uint64_t stream, dtf_tensor_t **train,
                                     dtf_tensor_t **test);

/* Observations over all ranks. Collective. */
dtf_status dtf_observed_count(const dtf_grid_t *grid, const dtf_tensor_t *t, int64_t *count);

#ifdef __cplusplus
}
#endif
#endif
