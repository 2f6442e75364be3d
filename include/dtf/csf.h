/* Compressed sparse fiber (CSF) trees: the nonzeros of a sparse block sorted by a mode
 * order and stored as a tree, one level per mode, so that an MTTKRP reuses every partial
 * product along a fiber. Node-local. */
#ifndef DTF_CSF_H
#define DTF_CSF_H

#include <stdint.h>

#include "dtf/status.h"
#include "dtf/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int nmodes;
  int order[DTF_MAX_MODES];     /* order[0] is the root mode, order[N-1] the leaf mode */
  int64_t nodes[DTF_MAX_MODES]; /* nodes per level; nodes[N-1]: distinct coordinates */
  int64_t *ptr[DTF_MAX_MODES];  /* level l < N-1: children of node k are ptr[l][k]..ptr[l][k+1] */
  int64_t *ids[DTF_MAX_MODES];  /* index in mode order[l] of each node at level l */
  double *vals;                 /* one per leaf */
} dtf_csf_t;

/* Build the tree rooted at mode `root` (the other modes follow from shortest to longest)
 * from nnz COO entries: inds is nnz x nmodes (row-major, 0-based, < dims), vals nnz.
 * Entries with the same coordinates are summed into one leaf. The inputs are not kept.
 * Free with dtf_csf_free. */
dtf_status dtf_csf_build(int nmodes, const int64_t *dims, int64_t nnz, const int64_t *inds,
                         const double *vals, int root, dtf_csf_t *csf);
void dtf_csf_free(dtf_csf_t *csf);

/* out (dims[root] x R, zero where the root slice is empty) = MTTKRP in the root mode.
 * factors[m] is the factor of mode m; work holds nmodes x R doubles. */
void dtf_csf_mttkrp(const dtf_csf_t *csf, int64_t root_dim, const double *const *factors, int R, double *work,
                    double *out);

/* Leaves [first, first + count) of the tree, in tree order: their coordinates in mode
 * numbering (inds: count x nmodes, row-major) and values (vals may be NULL). */
void dtf_csf_leaves(const dtf_csf_t *csf, int64_t first, int64_t count, int64_t *inds, double *vals);

/* The leaf holding the coordinates coords (mode numbering), or -1 if the tree has none. */
int64_t dtf_csf_find(const dtf_csf_t *csf, const int64_t *coords);

#ifdef __cplusplus
}
#endif
#endif
