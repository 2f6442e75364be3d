/* The semi-sparse tensor of sparse Tucker: a sparse tensor after n-mode products with
 * factors in some of its modes. Those modes became dense (their ranks multiply into P
 * values per record); the others are still sparse, kept as global indices (the keys).
 * Node-local: src/tucker/sparse.c moves records between ranks. docs/algorithms.md, "Sparse
 * Tucker", gives the algorithm. */
#ifndef DTF_SEMISPARSE_H
#define DTF_SEMISPARSE_H

#include <stdint.h>

#include "dtf/status.h"
#include "dtf/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int nk;                   /* sparse modes: the keys */
  int key[DTF_MAX_MODES];   /* their tensor modes, in the order of a record's keys */
  int nd;                   /* dense modes, contracted with a factor */
  int dmode[DTF_MAX_MODES]; /* their tensor modes, in the order of the values (the first outermost) */
  int drank[DTF_MAX_MODES]; /* their ranks */
  int64_t P;                /* values per record: the product of drank */
  int64_t n;                /* records */
  int64_t *rec;             /* n x (nk + P) words: the keys, then the values' bits */
} dtf_semi_t;

/* Words per record. */
static inline int64_t dtf_semi_width(const dtf_semi_t *s) { return s->nk + s->P; }

void dtf_semi_free(dtf_semi_t *s);

/* The records of nnz entries (global indices inds, nnz x N; values vals times scale): every
 * mode a key, one value each. */
dtf_status dtf_semi_from_entries(int N, int64_t nnz, const int64_t *inds, const double *vals, double scale,
                                 dtf_semi_t *out);

/* Move the key of tensor mode `mode` to the last place of every record. Its records then
 * sort into groups: runs that agree in every key but the last (a column of the mode's
 * unfolding, restricted to its nonzero rows). */
void dtf_semi_key_last(dtf_semi_t *s, int mode);

/* A hash of a record's group (its keys but the last), the same on every rank. */
uint64_t dtf_semi_group_hash(const dtf_semi_t *s, const int64_t *rec);

/* Sort the records by their keys and add up records of equal keys (partial sums from
 * several ranks), in place. */
dtf_status dtf_semi_sort_merge(dtf_semi_t *s);

/* rows (L x I, row-major: rows off .. off+L-1 of the Gram of the last key's mode, I indices)
 * += z_a . z_b for every pair of records a, b of a group with a's last key in those rows.
 * The records sorted and merged, every group complete. */
dtf_status dtf_semi_gram_rows(const dtf_semi_t *s, int64_t I, int64_t off, int64_t L, double *rows);

/* out = s x_m U^T for m the last key's mode (U: I x R, row-major): one record per group
 * that keep() accepts (keep NULL: every group), keyed by the group's keys, with P R values
 * (m the innermost dense mode). The records sorted and merged, every kept group complete. */
dtf_status dtf_semi_ttm(const dtf_semi_t *s, const double *U, int R,
                        int (*keep)(const int64_t *rec, void *ctx), void *ctx, dtf_semi_t *out);

/* HOOI's X x_{m != n} U_m^T from nnz entries (global indices inds, values vals times
 * scale): one record per index of mode n seen (key n), values the Kronecker product of the
 * rows U_m[i_m] (I_m x R_m) over m != n, ascending (the first outermost). Records of equal
 * key are added up here. */
dtf_status dtf_semi_ttmc(int N, int64_t nnz, const int64_t *inds, const double *vals, double scale, int n,
                         const double *const *U, const int *R, dtf_semi_t *out);

/* core (R_0 x .. x R_{N-1}, C order) = alpha times the sum of the records of a
 * semi-sparse tensor with no key left (every mode dense; zeros if it has no record), the
 * values reordered from s->dmode's order to the modes' order. */
void dtf_semi_core(const dtf_semi_t *s, int N, double alpha, double *core);

#ifdef __cplusplus
}
#endif
#endif
