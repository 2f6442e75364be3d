/* Tucker on a sparse tensor (docs/algorithms.md, "Tucker", "Sparse input"): the semi-sparse
 * records (include/dtf/semisparse.h) routed between ranks, the Gram of mode n from them, and
 * which rank's copy of a group takes part in the n-mode product. */
#include <stdlib.h>
#include <string.h>

#include "dtf/memory.h"
#include "timer.h"
#include "tucker_impl.h"

/* whether this rank's copy of a group multiplies it (exchange() sends each group to one
 * rank of every slice of mode n): the copy in slice (h / S) mod P_n; a group with no key
 * but mode n's, on every rank, multiplies on the first rank of slice 0 */
int tucker_multiplies(const int64_t *rec, void *ctx) {
  const owner_t *o = ctx;
  const dtf_grid_t *g = o->s->g;
  int Pn = g->pdims[o->n], S = g->size / Pn;
  if (o->x->nk == 1) return g->coords[o->n] == 0 && g->slice_rank[o->n] == 0;
  return (int)((dtf_semi_group_hash(o->x, rec) / (uint64_t)S) % (uint64_t)Pn) == g->coords[o->n];
}

/* Where send_records sends a record: one rank of every slice of mode n (chosen by its group's
 * hash), the rank that owns its last key (index mod ranks), or every rank */
typedef enum { TO_SLICES, TO_OWNER, TO_ALL } route_t;

/* The records of x (freed here) along `route`; *out: the records received, sorted and merged */
static dtf_status send_records(dtf_tucker_t *s, dtf_semi_t *x, int n, route_t route, dtf_semi_t *out) {
  const dtf_grid_t *g = s->g;
  int N = s->N, Pn = g->pdims[n], S = g->size / Pn;
  int copies = route == TO_ALL ? g->size : route == TO_OWNER ? 1 : Pn;
  int64_t W = dtf_semi_width(x);
  int *rank_of = malloc((size_t)g->size * sizeof(int));
  int64_t *counts = calloc((size_t)g->size, sizeof(int64_t)), *at = calloc((size_t)g->size, sizeof(int64_t));
  int64_t *send = dtf_alloc_large((size_t)(x->n * copies * W + 1) * sizeof(int64_t));
  dtf_status st = rank_of && counts && at && send
                      ? DTF_OK
                      : dtf_error(DTF_ERR_INPUT, "out of memory sending %lld records", (long long)x->n);
  for (int q = 0; !st && q < Pn; q++)
    for (int t = 0; t < S; t++) { /* slice position t: the other coordinates, the last fastest */
      int c[DTF_MAX_MODES], rem = t;
      c[n] = q;
      for (int m = N - 1; m >= 0; m--)
        if (m != n) {
          c[m] = rem % g->pdims[m];
          rem /= g->pdims[m];
        }
      rank_of[q * S + t] = dtf_grid_rank(g, c);
    }
  for (int pass = 0; !st && pass < 2; pass++) { /* count, then place */
    for (int64_t k = 0; k < x->n; k++) {
      const int64_t *r = x->rec + k * W;
      int t = route == TO_SLICES ? (int)(dtf_semi_group_hash(x, r) % (uint64_t)S) : 0;
      for (int c = 0; c < copies; c++) {
        int d = route == TO_ALL ? c : route == TO_OWNER ? (int)(r[x->nk - 1] % g->size) : rank_of[c * S + t];
        if (pass)
          memcpy(send + at[d]++ * W, r, (size_t)W * sizeof(int64_t));
        else
          counts[d]++;
      }
    }
    int64_t sum = 0;
    for (int q = 0; !pass && q < g->size; q++) {
      at[q] = sum;
      sum += counts[q];
    }
  }
  st = dtf_agree(g->comm, st);
  *out = *x;
  out->rec = NULL;
  out->n = 0;
  dtf_semi_free(x);
  double t0 = dtf_now();
  if (!st) st = dtf_alltoallv_records(g->comm, send, counts, (int)W, &out->rec, &out->n, &s->comm);
  s->t_comm += dtf_now() - t0;
  free(send);
  free(rank_of);
  free(counts);
  free(at);
  if (!st) st = dtf_agree(g->comm, dtf_semi_sort_merge(out));
  if (st) dtf_semi_free(out);
  return st;
}

/* The records of x (freed here) to the ranks that need their groups for mode n: a group to
 * rank (q, h mod S) of every slice q of mode n (S ranks a slice, h the group's hash), so that
 * the rows of each slice's block see every group whole. The last group (no key but mode n's)
 * is all of Y_(n): its partial rows are first added up on the rank that owns their index,
 * then sent to every rank, so each receives one copy of Y_(n), not one per rank. *out: the
 * records received, sorted and merged. */
static dtf_status exchange(dtf_tucker_t *s, dtf_semi_t *x, int n, dtf_semi_t *out) {
  if (x->nk > 1) return send_records(s, x, n, TO_SLICES, out);
  dtf_semi_t merged;
  dtf_status st = send_records(s, x, n, TO_OWNER, &merged);
  return st ? st : send_records(s, &merged, n, TO_ALL, out);
}

/* The rows of mode n's Gram this rank holds (L x I, as tucker_gram() gives them) from the records
 * of x (freed here); *got: the records as exchanged, for the n-mode product */
dtf_status tucker_sparse_gram(dtf_tucker_t *s, dtf_semi_t *x, int n, double *rows, dtf_semi_t *got) {
  const dtf_grid_t *g = s->g;
  int S = g->size / g->pdims[n];
  int64_t I = g->dims[n], L = g->len[n], off = 0, len = L;
  dtf_semi_key_last(x, n);
  dtf_status st = exchange(s, x, n, got);
  if (st) return st;
  if (got->nk == 1) /* every rank of the slice has the one group: each its share of the rows */
    dtf_block_range(L, S, g->slice_rank[n], &off, &len);
  st = dtf_semi_gram_rows(got, I, g->start[n] + off, len, rows + off * I);
  if (!st) st = tucker_gram_check(s, n, rows + off * I, len * I);
  st = dtf_agree(g->comm, st);
  double t0 = dtf_now();
  if (!st) st = dtf_allreduce_sum(g->slice[n], rows, L * I, &s->comm);
  s->t_comm += dtf_now() - t0;
  if (st) dtf_semi_free(got);
  return st;
}

/* the records of the input, scaled */
dtf_status tucker_sparse_records(dtf_tucker_t *s, dtf_semi_t *out) {
  return dtf_agree(s->g->comm, dtf_semi_from_entries(s->N, s->nnz, s->inds, s->vals, s->scale, out));
}
