/* Tucker's eigenvectors and rank of mode n (docs/algorithms.md, "Tucker", steps 2 and 3):
 * LAPACK on rank 0 or ScaLAPACK over every rank behind one call (tucker_eigen), the rank
 * from --ranks or the tolerance, the columns' signs fixed so that no path or rank count
 * changes the factor. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/fault.h"
#include "dtf/kernels.h"
#include "dtf/memory.h"
#include "dtf/scalapack.h"
#include "timer.h"
#include "tucker_impl.h"

/* n doubles from rank 0 to every rank, in pieces an int counts */
static dtf_status bcast_doubles(MPI_Comm comm, double *buf, int64_t n) {
  dtf_status st = DTF_OK;
  for (int64_t k = 0; !st && k < n; k += 1 << 26)
    st = dtf_bcast(comm, buf + k, (int)((n - k < (1 << 26) ? n - k : 1 << 26) * (int64_t)sizeof(double)), 0);
  return st;
}

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
void tucker_fix_signs(int64_t I, int R, double *U, int64_t K, double *V) {
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
int tucker_use_scalapack(const dtf_tucker_options_t *o, int64_t I, int P) {
  if (o->eig != DTF_EIG_AUTO) return o->eig == DTF_EIG_SCALAPACK;
  return o->max_mem > 0 && 8.0 * (double)I * (double)I > 0.25 * o->max_mem && P > 1;
}

/* The leading eigenvectors of mode n's Gram, whose rows (L x I from row off) this rank
 * holds (rows: freed here), into *U (I x R, allocated unless given), R from choose_rank; every eigenvalue
 * (descending) into w. LAPACK: the rows gathered on rank 0, solved there and broadcast.
 * ScaLAPACK: the rows redistributed over every rank (dtf_scalapack_eigen). */
dtf_status tucker_eigen(dtf_tucker_t *s, int n, int64_t I, int64_t L, int64_t off, int fixed, double *rows,
                        double **U, double *w) {
  const dtf_grid_t *g = s->g;
  int R = 0, P = g->pdims[n],
      root = 1; /* root: in the fibre through rank 0, whose rows cover the Gram once */
  for (int k = 0; k < s->N; k++)
    if (k != n) root &= g->coords[k] == 0;
  dtf_status st = DTF_OK;
  double *V = NULL; /* I x R */
  if (tucker_use_scalapack(&s->o, I, g->size)) {
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
    if (!st) tucker_fix_signs(I, R, V, 0, NULL);
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
        if (!st) tucker_fix_signs(I, R, V, 0, NULL);
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
  if (!st) st = dtf_fault_status("solve", tucker_iteration(s), DTF_ERR_NUMERIC);
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
