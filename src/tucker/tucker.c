/* Distributed ST-HOSVD (docs/algorithms.md, "Tucker"). Mode by mode in the chosen order:
 * the Gram of the current tensor's unfolding (each rank's row block against the blocks of
 * its fibre passed around a ring, summed over the mode's slice, gathered in the fibre),
 * its eigenvectors (LAPACK on rank 0, broadcast), the rank from --ranks or the error
 * tolerance, and the n-mode product with the leading eigenvectors, reduce-scattered in the
 * fibre so that the truncated mode stays distributed over the same ranks. This file is the
 * driver (the steps, HOOI's sweeps, the core, the state, the memory estimate); each part has
 * its own file, listed in tucker_impl.h. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/format.h"
#include "dtf/kernels.h"
#include "dtf/scalapack.h"
#include "timer.h"
#include "tucker_impl.h"

void dtf_tucker_options_default(dtf_tucker_options_t *o, int nmodes) {
  memset(o, 0, sizeof *o);
  for (int n = 0; n < nmodes; n++) o->order[n] = n;
  o->max_sweeps = 10;
  o->oversample = 10;
  o->hooi_tol = 1e-6;
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
  tucker_block_free(&s->cur);
  dtf_semi_free(&s->semi);
  return st;
}

/* one ST-HOSVD step: mode order[step] of the truncated tensor */
static dtf_status sthosvd_step(dtf_tucker_t *s, int n) {
  if (s->step == 0 && s->o.budget > 0) {
    dtf_status st = tucker_budget_shape(s);
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
      st = tucker_randomized(s, n, s->step == 0 ? s->scale : 1.0, 0, &s->U[n], s->eig[n], &s->neig[n],
                             &outside, &next);
    s->t_ttm += dtf_now() - t0;
    if (st) return st;
    tucker_block_free(&s->cur);
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
    if (s->step == 0) st = tucker_sparse_records(s, &s->semi);
    if (!st) st = tucker_sparse_gram(s, &s->semi, n, rows, &got);
  } else if (!st)
    st = tucker_gram(s, &s->cur, n, alpha, rows);
  double t1 = dtf_now();
  if (!st)
    st = tucker_eigen(s, n, I, L, s->cur.start[n], 0, rows, &s->U[n], s->eig[n]);
  else
    free(rows);
  double t2 = dtf_now();
  block_t next = {0};
  owner_t own = {s, &got, n};
  if (!st && s->sparse)
    st = dtf_agree(s->g->comm, dtf_semi_ttm(&got, s->U[n], s->ranks[n], tucker_multiplies, &own, &semi));
  else if (!st)
    st = tucker_ttm(s, &s->cur, n, s->U[n], s->ranks[n], alpha, 1, &next);
  dtf_semi_free(&got);
  s->t_gram += t1 - t0;
  s->t_eig += t2 - t1;
  s->t_ttm += dtf_now() - t2;
  if (st) return st;
  if (s->sparse)
    s->semi = semi;
  else {
    tucker_block_free(&s->cur);
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
      st = tucker_ttm(s, &a, m, s->U[m], s->ranks[m], a.data == s->x.data ? s->scale : 1.0, 1, &b);
      if (!st) {
        tucker_block_free(&a);
        a = b;
      }
    }
    double t1 = dtf_now();
    int64_t I = s->g->dims[n], L = a.len[n];
    double *rows = st ? NULL : calloc((size_t)(L * I + 1), sizeof(double));
    if (!st) st = dtf_agree(s->g->comm, rows ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for a Gram"));
    if (!st && s->sparse)
      st = tucker_sparse_gram(s, &ys, n, rows, &got);
    else if (!st)
      st = tucker_gram(s, &a, n, a.data == s->x.data ? s->scale : 1.0, rows);
    dtf_semi_free(&ys);
    double t2 = dtf_now();
    if (!st)
      st = tucker_eigen(s, n, I, L, a.start[n], s->ranks[n], rows, &s->U[n], s->eig[n]);
    else
      free(rows);
    s->neig[n] = I;
    double t3 = dtf_now();
    owner_t own = {s, &got, n};
    if (!st && k == N - 1)
      st = s->sparse
               ? dtf_agree(s->g->comm,
                           dtf_semi_ttm(&got, s->U[n], s->ranks[n], tucker_multiplies, &own, &core))
               : tucker_ttm(s, &a, n, s->U[n], s->ranks[n], a.data == s->x.data ? s->scale : 1.0, 1, &y);
    dtf_semi_free(&got);
    if (!s->sparse && a.data != s->x.data) tucker_block_free(&a);
    s->t_ttm += (t1 - t0) + (dtf_now() - t3);
    s->t_gram += t2 - t1;
    s->t_eig += t3 - t2;
  }
  for (int n = 0; !st && n < N; n++)
    for (int64_t j = 0; j < s->neig[n]; j++) s->eig[n][j] /= s->nx2;
  if (!st) st = s->sparse ? assemble(s, NULL, &core) : assemble(s, &y, NULL);
  tucker_block_free(&y);
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
  tucker_block_free(&s->cur);
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
  return tucker_use_scalapack(o, (int64_t)I, P)
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
    /* written over the block (tucker_ttm's in-place case), or a send buffer and the result */
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
        tucker_use_scalapack(o, big, g->size) ? "spread over every rank by ScaLAPACK"
                                              : "held whole by rank 0 for LAPACK",
        sparse ? "tensor's records" : "blocks", b,
        tucker_use_scalapack(o, big, g->size) ? "" : ", or --eig scalapack to spread it over them");
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
  tucker_block_free(&s->cur);
  dtf_semi_free(&s->semi);
  free(s->inds);
  free(s->vals);
  free(s->fit_history);
  if (s->have_model) dtf_tucker_model_free(&s->model);
  free(s);
}
