/* Distributed GCP. Objective: the mean loss over the tensor's entries (every cell of a
 * dense or sparse tensor, the observed entries of a partly observed one). A step:
 *   1. the entries: every one (dense, observed-entry), or a sample drawn from the
 *      counter-based RNG keyed by (seed, step) and each entry's global index, so that the
 *      same entries are drawn whatever the grid: uniform over the cells (dense), each
 *      stored entry with probability S / n (observed), half the sample from the stored
 *      entries and half from the other cells (sparse: GenTen's stratified sampling, the
 *      unstored draws that hit a stored entry dropped);
 *   2. y = w f'(x, m) at those entries, w the estimator's weight;
 *   3. the gradient of factor n = the MTTKRP of y (the tensor kind's weighted MTTKRP for
 *      every entry, dtf_coo_mttkrp for a sample) over this rank's block rows;
 *   4. its sum over the mode's slice by the compressed collective (compress.h): every rank
 *      of the slice receives the same sum, so each updates all its block rows alike (the
 *      optimizer's state is kept for every block row of the rank) and no allgather of the
 *      rows is needed;
 *   5. the optimizer's update; a nonnegative loss's factors clipped at 0.
 * Epochs as GenTen's: a fixed number of steps, then the loss on a fixed sample; an epoch
 * whose loss rose is undone and the step size cut (docs/algorithms.md, "Step size"). A rank whose step fails
 * keeps taking part in every collective with a zero gradient; the status is agreed after the epoch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/fault.h"
#include "dtf/kernels.h"
#include "dtf/memory.h"
#include "dtf/observed.h"
#include "dtf/rng.h"
#include "gcp_impl.h"
#include "timer.h"

void dtf_gcp_options_default(dtf_gcp_options_t *o) {
  memset(o, 0, sizeof *o);
  o->rank = 1;
  o->loss = dtf_loss("gaussian");
  o->optim = dtf_optim("adam");
  o->step = o->optim->defaults;
  o->compress.kind = DTF_COMPRESS_NONE;
  o->loss_sample = 100000;
  o->steps = 100;
  o->max_epochs = 50;
  o->tol = 1e-4;
  o->decay = 0.1;
  o->max_fails = 10;
  o->init = DTF_GCP_INIT_AUTO;
}

double dtf_gcp_memory(const dtf_grid_t *g, const dtf_tensor_t *t, const dtf_gcp_options_t *o) {
  double R = o->rank, rows = 0, nloc = (double)t->ops->entries(t), cells = 1;
  for (int n = 0; n < g->nmodes; n++) {
    rows += (double)g->len[n];
    cells *= (double)g->len[n];
  }
  int how = gcp_sampling(t, o, cells);
  double S = (double)o->sample + (double)o->loss_sample, per = (g->nmodes + 3) * 8.0;
  /* factors (and the file's copy), optimizer state and its saved copy, gradients and sums,
   * compressor state (at most 3 per row for the residuals and PowerSGD), a check's exact
   * sum, samples */
  double bytes = rows * R * 8 * (2 + 2 * o->optim->buffers + 2 + 2 * 3 + 1) + S * per +
                 t->ops->workspace_bytes(t, o->rank);
  if (how == ALL) bytes += nloc * 16 + CHUNK * per;
  dtf_allreduce(g->comm, &bytes, 1, MPI_DOUBLE, MPI_MAX, NULL);
  return bytes;
}

dtf_status gcp_step(dtf_gcp_t *s, int check) {
  int N = s->N, R = s->R, B = s->opt.optim->buffers;
  uint64_t step = (uint64_t)s->steps_done + 1;
  double t0 = dtf_now();
  if (!s->sticky) s->sticky = dtf_fault_status("mttkrp", s->epoch, DTF_ERR_INPUT);
  if (!s->sticky) s->sticky = gcp_local_gradients(s, step);
  if (s->sticky) /* keep taking part, with nothing to add */
    for (int m = 0; m < N; m++)
      memset(s->grad[m], 0, (size_t)(s->model.factors[m].block_len * R) * sizeof(double));
  double t1 = dtf_now();
  s->t_grad += t1 - t0;
  dtf_status st = gcp_exchange(s, step, check);
  if (st) return st; /* MPI itself failed */
  double t2 = dtf_now();
  s->t_comm += t2 - t1;
  dtf_optim_params_t p = s->opt.step;
  p.lr = s->lr;
  double lower = s->opt.loss->lower;
  for (int m = 0; m < N; m++) {
    dtf_factor_t *f = &s->model.factors[m];
    for (int64_t i = 0; i < f->block_len; i++) {
      double *a = f->block + i * R;
      s->opt.optim->step(&p, (int64_t)step - s->moments_from, R, a, s->sum[m] + i * R,
                         s->ostate[m] + i * B * R);
      if (isfinite(lower))
        for (int r = 0; r < R; r++) a[r] = fmax(a[r], lower);
    }
    if (f->own_len > 0 && dtf_fault("nan", s->epoch)) dtf_factor_owned(f)[0] = NAN;
  }
  if (!s->sticky) s->sticky = dtf_fault_status("solve", s->epoch, DTF_ERR_NUMERIC);
  s->steps_done++;
  s->t_update += dtf_now() - t2;
  return DTF_OK;
}

void gcp_keep(dtf_gcp_t *s, int restore, int compressors) {
  int R = s->R, B = s->opt.optim->buffers;
  for (int m = 0; m < s->N; m++) {
    dtf_factor_t *f = &s->model.factors[m];
    size_t fb = (size_t)(f->block_len * R) * sizeof(double);
    int64_t cl;
    double *cs = dtf_compressor_state(s->comp[m], &cl);
    if (!compressors) cl = 0;
    if (restore) {
      memcpy(f->block, s->save[m], fb);
      memcpy(s->ostate[m], s->osave[m], fb * B);
      memcpy(cs, s->csave[m], (size_t)cl * sizeof(double));
    } else {
      memcpy(s->save[m], f->block, fb);
      memcpy(s->osave[m], s->ostate[m], fb * B);
      memcpy(s->csave[m], cs, (size_t)cl * sizeof(double));
    }
  }
}

static int defined_fit(const dtf_gcp_t *s) {
  return !strcmp(s->opt.loss->name, "gaussian") && !s->t->ops->zeros_are_data;
}

static dtf_status iterate(void *impl, dtf_progress_t *p) {
  dtf_gcp_t *s = impl;
  double t0 = dtf_now();
  uint64_t b0 = s->comm.bytes_sent, u0 = s->comm.bytes_uncompressed;
  int64_t steps0 = s->steps_done;
  dtf_status st = DTF_OK;
  if (s->epoch == 0 && (st = gcp_start(s))) return st; /* a resumed run has its factors */
  s->epoch++;
  if (isnan(s->prev_loss) && (st = gcp_loss_estimate(s, &s->prev_loss))) return st;
  if (!isfinite(s->prev_loss)) /* a loss that overflows converges to nothing */
    return dtf_error(DTF_ERR_NUMERIC, "the %s loss of the initial model is not finite (%g)",
                     s->opt.loss->name, s->prev_loss);
  if (s->epoch == 1 && s->opt.compress.automatic && (st = gcp_auto_pick(s))) return st;
  gcp_keep(s, 0, 1);
  s->cosine = NAN;
  int check = gcp_check_due(s);
  for (int k = 0; k < s->opt.steps && !st; k++) st = gcp_step(s, check && k == 0);
  if (st) return st;
  st = dtf_agree(s->grid->comm, s->sticky);
  if (!st) st = gcp_loss_estimate(s, &s->loss);
  if (st) return st;
  /* rose: by more than rounding, which may differ between grids */
  int rose = !isfinite(s->loss) || s->loss > s->prev_loss * (1 + (s->opt.lr_auto ? 1e-12 : 0));
  if (rose) {
    gcp_keep(s, 1, 1); /* undo the epoch, smaller steps */
    s->steps_done = steps0;
    s->fails++;
    if (s->opt.lr_auto) { /* and the moments start again (their direction went uphill) */
      s->lr_ceiling = 0.8 * s->lr;
      s->moments_from = s->steps_done;
      for (int m = 0; m < s->N; m++)
        memset(s->ostate[m], 0,
               (size_t)(s->model.factors[m].block_len * s->R * s->opt.optim->buffers) * sizeof(double));
    }
    s->lr *= s->opt.lr_auto ? 0.5 : s->opt.decay;
    s->delta = NAN;
    s->converged = s->fails > s->opt.max_fails;
    if (s->opt.log && s->grid->rank == 0) {
      char msg[160];
      snprintf(msg, sizeof msg, "epoch %d: the loss %s; undone, step size now %.3g (%d of %d)", s->epoch,
               isfinite(s->loss) ? "rose" : "became non-finite", s->lr, s->fails, s->opt.max_fails);
      s->opt.log(msg, s->opt.ctx);
    }
    s->loss = s->prev_loss;
  } else {
    s->delta = fabs(s->prev_loss - s->loss) / fmax(fabs(s->prev_loss), 1e-300);
    s->prev_loss = s->loss;
    s->converged = s->epoch > 1 && s->delta < s->opt.tol;
    if (s->opt.lr_auto) { /* the rises counted in a row; no convergence while still probing */
      s->fails = 0;
      s->converged &= isfinite(s->lr_ceiling);
      s->lr = isfinite(s->lr_ceiling) ? fmin(1.2 * s->lr, fmax(s->lr, s->lr_ceiling)) : 2 * s->lr;
    }
  }
  if ((st = gcp_budget_epoch(s, rose))) return st;
  s->fit = NAN;
  dtf_cp_model_t data_units = s->model; /* the fit of the model in the data's units */
  data_units.lambda = s->unscale;
  if (defined_fit(s) && (st = dtf_cp_fit(s->grid, s->t, &data_units, &s->fit))) return st;
  double dt = dtf_now() - t0;
  int e = s->epoch - 1;
  if (e < s->opt.max_epochs) {
    s->hist_loss[e] = s->loss;
    s->hist_fit[e] = s->fit;
    s->hist_bytes[e] = (double)s->comm.bytes_sent;
    s->hist_plain[e] = (double)s->comm.bytes_uncompressed;
    s->hist_budget[e] = gcp_budget_value(s);
    s->hist_cos[e] = s->cosine;
  }
  if (p) {
    memset(p, 0, sizeof *p);
    p->iteration = s->epoch;
    p->metric = "loss";
    p->value = s->loss;
    p->delta = s->delta;
    p->seconds = dt;
    p->bytes_sent = s->comm.bytes_sent - b0;
    p->bytes_uncompressed = s->comm.bytes_uncompressed - u0;
    if (!isnan(s->fit)) {
      p->extra_name[p->nextra] = "fit";
      p->extra[p->nextra++] = s->fit;
    }
    p->extra_name[p->nextra] = "step_size";
    p->extra[p->nextra++] = s->lr;
    if (!isnan(s->cosine)) {
      p->extra_name[p->nextra] = "cosine";
      p->extra[p->nextra++] = s->cosine;
    }
    if (s->budget.kind != DTF_COMPRESS_NONE) dtf_compress_format_budget(&s->budget, p->note, sizeof p->note);
  }
  return DTF_OK;
}

static int finished(const void *impl) {
  const dtf_gcp_t *s = impl;
  return s->converged || s->epoch >= s->opt.max_epochs;
}

static int converged(const void *impl) { return ((const dtf_gcp_t *)impl)->converged; }

/* the model file's copy: unit columns, the norms in lambda, in the original labels */
static dtf_status file_model(dtf_gcp_t *s) {
  const dtf_grid_t *g = s->grid;
  int N = s->N, R = s->R;
  dtf_status st = DTF_OK;
  if (!s->out.lambda) st = dtf_cp_model_init(g, R, &s->out);
  double *nrm = calloc((size_t)(N * R), sizeof(double));
  if (!st && !nrm) st = dtf_error(DTF_ERR_INPUT, "out of memory");
  for (int n = 0; !st && n < N; n++) {
    const dtf_factor_t *f = &s->model.factors[n];
    const double *A = dtf_factor_owned(f);
    for (int64_t i = 0; i < f->own_len; i++)
      for (int r = 0; r < R; r++) nrm[n * R + r] += A[i * R + r] * A[i * R + r];
  }
  if (!st) st = dtf_allreduce_sum(g->comm, nrm, (int64_t)N * R, NULL);
  for (int r = 0; !st && r < R; r++) {
    s->out.lambda[r] = 1 / s->scale;
    for (int n = 0; n < N; n++) s->out.lambda[r] *= sqrt(nrm[n * R + r]);
  }
  for (int n = 0; !st && n < N; n++) {
    dtf_factor_t tmp = s->model.factors[n];
    double *scaled = dtf_alloc_large((size_t)(tmp.block_len * R) * sizeof(double));
    if (!scaled) {
      st = dtf_error(DTF_ERR_INPUT, "out of memory");
      break;
    }
    for (int64_t i = 0; i < tmp.block_len; i++)
      for (int r = 0; r < R; r++) {
        double c = sqrt(nrm[n * R + r]);
        scaled[i * R + r] = c > 0 ? tmp.block[i * R + r] / c : 0.0;
      }
    tmp.block = scaled;
    if (s->opt.row_labels[n])
      st = dtf_factor_relabel(g, &tmp, s->opt.row_labels[n], &s->out.factors[n], NULL);
    else
      memcpy(s->out.factors[n].block, scaled, (size_t)(tmp.block_len * R) * sizeof(double));
    free(scaled);
  }
  free(nrm);
  s->out.fit = s->fit;
  s->out.iterations = s->epoch;
  return st;
}

dtf_status dtf_gcp_model(dtf_gcp_t *s, const dtf_cp_model_t **model) {
  dtf_status st = file_model(s);
  *model = &s->out;
  return st;
}

static const char *likelihood_of(const dtf_loss_t *L) {
  return !strcmp(L->name, "poisson") ? "poisson" : !strcmp(L->name, "bernoulli") ? "bernoulli" : "gaussian";
}

static dtf_status state(void *impl, int checkpoint, dtf_state_t *out) {
  dtf_gcp_t *s = impl;
  const dtf_grid_t *g = s->grid;
  char name[48];
  snprintf(name, sizeof name, "gcp-%s-%s", s->opt.loss->name, s->opt.optim->name);
  dtf_state_init(out, name, "cp", checkpoint, g->nmodes, g->dims);
  if (!checkpoint) {
    dtf_status st = file_model(s);
    if (st) return st;
    dtf_cp_model_describe(&s->out, out);
  } else {
    dtf_cp_model_t data_units = s->model; /* lambda 1 / scale: a CP model of the data, as is */
    data_units.lambda = s->unscale;
    data_units.fit = s->fit;
    data_units.iterations = s->epoch;
    dtf_cp_model_describe(&data_units, out);
  }
  dtf_state_undefined_ok(out, "fit");
  dtf_state_text_option(out, "loss", "--loss", s->opt.loss->name);
  if (strcmp(s->opt.loss->name, "poisson-identity"))
    dtf_state_text(out, "likelihood", likelihood_of(s->opt.loss));
  dtf_state_text_option(out, "optimizer", "--optimizer", s->opt.optim->name);
  dtf_state_text(out, "init", s->init_name);
  char comp[48];
  dtf_compress_format(&s->opt.compress, comp, sizeof comp);
  dtf_state_text_option(out, "compress", "--compress", comp);
  /* the step size the run started with, 0 when it finds itself (no --lr); "lr" below is
   * the one it has come to */
  dtf_state_real(out, "start_lr", DTF_ATTR_OPTION, "--lr", s->opt.lr_auto ? 0.0 : s->opt.step.lr);
  dtf_state_style(out, "start_lr", DTF_SHOW_UNSET);
  dtf_state_real(out, "loss_value", DTF_ATTR_STATE, NULL, s->loss);
  dtf_state_int(out, "seed", DTF_ATTR_OPTION, "--seed", (int64_t)s->opt.seed);
  dtf_state_int(out, "sample", DTF_ATTR_OPTION, "--sample", s->opt.sample);
  dtf_state_style(out, "sample", DTF_SHOW_UNSET);
  dtf_state_int(out, "steps", DTF_ATTR_OPTION, "--steps", s->opt.steps);
  dtf_state_int(out, "converged", DTF_ATTR_STATE, NULL, s->converged);
  dtf_state_int(out, "epochs", DTF_ATTR_STATE, NULL, s->epoch);
  if (!checkpoint) return DTF_OK;
  int R = s->R, B = s->opt.optim->buffers;
  for (int n = 0; n < g->nmodes; n++) {
    dtf_factor_t *f = &s->model.factors[n];
    snprintf(name, sizeof name, "optim_%d", n);
    dtf_state_rows(out, name, f->rows, (int64_t)B * R, f->block_start, f->block_len, f->own_start, f->own_len,
                   s->ostate[n]);
    int64_t cl;
    double *cs = dtf_compressor_state(s->comp[n], &cl);
    snprintf(name, sizeof name, "compress_%d", n);
    if (cl) dtf_state_per_rank(out, name, cl, cs);
  }
  dtf_state_real(out, "lr", DTF_ATTR_STATE, NULL, s->lr);
  dtf_state_real(out, "prev_loss", DTF_ATTR_STATE, NULL, s->prev_loss);
  dtf_state_real(out, "delta", DTF_ATTR_STATE, NULL, s->delta);
  dtf_state_undefined_ok(out, "delta");
  dtf_state_int(out, "fails", DTF_ATTR_STATE, NULL, s->fails);
  dtf_state_int(out, "steps_done", DTF_ATTR_STATE, NULL, s->steps_done);
  if (s->opt.lr_auto) {
    dtf_state_real(out, "lr_ceiling", DTF_ATTR_STATE, NULL, s->lr_ceiling);
    dtf_state_undefined_ok(out, "lr_ceiling"); /* infinite: no epoch rose yet */
    dtf_state_int(out, "moments_from", DTF_ATTR_STATE, NULL, s->moments_from);
  }
  if (s->opt.compress.automatic) /* the kind its probe picked (0: none) */
    dtf_state_int(out, "compress_kind", DTF_ATTR_STATE, NULL, (int64_t)s->budget.kind);
  if (s->budget.kind != DTF_COMPRESS_NONE) {
    dtf_state_int(out, "budget_level", DTF_ATTR_STATE, NULL, s->budget.level);
    dtf_state_int(out, "check_at", DTF_ATTR_STATE, NULL, s->check_at);
    dtf_state_int(out, "good_checks", DTF_ATTR_STATE, NULL, s->good_checks);
    dtf_state_int(out, "last_rise", DTF_ATTR_STATE, NULL, s->last_rise);
    dtf_state_real(out, "last_cosine", DTF_ATTR_STATE, NULL, s->last_cos);
    dtf_state_undefined_ok(out, "last_cosine"); /* no check yet */
    dtf_state_replicated(out, "history_budget", s->epoch, 0, s->hist_budget);
    dtf_state_replicated(out, "history_cosine", s->epoch, 0, s->hist_cos);
    dtf_state_undefined_ok(out, "history_cosine");
  }
  dtf_state_replicated(out, "history_loss", s->epoch, 0, s->hist_loss);
  dtf_state_replicated(out, "history_fit", s->epoch, 0, s->hist_fit);
  dtf_state_undefined_ok(out, "history_fit");
  dtf_state_replicated(out, "history_bytes", s->epoch, 0, s->hist_bytes);
  dtf_state_replicated(out, "history_plain", s->epoch, 0, s->hist_plain);
  return DTF_OK;
}

static dtf_status restore(void *impl, const dtf_state_t *file, dtf_state_read_fn read, void *ctx) {
  dtf_gcp_t *s = impl;
  int64_t e = 0, conv = 0, fails = 0, done = 0;
  double lr = 0, prev = 0, loss = 0, delta = 0, fit = NAN;
  if (dtf_state_get_int(file, "epochs", &e) || dtf_state_get_int(file, "converged", &conv) ||
      dtf_state_get_int(file, "fails", &fails) || dtf_state_get_int(file, "steps_done", &done) ||
      dtf_state_get_real(file, "lr", &lr) || dtf_state_get_real(file, "prev_loss", &prev) ||
      dtf_state_get_real(file, "loss_value", &loss) || dtf_state_get_real(file, "delta", &delta))
    return dtf_error(DTF_ERR_INPUT, "the checkpoint lacks the GCP state (epochs, steps_done, lr, loss, ...)");
  if (e < 1 || e > s->opt.max_epochs)
    return dtf_error(DTF_ERR_INPUT, "the checkpoint is at epoch %lld; this run allows %d (-i)", (long long)e,
                     s->opt.max_epochs);
  s->epoch = (int)e;
  int64_t level = 0, at = 0, good = 0, last_rise = 0, kind = 0;
  if (s->opt.compress.automatic) {
    if (dtf_state_get_int(file, "compress_kind", &kind) || kind < DTF_COMPRESS_NONE ||
        kind > DTF_COMPRESS_QSGD ||
        (kind != DTF_COMPRESS_NONE && dtf_state_get_int(file, "budget_level", &level)))
      return dtf_error(DTF_ERR_INPUT, "the checkpoint lacks the kind --compress auto picked (compress_kind)");
    dtf_status st = gcp_pick(s, (dtf_compress_kind_t)kind, (int)level);
    if (st) return st;
  }
  if (s->budget.kind != DTF_COMPRESS_NONE) { /* the residuals' lengths follow the budget */
    if (dtf_state_get_int(file, "budget_level", &level) || dtf_state_get_int(file, "check_at", &at) ||
        dtf_state_get_int(file, "good_checks", &good) || dtf_state_get_int(file, "last_rise", &last_rise) ||
        dtf_state_get_real(file, "last_cosine", &s->last_cos) || level < 0 || level > 64 ||
        (!s->budget.adaptive && level != s->budget.level))
      return dtf_error(DTF_ERR_INPUT,
                       "the checkpoint lacks the compressors' budget (budget_level, check_at, good_checks, "
                       "last_rise, last_cosine)");
    dtf_status st = s->budget.adaptive ? gcp_set_budget(s, (int)level) : DTF_OK;
    if (st) return st;
    s->check_at = (int)at;
    s->good_checks = (int)good;
    s->last_rise = (int)last_rise;
  }
  dtf_status st = dtf_solver_restore_fields(state, s, read, ctx);
  if (st) return st;
  /* the bytes go on from the checkpoint's, as its histories do */
  s->comm.bytes_sent = (uint64_t)s->hist_bytes[e - 1];
  s->comm.bytes_uncompressed = (uint64_t)s->hist_plain[e - 1];
  int64_t from = 0;
  if (s->opt.lr_auto && (dtf_state_get_real(file, "lr_ceiling", &s->lr_ceiling) ||
                         dtf_state_get_int(file, "moments_from", &from) || from < 0 || from > done))
    return dtf_error(DTF_ERR_INPUT, "the checkpoint lacks the step size's state (lr_ceiling, moments_from)");
  s->moments_from = from;
  s->converged = (int)conv;
  s->fails = (int)fails;
  s->steps_done = done;
  s->lr = lr;
  s->prev_loss = prev;
  s->loss = loss;
  s->delta = delta;
  dtf_state_get_real(file, "fit", &fit); /* the model file's */
  s->fit = fit;
  return DTF_OK;
}

static const dtf_solver_ops_t gcp_ops = {"gcp", iterate, finished, converged, state, restore};

dtf_solver_t dtf_gcp_solver(dtf_gcp_t *s) { return (dtf_solver_t){&gcp_ops, s}; }

dtf_status dtf_gcp_init(const dtf_grid_t *g, dtf_tensor_t *t, const dtf_gcp_options_t *o, dtf_gcp_t **out) {
  *out = NULL;
  int N = g->nmodes;
  if (o->rank < 1) return dtf_error(DTF_ERR_USAGE, "the rank must be at least 1, not %d", o->rank);
  if (o->max_epochs < 1 || o->steps < 1)
    return dtf_error(DTF_ERR_USAGE, "epochs and steps must be at least 1");
  if (!(o->step.lr > 0)) return dtf_error(DTF_ERR_USAGE, "the step size must be > 0, not %g", o->step.lr);
  dtf_gcp_options_t opt = *o; /* an automatic start resolved */
  opt.init = gcp_init_choice(t, o);
  const char *why = gcp_init_refusal(t, &opt);
  if (why) return dtf_error(DTF_ERR_USAGE, "--init %s", why);
  o = &opt;
  double cells = 1, cells_local = 1;
  for (int n = 0; n < N; n++) {
    cells *= (double)g->dims[n];
    cells_local *= (double)g->len[n];
  }
  int how = gcp_sampling(t, o, cells_local);
  int64_t counts[1] = {t->ops->entries(t)};
  dtf_status st = dtf_allreduce(g->comm, counts, 1, MPI_INT64_T, MPI_SUM, NULL);
  if (st) return st;
  /* one sampling for all ranks: a block of a sparse tensor may happen to be full */
  int hows[2] = {how == STRATIFIED, 0};
  if ((st = dtf_allreduce(g->comm, hows, 1, MPI_INT, MPI_MAX, NULL))) return st;
  if (hows[0] && !t->ops->zeros_are_data) how = STRATIFIED;
  double stored = (double)counts[0], entries = t->ops->zeros_are_data ? stored : cells;
  if (how == STRATIFIED && o->sample == 0)
    return dtf_error(DTF_ERR_USAGE,
                     "a sparse tensor's gradient is sampled: give --sample N (every one of its %.3g "
                     "cells would be read at every step)",
                     cells);
  if (o->sample < 0 || (double)o->sample > entries)
    return dtf_error(DTF_ERR_INPUT, "--sample %lld is larger than the tensor's %.17g entries",
                     (long long)o->sample, entries);
  if (how == STRATIFIED && o->sample < 2)
    return dtf_error(DTF_ERR_INPUT,
                     "--sample must be at least 2 for a sparse tensor (stored and unstored entries)");
  /* every stored entry must be a value of the loss */
  char rule[64];
  snprintf(rule, sizeof rule, "the %s loss", o->loss->name);
  if ((st = dtf_tensor_check_values(g, t, o->loss->invalid, "entry", rule))) return st;
  if (o->max_mem > 0) {
    double need = dtf_gcp_memory(g, t, o);
    if (need > o->max_mem)
      return dtf_error(
          DTF_ERR_INPUT,
          "rank %d needs an estimated %.3g GB per rank (factors, optimizer state, samples), more than "
          "the limit of %.3g GB (--max-mem); use a lower rank or more ranks",
          o->rank, need / 1e9, o->max_mem / 1e9);
  }
  dtf_gcp_t *s = calloc(1, sizeof *s);
  if (!s) return dtf_error(DTF_ERR_INPUT, "out of memory");
  s->grid = g;
  s->t = t;
  s->opt = *o;
  if (o->init == DTF_GCP_INIT_ALS)
    snprintf(s->init_name, sizeof s->init_name, "als:%d", o->init_sweeps);
  else
    snprintf(s->init_name, sizeof s->init_name, "%s", o->init == DTF_GCP_INIT_SVD ? "svd" : "random");
  s->N = N;
  s->R = o->rank;
  s->how = how;
  s->cells = cells;
  s->stored = stored;
  s->entries = entries;
  s->lr = o->step.lr;
  s->lr_ceiling = INFINITY;
  s->budget = o->compress;
  s->check_at = 1;
  s->cosine = s->last_cos = NAN;
  s->prev_loss = s->loss = s->fit = s->delta = NAN;
  s->scale = 1.0;
  int R = o->rank, B = o->optim->buffers;
  st = dtf_cp_model_init(g, R, &s->model);
  for (int n = 0; !st && n < N; n++) {
    int64_t L = s->model.factors[n].block_len, sz = (L ? L : 1) * R;
    s->ostate[n] = calloc((size_t)(sz * B), sizeof(double));
    s->osave[n] = malloc((size_t)(sz * B) * sizeof(double));
    s->grad[n] = dtf_alloc_large((size_t)sz * sizeof(double));
    s->sum[n] = dtf_alloc_large((size_t)sz * sizeof(double));
    s->save[n] = malloc((size_t)sz * sizeof(double));
    if (!s->ostate[n] || !s->osave[n] || !s->grad[n] || !s->sum[n] || !s->save[n])
      st = dtf_error(DTF_ERR_INPUT, "out of memory for the GCP state");
    if (!st) st = dtf_compressor_create(&o->compress, g->slice[n], L, R, (uint64_t)n, &s->comp[n]);
    int64_t cl = 0;
    if (!st) dtf_compressor_state(s->comp[n], &cl);
    if (!st && !(s->csave[n] = malloc((size_t)(cl ? cl : 1) * sizeof(double))))
      st = dtf_error(DTF_ERR_INPUT, "out of memory");
  }
  int E = o->max_epochs;
  s->hist_loss = calloc((size_t)E, sizeof(double));
  s->hist_fit = calloc((size_t)E, sizeof(double));
  s->hist_bytes = calloc((size_t)E, sizeof(double));
  s->hist_plain = calloc((size_t)E, sizeof(double));
  s->hist_budget = calloc((size_t)E, sizeof(double));
  s->hist_cos = calloc((size_t)E, sizeof(double));
  int64_t most = 1;
  for (int n = 0; !st && n < N; n++)
    if (s->model.factors[n].block_len * R > most) most = s->model.factors[n].block_len * R;
  int compressed = o->compress.kind != DTF_COMPRESS_NONE || o->compress.automatic;
  s->exact = compressed ? dtf_alloc_large((size_t)most * sizeof(double)) : NULL;
  s->ibuf = malloc((size_t)CHUNK * N * sizeof(int64_t));
  s->xbuf = malloc(CHUNK * sizeof(double));
  s->found = malloc(CHUNK);
  s->unscale = malloc((size_t)R * sizeof(double));
  if (!st && (!s->hist_loss || !s->hist_fit || !s->hist_bytes || !s->hist_plain || !s->hist_budget ||
              !s->hist_cos || (compressed && !s->exact) || !s->ibuf || !s->xbuf || !s->found || !s->unscale))
    st = dtf_error(DTF_ERR_INPUT, "out of memory");
  if (!st && how == ALL) {
    int64_t n = t->ops->entries(t);
    s->wall = dtf_alloc_large((size_t)(n ? n : 1) * sizeof(double));
    s->mall = dtf_alloc_large((size_t)(n > CHUNK ? n : CHUNK) * sizeof(double));
    if (!s->wall || !s->mall) st = dtf_error(DTF_ERR_INPUT, "out of memory for the gradient weights");
  }
  st = dtf_agree(g->comm, st);
  /* the gaussian loss is fitted to the data over their RMS (the other losses' data are
   * counts or 0/1), so the steps are the same in any units (data of 1e-170 or 1e155) */
  double q[2] = {0, 0}; /* ||X||, the sum of the entries */
  for (int64_t e0 = 0; !st && e0 < t->ops->entries(t); e0 += CHUNK) {
    int64_t c = t->ops->entries(t) - e0 < CHUNK ? t->ops->entries(t) - e0 : CHUNK;
    t->ops->entries_get(t, e0, c, s->ibuf, s->xbuf);
    for (int64_t k = 0; k < c; k++) q[1] += s->xbuf[k];
  }
  if (!st) st = dtf_tensor_norm(g, t, &q[0]);
  if (!st) st = dtf_allreduce_sum(g->comm, q + 1, 1, NULL);
  double rms = q[0] / sqrt(entries), mean = q[1] / entries;
  if (!strcmp(o->loss->name, "gaussian") && rms > 0 && isfinite(1 / rms)) s->scale = 1 / rms;
  for (int r = 0; !st && r < R; r++) s->unscale[r] = 1 / s->scale;
  /* the loss's fixed sample (its own key: no step draws it) */
  if (!st && how != ALL) {
    int64_t S = o->loss_sample > 0 ? o->loss_sample : (int64_t)fmin(entries, 1e6);
    if ((double)S > entries) S = (int64_t)entries;
    if (how == STRATIFIED && S < 2) S = 2;
    st = dtf_agree(g->comm, gcp_draw(s, &s->lsmp, S, UINT64_MAX));
  }
  if (st) {
    dtf_gcp_free(s);
    return st;
  }
  s->start_scale = o->loss->scale(rms * s->scale, mean);
  if (!(s->start_scale > 0) || !isfinite(s->start_scale)) s->start_scale = 1.0;
  *out = s;
  return DTF_OK;
}

void dtf_gcp_summary(const dtf_gcp_t *s, dtf_gcp_summary_t *o) {
  memset(o, 0, sizeof *o);
  o->epochs = s->epoch;
  o->steps = (int)s->steps_done;
  o->fails = s->fails;
  o->converged = s->converged;
  o->loss = s->loss;
  o->fit = s->fit;
  o->lr = s->lr;
  o->init = s->init_name;
  o->loss_history = s->hist_loss;
  o->fit_history = s->hist_fit;
  o->bytes_history = s->hist_bytes;
  o->plain_history = s->hist_plain;
  o->budget_history = s->hist_budget;
  o->cosine_history = s->hist_cos;
  dtf_compress_format_budget(&s->budget, o->budget, sizeof o->budget);
  o->t_gradient = s->t_grad;
  o->t_comm = s->t_comm;
  o->t_update = s->t_update;
}

void dtf_gcp_free(dtf_gcp_t *s) {
  if (!s) return;
  dtf_cp_model_free(&s->model);
  if (s->out.lambda) dtf_cp_model_free(&s->out);
  for (int n = 0; n < DTF_MAX_MODES; n++) {
    free(s->ostate[n]);
    free(s->osave[n]);
    free(s->grad[n]);
    free(s->sum[n]);
    free(s->save[n]);
    free(s->csave[n]);
    dtf_compressor_free(s->comp[n]);
  }
  gcp_free_sample(&s->smp);
  gcp_free_sample(&s->lsmp);
  free(s->wall);
  free(s->mall);
  free(s->ibuf);
  free(s->xbuf);
  free(s->found);
  free(s->unscale);
  free(s->hist_loss);
  free(s->hist_fit);
  free(s->hist_bytes);
  free(s->hist_plain);
  free(s->hist_budget);
  free(s->hist_cos);
  free(s->exact);
  free(s);
}
