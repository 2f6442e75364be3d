/* Distributed CP-ALS. Per mode: local MTTKRP -> reduce-scatter in the mode's slice ->
 * owners solve their rows against the Hadamard product of the other Grams -> Gram and
 * column norms by one allreduce -> allgatherv of the rows in the slice. The fit comes
 * from ||X||, the Grams and the last MTTKRP, without forming the model.
 *
 * Failures inside the sweep: a rank whose MTTKRP or solve fails keeps taking part in
 * every collective (with zeros), and its status rides on the Gram allreduce of that mode,
 * which runs anyway; when the sum says a rank failed, all ranks agree on its message.
 *
 * Scale: the sweep works on X * scale, scale a power of two near 1 / ||X|| (exact), so
 * the Grams of tensors whose entries are around 1e-170 or 1e155 neither underflow nor
 * overflow; lambda is kept in the tensor's units. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/cp.h"
#include "dtf/fault.h"
#include "dtf/kernels.h"
#include "dtf/rng.h"
#include "dtf/tucker.h"
#include "row_update.h"
#include "timer.h"

void dtf_cp_options_default(dtf_cp_options_t *o) {
  memset(o, 0, sizeof *o);
  o->rank = 1;
  o->max_iters = 50;
  o->tol = 1e-4;
  o->update = DTF_UPDATE_AUTO;
}

double dtf_cp_als_memory(const dtf_grid_t *g, const dtf_tensor_t *t, int R) {
  double rows = 0, most = 0;
  for (int n = 0; n < g->nmodes; n++) {
    rows += (double)g->len[n];
    if (g->len[n] > most) most = (double)g->len[n];
  }
  /* factor blocks, mloc and mown, N Grams + V + packed, the solve, the tensor's MTTKRP */
  double bytes = (rows + 2 * most) * R * 8.0 + (g->nmodes + 3.0) * R * (double)R * 8.0 +
                 (2.0 * R * R + 100.0 * R) * 8.0 + t->ops->workspace_bytes(t, R);
  dtf_allreduce(g->comm, &bytes, 1, MPI_DOUBLE, MPI_MAX, NULL);
  return bytes;
}

static void invalidate(dtf_cp_als_t *s) {
  for (int n = 0; n < s->grid->nmodes; n++) s->version[n] = dtf_tensor_next_version();
}

/* --init svd: each factor's first min(I_n, R) columns are mode n's leading singular vectors
 * (the rest keep their normal draws); the weights need no start, the first mode's rows are
 * solved from the others. */
static dtf_status svd_start(dtf_cp_als_t *s) {
  int N = s->grid->nmodes, R = s->opt.rank, shape[DTF_MAX_MODES];
  dtf_tucker_t *tk = NULL;
  dtf_status st = dtf_tucker_cp_start(s->grid, s->tensor, R, s->opt.seed, s->opt.max_mem, s->opt.log,
                                      s->opt.ctx, &tk, shape);
  if (!st) {
    dtf_tucker_summary_t sm;
    dtf_tucker_summary(tk, &sm);
    for (int n = 0; n < N; n++) {
      dtf_factor_t *f = &s->model.factors[n];
      const double *U = sm.model->factors[n] + f->block_start * shape[n];
      for (int64_t i = 0; i < f->block_len; i++)
        for (int r = 0; r < shape[n]; r++) f->block[i * R + r] = U[i * shape[n] + r];
    }
  }
  dtf_tucker_free(tk);
  return st;
}

dtf_status dtf_cp_als_init(const dtf_grid_t *g, dtf_tensor_t *t, const dtf_cp_options_t *o,
                           dtf_cp_als_t **out) {
  *out = NULL;
  if (o->rank < 1) return dtf_error(DTF_ERR_USAGE, "the rank must be at least 1, not %d", o->rank);
  if (o->max_iters < 1)
    return dtf_error(DTF_ERR_USAGE, "the iteration limit must be at least 1, not %d", o->max_iters);
  if (!(o->tol >= 0)) return dtf_error(DTF_ERR_USAGE, "the tolerance must be >= 0, not %g", o->tol);
  if (o->max_mem > 0) {
    double need = dtf_cp_als_memory(g, t, o->rank);
    if (need > o->max_mem)
      return dtf_error(DTF_ERR_INPUT,
                       "rank %d needs an estimated %.3g GB per rank (factors, Grams, MTTKRP workspace), more "
                       "than the limit of %.3g GB (--max-mem); use a lower rank or more ranks",
                       o->rank, need / 1e9, o->max_mem / 1e9);
  }
  const dtf_row_update_t *upd[DTF_MAX_MODES];
  int64_t work = 1;
  for (int n = 0; n < g->nmodes; n++) {
    const char *why;
    if (!(upd[n] = dtf_row_update(o->update, o->constraint[n], &why)))
      return dtf_error(DTF_ERR_USAGE, "mode %d is held %s, but %s", n + 1,
                       dtf_constraint_name(o->constraint[n]), why);
    if (upd[n]->work(o->rank) > work) work = upd[n]->work(o->rank);
  }
  dtf_cp_als_t *s = calloc(1, sizeof *s);
  if (!s) return dtf_error(DTF_ERR_INPUT, "out of memory");
  for (int n = 0; n < g->nmodes; n++) {
    s->upd[n] = upd[n];
    size_t lc = strlen(s->constraints), lu = strlen(s->updates);
    snprintf(s->constraints + lc, sizeof s->constraints - lc, "%s%s", n ? "," : "",
             dtf_constraint_name(o->constraint[n]));
    snprintf(s->updates + lu, sizeof s->updates - lu, "%s%s", n ? "," : "", upd[n]->name);
  }
  s->grid = g;
  s->tensor = t;
  s->opt = *o;
  int N = g->nmodes, R = o->rank;
  int64_t RR = (int64_t)R * R, maxblock = 0, maxown = 0;
  dtf_status st = dtf_cp_model_init(g, R, &s->model);
  for (int n = 0; n < N; n++) {
    s->gram[n] = malloc((size_t)RR * sizeof(double));
    if (!s->gram[n]) st = st ? st : dtf_error(DTF_ERR_INPUT, "out of memory");
  }
  if (!st) {
    for (int n = 0; n < N; n++) {
      if (g->len[n] > maxblock) maxblock = g->len[n];
      if (s->model.factors[n].own_len > maxown) maxown = s->model.factors[n].own_len;
    }
    s->mloc = malloc((size_t)(maxblock * R) * sizeof(double));
    s->mown = malloc((size_t)((maxown ? maxown : 1) * R) * sizeof(double));
    s->V = malloc((size_t)RR * sizeof(double));
    s->solve_work = malloc((size_t)work * sizeof(double));
    s->packed = malloc((size_t)((N + 1) * RR + 2) * sizeof(double));
    s->fit_history = calloc((size_t)o->max_iters, sizeof(double));
    s->lambda_s = malloc((size_t)R * sizeof(double));
    for (int r = 0; s->lambda_s && r < R; r++) s->lambda_s[r] = 1.0; /* the start's scale: its own */
    if (!s->mloc || !s->mown || !s->V || !s->solve_work || !s->packed || !s->fit_history || !s->lambda_s)
      st = dtf_error(DTF_ERR_INPUT, "out of memory for the ALS workspace (rank %d)", R);
  }
  st = dtf_agree(g->comm, st);
  if (!st) st = dtf_allreduce_norm(g->comm, t->ops->norm(t), &s->norm_x, &s->comm);
  if (!st && !(s->norm_x > 0.0))
    st = dtf_error(DTF_ERR_INPUT, "the tensor is all zeros: there is nothing to factor");
  if (st) {
    dtf_cp_als_free(s);
    return st;
  }
  s->scale = dtf_pow2_scale(s->norm_x);
  /* Initial factors: standard normal draws keyed by (seed, mode, global row, column), the
   * same for any grid (normal draws start less collinear than uniform ones, and ALS
   * lands in fewer local minima: 9 of 10 seeds against 7 on a rank-5 test tensor).
   * All Grams travel in one allreduce. */
  for (int n = 0; n < N; n++)
    dtf_factor_fill_normal(&s->model.factors[n], o->seed, DTF_STREAM_INIT, o->row_labels[n]);
  if (o->init_svd) st = svd_start(s);
  for (int n = 0; !st && n < N; n++) {
    dtf_factor_t *f = &s->model.factors[n];
    if (s->upd[n]->nonneg) /* the same start, folded: a nonnegative one */
      for (int64_t i = 0; i < f->block_len * R; i++) f->block[i] = fabs(f->block[i]);
    dtf_gram(f->own_len, R, dtf_factor_owned(f), s->packed + n * RR);
    s->version[n] = dtf_tensor_next_version();
  }
  if (!st) st = dtf_allreduce_sum(g->comm, s->packed, N * RR, &s->comm);
  if (!st)
    for (int n = 0; n < N; n++) memcpy(s->gram[n], s->packed + n * RR, (size_t)RR * sizeof(double));
  if (!st) {
    /* The first MTTKRP allocates the tensor's workspace: run it here, where every rank
     * can agree on an allocation failure; its partial result is reused by iteration 1. */
    const double *F[DTF_MAX_MODES];
    for (int n = 0; n < N; n++) F[n] = s->model.factors[n].block;
    st = dtf_agree(g->comm, t->ops->mttkrp(t, 0, F, s->version, R, s->mloc));
  }
  if (st) {
    dtf_cp_als_free(s);
    return st;
  }
  *out = s;
  return DTF_OK;
}

/* Update factor n; on the last mode also return scale^2 <X, M> in *ip. Every rank makes
 * the same collectives whatever fails locally; the status is agreed on the Gram
 * allreduce. */
static dtf_status update_mode(dtf_cp_als_t *s, int n, double *ip) {
  const dtf_grid_t *g = s->grid;
  int N = g->nmodes, R = s->opt.rank, last = (n == N - 1), it = s->iteration + 1;
  int64_t RR = (int64_t)R * R;
  dtf_factor_t *f = &s->model.factors[n];
  const double *F[DTF_MAX_MODES];
  for (int k = 0; k < N; k++) F[k] = s->model.factors[k].block;

  double t0 = dtf_now();
  dtf_status st = s->tensor->ops->mttkrp(s->tensor, n, F, s->version, R, s->mloc);
  if (!st) st = dtf_fault_status("mttkrp", it, DTF_ERR_INPUT);
  if (st) memset(s->mloc, 0, (size_t)(f->block_len * R) * sizeof(double));
  double t1 = dtf_now();
  s->t_mttkrp += t1 - t0;
  dtf_status mpi = dtf_factor_reduce_scatter(f, s->mloc, s->mown, &s->comm);
  if (mpi) return mpi; /* MPI itself failed: nothing can be agreed on any more */
  double t2 = dtf_now();
  s->t_comm += t2 - t1;

  int64_t own = f->own_len * R;
  for (int64_t i = 0; i < own; i++) s->mown[i] *= s->scale;
  for (int64_t i = 0; i < RR; i++) s->V[i] = 1.0;
  for (int k = 0; k < N; k++)
    if (k != n)
      for (int64_t i = 0; i < RR; i++) s->V[i] *= s->gram[k][i];
  double *A = dtf_factor_owned(f);
  const dtf_row_update_t *u = s->upd[n];
  if (u->warm) /* the rows as they stand: the normalised rows times the weights */
    for (int64_t i = 0; i < f->own_len; i++)
      for (int r = 0; r < R; r++) A[i * R + r] *= s->lambda_s[r];
  int pinv = 0;
  if (!st) st = u->update(u, R, s->V, f->own_len, s->mown, A, s->solve_work, &pinv);
  if (!st) st = dtf_fault_status("solve", it, DTF_ERR_NUMERIC);
  if (st) memset(A, 0, (size_t)own * sizeof(double));
  if (!st && own > 0 && dtf_fault("nan", it)) A[0] = NAN;
  if (pinv && !s->warned_pinv) {
    s->warned_pinv = 1;
    if (s->opt.log) {
      char msg[256];
      snprintf(msg, sizeof msg,
               "warning: the normal equations of mode %d at iteration %d are not positive definite; "
               "solved with the pseudo-inverse (not reported again). The rank may be too high.",
               n + 1, it);
      s->opt.log(msg, s->opt.ctx);
    }
  }
  /* Gram of the unnormalised rows, <X, M> on the last mode, and whether this rank failed,
   * in one allreduce */
  double *buf = s->packed;
  dtf_gram(f->own_len, R, A, buf);
  double loc = 0.0;
  if (last)
    for (int64_t i = 0; i < own; i++) loc += A[i] * s->mown[i];
  buf[RR] = loc;
  buf[RR + 1] = st ? 1.0 : 0.0;
  double t3 = dtf_now();
  s->t_solve += t3 - t2;
  mpi = dtf_allreduce_sum(g->comm, buf, RR + 2, &s->comm);
  if (mpi) return mpi;
  double t4 = dtf_now();
  s->t_comm += t4 - t3;
  if (buf[RR + 1] > 0) return dtf_agree(g->comm, st);

  double *ls = s->lambda_s;
  for (int r = 0; r < R; r++) {
    ls[r] = sqrt(buf[r * R + r]);
    if (!isfinite(ls[r]))
      return dtf_error(DTF_ERR_NUMERIC, "factor %d became non-finite at iteration %d", n + 1, it);
    s->model.lambda[r] = ls[r] / s->scale;
  }
  for (int64_t i = 0; i < f->own_len; i++)
    for (int r = 0; r < R; r++) A[i * R + r] = ls[r] > 0 ? A[i * R + r] / ls[r] : 0.0;
  for (int r = 0; r < R; r++)
    for (int q = 0; q < R; q++) {
      double d = ls[r] * ls[q];
      s->gram[n][r * R + q] = d > 0 ? buf[r * R + q] / d : 0.0;
    }
  if (last) *ip = buf[RR];
  double t5 = dtf_now();
  s->t_solve += t5 - t4;
  st = dtf_factor_allgather(f, &s->comm);
  s->t_comm += dtf_now() - t5;
  s->version[n] = dtf_tensor_next_version();
  return st;
}

dtf_status dtf_cp_als_iterate(dtf_cp_als_t *s, dtf_progress_t *p) {
  double t0 = dtf_now();
  uint64_t b0 = s->comm.bytes_sent;
  int N = s->grid->nmodes, R = s->opt.rank;
  double ip = 0.0;
  for (int n = 0; n < N; n++) {
    dtf_status st = update_mode(s, n, &ip);
    if (st) return st;
  }
  const double *G[DTF_MAX_MODES];
  for (int n = 0; n < N; n++) G[n] = s->gram[n];
  double nx2 = (s->norm_x * s->scale) * (s->norm_x * s->scale), nm2 = dtf_cp_norm2(N, R, s->lambda_s, G);
  double fit = 1.0 - sqrt(fmax(0.0, nx2 + nm2 - 2.0 * ip)) / sqrt(nx2);
  if (!isfinite(fit))
    return dtf_error(DTF_ERR_NUMERIC, "the fit became non-finite at iteration %d", s->iteration + 1);
  s->delta = fabs(fit - s->fit);
  s->fit = fit;
  s->iteration++;
  if (s->iteration <= s->opt.max_iters) s->fit_history[s->iteration - 1] = fit;
  s->converged = s->iteration > 1 && s->delta < s->opt.tol;
  s->model.fit = fit;
  s->model.iterations = s->iteration;
  double dt = dtf_now() - t0;
  s->t_total += dt;
  if (p) {
    uint64_t sent = s->comm.bytes_sent - b0;
    *p = (dtf_progress_t){.iteration = s->iteration,
                          .metric = "fit",
                          .value = fit,
                          .delta = s->delta,
                          .seconds = dt,
                          .bytes_sent = sent,
                          .bytes_uncompressed = sent};
  }
  return DTF_OK;
}

dtf_status dtf_cp_als_run(dtf_cp_als_t *s) {
  dtf_solver_t solver = dtf_cp_als_solver(s);
  return dtf_solver_run(&solver, NULL, NULL);
}

/* ---- the generic solver interface ---- */

static dtf_status op_iterate(void *impl, dtf_progress_t *p) { return dtf_cp_als_iterate(impl, p); }

static int op_finished(const void *impl) {
  const dtf_cp_als_t *s = impl;
  return s->converged || s->iteration >= s->opt.max_iters;
}

static int op_converged(const void *impl) { return ((const dtf_cp_als_t *)impl)->converged; }

/* The model in the original labels of a relabelled run (collective). */
static dtf_status relabelled(dtf_cp_als_t *s, dtf_cp_model_t **m) {
  const dtf_grid_t *g = s->grid;
  *m = &s->model;
  int any = 0;
  for (int n = 0; n < g->nmodes; n++) any |= s->opt.row_labels[n] != NULL;
  if (!any) return DTF_OK;
  dtf_status st = DTF_OK;
  if (!s->relabelled.lambda) st = dtf_cp_model_init(g, s->opt.rank, &s->relabelled);
  for (int n = 0; !st && n < g->nmodes; n++) {
    if (s->opt.row_labels[n])
      st = dtf_factor_relabel(g, &s->model.factors[n], s->opt.row_labels[n], &s->relabelled.factors[n], NULL);
    else
      memcpy(s->relabelled.factors[n].block, s->model.factors[n].block,
             (size_t)(s->model.factors[n].block_len * s->opt.rank) * sizeof(double));
  }
  if (st) return st;
  memcpy(s->relabelled.lambda, s->model.lambda, (size_t)s->opt.rank * sizeof(double));
  s->relabelled.fit = s->model.fit;
  s->relabelled.iterations = s->model.iterations;
  *m = &s->relabelled;
  return DTF_OK;
}

static dtf_status op_state(void *impl, int checkpoint, dtf_state_t *out) {
  dtf_cp_als_t *s = impl;
  const dtf_grid_t *g = s->grid;
  int R = s->opt.rank;
  dtf_cp_model_t *m = &s->model;
  dtf_status st = checkpoint ? DTF_OK : relabelled(s, &m);
  if (st) return st;
  dtf_state_init(out, "cp-als", "cp", checkpoint, g->nmodes, g->dims);
  dtf_cp_model_describe(m, out);
  dtf_state_int(out, "seed", DTF_ATTR_OPTION, "--seed", (int64_t)s->opt.seed);
  dtf_state_text_option(out, "constraint", "--constraint", s->constraints);
  dtf_state_text_option(out, "update", "--update", s->updates);
  dtf_state_text_option(out, "init", "--init", s->opt.init_svd ? "svd" : "random");
  dtf_state_int(out, "converged", DTF_ATTR_STATE, NULL, s->converged);
  dtf_state_real(out, "tol", DTF_ATTR_STATE, NULL, s->opt.tol);
  if (checkpoint) {
    /* the Grams as carried: recomputing them would round differently */
    dtf_state_real(out, "delta", DTF_ATTR_STATE, NULL, s->delta);
    dtf_state_undefined_ok(out, "delta");
    dtf_state_replicated(out, "fit_history", s->iteration, 0, s->fit_history);
    for (int n = 0; n < g->nmodes; n++) {
      char name[32];
      snprintf(name, sizeof name, "gram_%d", n);
      dtf_state_replicated(out, name, R, R, s->gram[n]);
    }
  }
  return DTF_OK;
}

static dtf_status op_restore(void *impl, const dtf_state_t *file, dtf_state_read_fn read, void *ctx) {
  dtf_cp_als_t *s = impl;
  double fit = 0;
  dtf_status st = dtf_solver_restore_scalars(file, "CP-ALS", s->opt.max_iters, &s->iteration, &s->converged,
                                             &fit, &s->delta);
  if (!st) st = dtf_solver_restore_fields(op_state, s, read, ctx);
  if (st) return st;
  s->fit = s->model.fit = fit;
  s->model.iterations = s->iteration;
  for (int r = 0; r < s->opt.rank; r++) s->lambda_s[r] = s->model.lambda[r] * s->scale;
  invalidate(s);
  return DTF_OK;
}

static const dtf_solver_ops_t cp_als_ops = {"cp-als",     op_iterate, op_finished,
                                            op_converged, op_state,   op_restore};

dtf_solver_t dtf_cp_als_solver(dtf_cp_als_t *s) { return (dtf_solver_t){&cp_als_ops, s}; }

void dtf_cp_als_free(dtf_cp_als_t *s) {
  if (!s) return;
  dtf_cp_model_free(&s->model);
  if (s->relabelled.lambda) dtf_cp_model_free(&s->relabelled);
  for (int n = 0; n < DTF_MAX_MODES; n++) free(s->gram[n]);
  free(s->mloc);
  free(s->mown);
  free(s->V);
  free(s->solve_work);
  free(s->packed);
  free(s->fit_history);
  free(s->lambda_s);
  free(s);
}
