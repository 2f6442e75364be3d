/* The rank and ridge of completion's ALS chosen on a validation split: a coordinate search
 * over (rank, reg) of fits on the training entries less the validation ones, each scored
 * by its validation RMSE (docs/algorithms.md, "Choosing the rank and the ridge"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/em_select.h"
#include "dtf/rng.h"
#include "timer.h"

/* A step of the ridge's walk must lower the validation RMSE by more than this fraction: a
 * flat curve is not followed to its end. */
#define WALK_TOL 1e-3
/* The ridge is searched in half-decades 10^(e/2), e in [E_MIN, E_MAX]. */
#define E_MIN (-12)
#define E_MAX 8

typedef struct {
  const dtf_grid_t *g;
  dtf_tensor_t *fit, *valid;
  const dtf_em_model_ops_t *model;
  const dtf_em_options_t *o;
  const dtf_select_options_t *so;
  int fixed; /* one rank: o's rank and bond ranks as given */
  /* the standard error of a validation RMSE relative to it, 1 / sqrt(2 n) for Gaussian
   * residuals on n entries: a simpler candidate within it of the best is as good */
  double tol;
  dtf_selection_t *out;
} search_t;

static double reg_of(int e) { return pow(10.0, 0.5 * e); }
static int half_decade(double reg) { return (int)lround(2 * log10(reg)); }

/* The fit of (rank, reg) made earlier, or NULL. */
static const dtf_select_fit_t *made(const search_t *s, int rank, double reg) {
  for (int k = 0; k < s->out->nfits; k++)
    if (s->out->fits[k].rank == rank && s->out->fits[k].reg == reg) return &s->out->fits[k];
  return NULL;
}

/* The validation RMSE of (rank, reg), fitting it unless it was (INFINITY once the budget of
 * fits is spent, or if the fit failed numerically: another pair may still fit). */
static dtf_status score(search_t *s, int rank, double reg, double *rmse) {
  const dtf_select_fit_t *old = made(s, rank, reg);
  *rmse = old ? old->rmse : INFINITY;
  if (old || s->out->nfits == DTF_SELECT_MAX_FITS) return DTF_OK;
  dtf_em_options_t o = *s->o;
  o.reg = reg;
  if (!s->fixed) {
    o.rank = rank;
    for (int n = 0; n < DTF_MAX_MODES; n++) o.bond_ranks[n] = 0;
  }
  double t0 = dtf_now();
  dtf_em_t *em = NULL;
  dtf_status st = dtf_em_init(s->g, s->fit, s->valid, s->model, &o, &em);
  if (!st) {
    dtf_solver_t solver = dtf_em_solver(em);
    st = dtf_solver_run(&solver, NULL, NULL);
  }
  dtf_select_fit_t f = {rank, 0, 0, reg, INFINITY, 0};
  if (em) {
    dtf_em_summary_t sum;
    dtf_em_summary(em, &sum);
    f.epochs = sum.epochs;
    f.converged = sum.converged;
    if (!st && isfinite(sum.test[0])) f.rmse = sum.test[0];
  }
  dtf_em_free(em);
  if (st && st != DTF_ERR_NUMERIC) return st;
  f.seconds = dtf_now() - t0;
  s->out->fits[s->out->nfits++] = f;
  if (s->so->report) s->so->report(&f, s->so->ctx);
  *rmse = f.rmse;
  return DTF_OK;
}

/* The best fit made at rank (reg < 0: any reg) or at reg (rank 0: any rank), the first of
 * equals; NULL if none. */
static const dtf_select_fit_t *best(const search_t *s, int rank, double reg) {
  const dtf_select_fit_t *b = NULL;
  for (int k = 0; k < s->out->nfits; k++) {
    const dtf_select_fit_t *f = &s->out->fits[k];
    if ((rank && f->rank != rank) || (reg >= 0 && f->reg != reg)) continue;
    if (!b || f->rmse < b->rmse || (f->rmse == b->rmse && (f->rank < b->rank || f->reg > b->reg))) b = f;
  }
  return b;
}

/* From half-decade e (fitted) at rank, step by `step` half-decades while the RMSE falls by
 * more than WALK_TOL. */
static dtf_status walk(search_t *s, int rank, int e, int step, int *e_best) {
  double now, next;
  dtf_status st = score(s, rank, reg_of(e), &now);
  for (*e_best = e; !st && e + step >= E_MIN && e + step <= E_MAX; e += step) {
    if ((st = score(s, rank, reg_of(e + step), &next)) || !(next < now * (1 - WALK_TOL))) break;
    now = next;
    *e_best = e + step;
  }
  return st;
}

/* The ridge at rank: every decade of the grid, then on past its end while the RMSE falls;
 * *e_simple: the largest ridge tried within s->tol of the best. */
static dtf_status reg_grid(search_t *s, int rank, int *e_simple) {
  int lo = half_decade(DTF_SELECT_REG_LO), hi = half_decade(DTF_SELECT_REG_HI), e_best = lo;
  double r, least = INFINITY;
  dtf_status st = DTF_OK;
  for (int e = lo; !st && e <= hi; e += 2)
    if (!(st = score(s, rank, reg_of(e), &r)) && r < least) least = r, e_best = e;
  if (!st && e_best == lo) st = walk(s, rank, lo, -2, &e_best);
  if (!st && e_best == hi) st = walk(s, rank, hi, 2, &e_best);
  const dtf_select_fit_t *b = made(s, rank, reg_of(e_best));
  least = b ? b->rmse : INFINITY;
  *e_simple = e_best;
  for (int k = 0; !st && k < s->out->nfits; k++) {
    const dtf_select_fit_t *f = &s->out->fits[k];
    if (f->rank == rank && f->rmse <= least * (1 + s->tol) && half_decade(f->reg) > *e_simple)
      *e_simple = half_decade(f->reg);
  }
  return st;
}

/* The ridge at rank refined from half-decade e: a half-decade either way, then on in the
 * better direction while the RMSE falls. */
static dtf_status reg_refine(search_t *s, int rank, int e, int *e_best) {
  double at, up = INFINITY, down = INFINITY;
  dtf_status st = score(s, rank, reg_of(e), &at);
  if (!st && e + 1 <= E_MAX) st = score(s, rank, reg_of(e + 1), &up);
  if (!st && e - 1 >= E_MIN) st = score(s, rank, reg_of(e - 1), &down);
  *e_best = e;
  double enough = at * (1 - WALK_TOL);
  if (st || !(up < enough || down < enough)) return st;
  return up < down ? walk(s, rank, e + 1, 1, e_best) : walk(s, rank, e - 1, -1, e_best);
}

/* The smallest rank at reg within s->tol of the best there. */
static int parsimonious(const search_t *s, double reg) {
  const dtf_select_fit_t *b = best(s, 0, reg);
  double least = b ? b->rmse : INFINITY;
  int R = b && !isfinite(least) ? b->rank : 0; /* every fit failed: the first */
  for (int k = 0; isfinite(least) && k < s->out->nfits; k++) {
    const dtf_select_fit_t *f = &s->out->fits[k];
    if (f->reg == reg && f->rmse <= least * (1 + s->tol) && (!R || f->rank < R)) R = f->rank;
  }
  return R;
}

/* The ranks at reg: those listed, or 1, 2, 4, ... up to cap until two in a row are no better
 * than the best, then the midpoints between the chosen rank (parsimonious) and its
 * neighbours until these are within an eighth of it (adjacent up to rank 15): a large rank
 * is found to about 12%, as the validation RMSE, flat there, tells them apart no better. */
static dtf_status rank_search(search_t *s, double reg, int cap) {
  double r;
  dtf_status st = DTF_OK;
  if (!s->so->rank_auto) {
    for (int k = 0; !st && k < s->so->nranks; k++) st = score(s, s->so->ranks[k], reg, &r);
    return st;
  }
  double least = INFINITY;
  for (int R = 1, worse = 0; !st && worse < 2; R = R == cap ? cap + 1 : (2 * R < cap ? 2 * R : cap)) {
    if (R > cap) break;
    if ((st = score(s, R, reg, &r))) break;
    if (r < least)
      least = r, worse = 0;
    else
      worse++;
  }
  for (int more = 1; !st && more && best(s, 0, reg);) {
    int b = parsimonious(s, reg), lo = 0, hi = 0;
    for (int k = 0; k < s->out->nfits; k++) {
      const dtf_select_fit_t *f = &s->out->fits[k];
      if (f->reg != reg) continue;
      if (f->rank < b && f->rank > lo) lo = f->rank;
      if (f->rank > b && (!hi || f->rank < hi)) hi = f->rank;
    }
    int close = b / 8 > 1 ? b / 8 : 1, before = s->out->nfits;
    if (lo && b - lo > close) st = score(s, (lo + b) / 2, reg, &r);
    if (!st && hi && hi - b > close) st = score(s, (b + hi) / 2, reg, &r);
    more = s->out->nfits > before; /* none once the budget of fits is spent */
  }
  return st;
}

/* The largest rank --rank auto tries: at most 256, no more than the largest rank of a CP
 * model of the shape (the product of the modes over the largest), no more parameters than
 * fitted entries, within --max-mem. Collective (the memory estimate). */
static int rank_cap(const search_t *s, int64_t n_fit) {
  const dtf_grid_t *g = s->g;
  int64_t sum = 0, most = 0;
  double bound = 1;
  for (int n = 0; n < g->nmodes; n++) {
    sum += g->dims[n];
    bound *= (double)g->dims[n];
    if (g->dims[n] > most) most = g->dims[n];
  }
  bound /= (double)most;
  int cap = bound < DTF_SELECT_MAX_RANK ? (int)bound : DTF_SELECT_MAX_RANK;
  dtf_em_options_t o = *s->o;
  for (int n = 0; n < DTF_MAX_MODES; n++) o.bond_ranks[n] = 0;
  for (; cap > 1; cap--) { /* the coefficients of a row (cp: R, tr: R^2) times the rows */
    int width = 1;
    o.rank = cap;
    s->model->memory(g, &o, &width);
    if ((double)width * (double)sum <= (double)n_fit) break;
  }
  int64_t nf = s->fit->ops->entries(s->fit), nv = s->valid->ops->entries(s->valid);
  for (o.rank = cap; cap > 1 && o.max_mem > 0 && dtf_em_memory(g, nf, nv, s->model, &o) > o.max_mem;)
    o.rank = cap = cap - (cap / 8 > 1 ? cap / 8 : 1);
  return cap;
}

dtf_status dtf_select(const dtf_grid_t *g, const dtf_tensor_t *train, const dtf_em_model_ops_t *model,
                      const dtf_em_options_t *o, const dtf_select_options_t *so, dtf_selection_t *out) {
  memset(out, 0, sizeof *out);
  if (o->algorithm != DTF_EM_ALS) return dtf_error(DTF_ERR_USAGE, "the selection is for ALS");
  if (!(so->validation > 0 && so->validation < 1))
    return dtf_error(DTF_ERR_USAGE, "the validation fraction must be in (0, 1), not %g", so->validation);
  if (!so->rank_auto && (so->nranks < 1 || so->nranks > DTF_SELECT_MAX_RANKS))
    return dtf_error(DTF_ERR_USAGE, "the selection needs 1 to %d ranks, not %d", DTF_SELECT_MAX_RANKS,
                     so->nranks);
  search_t s = {g, NULL, NULL, model, o, so, !so->rank_auto && so->nranks == 1, 0, out};
  dtf_status st = dtf_agree(g->comm, dtf_observed_split_stream(train, g->dims, so->validation, o->seed,
                                                               DTF_STREAM_VALIDATION, &s.fit, &s.valid));
  if (!st) st = dtf_observed_count(g, s.fit, &out->n_fit);
  if (!st) st = dtf_observed_count(g, s.valid, &out->n_valid);
  if (!st && (out->n_valid == 0 || out->n_fit == 0))
    st = dtf_error(DTF_ERR_INPUT,
                   "the validation split (the fraction %g of the %lld training entries) %s: the rank and the "
                   "ridge cannot be chosen on it",
                   so->validation, (long long)(out->n_fit + out->n_valid),
                   out->n_valid == 0 ? "has no entries" : "takes every entry, leaving none to fit");
  if (!st) s.tol = 1 / sqrt(2.0 * (double)out->n_valid);
  int cap = !st && so->rank_auto ? rank_cap(&s, out->n_fit) : 0;
  /* the rank the ridge is searched at first: the given one, the middle of a list, or 4 */
  int R0 = s.fixed ? o->rank : so->rank_auto ? (cap < 4 ? cap : 4) : so->ranks[so->nranks / 2];
  int e = 0;
  double reg = o->reg;
  if (!st && so->reg_auto && !(st = reg_grid(&s, R0, &e))) reg = reg_of(e);
  if (!st && !s.fixed) st = rank_search(&s, reg, cap);
  int R = st ? 0 : s.fixed ? o->rank : parsimonious(&s, reg);
  if (!st && so->reg_auto && !(st = reg_refine(&s, R, e, &e))) reg = reg_of(e);
  if (!st) {
    const dtf_select_fit_t *b = best(&s, R, reg);
    out->rank = R;
    out->reg = reg;
    out->rmse = b ? b->rmse : INFINITY;
    if (!isfinite(out->rmse)) {
      char last[512];
      snprintf(last, sizeof last, "%s", dtf_error_message());
      st = dtf_error(DTF_ERR_NUMERIC, "every fit of the selection failed numerically (the last: %s)", last);
    }
  }
  dtf_tensor_free(s.fit);
  dtf_tensor_free(s.valid);
  return st;
}
