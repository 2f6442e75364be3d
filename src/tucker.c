/* Distributed ST-HOSVD (docs/algorithms.md, "Tucker"). Mode by mode in the chosen order:
 * the Gram of the current tensor's unfolding (each rank's row block against the blocks of
 * its fibre passed around a ring, summed over the mode's slice, gathered in the fibre),
 * its eigenvectors (LAPACK on rank 0, broadcast), the rank from --ranks or the error
 * tolerance, and the n-mode product with the leading eigenvectors, reduce-scattered in the
 * fibre so that the truncated mode stays distributed over the same ranks. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/fault.h"
#include "dtf/format.h"
#include "dtf/kernels.h"
#include "dtf/memory.h"
#include "dtf/rng.h"
#include "dtf/scalapack.h"
#include "dtf/semisparse.h"
#include "dtf/tucker.h"
#include "timer.h"

#define RING_CHUNK_DOUBLES (1 << 19) /* 4 MiB a ring buffer */
#define TTM_CHUNK 4096               /* columns an in-place n-mode product takes at a time */

/* A distributed tensor's block on the grid: this rank's part (C order) of a tensor of
 * shape dims, at start, len long in each mode. */
typedef struct {
  const double *data;
  double *own; /* data, when this block owns it (freed with the block) */
  double *mut; /* data, when an n-mode product may overwrite it */
  int64_t dims[DTF_MAX_MODES], start[DTF_MAX_MODES], len[DTF_MAX_MODES];
} block_t;

static void block_free(block_t *b) {
  free(b->own);
  b->own = b->mut = NULL;
  b->data = NULL;
}

struct dtf_tucker {
  const dtf_grid_t *g;
  dtf_tensor_t *t;
  dtf_tucker_options_t o;
  int N;
  MPI_Comm fibre[DTF_MAX_MODES];
  double norm, scale, nx2; /* ||X||, the power of two applied, (scale ||X||)^2 */
  block_t x;               /* the input */
  block_t cur;             /* ST-HOSVD: the tensor truncated in the modes done so far */
  int sparse;              /* a sparse input: its entries and their products as records */
  int64_t nnz;             /* this rank's entries */
  int64_t *inds;           /* nnz x N global indices */
  double *vals;
  dtf_semi_t semi; /* ST-HOSVD: the sparse tensor truncated in the modes done so far */
  int step;        /* ST-HOSVD: modes done; then HOOI sweeps done, plus N */
  double delta;
  int converged;
  double *fit_history;
  int ranks[DTF_MAX_MODES];
  double *U[DTF_MAX_MODES];   /* I_n x R_n, for the modes done */
  double *eig[DTF_MAX_MODES]; /* every eigenvalue of the mode's Gram, descending, / nx2 */
  int64_t neig[DTF_MAX_MODES];
  double discarded; /* sum of the eigenvalues left out so far (scaled) */
  double budget_bound, t_budget;
  double fit;
  dtf_tucker_model_t model;
  int have_model;
  double t_gram, t_eig, t_ttm, t_comm;
  dtf_comm_stats_t comm;
};

void dtf_tucker_options_default(dtf_tucker_options_t *o, int nmodes) {
  memset(o, 0, sizeof *o);
  for (int n = 0; n < nmodes; n++) o->order[n] = n;
  o->max_sweeps = 10;
  o->oversample = 10;
  o->hooi_tol = 1e-6;
}

static int64_t prod_except(int N, const int64_t *d, int mode) {
  int64_t p = 1;
  for (int k = 0; k < N; k++)
    if (k != mode) p *= d[k];
  return p;
}

/* ---- the Gram of mode n: this rank's rows (L x I) of it ------------------------------------ */

/* the iteration under way, as its progress line numbers it (a HOOI sweep counts itself at its start) */
static int iteration(const dtf_tucker_t *s) { return s->step >= s->N ? s->step : s->step + 1; }

/* this rank's count values of mode n's Gram, before they are summed, are finite (the faults
 * injected: mttkrp, the contraction failing; nan, a NaN in them) */
static dtf_status gram_check(const dtf_tucker_t *s, int n, double *rows, int64_t count) {
  dtf_status st = dtf_fault_status("mttkrp", iteration(s), DTF_ERR_INPUT);
  if (!st && count > 0 && dtf_fault("nan", iteration(s))) rows[0] = NAN;
  if (!st && dtf_first_nonfinite(count, rows) >= 0)
    st = dtf_error(DTF_ERR_NUMERIC, "the Gram of mode %d became non-finite at iteration %d", n + 1,
                   iteration(s));
  return st;
}

static dtf_status gram(dtf_tucker_t *s, const block_t *b, int n, double scale, double *rows) {
  const dtf_grid_t *g = s->g;
  int N = s->N, P = g->pdims[n], me = g->coords[n];
  int64_t I = b->dims[n], L = b->len[n], M = prod_except(N, b->len, n), maxL = (I + P - 1) / P;
  int64_t chunk = M < RING_CHUNK_DOUBLES / (maxL ? maxL : 1) ? M : RING_CHUNK_DOUBLES / (maxL ? maxL : 1);
  if (chunk < 1) chunk = 1;
  double *mine = malloc((size_t)(maxL * chunk + 1) * sizeof(double));
  double *buf[2] = {malloc((size_t)(maxL * chunk + 1) * sizeof(double)),
                    malloc((size_t)(maxL * chunk + 1) * sizeof(double))};
  dtf_status st = mine && buf[0] && buf[1] ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for a Gram");
  st = dtf_agree(g->comm, st);
  /* a mode not split over the fibre, entries in a safe range: SYRKs straight on the block
   * (no packing), the scale applied to the products */
  int direct = P == 1 && s->norm > 1e-140 && s->norm < 1e140;
  if (!st && direct) {
    dtf_unfold_gram(N, b->len, n, b->data, scale * scale, rows);
    M = 0; /* done */
  }
  for (int64_t j0 = 0; !st && j0 < M; j0 += chunk) { /* the same column chunks on every rank of the fibre */
    int64_t c = M - j0 < chunk ? M - j0 : chunk;
    dtf_unfold_columns(N, b->len, n, b->data, j0, j0 + c, scale, mine);
    memcpy(buf[0], mine, (size_t)(L * c) * sizeof(double));
    int have = me, cb = 0;
    for (int k = 0; !st && k < P; k++) { /* buf[cb] holds the chunk of fibre rank `have` */
      int64_t off, len;
      dtf_block_range(I, P, have, &off, &len);
      if (k == 0) /* the diagonal block: half the flops */
        dtf_syrk_acc(L, c, mine, rows + off, I);
      else
        dtf_gemm_acc(0, 1, L, len, c, 1.0, mine, c, buf[cb], c, rows + off, I);
      if (k == P - 1) break;
      int from = (have - 1 + P) % P;
      int64_t off2, len2;
      dtf_block_range(I, P, from, &off2, &len2);
      st = dtf_sendrecv_doubles(s->fibre[n], buf[cb], (int)(len * c), (me + 1) % P, buf[!cb], (int)(len2 * c),
                                (me - 1 + P) % P, &s->comm);
      cb = !cb;
      have = from;
    }
  }
  dtf_symmetrize_upper(L, rows + b->start[n], I);
  if (!st) st = gram_check(s, n, rows, L * I);
  st = dtf_agree(g->comm, st);
  double t0 = dtf_now();
  if (!st) st = dtf_allreduce_sum(g->slice[n], rows, L * I, &s->comm);
  s->t_comm += dtf_now() - t0;
  free(mine);
  free(buf[0]);
  free(buf[1]);
  return st;
}

/* n doubles from rank 0 to every rank, in pieces an int counts */
static dtf_status bcast_doubles(MPI_Comm comm, double *buf, int64_t n) {
  dtf_status st = DTF_OK;
  for (int64_t k = 0; !st && k < n; k += 1 << 26)
    st = dtf_bcast(comm, buf + k, (int)((n - k < (1 << 26) ? n - k : 1 << 26) * (int64_t)sizeof(double)), 0);
  return st;
}

/* ---- eigenvectors and the rank -------------------------------------------------------- */

/* R for mode n from the eigenvalues w (descending): fixed, the tolerance's rule, or --ranks */
static int choose_rank(const dtf_tucker_t *s, int n, int fixed, const double *w, int64_t I) {
  if (fixed) return fixed;
  if (!(s->o.tol > 0)) return s->o.ranks[n];
  /* drop the smallest while their sum stays within tol^2 ||X||^2 / N */
  double budget = s->o.tol * s->o.tol * s->nx2 / s->N, sum = 0;
  int R = (int)I;
  while (R > 1 && sum + fmax(0.0, w[R - 1]) <= budget) sum += fmax(0.0, w[--R]);
  return R;
}

typedef struct {
  const dtf_tucker_t *s;
  int n, fixed;
  int64_t I;
  double *desc; /* I: the eigenvalues, descending */
} chooser_t;

static int choose_cb(const double *w, void *ctx) { /* w ascending, as ScaLAPACK returns it */
  chooser_t *c = ctx;
  for (int64_t j = 0; j < c->I; j++) c->desc[j] = w[c->I - 1 - j];
  return choose_rank(c->s, c->n, c->fixed, c->desc, c->I);
}

/* column r of U (I x R): its largest entry made positive; the same columns of V (K x R,
 * may be NULL) flipped with it */
static void fix_signs(int64_t I, int R, double *U, int64_t K, double *V) {
  for (int r = 0; r < R; r++) {
    int64_t big = 0;
    for (int64_t i = 1; i < I; i++)
      if (fabs(U[i * R + r]) > fabs(U[big * R + r])) big = i;
    if (U[big * R + r] >= 0) continue;
    for (int64_t i = 0; i < I; i++) U[i * R + r] = -U[i * R + r];
    for (int64_t i = 0; V && i < K; i++) V[i * R + r] = -V[i * R + r];
  }
}

/* which eigensolver a mode of I indices gets on P ranks */
static int use_scalapack(const dtf_tucker_options_t *o, int64_t I, int P) {
  if (o->eig != DTF_EIG_AUTO) return o->eig == DTF_EIG_SCALAPACK;
  return o->max_mem > 0 && 8.0 * (double)I * (double)I > 0.25 * o->max_mem && P > 1;
}

/* The leading eigenvectors of mode n's Gram, whose rows (L x I from row off) this rank
 * holds (rows: freed here), into *U (I x R, allocated unless given), R from choose_rank; every eigenvalue
 * (descending) into w. LAPACK: the rows gathered on rank 0, solved there and broadcast.
 * ScaLAPACK: the rows redistributed over every rank (dtf_scalapack_eigen). */
static dtf_status eigen(dtf_tucker_t *s, int n, int64_t I, int64_t L, int64_t off, int fixed, double *rows,
                        double **U, double *w) {
  const dtf_grid_t *g = s->g;
  int R = 0, P = g->pdims[n],
      root = 1; /* root: in the fibre through rank 0, whose rows cover the Gram once */
  for (int k = 0; k < s->N; k++)
    if (k != n) root &= g->coords[k] == 0;
  dtf_status st = DTF_OK;
  double *V = NULL; /* I x R */
  if (use_scalapack(&s->o, I, g->size)) {
    double *desc = malloc((size_t)I * sizeof(double));
    chooser_t c = {s, n, fixed, I, desc};
    st = dtf_agree(g->comm, desc ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory"));
    if (!st)
      st = dtf_scalapack_eigen(g->comm, I, root, off, L, rows, choose_cb, &c, w, &V, &R, &s->comm);
    else
      free(rows);
    rows = NULL;                                          /* freed there */
    if (!st) memcpy(w, desc, (size_t)I * sizeof(double)); /* descending */
    free(desc);
    if (!st) fix_signs(I, R, V, 0, NULL);
  } else {
    double *G = NULL;
    int *counts = NULL, *displs = NULL;
    if (g->rank == 0) {
      G = dtf_alloc_large((size_t)(I * I) * sizeof(double));
      counts = malloc((size_t)P * 2 * sizeof(int));
      if (!G || !counts)
        st = dtf_error(DTF_ERR_INPUT, "out of memory for the Gram of mode %d (%lld x %lld)", n + 1,
                       (long long)I, (long long)I);
      else {
        displs = counts + P;
        for (int q = 0; q < P; q++) {
          int64_t o, l;
          dtf_block_range(I, P, q, &o, &l);
          counts[q] = (int)(l * I);
          displs[q] = (int)(o * I);
        }
      }
    }
    st = dtf_agree(g->comm, st);
    double t0 = dtf_now();
    if (!st && root)
      st = dtf_gatherv_doubles(s->fibre[n], rows, (int)(L * I), 0, G, counts, displs, &s->comm);
    s->t_comm += dtf_now() - t0;
    st = dtf_agree(g->comm, st);
    if (!st && g->rank == 0) {
      double *wa = malloc((size_t)I * sizeof(double));
      st = wa ? dtf_sym_eigen_large((int)I, G, wa)
              : dtf_error(DTF_ERR_INPUT, "out of memory for an eigen-decomposition");
      if (!st) {
        for (int64_t j = 0; j < I; j++) w[j] = wa[I - 1 - j];
        R = choose_rank(s, n, fixed, w, I);
        V = malloc((size_t)(I * R) * sizeof(double));
        if (!V) st = dtf_error(DTF_ERR_INPUT, "out of memory for a factor");
        for (int r = 0; !st && r < R; r++)
          for (int64_t i = 0; i < I; i++) V[i * R + r] = G[(I - 1 - r) * I + i];
        if (!st) fix_signs(I, R, V, 0, NULL);
      }
      free(wa);
    }
    free(G);
    free(counts);
    free(rows);
    rows = NULL;
    st = dtf_agree(g->comm, st);
    if (!st) st = dtf_bcast(g->comm, &R, sizeof R, 0);
    if (!st && g->rank != 0 && !(V = malloc((size_t)(I * R) * sizeof(double))))
      st = dtf_error(DTF_ERR_INPUT, "out of memory for a factor");
    st = dtf_agree(g->comm, st);
    if (!st) st = bcast_doubles(g->comm, V, I * R);
    if (!st) st = bcast_doubles(g->comm, w, I);
  }
  if (!st) st = dtf_fault_status("solve", iteration(s), DTF_ERR_NUMERIC);
  st = dtf_agree(g->comm, st);
  if (st) {
    free(V);
    return st;
  }
  if (*U) { /* HOOI: the same R, into the factor */
    memcpy(*U, V, (size_t)(I * R) * sizeof(double));
    free(V);
  } else
    *U = V;
  s->ranks[n] = R;
  return DTF_OK;
}

/* ---- the n-mode product, reduce-scattered in the fibre ----------------------------------- */

/* out = alpha U^T x_n in (U: I_n x R), out's mode n split over the fibre like any mode. With
 * inplace, a mode on one rank of its fibre, and a block that may be overwritten, the product
 * is written over the block (dtf_ttm_inplace): out takes in's buffer and in is left empty. */
static dtf_status ttm(dtf_tucker_t *s, block_t *in, int n, const double *U, int R, double alpha, int inplace,
                      block_t *out) {
  if (inplace && in->mut && s->g->pdims[n] == 1) {
    int64_t L = in->len[n], chunk = TTM_CHUNK;
    double *Uq = malloc((size_t)(L * R + 1) * sizeof(double)),
           *work = malloc((size_t)(R * chunk + 1) * sizeof(double));
    dtf_status st = dtf_agree(
        s->g->comm, Uq && work ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for an n-mode product"));
    if (!st) {
      for (int64_t i = 0; i < L; i++)
        memcpy(Uq + i * R, U + (in->start[n] + i) * R, (size_t)R * sizeof(double));
      dtf_ttm_inplace(s->N, in->len, n, in->mut, Uq, R, alpha, work, chunk);
      *out = *in;
      out->dims[n] = out->len[n] = R;
      out->start[n] = 0;
      in->own = in->mut = NULL;
      in->data = NULL;
    }
    free(Uq);
    free(work);
    return st;
  }
  const dtf_grid_t *g = s->g;
  int N = s->N, P = g->pdims[n], me = g->coords[n];
  int64_t L = in->len[n], start = in->start[n], other = prod_except(N, in->len, n);
  int64_t off, len;
  dtf_block_range(R, P, me, &off, &len);
  double *next = dtf_alloc_large((size_t)(other * len + 1) * sizeof(double));
  /* with one rank in the fibre the product is the result: no second buffer */
  double *send = P == 1 ? next : dtf_alloc_large((size_t)(other * R + 1) * sizeof(double));
  double *Uq = malloc((size_t)(L * R + 1) * sizeof(double));
  int *counts = malloc((size_t)P * sizeof(int));
  dtf_status st =
      send && Uq && counts && next ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for an n-mode product");
  if (!st && (double)other * R > 2147483647.0)
    st = dtf_error(DTF_ERR_INPUT,
                   "an n-mode product of %.3g entries is too large for one reduce-scatter; use more ranks",
                   (double)other * R);
  st = dtf_agree(g->comm, st);
  int64_t pos = 0;
  for (int q = 0; !st && q < P; q++) { /* the part bound for fibre rank q: rows oq .. oq+lq of U^T X */
    int64_t oq, lq;
    dtf_block_range(R, P, q, &oq, &lq);
    for (int64_t i = 0; i < L; i++)
      for (int64_t r = 0; r < lq; r++) Uq[i * lq + r] = U[(start + i) * R + oq + r];
    dtf_ttm(N, in->len, n, in->data, 1, Uq, lq, alpha, send + pos);
    counts[q] = (int)(other * lq);
    pos += other * lq;
  }
  double t0 = dtf_now();
  if (!st && P > 1) st = dtf_reduce_scatter_sum(s->fibre[n], send, next, counts, &s->comm);
  s->t_comm += dtf_now() - t0;
  if (send != next) free(send);
  free(Uq);
  free(counts);
  if (st) {
    free(next);
    return st;
  }
  *out = *in;
  out->data = out->own = out->mut = next;
  out->dims[n] = R;
  out->start[n] = off;
  out->len[n] = len;
  return DTF_OK;
}

/* ---- sparse tensors: the semi-sparse records (semisparse.h) ------------------------------ */

typedef struct {
  const dtf_tucker_t *s;
  const dtf_semi_t *x;
  int n;
} owner_t;

/* whether this rank's copy of a group multiplies it (exchange() sends each group to one
 * rank of every slice of mode n): the copy in slice (h / S) mod P_n; a group with no key
 * but mode n's, on every rank, multiplies on the first rank of slice 0 */
static int multiplies(const int64_t *rec, void *ctx) {
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

/* The rows of mode n's Gram this rank holds (L x I, as gram() gives them) from the records
 * of x (freed here); *got: the records as exchanged, for the n-mode product */
static dtf_status sparse_gram(dtf_tucker_t *s, dtf_semi_t *x, int n, double *rows, dtf_semi_t *got) {
  const dtf_grid_t *g = s->g;
  int S = g->size / g->pdims[n];
  int64_t I = g->dims[n], L = g->len[n], off = 0, len = L;
  dtf_semi_key_last(x, n);
  dtf_status st = exchange(s, x, n, got);
  if (st) return st;
  if (got->nk == 1) /* every rank of the slice has the one group: each its share of the rows */
    dtf_block_range(L, S, g->slice_rank[n], &off, &len);
  st = dtf_semi_gram_rows(got, I, g->start[n] + off, len, rows + off * I);
  if (!st) st = gram_check(s, n, rows + off * I, len * I);
  st = dtf_agree(g->comm, st);
  double t0 = dtf_now();
  if (!st) st = dtf_allreduce_sum(g->slice[n], rows, L * I, &s->comm);
  s->t_comm += dtf_now() - t0;
  if (st) dtf_semi_free(got);
  return st;
}

/* the records of the input, scaled */
static dtf_status sparse_records(dtf_tucker_t *s, dtf_semi_t *out) {
  return dtf_agree(s->g->comm, dtf_semi_from_entries(s->N, s->nnz, s->inds, s->vals, s->scale, out));
}

/* ---- the run --------------------------------------------------------------------------- */

/* the full core from every rank's block b (C order) or, for a sparse input, the records of
 * x (no key left), unscaled, into the model; the fit from ||X||^2 - ||core||^2 (orthonormal
 * factors) or, for ST-HOSVD, the eigenvalues left out */
static dtf_status assemble(dtf_tucker_t *s, const block_t *b, const dtf_semi_t *x) {
  int N = s->N;
  dtf_status st = DTF_OK;
  if (!s->have_model) {
    st = dtf_agree(s->g->comm, dtf_tucker_model_init(s->g, s->ranks, &s->model));
    if (st) return st;
    s->have_model = 1;
  }
  int64_t size = 1, lsize = 1, idx[DTF_MAX_MODES] = {0};
  for (int k = 0; k < N; k++) {
    size *= s->ranks[k];
    lsize *= b ? b->len[k] : 0;
  }
  memset(s->model.core, 0, (size_t)size * sizeof(double));
  if (x) dtf_semi_core(x, N, 1.0, s->model.core);
  int64_t run = b ? b->len[N - 1] : 0;
  for (int64_t p = 0; run > 0 && p < lsize; p += run) { /* one run of the last mode at a time */
    int64_t at = 0;
    for (int k = 0; k < N; k++) at = at * s->ranks[k] + b->start[k] + (k == N - 1 ? 0 : idx[k]);
    memcpy(s->model.core + at, b->data + p, (size_t)run * sizeof(double));
    for (int k = N - 2; k >= 0; k--) {
      if (++idx[k] < b->len[k]) break;
      idx[k] = 0;
    }
  }
  st = dtf_allreduce_sum(s->g->comm, s->model.core, size, &s->comm);
  if (st) return st;
  double nc2 = 0;
  for (int64_t k = 0; k < size; k++) {
    nc2 += s->model.core[k] * s->model.core[k];
    s->model.core[k] /= s->scale;
  }
  for (int k = 0; k < N; k++)
    memcpy(s->model.factors[k], s->U[k], (size_t)(s->g->dims[k] * s->ranks[k]) * sizeof(double));
  if (s->step > N) s->fit = 1.0 - sqrt(fmax(0.0, 1.0 - nc2 / s->nx2));
  s->model.fit = s->fit;
  s->model.iterations = s->step;
  return DTF_OK;
}

/* ---- the randomized range finder ------------------------------------------------------- */

/* orthonormal columns spanning Z (I x k, row-major, in place) by two rounds of the
 * eigen-decomposition of Z^T Z; returns the columns kept (those of eigenvalue above
 * 1e-13 of the largest), moved to the front */
static int orthonormalize(int64_t I, int k, double *Z, double *tmp) {
  double *C = malloc((size_t)k * k * sizeof(double)), *w = malloc((size_t)k * sizeof(double)),
         *work = malloc((size_t)dtf_sym_eigen_work(k) * sizeof(double)),
         *V = malloc((size_t)k * k * sizeof(double));
  int kept = k;
  for (int round = 0; round < 2 && C && w && work && V; round++) {
    dtf_matmul(1, 0, kept, kept, I, Z, Z, C); /* Z^T Z (Z: I x kept, leading dimension kept) */
    if (dtf_sym_eigen(kept, C, w, work)) break;
    int keep = 0;
    for (int j = kept - 1; j >= 0; j--) /* largest first */
      if (w[j] > 1e-13 * w[kept - 1]) {
        for (int i = 0; i < kept; i++) V[i * kept + keep] = C[(int64_t)j * kept + i] / sqrt(w[j]);
        keep++;
      }
    /* tmp (I x keep) = Z V, then back into Z with leading dimension keep */
    for (int64_t i = 0; i < I; i++)
      for (int c = 0; c < keep; c++) {
        double t = 0;
        for (int j = 0; j < kept; j++) t += Z[i * kept + j] * V[j * kept + c];
        tmp[i * keep + c] = t;
      }
    memcpy(Z, tmp, (size_t)(I * keep) * sizeof(double));
    kept = keep;
  }
  free(C);
  free(w);
  free(work);
  free(V);
  return kept;
}

/* Z (I x k, on every rank) from each rank's rows of it (its block of mode n, partial sums):
 * summed over the slice, then the row blocks gathered over the fibre */
static dtf_status rows_everywhere(dtf_tucker_t *s, int n, int64_t I, int64_t k, double *Z) {
  const dtf_grid_t *g = s->g;
  int P = g->pdims[n];
  int *counts = malloc((size_t)P * 2 * sizeof(int)), *displs = counts ? counts + P : NULL;
  dtf_status st = dtf_agree(g->comm, counts ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory"));
  if (!st) st = dtf_allreduce_sum(g->slice[n], Z + g->start[n] * k, g->len[n] * k, &s->comm);
  for (int q = 0; !st && q < P; q++) {
    int64_t o, l;
    dtf_block_range(I, P, q, &o, &l);
    counts[q] = (int)(l * k);
    displs[q] = (int)(o * k);
  }
  if (!st) st = dtf_allgatherv_inplace(s->fibre[n], Z, counts, displs, &s->comm);
  free(counts);
  return st;
}

/* A power iteration's product: Z (I x k, on every rank) = alpha Y_(n) W_(n)^T for W =
 * Q^T x_n Y (its mode n split over the fibre like a truncated mode): W's parts gathered in
 * the fibre, one GEMM per slab (dtf_unfold_cross), summed over the slice, the row blocks
 * gathered over the fibre. */
static dtf_status power_product(dtf_tucker_t *s, const block_t *y, const block_t *W, int n, int k,
                                double alpha, double *Z) {
  const dtf_grid_t *g = s->g;
  int N = s->N, P = g->pdims[n];
  int64_t I = y->dims[n], other = prod_except(N, y->len, n), A = 1, B = 1;
  for (int m = 0; m < n; m++) A *= y->len[m];
  B = other / (A ? A : 1);
  double *full = P == 1 ? NULL : dtf_alloc_large((size_t)(2 * other * k + 1) * sizeof(double));
  int *counts = malloc((size_t)P * 2 * sizeof(int)), *displs = counts ? counts + P : NULL;
  dtf_status st = dtf_agree(g->comm, (P == 1 || full) && counts
                                         ? DTF_OK
                                         : dtf_error(DTF_ERR_INPUT, "out of memory for a power iteration"));
  const double *Wf = W->data;
  if (!st && P > 1) { /* the parts, one after another, then into one block of k in mode n */
    double *parts = full + other * k;
    for (int q = 0; q < P; q++) {
      int64_t o, l;
      dtf_block_range(k, P, q, &o, &l);
      counts[q] = (int)(l * other);
      displs[q] = (int)(o * other);
    }
    memcpy(parts + displs[g->coords[n]], W->data, (size_t)counts[g->coords[n]] * sizeof(double));
    st = dtf_allgatherv_inplace(s->fibre[n], parts, counts, displs, &s->comm);
    for (int q = 0; !st && q < P; q++) {
      int64_t o, l;
      dtf_block_range(k, P, q, &o, &l);
      for (int64_t a = 0; a < A; a++)
        memcpy(full + (a * k + o) * B, parts + displs[q] + a * l * B, (size_t)(l * B) * sizeof(double));
    }
    Wf = full;
  }
  int64_t off = y->start[n];
  memset(Z, 0, (size_t)(I * k) * sizeof(double));
  if (!st) dtf_unfold_cross(N, y->len, n, y->data, Wf, k, alpha, Z + off * k);
  if (!st) st = rows_everywhere(s, n, I, k, Z);
  free(full);
  free(counts);
  return st;
}

/* One randomized step for mode n of the block cur: Z = Y_(n) Omega with a Khatri-Rao test
 * matrix (one Gaussian I_k x width matrix per other mode, keyed by global index), Q its
 * orthonormal basis, W = Q^T x_n Y, the eigen-decomposition of W's small Gram; the rank from
 * the exact residual ||Y||^2 - ||U^T Y_(n)||^2 (the sketch doubled while --tol is not met),
 * U = Q V. *next receives V_R^T x_n W = U^T x_n Y, w the kq eigenvalues (zeros after), and
 * *outside the energy of Y outside the sketch's span. alpha: the scale applied to Y. */
static dtf_status randomized(dtf_tucker_t *s, int n, double alpha, int fixed, double **U, double *w,
                             int64_t *neig, double *outside, block_t *next) {
  const dtf_grid_t *g = s->g;
  block_t *y = &s->cur;
  int N = s->N;
  int64_t I = y->dims[n], L = y->len[n], cells = 1;
  for (int k = 0; k < N; k++) cells *= y->len[k];
  double ny2 = 0; /* ||alpha Y||^2 */
  for (int64_t i = 0; i < cells; i++) ny2 += (alpha * y->data[i]) * (alpha * y->data[i]);
  dtf_status st = dtf_allreduce_sum(g->comm, &ny2, 1, &s->comm);
  int want = fixed ? fixed : s->o.tol > 0 ? 0 : s->o.ranks[n];
  int width = want ? want + s->o.oversample : 32;
  if (width > I) width = (int)I;
  double budget = s->o.tol * s->o.tol * s->nx2 / N;
  for (;;) {
    double *om[DTF_MAX_MODES] = {0}, *Z = NULL, *tmp = NULL, *work = NULL;
    int ok = 1;
    for (int k = 0; k < N; k++) { /* this rank's rows of every test matrix */
      if (k == n) continue;
      om[k] = malloc((size_t)(y->len[k] * width + 1) * sizeof(double));
      ok &= om[k] != NULL;
      for (int64_t i = 0; ok && i < y->len[k]; i++)
        for (int c = 0; c < width; c++)
          om[k][i * width + c] = dtf_rng_normal(s->o.seed, DTF_STREAM_SKETCH, (uint64_t)(s->step * N + k),
                                                (uint64_t)(y->start[k] + i) * 1048576u + (uint64_t)c);
    }
    Z = calloc((size_t)(I * width), sizeof(double));
    tmp = malloc((size_t)(I * width) * sizeof(double));
    int64_t wl = dtf_dense_mttkrp_work(N, y->len, n, width);
    work = dtf_alloc_large((size_t)(wl + 1) * sizeof(double));
    ok &= Z && tmp && work;
    st = dtf_agree(g->comm, st ? st : ok ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for a sketch"));
    int64_t off = y->start[n];
    if (!st && cells > 0) {
      const double *f[DTF_MAX_MODES];
      for (int k = 0; k < N; k++) f[k] = om[k];
      dtf_dense_mttkrp(N, y->len, y->data, n, f, width, work, Z + off * width);
      for (int64_t i = 0; i < L * width; i++) Z[off * width + i] *= alpha;
    }
    if (!st) st = rows_everywhere(s, n, I, width, Z);
    for (int k = 0; k < N; k++) free(om[k]);
    free(work);
    int kq = st ? 0 : orthonormalize(I, width, Z, tmp); /* the same on every rank: Z is */
    for (int it = 0; !st && it < s->o.power; it++) {    /* Q <- orth(Y_(n) Y_(n)^T Q) */
      block_t Wp = {0};
      st = ttm(s, y, n, Z, kq, alpha, 0, &Wp);
      if (!st) st = power_product(s, y, &Wp, n, kq, alpha, Z);
      block_free(&Wp);
      if (!st) kq = orthonormalize(I, kq, Z, tmp);
    }
    free(tmp);
    /* W = Q^T x_n Y, distributed like a truncated mode of kq indices; its Gram kq x kq */
    block_t W = {0};
    if (!st) st = ttm(s, y, n, Z, kq, alpha, 0, &W);
    double *rows = NULL, *V = NULL, *ev = malloc((size_t)(kq + 1) * sizeof(double));
    if (!st) {
      rows = calloc((size_t)(W.len[n] * kq + 1), sizeof(double));
      st = dtf_agree(g->comm, rows && ev ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory"));
    }
    int R = 0;
    if (!st) st = gram(s, &W, n, 1.0, rows);
    if (!st) { /* all of V (kq x kq) from LAPACK on rank 0 (fixed = kq), then the rank */
      st = eigen(s, n, kq, W.len[n], W.start[n], kq, rows, &V, ev);
      rows = NULL;
    }
    int done = 1;
    if (!st) {
      if (want)
        R = want;
      else { /* the exact residual of the first R columns of U = Q V: ||Y||^2 - sum_{j<R} ev_j */
        double kept = 0;
        R = 0;
        while (R < kq && ny2 - kept > budget) kept += fmax(0.0, ev[R++]);
        if (ny2 - kept > budget && kq < I && width < I) done = 0; /* not met: a wider sketch */
        if (R < 1) R = 1;
      }
      if (R > kq) R = kq;
    }
    if (!st && done) {
      double *Uo = malloc((size_t)(I * R) * sizeof(double)), *VR = malloc((size_t)(kq * R) * sizeof(double));
      st = dtf_agree(g->comm, Uo && VR ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory"));
      if (!st) {
        for (int64_t i = 0; i < kq; i++)
          for (int r = 0; r < R; r++) VR[i * R + r] = V[i * kq + r];
        dtf_matmul(0, 0, I, R, kq, Z, VR, Uo); /* U = Q V_R */
        fix_signs(I, R, Uo, kq, VR);           /* the same flips in V_R, so that next = U^T x_n Y */
        st = ttm(s, &W, n, VR, R, 1.0, 0, next);
      }
      if (!st) {
        free(*U);
        *U = Uo;
        s->ranks[n] = R;
        double seen = 0;
        for (int64_t j = 0; j < I; j++) {
          w[j] = j < kq ? ev[j] : 0;
          seen += fmax(0.0, w[j]);
        }
        *neig = kq;
        *outside = fmax(0.0, ny2 - seen);
      } else
        free(Uo);
      free(VR);
    }
    free(V);
    free(ev);
    free(rows);
    free(Z);
    block_free(&W);
    if (st || done) return st;
    width = width * 2 > I ? (int)I : width * 2;
  }
}

/* --budget: every mode's spectrum of the input, then the shape of least HOSVD bound that
 * fits the budget (dtf_tucker_budget_shape) becomes the ranks of the ST-HOSVD */
static dtf_status budget_shape(dtf_tucker_t *s) {
  int N = s->N;
  double t0 = dtf_now(), *w[DTF_MAX_MODES] = {0};
  dtf_status st = DTF_OK;
  for (int n = 0; !st && n < N; n++) {
    int64_t I = s->x.dims[n], L = s->x.len[n];
    double *rows = calloc((size_t)(L * I + 1), sizeof(double)), *V = NULL;
    w[n] = malloc((size_t)I * sizeof(double));
    st = dtf_agree(s->g->comm, rows && w[n] ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for a Gram"));
    if (!st && s->sparse) {
      dtf_semi_t x, got;
      st = sparse_records(s, &x);
      if (!st) st = sparse_gram(s, &x, n, rows, &got);
      dtf_semi_free(&got);
    } else if (!st)
      st = gram(s, &s->x, n, s->scale, rows);
    if (!st)
      st = eigen(s, n, I, L, s->g->start[n], 1, rows, &V, w[n]);
    else
      free(rows);
    free(V);
  }
  if (!st) {
    double best = dtf_tucker_budget_shape(N, s->g->dims, (const double *const *)w, s->o.budget, s->o.ranks);
    if (best < 0)
      st = dtf_error(DTF_ERR_USAGE, "--budget %.0f is smaller than the smallest Tucker model", s->o.budget);
    else
      s->budget_bound = sqrt(best / s->nx2);
  }
  for (int n = 0; n < N; n++) free(w[n]);
  s->t_budget = dtf_now() - t0;
  return st;
}

/* after mode n (I indices) was truncated: the discarded eigenvalues (and what lies outside
 * a sketch), the fit, and after the last mode the core */
static dtf_status after_step(dtf_tucker_t *s, int n, int64_t I, double outside) {
  s->discarded += outside; /* randomized: the energy the sketch did not see */
  for (int64_t j = s->ranks[n]; j < I; j++) s->discarded += fmax(0.0, s->eig[n][j]);
  for (int64_t j = 0; j < I; j++) s->eig[n][j] /= s->nx2;
  s->fit = 1.0 - sqrt(fmin(1.0, s->discarded / s->nx2));
  s->step++;
  if (s->step < s->N) return DTF_OK;
  dtf_status st = s->sparse ? assemble(s, NULL, &s->semi) : assemble(s, &s->cur, NULL);
  block_free(&s->cur);
  dtf_semi_free(&s->semi);
  return st;
}

/* one ST-HOSVD step: mode order[step] of the truncated tensor */
static dtf_status sthosvd_step(dtf_tucker_t *s, int n) {
  if (s->step == 0 && s->o.budget > 0) {
    dtf_status st = budget_shape(s);
    if (st) return st;
  }
  if (s->o.eig == DTF_EIG_RANDOMIZED) {
    int64_t I = s->cur.dims[n];
    double t0 = dtf_now();
    block_t next = {0};
    s->eig[n] = calloc((size_t)I, sizeof(double));
    dtf_status st = dtf_agree(s->g->comm, s->eig[n] ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory"));
    double outside = 0;
    if (!st)
      st = randomized(s, n, s->step == 0 ? s->scale : 1.0, 0, &s->U[n], s->eig[n], &s->neig[n], &outside,
                      &next);
    s->t_ttm += dtf_now() - t0;
    if (st) return st;
    block_free(&s->cur);
    s->cur = next;
    return after_step(s, n, I, outside);
  }
  int64_t I = s->cur.dims[n], L = s->cur.len[n];
  double alpha = s->step == 0 ? s->scale : 1.0, t0 = dtf_now();
  double *rows = calloc((size_t)(L * I + 1), sizeof(double));
  s->eig[n] = malloc((size_t)I * sizeof(double));
  dtf_status st = rows && s->eig[n]
                      ? DTF_OK
                      : dtf_error(DTF_ERR_INPUT, "out of memory for the Gram of mode %d (%lld x %lld)", n + 1,
                                  (long long)I, (long long)I);
  st = dtf_agree(s->g->comm, st);
  dtf_semi_t got = {0}, semi = {0}; /* a sparse input: the records as exchanged, and their product */
  if (!st && s->sparse) {
    if (s->step == 0) st = sparse_records(s, &s->semi);
    if (!st) st = sparse_gram(s, &s->semi, n, rows, &got);
  } else if (!st)
    st = gram(s, &s->cur, n, alpha, rows);
  double t1 = dtf_now();
  if (!st)
    st = eigen(s, n, I, L, s->cur.start[n], 0, rows, &s->U[n], s->eig[n]);
  else
    free(rows);
  double t2 = dtf_now();
  block_t next = {0};
  owner_t own = {s, &got, n};
  if (!st && s->sparse)
    st = dtf_agree(s->g->comm, dtf_semi_ttm(&got, s->U[n], s->ranks[n], multiplies, &own, &semi));
  else if (!st)
    st = ttm(s, &s->cur, n, s->U[n], s->ranks[n], alpha, 1, &next);
  dtf_semi_free(&got);
  s->t_gram += t1 - t0;
  s->t_eig += t2 - t1;
  s->t_ttm += dtf_now() - t2;
  if (st) return st;
  if (s->sparse)
    s->semi = semi;
  else {
    block_free(&s->cur);
    s->cur = next;
  }
  s->neig[n] = I;
  return after_step(s, n, I, 0.0);
}

/* one HOOI sweep: for each mode, the leading subspace of X x_{k != n} U_k^T (a sparse
 * input: from every entry at once, records keyed by the index in mode n) */
static dtf_status hooi_sweep(dtf_tucker_t *s) {
  int N = s->N;
  dtf_status st = DTF_OK;
  block_t y = {0};
  dtf_semi_t core = {0};
  s->step++;
  for (int k = 0; !st && k < N; k++) {
    int n = s->o.order[k];
    block_t a = s->x, b;
    dtf_semi_t ys = {0}, got = {0};
    double t0 = dtf_now();
    if (s->sparse)
      st = dtf_agree(s->g->comm, dtf_semi_ttmc(N, s->nnz, s->inds, s->vals, s->scale, n,
                                               (const double *const *)s->U, s->ranks, &ys));
    for (int j = 0; !st && !s->sparse && j < N; j++) { /* the products in every other mode, in order */
      int m = s->o.order[j];
      if (m == n) continue;
      st = ttm(s, &a, m, s->U[m], s->ranks[m], a.data == s->x.data ? s->scale : 1.0, 1, &b);
      if (!st) {
        block_free(&a);
        a = b;
      }
    }
    double t1 = dtf_now();
    int64_t I = s->g->dims[n], L = a.len[n];
    double *rows = st ? NULL : calloc((size_t)(L * I + 1), sizeof(double));
    if (!st) st = dtf_agree(s->g->comm, rows ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for a Gram"));
    if (!st && s->sparse)
      st = sparse_gram(s, &ys, n, rows, &got);
    else if (!st)
      st = gram(s, &a, n, a.data == s->x.data ? s->scale : 1.0, rows);
    dtf_semi_free(&ys);
    double t2 = dtf_now();
    if (!st)
      st = eigen(s, n, I, L, a.start[n], s->ranks[n], rows, &s->U[n], s->eig[n]);
    else
      free(rows);
    s->neig[n] = I;
    double t3 = dtf_now();
    owner_t own = {s, &got, n};
    if (!st && k == N - 1)
      st = s->sparse
               ? dtf_agree(s->g->comm, dtf_semi_ttm(&got, s->U[n], s->ranks[n], multiplies, &own, &core))
               : ttm(s, &a, n, s->U[n], s->ranks[n], a.data == s->x.data ? s->scale : 1.0, 1, &y);
    dtf_semi_free(&got);
    if (!s->sparse && a.data != s->x.data) block_free(&a);
    s->t_ttm += (t1 - t0) + (dtf_now() - t3);
    s->t_gram += t2 - t1;
    s->t_eig += t3 - t2;
  }
  for (int n = 0; !st && n < N; n++)
    for (int64_t j = 0; j < s->neig[n]; j++) s->eig[n][j] /= s->nx2;
  if (!st) st = s->sparse ? assemble(s, NULL, &core) : assemble(s, &y, NULL);
  block_free(&y);
  dtf_semi_free(&core);
  return st;
}

static dtf_status iterate(void *impl, dtf_progress_t *p) {
  dtf_tucker_t *s = impl;
  double t0 = dtf_now(), before = s->fit;
  uint64_t b0 = s->comm.bytes_sent;
  int sweep = s->step >= s->N, n = sweep ? -1 : s->o.order[s->step], first = s->step == 0;
  int64_t I = n >= 0 ? s->cur.dims[n] : 0;
  dtf_status st = sweep ? hooi_sweep(s) : sthosvd_step(s, n);
  if (st) return st;
  if (!isfinite(s->fit))
    return dtf_error(DTF_ERR_NUMERIC, "the fit became non-finite at iteration %d", s->step);
  s->delta = first ? NAN : fabs(s->fit - before); /* NAN: no earlier fit */
  if (sweep) s->converged = s->delta < s->o.hooi_tol;
  s->fit_history[s->step - 1] = s->fit;
  if (p) {
    uint64_t sent = s->comm.bytes_sent - b0;
    *p = (dtf_progress_t){.iteration = s->step,
                          .metric = "fit",
                          .value = s->fit,
                          .delta = s->delta,
                          .seconds = dtf_now() - t0,
                          .bytes_sent = sent,
                          .bytes_uncompressed = sent};
    if (sweep)
      snprintf(p->note, sizeof p->note, "hooi sweep %d", s->step - s->N);
    else
      snprintf(p->note, sizeof p->note, "mode %d: %lld -> %d", n + 1, (long long)I, s->ranks[n]);
  }
  return DTF_OK;
}

static int finished(const void *impl) {
  const dtf_tucker_t *s = impl;
  if (s->step < s->N) return 0;
  return !s->o.hooi || s->converged || s->step - s->N >= s->o.max_sweeps;
}

static int converged(const void *impl) {
  const dtf_tucker_t *s = impl;
  return s->step >= s->N && (!s->o.hooi || s->converged);
}

static dtf_status state(void *impl, int checkpoint, dtf_state_t *out) {
  dtf_tucker_t *s = impl;
  if (checkpoint && !s->o.hooi)
    return dtf_error(DTF_ERR_USAGE, "ST-HOSVD is one pass over the modes: it has no checkpoint");
  dtf_state_init(out, s->o.hooi ? "hooi" : "sthosvd", "tucker", checkpoint, s->N, s->g->dims);
  if (s->have_model) dtf_tucker_model_describe(&s->model, out);
  int64_t order[DTF_MAX_MODES], want[DTF_MAX_MODES] = {0}, rnd = s->o.eig == DTF_EIG_RANDOMIZED;
  for (int k = 0; k < s->N; k++) {
    order[k] = s->o.order[k];
    want[k] = s->o.tol > 0 || s->o.budget > 0 ? 0 : s->o.ranks[k]; /* the budget's are found */
  }
  /* the options a resume must match, shown as given ("no --tol", "--order 3,1,2") */
  dtf_state_real(out, "tol", DTF_ATTR_OPTION, "--tol", s->o.tol);
  dtf_state_real(out, "budget", DTF_ATTR_OPTION, "--budget", s->o.budget);
  dtf_state_ints(out, "ranks_asked", DTF_ATTR_OPTION, "--ranks", want, s->N);
  dtf_state_ints(out, "mode_order", DTF_ATTR_OPTION, "--order", order, s->N);
  static const char *eig[] = {"auto", "lapack", "scalapack", "randomized"};
  dtf_state_text_option(out, "eig", "--eig", eig[s->o.eig]);
  dtf_state_int(out, "oversample", DTF_ATTR_OPTION, "--oversample", rnd ? s->o.oversample : 0);
  dtf_state_int(out, "power", DTF_ATTR_OPTION, "--power", rnd ? s->o.power : 0);
  dtf_state_int(out, "random_seed", DTF_ATTR_OPTION, "--seed", rnd ? (int64_t)s->o.seed : 0);
  const char *unset[] = {"tol", "budget", "ranks_asked"};
  for (int k = 0; k < 3; k++) dtf_state_style(out, unset[k], DTF_SHOW_UNSET);
  dtf_state_style(out, "mode_order", DTF_SHOW_MODES);
  if (!checkpoint) return DTF_OK;
  dtf_state_int(out, "converged", DTF_ATTR_STATE, NULL, s->converged);
  dtf_state_real(out, "delta", DTF_ATTR_STATE, NULL, s->delta);
  dtf_state_undefined_ok(out, "delta");
  if (s->o.budget > 0) dtf_state_real(out, "budget_bound", DTF_ATTR_STATE, NULL, s->budget_bound);
  dtf_state_replicated(out, "fit_history", s->step, 0, s->fit_history);
  for (int n = 0; n < s->N; n++) { /* the summary's, for a run resumed at its end */
    char name[32];
    snprintf(name, sizeof name, "eigenvalues_%d", n);
    if (s->eig[n] && s->neig[n] > 0) dtf_state_replicated(out, name, s->neig[n], 0, s->eig[n]);
  }
  return DTF_OK;
}

static dtf_status restore(void *impl, const dtf_state_t *file, dtf_state_read_fn read, void *ctx) {
  dtf_tucker_t *s = impl;
  int N = s->N;
  const dtf_attr_t *a = dtf_state_attr(file, "core_shape");
  if (!a || a->type != DTF_ATTR_INTS || a->n != N)
    return dtf_error(DTF_ERR_INPUT, "the checkpoint has no valid attribute 'core_shape'");
  for (int n = 0; n < N; n++) {
    if (a->ints[n] < 1 || a->ints[n] > s->g->dims[n])
      return dtf_error(DTF_ERR_INPUT, "the checkpoint's core rank %d is %lld", n + 1, (long long)a->ints[n]);
    s->ranks[n] = (int)a->ints[n];
  }
  int it = 0, conv = 0;
  double fit = 0, delta = 0;
  dtf_status st = dtf_solver_restore_scalars(file, "HOOI", INT_MAX, &it, &conv, &fit, &delta);
  if (!st && it < N) st = dtf_error(DTF_ERR_INPUT, "the checkpoint's iteration %d is inside ST-HOSVD", it);
  if (!st && it - N > s->o.max_sweeps) /* its iterations: the N modes of ST-HOSVD, then the sweeps */
    st = dtf_error(DTF_ERR_INPUT, "the checkpoint is after %d HOOI sweeps; this run allows %d (-i)", it - N,
                   s->o.max_sweeps);
  if (st) return st;
  s->step = it;
  s->converged = conv;
  s->fit = fit;
  s->delta = delta;
  dtf_state_get_real(file, "budget_bound", &s->budget_bound);
  st = dtf_agree(s->g->comm, dtf_tucker_model_init(s->g, s->ranks, &s->model));
  if (st) return st;
  s->have_model = 1;
  s->model.fit = fit;
  s->model.iterations = it;
  for (int n = 0; n < N; n++) { /* as many eigenvalues as the checkpoint holds (older ones: none) */
    char name[32];
    snprintf(name, sizeof name, "eigenvalues_%d", n);
    const dtf_field_t *e = dtf_state_field(file, name);
    free(s->eig[n]);
    s->neig[n] = e && e->rows <= s->g->dims[n] ? e->rows : 0;
    if (!(s->eig[n] = calloc((size_t)s->g->dims[n], sizeof(double)))) st = DTF_ERR_INPUT;
  }
  st = dtf_agree(s->g->comm, st ? dtf_error(DTF_ERR_INPUT, "out of memory") : DTF_OK);
  if (!st) st = dtf_solver_restore_fields(state, s, read, ctx);
  for (int n = 0; !st && n < N; n++) {
    int64_t I = s->g->dims[n];
    free(s->U[n]);
    s->U[n] = malloc((size_t)(I * s->ranks[n]) * sizeof(double));
    if (!s->U[n])
      st = dtf_error(DTF_ERR_INPUT, "out of memory");
    else
      memcpy(s->U[n], s->model.factors[n], (size_t)(I * s->ranks[n]) * sizeof(double));
  }
  block_free(&s->cur);
  return dtf_agree(s->g->comm, st);
}

static const dtf_solver_ops_t tucker_ops = {"sthosvd", iterate, finished, converged, state, restore};

dtf_solver_t dtf_tucker_solver(dtf_tucker_t *s) { return (dtf_solver_t){&tucker_ops, s}; }

/* the largest rank mode n may get: the given one, or what the tolerance or budget allows */
static double max_rank(const dtf_tucker_options_t *o, int n, int64_t I) {
  if (o->tol > 0) return (double)I;
  if (o->budget > 0) return fmin((double)I, floor(o->budget / (double)I));
  return o->ranks[n];
}

/* bytes of a mode's eigen-decomposition of I indices, L rows a rank, R kept */
static double solve_bytes(const dtf_tucker_options_t *o, double I, double L, double R, int P) {
  return use_scalapack(o, (int64_t)I, P)
             ? 8.0 * L * I + dtf_scalapack_eigen_bytes((int64_t)I, P)
             : 8.0 * (L * I + I * I + I + I * R) + dtf_sym_eigen_large_bytes((int)I);
}

/* dtf_tucker_memory of a sparse input: the entries, then per mode the records sent, received
 * and sorted (ST-HOSVD: a group to one rank of each of P_n slices; the last, and HOOI's, to
 * every rank), the Gram's rows and its eigen-decomposition */
static double sparse_memory(const dtf_grid_t *g, const dtf_tensor_t *t, const dtf_tucker_options_t *o) {
  int N = g->nmodes, size = g->size;
  double local = (double)t->ops->entries(t), nnz = local, most = 0, keys, Pv = 1;
  dtf_allreduce(g->comm, &nnz, 1, MPI_DOUBLE, MPI_SUM, NULL);
  keys = nnz;
  int done[DTF_MAX_MODES] = {0};
  for (int k = 0; k < N; k++) {
    int n = o->order[k], nk = N - k;
    double I = (double)g->dims[n], R = max_rank(o, n, g->dims[n]), cells = 1; /* the tensor, if dense */
    for (int m = 0; m < N; m++) cells *= done[m] ? max_rank(o, m, g->dims[m]) : (double)g->dims[m];
    double W = nk + fmin(Pv, cells / keys); /* words a record, on average */
    double mine = k == 0 ? local : keys / size, Pn = g->pdims[n];
    /* a group to P_n ranks, received and sorted; the last: to its owner, then to every rank */
    double recs = nk > 1 ? mine * Pn + 2 * keys * Pn / size : mine + 3 * keys;
    double step = 8.0 * W * recs + solve_bytes(o, I, (double)g->len[n], R, size);
    most = fmax(most, step);
    done[n] = 1;
    double rest = 1;
    for (int m = 0; m < N; m++)
      if (!done[m]) rest *= (double)g->dims[m];
    keys = fmin(keys, rest);
    Pv *= R;
  }
  for (int n = 0; o->hooi && n < N;
       n++) { /* X x_{m != n} U_m^T: records keyed by mode n, merged, to every rank */
    double I = (double)g->dims[n], Pn = 1;
    for (int m = 0; m < N; m++)
      if (m != n) Pn *= max_rank(o, m, g->dims[m]);
    double step = 8.0 * (1 + Pn) * (fmin(local, I) + 3 * fmin(nnz, I)) +
                  solve_bytes(o, I, (double)g->len[n], max_rank(o, n, g->dims[n]), size);
    most = fmax(most, step);
  }
  double all = most + 8.0 * local * (N + 1);
  dtf_allreduce(g->comm, &all, 1, MPI_DOUBLE, MPI_MAX, NULL);
  return all;
}

double dtf_tucker_memory(const dtf_grid_t *g, const dtf_tensor_t *t, const dtf_tucker_options_t *o) {
  if (!strcmp(t->ops->name, "sparse")) return sparse_memory(g, t, o);
  int N = g->nmodes;
  int64_t len[DTF_MAX_MODES], dims[DTF_MAX_MODES];
  memcpy(len, t->dims, sizeof len);
  memcpy(dims, g->dims, sizeof dims);
  double most = 0, cells = 1, cur = 0; /* cur: the truncated block held besides the input */
  int inplace = o->overwrite_input && !o->hooi;
  for (int k = 0; k < N; k++) cells *= (double)len[k];
  for (int k = 0; k < N; k++) {
    int n = o->order[k];
    double I = (double)dims[n], P = g->pdims[n], L = (double)len[n], other = cells / (L > 0 ? L : 1);
    double R = max_rank(o, n, dims[n]), Lnew = ceil(R / P);
    double ring = 8.0 * (L * I + 3.0 * ceil(I / P) * fmin(other, RING_CHUNK_DOUBLES));
    double K = fmin(I, (o->tol > 0 ? fmin(I, 64) : R) + o->oversample); /* a sketch's columns */
    double solve = solve_bytes(o, I, L, R, g->size);
    if (o->eig == DTF_EIG_RANDOMIZED) /* no Gram: the sketch, its basis, the MTTKRP's Khatri-Rao workspace */
      solve = 8.0 * (2 * I * K + 2 * other * K);
    double step = o->eig == DTF_EIG_RANDOMIZED ? solve : fmax(ring, solve);
    /* written over the block (ttm's in-place case), or a send buffer and the result */
    inplace = inplace && P == 1 && o->eig != DTF_EIG_RANDOMIZED;
    double prod = inplace ? 8.0 * R * TTM_CHUNK : 8.0 * (other * R + other * Lnew);
    if (cur + fmax(step, prod) > most) most = cur + fmax(step, prod);
    if (!inplace) cur = 8.0 * other * Lnew;
    inplace = 1; /* a block of the solver's own */
    cells = other * Lnew;
    len[n] = (int64_t)Lnew;
    dims[n] = (int64_t)R;
  }
  double core = 8.0, fac = 0;
  for (int k = 0; k < N; k++) {
    core *= max_rank(o, k, g->dims[k]);
    fac += 8.0 * (double)g->dims[k] * max_rank(o, k, g->dims[k]);
  }
  if (o->budget > 0) core = fmin(core, 8.0 * o->budget);
  most = fmax(most, cur + core + fac);
  double input = 8.0;
  for (int k = 0; k < N; k++) input *= (double)t->dims[k];
  double all = most + input;
  dtf_allreduce(g->comm, &all, 1, MPI_DOUBLE, MPI_MAX, NULL);
  return all;
}

dtf_status dtf_tucker_init(const dtf_grid_t *g, dtf_tensor_t *t, const dtf_tucker_options_t *o,
                           dtf_tucker_t **out) {
  *out = NULL;
  int N = g->nmodes;
  int sparse = !strcmp(t->ops->name, "sparse");
  if (strcmp(t->ops->name, "dense") && !sparse)
    return dtf_error(DTF_ERR_USAGE, "dtf tucker reads dense and sparse tensors; this one is %s",
                     t->ops->name);
  if (sparse && o->eig == DTF_EIG_RANDOMIZED)
    return dtf_error(DTF_ERR_USAGE,
                     "--eig randomized sketches dense tensors; a sparse tensor's Grams come from its "
                     "entries (use --eig lapack or scalapack)");
  if (!(o->tol >= 0 && o->tol < 1)) return dtf_error(DTF_ERR_USAGE, "--tol must be in (0, 1)");
  if (o->hooi && o->max_sweeps < 1) return dtf_error(DTF_ERR_USAGE, "HOOI needs at least one sweep (-i)");
  double smallest = 1;
  for (int n = 0; n < N; n++) smallest += (double)g->dims[n];
  if (o->budget > 0 && o->budget < smallest) {
    char d[160];
    dtf_format_dims(N, g->dims, d, sizeof d);
    return dtf_error(
        DTF_ERR_USAGE,
        "--budget %.0f is too small: the smallest Tucker model of this %s tensor (a 1 x ... x 1 core "
        "and one column per factor) has %.0f numbers",
        o->budget, d, smallest);
  }
  int seen = 0;
  for (int k = 0; k < N; k++) {
    int n = o->order[k];
    if (n < 0 || n >= N || (seen >> n & 1))
      return dtf_error(DTF_ERR_USAGE, "the mode order must name every mode once");
    seen |= 1 << n;
    if (!(o->tol > 0) && !(o->budget > 0) && (o->ranks[n] < 1 || o->ranks[n] > g->dims[n]))
      return dtf_error(DTF_ERR_USAGE, "core rank %d is %d; it must be from 1 to the mode's %lld", n + 1,
                       o->ranks[n], (long long)g->dims[n]);
  }
  double need = dtf_tucker_memory(g, t, o);
  int64_t big = 0;
  for (int n = 0; n < N; n++)
    if (g->dims[n] > big) big = g->dims[n];
  if (o->max_mem > 0 && need > o->max_mem) {
    char a[32], b[32];
    dtf_format_bytes(need, a, sizeof a);
    dtf_format_bytes(o->max_mem, b, sizeof b);
    if (o->eig == DTF_EIG_RANDOMIZED)
      return dtf_error(
          DTF_ERR_INPUT,
          "ST-HOSVD needs about %s per rank (the sketches and the truncated blocks%s), more than "
          "the %s allowed (--max-mem); use more ranks%s",
          a, o->tol > 0 ? ", counted at full rank since --tol may keep every index" : "", b,
          o->tol > 0 ? ", or --ranks" : "");
    return dtf_error(
        DTF_ERR_INPUT,
        "ST-HOSVD needs about %s per rank (the Grams: the largest is %lld x %lld, %s; the truncated "
        "%s), more than the %s allowed (--max-mem); use more ranks%s",
        a, (long long)big, (long long)big,
        use_scalapack(o, big, g->size) ? "spread over every rank by ScaLAPACK"
                                       : "held whole by rank 0 for LAPACK",
        sparse ? "tensor's records" : "blocks", b,
        use_scalapack(o, big, g->size) ? "" : ", or --eig scalapack to spread it over them");
  }
  dtf_tucker_t *s = calloc(1, sizeof *s);
  if (!s) return dtf_error(DTF_ERR_INPUT, "out of memory");
  s->g = g;
  s->t = t;
  s->o = *o;
  s->N = N;
  s->sparse = sparse;
  s->x.data = sparse ? NULL : dtf_dense_tensor_data(t);
  memcpy(s->x.dims, g->dims, sizeof s->x.dims);
  memcpy(s->x.start, g->start, sizeof s->x.start);
  memcpy(s->x.len, g->len, sizeof s->x.len);
  s->cur = s->x;
  if (o->overwrite_input && !o->hooi && !sparse) s->cur.mut = dtf_dense_tensor_spend(t);
  s->fit_history = calloc((size_t)(N + (o->hooi ? o->max_sweeps : 0)), sizeof(double));
  for (int n = 0; n < N; n++) s->fibre[n] = MPI_COMM_NULL;
  dtf_status st = DTF_OK;
  if (!s->fit_history) st = dtf_error(DTF_ERR_INPUT, "out of memory");
  for (int n = 0; !st && n < N; n++) st = dtf_grid_fibre(g, n, &s->fibre[n]);
  if (!st && sparse) { /* the entries, with global indices */
    s->nnz = t->ops->entries(t);
    s->inds = malloc((size_t)(s->nnz * N + 1) * sizeof(int64_t));
    s->vals = malloc((size_t)(s->nnz + 1) * sizeof(double));
    st = s->inds && s->vals ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for the entries");
    if (!st) t->ops->entries_get(t, 0, s->nnz, s->inds, s->vals);
    st = dtf_agree(g->comm, st);
  }
  if (!st) st = dtf_tensor_norm(g, t, &s->norm);
  if (!st && !(s->norm > 0))
    st = dtf_error(DTF_ERR_INPUT, "the tensor is all zeros: it has no Tucker decomposition");
  if (st) {
    dtf_tucker_free(s);
    return st;
  }
  s->scale = dtf_pow2_scale(s->norm);
  s->nx2 = (s->norm * s->scale) * (s->norm * s->scale);
  *out = s;
  return DTF_OK;
}

void dtf_tucker_summary(const dtf_tucker_t *s, dtf_tucker_summary_t *out) {
  memset(out, 0, sizeof *out);
  out->iterations = s->step;
  out->fit = s->fit;
  for (int n = 0; n < s->N; n++) {
    out->ranks[n] = s->U[n] ? s->ranks[n] : 0;
    out->eigenvalues[n] = s->eig[n];
    out->neig[n] = s->U[n] ? s->neig[n] : 0;
  }
  out->t_gram = s->t_gram;
  out->t_eig = s->t_eig;
  out->t_ttm = s->t_ttm;
  out->t_comm = s->t_comm;
  out->budget_bound = s->budget_bound;
  out->t_budget = s->t_budget;
  out->fit_history = s->fit_history;
  out->converged = s->step >= s->N && (!s->o.hooi || s->converged);
  out->model = s->have_model ? &s->model : NULL;
}

void dtf_tucker_free(dtf_tucker_t *s) {
  if (!s) return;
  for (int n = 0; n < s->N; n++) {
    dtf_grid_fibre_free(&s->fibre[n]);
    free(s->U[n]);
    free(s->eig[n]);
  }
  block_free(&s->cur);
  dtf_semi_free(&s->semi);
  free(s->inds);
  free(s->vals);
  free(s->fit_history);
  if (s->have_model) dtf_tucker_model_free(&s->model);
  free(s);
}
