/* GCP's check of the compressed gradient and its adaptive budget (docs/algorithms.md,
 * "Adaptive budgets"). A check step, at the first step of epoch 1 and every CHECK_EVERY
 * epochs after (the next epoch after a change of budget), also sums the exact gradient
 * and measures the cosine between the compressed sum and the exact sum of what the
 * compressor sends (the gradient; with error feedback, CORE, top-k and PowerSGD, the gradient
 * plus the residual) over every mode's owned rows. With no budget given (a bare --compress
 * core|topk|qsgd|powersgd) the budget climbs its ladder (compress.h) when the cosine is
 * below RAISE_BELOW, or when the loss stalls (it met --tol, or rose twice within
 * RISE_WINDOW epochs of one budget) while the last cosine was below STALL_BELOW, and steps
 * down after two checks in a row at or above LOWER_FROM. A fixed budget is kept, and a
 * cosine below NOISE_BELOW is reported. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcp_impl.h"

enum { CHECK_EVERY = 5, RISE_WINDOW = 5, PROBE_SHARE = 16, PROBE_PART = 5 };
static const double RAISE_BELOW = 0.5, STALL_BELOW = 0.9, LOWER_FROM = 0.9, NOISE_BELOW = 0.3;
/* --compress auto: a kind needs this fraction of the uncompressed fall in the probe */
static const double PROBE_PROGRESS = 0.4;

int gcp_check_due(const dtf_gcp_t *s) {
  return s->budget.kind != DTF_COMPRESS_NONE && s->grid->size > 1 && s->epoch >= s->check_at;
}

dtf_status gcp_exchange(dtf_gcp_t *s, uint64_t step, int check) {
  double q[3] = {0, 0, 0}; /* <compressed, exact>, |compressed|^2, |exact|^2 */
  for (int m = 0; m < s->N; m++) {
    const dtf_factor_t *f = &s->model.factors[m];
    int64_t n = f->block_len * s->R, own = (f->own_start - f->block_start) * s->R;
    dtf_status st;
    if (check) { /* the exact sum: not an exchange an uncompressed run would make */
      uint64_t plain = s->comm.bytes_uncompressed;
      memcpy(s->exact, s->grad[m], (size_t)n * sizeof(double));
      /* with error feedback the compressor sends the gradient plus its residual: the
       * check measures how well it sends that */
      int64_t len;
      const double *e = dtf_compressor_state(s->comp[m], &len);
      if (s->budget.kind != DTF_COMPRESS_QSGD)
        for (int64_t i = 0; i < n && i < len; i++) s->exact[i] += e[i];
      if ((st = dtf_allreduce_sum(s->grid->slice[m], s->exact, n, &s->comm))) return st;
      s->comm.bytes_uncompressed = plain;
    }
    if ((st = dtf_compressed_sum(s->comp[m], s->grad[m], s->sum[m], step, &s->comm))) return st;
    for (int64_t i = own; check && i < own + f->own_len * s->R; i++) {
      q[0] += s->sum[m][i] * s->exact[i];
      q[1] += s->sum[m][i] * s->sum[m][i];
      q[2] += s->exact[i] * s->exact[i];
    }
  }
  if (!check) return DTF_OK;
  dtf_status st = dtf_allreduce_sum(s->grid->comm, q, 3, &s->comm);
  s->cosine = q[1] > 0 && q[2] > 0 ? q[0] / sqrt(q[1] * q[2]) : 1.0;
  s->last_cos = s->cosine;
  s->check_at = s->epoch + CHECK_EVERY;
  return st;
}

/* the bytes one exchange of every mode sends under budget b (this rank's), and in *plain
 * the plain allreduces' */
static double exchange_bytes(const dtf_gcp_t *s, const dtf_compress_spec_t *b, double *plain) {
  double sent = 0, one;
  *plain = 0;
  for (int m = 0; m < s->N; m++) {
    sent += dtf_compress_bytes(b, s->grid->slice_size[m], s->model.factors[m].block_len, s->R, &one);
    *plain += one;
  }
  return sent;
}

/* mode m's copy of its compressor's state, resized to it */
static dtf_status fit_save(dtf_gcp_t *s, int m) {
  int64_t cl;
  dtf_compressor_state(s->comp[m], &cl);
  double *c = realloc(s->csave[m], (size_t)(cl ? cl : 1) * sizeof(double));
  if (!c) return dtf_error(DTF_ERR_INPUT, "out of memory for the compressors");
  s->csave[m] = c;
  return DTF_OK;
}

dtf_status gcp_set_budget(dtf_gcp_t *s, int level) {
  dtf_compress_spec_t b = s->budget;
  double plain;
  if (level > b.level && exchange_bytes(s, &b, &plain) >= plain) return DTF_OK; /* exact everywhere */
  if (dtf_compress_at_level(&b, level, s->R)) return DTF_OK;                    /* past the ladder's top */
  dtf_status st = DTF_OK;
  for (int m = 0; !st && m < s->N; m++)
    if (!(st = dtf_compressor_rebudget(s->comp[m], &b))) st = fit_save(s, m);
  if (!st) s->budget = b;
  return st;
}

double gcp_budget_value(const dtf_gcp_t *s) {
  const dtf_compress_spec_t *b = &s->budget;
  return b->kind == DTF_COMPRESS_NONE ? 0 : b->kind == DTF_COMPRESS_TOPK ? b->frac : b->m;
}

static void say(const dtf_gcp_t *s, const char *what) {
  if (!s->opt.log || s->grid->rank) return;
  char budget[48], msg[256];
  dtf_compress_format_budget(&s->budget, budget, sizeof budget);
  snprintf(msg, sizeof msg, "epoch %d: %s; budget %s", s->epoch, what, budget);
  s->opt.log(msg, s->opt.ctx);
}

dtf_status gcp_budget_epoch(dtf_gcp_t *s, int rose) {
  int checked = !isnan(s->cosine);
  char what[160] = "";
  if (checked && s->cosine < NOISE_BELOW)
    snprintf(what, sizeof what,
             "the compressed gradient has cosine %.2f with the exact one: it is mostly noise%s", s->cosine,
             s->budget.adaptive ? "" : " (a larger budget, or a bare --compress KIND, adapts it)");
  if (!s->budget.adaptive) {
    if (what[0]) say(s, what);
    return DTF_OK;
  }
  /* a stall: the loss met --tol, or rose twice within RISE_WINDOW epochs of one budget */
  int level = s->budget.level,
      stalled = s->converged || (rose && s->last_rise && s->epoch - s->last_rise <= RISE_WINDOW);
  if (rose) s->last_rise = s->epoch;
  if (checked && s->cosine >= LOWER_FROM)
    s->good_checks++;
  else if (checked)
    s->good_checks = 0;
  if ((checked && s->cosine < RAISE_BELOW) || (stalled && s->last_cos < STALL_BELOW))
    level++;
  else if (s->good_checks >= 2 && level > 0)
    level--;
  if (level == s->budget.level) {
    if (what[0]) say(s, what);
    return DTF_OK;
  }
  int was = s->budget.level;
  dtf_status st = gcp_set_budget(s, level);
  if (st || s->budget.level == was) return st; /* at the ladder's top */
  s->good_checks = 0;
  s->last_rise = 0;
  s->check_at = s->epoch + 1;        /* the new budget's cosine */
  if (level > was) s->converged = 0; /* a larger budget may lower the loss further */
  size_t used = strlen(what);
  snprintf(what + used, sizeof what - used, "%sthe budget %s", used ? "; " : "",
           level > was ? "rises" : "falls");
  say(s, what);
  return DTF_OK;
}

dtf_status gcp_pick(dtf_gcp_t *s, dtf_compress_kind_t kind, int level) {
  dtf_compress_spec_t b = {.kind = kind, .seed = s->opt.compress.seed, .adaptive = 1, .automatic = 1};
  if (dtf_compress_at_level(&b, level, s->R)) dtf_compress_at_level(&b, 0, s->R);
  dtf_status st = DTF_OK;
  for (int m = 0; !st && m < s->N; m++) {
    dtf_compressor_free(s->comp[m]);
    s->comp[m] = NULL;
    st = dtf_compressor_create(&b, s->grid->slice[m], s->model.factors[m].block_len, s->R, (uint64_t)m,
                               &s->comp[m]);
    if (!st) st = fit_save(s, m);
  }
  if (!st) s->budget = b;
  return st;
}

/* the first rung of kind's ladder that sends at least 1/PROBE_SHARE of the plain bytes
 * (the most over ranks), so that every kind is probed at a like cost */
static int probe_level(const dtf_gcp_t *s, dtf_compress_kind_t kind) {
  dtf_compress_spec_t b = {.kind = kind};
  int level = 0;
  for (; kind != DTF_COMPRESS_NONE && !dtf_compress_at_level(&b, level, s->R); level++) {
    double plain, q[2];
    q[0] = exchange_bytes(s, &b, &plain);
    q[1] = plain;
    dtf_allreduce(s->grid->comm, q, 2, MPI_DOUBLE, MPI_MAX, NULL);
    if (q[0] * PROBE_SHARE >= q[1]) break;
  }
  return dtf_compress_at_level(&b, level, s->R) ? level - 1 : level;
}

/* --compress auto: from the start, a fifth of an epoch's steps (at least 2) with none and
 * with each kind at the first rung of its ladder that sends at least 1/PROBE_SHARE of the
 * plain bytes (probe_level), the same samples (the same step keys); each kind's progress
 * is its fall of the loss relative to none's, its cost the bytes sent (the most over
 * ranks) per unit of progress; the cheapest of those with at least PROBE_PROGRESS of
 * none's is picked (none among them). The probe's bytes count in the run's. */
dtf_status gcp_auto_pick(dtf_gcp_t *s) {
  static const dtf_compress_kind_t kinds[] = {DTF_COMPRESS_NONE, DTF_COMPRESS_CORE, DTF_COMPRESS_TOPK,
                                              DTF_COMPRESS_QSGD, DTF_COMPRESS_POWERSGD};
  int64_t steps0 = s->steps_done;
  int probe = s->opt.steps / PROBE_PART > 2 ? s->opt.steps / PROBE_PART : 2;
  double l0 = s->prev_loss, fall[5], cost[5], bytes[5];
  int level[5];
  dtf_status st = DTF_OK;
  gcp_keep(s, 0, 0); /* the compressors are made afresh for each kind */
  for (int k = 0; !st && k < 5; k++) {
    gcp_keep(s, 1, 0);
    s->steps_done = steps0;
    level[k] = probe_level(s, kinds[k]);
    if ((st = gcp_pick(s, kinds[k], level[k]))) break;
    uint64_t b0 = s->comm.bytes_sent;
    for (int j = 0; !st && j < probe; j++) st = gcp_step(s, 0);
    if (st) break; /* MPI itself failed */
    double loss = NAN;
    st = dtf_agree(s->grid->comm, s->sticky);
    if (!st) st = gcp_loss_estimate(s, &loss);
    bytes[k] = (double)(s->comm.bytes_sent - b0);
    if (!st) st = dtf_allreduce(s->grid->comm, &bytes[k], 1, MPI_DOUBLE, MPI_MAX, NULL);
    fall[k] = isfinite(loss) ? l0 - loss : -INFINITY;
  }
  gcp_keep(s, 1, 0);
  s->steps_done = steps0;
  if (st) return st;
  int best = 0;
  char msg[512];
  int used = snprintf(msg, sizeof msg, "--compress auto: %d steps from the start with each kind:", probe);
  for (int k = 0; k < 5; k++) {
    double progress = fall[0] > 0 ? fall[k] / fall[0] : (k == 0);
    cost[k] = progress >= PROBE_PROGRESS ? bytes[k] / progress : INFINITY;
    if (cost[k] < cost[best]) best = k;
    char name[48];
    dtf_compress_spec_t b = {.kind = kinds[k]};
    dtf_compress_at_level(&b, level[k], s->R);
    dtf_compress_format_budget(&b, name, sizeof name);
    if (used < (int)sizeof msg)
      used += snprintf(msg + used, sizeof msg - (size_t)used, " %s %.3g of none's fall, %.3g MB%s", name,
                       progress, bytes[k] / 1e6, k < 4 ? ";" : "");
  }
  if (s->opt.log && s->grid->rank == 0) {
    char name[48];
    dtf_compress_spec_t b = {.kind = kinds[best], .adaptive = 1};
    dtf_compress_format(&b, name, sizeof name); /* the kind alone */
    if (used < (int)sizeof msg) snprintf(msg + used, sizeof msg - (size_t)used, "; picked %s", name);
    s->opt.log(msg, s->opt.ctx);
  }
  return gcp_pick(s, kinds[best], level[best]);
}
