/* Random relabelling of indices, to balance the nonzeros of a sparse tensor over the grid
 * (as SPLATT does): index i of mode m becomes perm_m[i]. */
#ifndef DTF_PERMUTE_H
#define DTF_PERMUTE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* perm (n entries) = a random permutation of 0..n-1 keyed by (seed, mode): the same on
 * every rank. */
void dtf_permutation(int64_t n, uint64_t seed, int mode, int64_t *perm);

/* inverse[perm[i]] = i. */
void dtf_permutation_inverse(int64_t n, const int64_t *perm, int64_t *inverse);

#ifdef __cplusplus
}
#endif
#endif
