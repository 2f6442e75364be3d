/* The sweep of the EM driver (src/em.c) over a completion model's blocks.
 *
 * Per block b (CP: the factor of mode b) and mini-batch: the E-step runs over the batch's
 * observations in their mode-b row order: predictors x from the model where the
 * likelihood needs them, weight w and target c from the likelihood, and the model adds
 * each row's statistics S_i += w E[h h^T] (packed), b_i += c E[h] over its design rows h
 * (CP: MTTKRPs that share products along fibres). The touched rows are agreed in the mode's slice,
 * only they are reduce-scattered to their owners, who average them into the running
 * statistics (online: S <- (1 - rho) S + rho (n / n_batch) S_batch, rho = (k + t0)^-kappa
 * for the row's k-th update) and solve (prec S + diag(prior)) a = prec b. The rows are
 * gathered in the slice, the prior is updated in closed form after every batch, and
 * after every epoch the model orders, fuses and prunes its components.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/fault.h"
#include "dtf/kernels.h"
#include "dtf/rng.h"
#include "em_impl.h"
#include "timer.h"

/* The E-step of block b over the entries of batch `bid` (-1: all): local statistics of
 * every block row into s->loc, touched rows marked; *sse (block 0: gaussian, poisson) the
 * batch's deviance (gaussian: the squared residuals). */
static dtf_status estep(dtf_em_t *s, int b, int bid, double *sse) {
  const dtf_observed_view_t *v = s->v;
  dtf_factor_t *f = s->mops->block(s->model, b);
  int N = v->nmodes;
  int64_t W = em_width(f->R);
  memset(s->loc, 0, (size_t)(f->block_len * W) * sizeof(double));
  memset(s->touched, 0, (size_t)f->block_len);
  const int64_t *pos = bid < 0 ? NULL : s->bpos[b] + s->bstart[b][bid];
  int64_t count = bid < 0 ? v->nnz : s->bstart[b][bid + 1] - s->bstart[b][bid];
  const double *y = v->row_vals[b];
  int need_x = sse || s->lik->weights;
  if (!need_x && !pos &&
      !s->bias) { /* w = 1, c = y: every observation at once, the right-hand sides then scaled */
    dtf_status st = s->mops->stats(s->model, b, v, count, NULL, NULL, y, s->loc, W, s->touched);
    int64_t T = dtf_packed_size(f->R);
    for (int64_t i = 0; s->scale != 1 && i < f->block_len; i++)
      for (int r = 0; r < f->R; r++) s->loc[i * W + T + r] *= s->scale;
    return st;
  }
  double e2 = 0;
  dtf_status st = DTF_OK;
  for (int64_t k0 = 0; !st && k0 < count; k0 += CHUNK) {
    int64_t m = count - k0 < CHUNK ? count - k0 : CHUNK;
    for (int64_t k = 0; k < m; k++) {
      s->ids[k] = pos ? pos[k0 + k] : k0 + k;
      s->y[k] = s->c[k] = y[s->ids[k]] * s->scale;
    }
    for (int64_t k = 0; (need_x || s->bias) && k < m; k++)
      memcpy(s->pinds + k * N, v->row_inds[b] + s->ids[k] * N, N * sizeof(int64_t));
    if (s->bias) em_bias_at(s, m, s->pinds, s->o);
    if (need_x) {
      s->mops->predict(s->model, m, s->pinds, s->x);
      for (int64_t k = 0; s->bias && k < m; k++) s->x[k] += s->o[k];
      for (int64_t k = 0; sse && k < m; k++) e2 += s->lik->deviance(s->y[k], s->x[k]);
    }
    const double *w = NULL;
    if (s->lik->weights) {
      s->lik->weights(m, s->y, s->x, s->w, s->c);
      w = s->w;
    }
    /* the model's part of the working response: less the offsets */
    for (int64_t k = 0; s->bias && k < m; k++) s->c[k] -= (w ? w[k] : 1.0) * s->o[k];
    st = s->mops->stats(s->model, b, v, m, s->ids, w, s->c, s->loc, W, s->touched);
  }
  if (sse) *sse = e2;
  return st;
}

/* This epoch's mini-batches: a fresh random partition keyed by each entry's index, and
 * each mode's row-order positions grouped by batch (a stable counting sort). */
void em_draw_batches(dtf_em_t *s) {
  const dtf_observed_view_t *v = s->v;
  int B = s->opt.batches;
  memset(s->batch_sizes, 0, (size_t)B * sizeof(int64_t));
  for (int64_t e = 0; e < v->nnz; e++) {
    uint32_t k =
        (uint32_t)(dtf_rng_uniform(s->opt.seed, DTF_STREAM_BATCH, s->keys[e], (uint64_t)s->epoch) * B);
    s->batch[e] = k < (uint32_t)B ? k : (uint32_t)B - 1;
    s->batch_sizes[s->batch[e]]++;
  }
  for (int n = 0; n < v->nmodes; n++) {
    int64_t *start = s->bstart[n];
    start[0] = 0;
    for (int k = 0; k < B; k++) start[k + 1] = start[k] + s->batch_sizes[k];
    for (int64_t p = 0; p < v->nnz; p++) s->bpos[n][start[s->batch[v->by_row[n][p]]]++] = p;
    for (int k = B; k > 0; k--) start[k] = start[k - 1];
    start[0] = 0;
  }
}

/* Let the model rescale its rows after block b changed; the running statistics follow. */
static dtf_status rescaled(dtf_em_t *s, int b) {
  double *k[DTF_MAX_MODES];
  for (int q = 0; q < s->nblocks; q++) k[q] = s->rescale + (int64_t)q * s->rescale_cap;
  int changed = 0;
  dtf_status st = s->mops->updated(s->model, b, k, &changed, &s->comm);
  for (int q = 0; !st && changed && s->stats[0] && q < s->nblocks; q++) {
    dtf_factor_t *f = s->mops->block(s->model, q);
    int D = f->R;
    int64_t T = dtf_packed_size(D), W = em_width(D);
    for (int64_t i = 0; i < f->own_len; i++) {
      double *S = s->stats[q] + i * W;
      for (int r = 0, j = 0; r < D; r++) {
        for (int u = r; u < D; u++, j++) S[j] *= k[q][r] * k[q][u];
        S[T + r] *= k[q][r];
      }
    }
  }
  return st;
}

void dtf_mgp_tau(double *delta, double *tau, int R) {
  double t = 1.0;
  for (int r = 0; r < R; r++) {
    if (t * delta[r] > DTF_MGP_TAU_MAX) delta[r] = DTF_MGP_TAU_MAX / t;
    if (t * delta[r] < DTF_MGP_TAU_MIN) delta[r] = DTF_MGP_TAU_MIN / t;
    tau[r] = (t *= delta[r]);
  }
}

void dtf_mgp_delta(const double *tau, double *delta, int R) {
  for (int r = 0; r < R; r++) delta[r] = r ? tau[r] / tau[r - 1] : tau[0];
}

/* Part p of the sweep: block p of the model (p < nblocks), or the offsets of mode
 * p - nblocks: its rows, their covariances (NULL: none kept, or point estimates), the
 * prior precisions of a row's D coefficients. */
static dtf_factor_t *part_rows(dtf_em_t *s, int p) {
  return p < s->nblocks ? s->mops->block(s->model, p) : &s->off.rows[p - s->nblocks];
}

static dtf_factor_t *part_cov(dtf_em_t *s, int p) {
  if (em_point(s)) return NULL;
  if (p >= s->nblocks) return &s->offvar[p - s->nblocks];
  return s->mops->covariance ? s->mops->covariance(s->model, p) : NULL;
}

/* The warm-up's ridge: ALS's --reg, or for EM the precision the prior starts from (1) */
#define WARMUP_RIDGE 1.0

static void part_prior(dtf_em_t *s, int p, int D, double *diag) {
  if (em_point(s))
    for (int r = 0; r < D; r++) diag[r] = s->opt.algorithm == DTF_EM_ALS ? s->opt.reg : WARMUP_RIDGE;
  else if (p >= s->nblocks)
    diag[0] = s->lam[p - s->nblocks];
  else
    s->mops->prior(s->model, p, diag);
}

/* Reduce the touched rows' statistics of part p to their owners, average (online) and
 * solve. */
static dtf_status mstep(dtf_em_t *s, int p, double scale, dtf_status *local) {
  const dtf_grid_t *g = s->grid;
  dtf_factor_t *f = part_rows(s, p);
  int mode = p < s->nblocks ? p : p - s->nblocks;
  int D = f->R, P = g->slice_size[mode], online = em_online(s);
  int64_t T = dtf_packed_size(D), W = em_width(D);
  double t0 = dtf_now();
  dtf_status st =
      dtf_allreduce(f->slice, s->touched, (int)f->block_len, MPI_UNSIGNED_CHAR, MPI_MAX, &s->comm);
  if (st) return st;
  /* pack the touched rows to the front, in block order, and count them per owner */
  int64_t k = 0;
  for (int q = 0; q < P; q++) {
    int64_t r0 = f->displs[q] / f->R, nr = f->counts[q] / f->R, kq = 0;
    for (int64_t i = r0; i < r0 + nr; i++)
      if (s->touched[i]) {
        if (k != i) memmove(s->loc + k * W, s->loc + i * W, (size_t)W * sizeof(double));
        k++;
        kq++;
      }
    /* too large: the same on every rank of the slice (the touched rows are), which then
     * sends nothing and agrees on the failure with the others below */
    if (kq * W > INT32_MAX && !*local)
      *local = dtf_error(DTF_ERR_INPUT, "a reduction of %lld doubles is too large", (long long)(kq * W));
    s->counts[q] = kq * W > INT32_MAX ? 0 : (int)(kq * W);
  }
  st = dtf_reduce_scatter_sum(f->slice, s->loc, s->recv, s->counts, &s->comm);
  if (st) return st;
  double t1 = dtf_now();
  s->t_comm += t1 - t0;
  int dispersed = em_dispersed(s);
  double prec = dispersed ? s->beta : 1.0, gamma = 0;
  part_prior(s, p, D, s->diag);
  double *A = dtf_factor_owned(f), *a = s->work + dtf_packed_solve_work(D);
  dtf_factor_t *cov = part_cov(s, p);
  int64_t off = f->own_start - f->block_start, j = 0;
  for (int64_t i = 0; i < f->own_len; i++) {
    if (!s->touched[off + i]) continue;
    double *S = s->recv + (j++) * W;
    if (online) {
      double *avg = s->stats[p] + i * W, rho = pow(s->updates[p][i] + s->opt.t0, -s->opt.kappa);
      for (int64_t q = 0; q < W; q++) avg[q] = (1 - rho) * avg[q] + rho * scale * S[q];
      s->updates[p][i] += 1;
      S = avg;
    }
    if (*local) continue;
    int pinv = 0;
    dtf_status r = dtf_packed_solve(D, S, prec, s->diag, S + T, prec, a, s->work, &pinv);
    if (r) {
      *local = r;
      continue;
    }
    memcpy(A + i * D, a, (size_t)D * sizeof(double));
    if (cov || dispersed) { /* the row's posterior covariance: the inverse of its system */
      double *I = s->inv;
      memset(I, 0, (size_t)D * D * sizeof(double));
      for (int q = 0; q < D; q++) I[q * D + q] = 1.0;
      if ((r = dtf_spd_solve(D, s->work, D, I, s->work + (int64_t)D * D, &pinv))) {
        *local = r;
        continue;
      }
      gamma += D;
      for (int q = 0; q < D; q++) gamma -= s->diag[q] * I[q * D + q];
      double *P = cov ? dtf_factor_owned(cov) + i * T : NULL;
      for (int q = 0, k = 0; P && q < D; q++)
        for (int u = q; u < D; u++) P[k++] = I[q * D + u];
    }

    if (pinv && !s->warned_pinv && s->opt.log) {
      s->warned_pinv = 1;
      s->opt.log("warning: a row's normal equations are not positive definite; solved with the "
                 "pseudo-inverse (not reported again)",
                 s->opt.ctx);
    }
  }
  if (!*local) *local = dtf_fault_status("solve", s->epoch, DTF_ERR_NUMERIC);
  if (!*local && f->own_len > 0 && dtf_fault("nan", s->epoch)) A[0] = NAN;
  for (int64_t i = 0; !*local && i < f->own_len * D; i++)
    if (!isfinite(A[i]))
      *local =
          dtf_error(DTF_ERR_NUMERIC, "%s %lld of %s %d became non-finite at epoch %d (1-based)",
                    p < s->nblocks ? "row" : "the offset of index", (long long)(f->own_start + i / D + 1),
                    p < s->nblocks ? "block" : "mode", mode + 1, s->epoch);
  double t2 = dtf_now();
  s->t_solve += t2 - t1;
  /* agree before the rows travel: a failed rank's rows must not reach the others */
  st = dtf_agree(g->comm, *local);
  if (st) return st;
  st = dtf_factor_allgather(f, &s->comm);
  if (!st && cov) st = dtf_factor_allgather(cov, &s->comm);
  if (!st && dispersed) { /* every row has one owner on the grid */
    st = dtf_allreduce_sum(g->comm, &gamma, 1, &s->comm);
    s->gamma[p] = gamma;
  }
  s->t_comm += dtf_now() - t2;
  if (!st && p < s->nblocks) st = rescaled(s, p);
  return st;
}

dtf_status em_sweep(dtf_em_t *s, int bid, double scale) {
  dtf_status local = DTF_OK, st;
  int point = em_point(s);
  for (int b = 0; b < s->nblocks; b++) {
    double t0 = dtf_now(), sse = 0;
    int want_sse = b == 0 && em_dispersed(s);
    if (s->bias) { /* mode b's offsets first, their mean then moved into mu */
      if (!local) local = em_bias_estep(s, b, bid);
      if (local) {
        memset(s->loc, 0, (size_t)(s->off.rows[b].block_len * 2) * sizeof(double));
        memset(s->touched, 0, (size_t)s->off.rows[b].block_len);
      }
      s->t_estep += dtf_now() - t0;
      if ((st = mstep(s, s->nblocks + b, scale, &local)) || (st = em_bias_center(s, b))) return st;
      t0 = dtf_now();
    }
    if (!local) local = dtf_fault_status("mttkrp", s->epoch, DTF_ERR_INPUT);
    if (!local) local = estep(s, b, bid, want_sse ? &sse : NULL);
    if (local) {
      dtf_factor_t *f = s->mops->block(s->model, b);
      memset(s->loc, 0, (size_t)(f->block_len * em_width(f->R)) * sizeof(double));
      memset(s->touched, 0, (size_t)f->block_len);
    }
    s->t_estep += dtf_now() - t0;
    if (want_sse) {
      /* the expected deviance under the rows' posterior: the deviance at their means plus
       * gamma / beta, gamma the well-determined coefficients of every part (MacKay); then
       * gaussian: the noise precision's MAP; poisson: the precision 1 / phi, phi the mean
       * expected deviance (at least 1: never above Poisson's own) */
      if ((st = dtf_allreduce_sum(s->grid->comm, &sse, 1, &s->comm))) return st;
      double gamma = 0;
      for (int q = 0; q < em_nparts(s); q++) gamma += s->gamma[q];
      gamma = fmin(gamma, 0.5 * (double)s->n_train);
      /* this batch's estimate (the model moves too fast for an average to help) */
      s->sse_avg = scale * sse + gamma / s->beta;
      double shape = s->opt.a0 - 1 + 0.5 * (double)s->n_train;
      s->beta = s->lik->noise_precision ? fmax(shape, 1.0) / (s->opt.b0 + 0.5 * s->sse_avg)
                                        : 1.0 / fmax(1.0, s->sse_avg / (double)s->n_train);
    }
    if ((st = mstep(s, b, scale, &local))) return st;
  }
  if (!point && (st = s->mops->update_prior(s->model, &s->comm))) return st;
  if (!point && s->bias && (st = em_bias_update_prior(s))) return st;
  s->steps++;
  return DTF_OK;
}

/* the online statistics of every block follow the model's reshaped coefficients: kept,
 * reordered and rescaled, or (dense) S <- T S T^T, b <- T b */
static dtf_status compact_stats(dtf_em_t *s, int **keep, double **scale, double **T, int dense) {
  for (int b = 0; b < s->nblocks; b++) {
    dtf_factor_t *f = s->mops->block(s->model, b);
    int Dn = f->R, Do = s->Dstats[b];
    int64_t To = dtf_packed_size(Do), Wo = em_width(Do), Tn = dtf_packed_size(Dn), Wn = em_width(Dn);
    double *row = malloc((size_t)(Wn + (dense ? 3 * Do * Do : 0)) * sizeof(double));
    if (!row) return dtf_error(DTF_ERR_INPUT, "out of memory");
    double *full = row + Wn, *tmp = full + Do * Do, *out = tmp + Do * Do;
    const double *k = scale[b];
    for (int64_t i = 0; i < f->own_len; i++) {
      const double *S = s->stats[b] + i * Wo;
      int64_t idx = 0;
      if (dense) {
        for (int r = 0, j = 0; r < Do; r++)
          for (int q = r; q < Do; q++, j++) full[r * Do + q] = full[q * Do + r] = S[j];
        dtf_matmul(0, 0, Dn, Do, Do, T[b], full, tmp); /* T S */
        dtf_matmul(0, 1, Dn, Dn, Do, tmp, T[b], out);  /* (T S) T^T */
        for (int r = 0; r < Dn; r++)
          for (int q = r; q < Dn; q++) row[idx++] = out[r * Dn + q];
        dtf_matmul(0, 0, Dn, 1, Do, T[b], S + To, row + Tn);
      } else {
        for (int r = 0; r < Dn; r++)
          for (int q = r; q < Dn; q++) {
            int ro = keep[b][r], qo = keep[b][q];
            if (ro > qo) {
              ro = keep[b][q];
              qo = keep[b][r];
            }
            row[idx++] = S[(int64_t)ro * Do - (int64_t)ro * (ro - 1) / 2 + (qo - ro)] * k[r] * k[q];
          }
        for (int r = 0; r < Dn; r++) row[Tn + r] = S[To + keep[b][r]] * k[r];
      }
      /* Wn <= Wo: in place, row i's new place never passes its old one */
      memcpy(s->stats[b] + i * Wn, row, (size_t)Wn * sizeof(double));
    }
    free(row);
    s->Dstats[b] = Dn;
  }
  return DTF_OK;
}

/* The doubles a field of a state manifest holds on this rank. */
static int64_t field_doubles(const dtf_field_t *f) {
  int64_t cols = f->cols ? f->cols : 1;
  switch (f->kind) {
  case DTF_FIELD_ROWS: return (f->lead > 0 ? f->lead : 1) * f->read_len * cols;
  case DTF_FIELD_PER_RANK: return f->rows;
  default: return f->ndims > 0 ? f->rows : f->rows * cols;
  }
}

/* A copy of the model (as its checkpoint describes it), of its parts' online statistics,
 * of the offsets and of the noise or dispersion estimate, to go back to when a reshaping
 * costs the data more than it saves. */
typedef struct {
  dtf_state_t *state;
  double *data[DTF_STATE_MAX_FIELDS];
  double *stats[2 * DTF_MAX_MODES], *updates[2 * DTF_MAX_MODES];
  int64_t W[2 * DTF_MAX_MODES], rows[2 * DTF_MAX_MODES];
  int D[2 * DTF_MAX_MODES];
  double *off[DTF_MAX_MODES], *offvar[DTF_MAX_MODES], mu, lam[DTF_MAX_MODES];
  double beta, sse_avg, gamma[2 * DTF_MAX_MODES];
} snapshot_t;

static void snapshot_free(snapshot_t *k) {
  for (int f = 0; k->state && f < k->state->nfields; f++) free(k->data[f]);
  for (int b = 0; b < 2 * DTF_MAX_MODES; b++) {
    free(k->stats[b]);
    free(k->updates[b]);
  }
  for (int n = 0; n < DTF_MAX_MODES; n++) {
    free(k->off[n]);
    free(k->offvar[n]);
  }
  free(k->state);
  memset(k, 0, sizeof *k);
}

/* A new copy of a part's rows (block_len x R doubles) in *to. */
static dtf_status copy_block(double **to, const dtf_factor_t *f) {
  size_t n = (size_t)(f->block_len * f->R);
  if (!(*to = malloc((n ? n : 1) * sizeof(double)))) return dtf_error(DTF_ERR_INPUT, "out of memory");
  if (n) memcpy(*to, f->block, n * sizeof(double));
  return DTF_OK;
}

static dtf_status snapshot_take(dtf_em_t *s, snapshot_t *k) {
  memset(k, 0, sizeof *k);
  dtf_status st = (k->state = malloc(sizeof *k->state)) ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory");
  if (!st) {
    dtf_state_init(k->state, s->solver_name, s->mops->name, 1, s->grid->nmodes, s->grid->dims);
    st = s->mops->describe(s->model, 1, 1.0, k->state);
  }
  for (int f = 0; !st && f < k->state->nfields; f++) {
    const dtf_field_t *fd = &k->state->fields[f];
    int64_t n = field_doubles(fd);
    if (!(k->data[f] = malloc((size_t)(n ? n : 1) * sizeof(double))))
      st = dtf_error(DTF_ERR_INPUT, "out of memory");
    else if (n)
      memcpy(k->data[f], fd->data, (size_t)n * sizeof(double));
  }
  for (int b = 0; !st && s->stats[0] && b < em_nparts(s); b++) {
    const dtf_factor_t *f = part_rows(s, b);
    k->D[b] = s->Dstats[b];
    k->W[b] = em_width(s->Dstats[b]);
    k->rows[b] = f->own_len ? f->own_len : 1;
    k->stats[b] = malloc((size_t)(k->rows[b] * k->W[b]) * sizeof(double));
    k->updates[b] = malloc((size_t)k->rows[b] * sizeof(double));
    if (!k->stats[b] || !k->updates[b])
      st = dtf_error(DTF_ERR_INPUT, "out of memory");
    else {
      memcpy(k->stats[b], s->stats[b], (size_t)(k->rows[b] * k->W[b]) * sizeof(double));
      memcpy(k->updates[b], s->updates[b], (size_t)k->rows[b] * sizeof(double));
    }
  }
  for (int n = 0; !st && s->bias && n < s->grid->nmodes; n++) {
    st = copy_block(&k->off[n], &s->off.rows[n]);
    if (!st) st = copy_block(&k->offvar[n], &s->offvar[n]);
    k->lam[n] = s->lam[n];
  }
  k->mu = s->off.mu;
  k->beta = s->beta;
  k->sse_avg = s->sse_avg;
  memcpy(k->gamma, s->gamma, sizeof k->gamma);
  return dtf_agree(s->grid->comm, st);
}

/* The model back as the snapshot holds it (its ranks, then every field), with the
 * statistics. Collective. */
static dtf_status snapshot_restore(dtf_em_t *s, snapshot_t *k) {
  /* a fresh model of the start ranks cut to the copy's, as a resumed run does */
  dtf_state_t *now = malloc(sizeof *now);
  void *fresh = NULL;
  dtf_status st =
      now ? s->mops->create(s->grid, &s->opt, 1.0, &fresh) : dtf_error(DTF_ERR_INPUT, "out of memory");
  if (!st) st = s->mops->resize(fresh, k->state);
  if (!st) {
    dtf_state_init(now, s->solver_name, s->mops->name, 1, s->grid->nmodes, s->grid->dims);
    st = s->mops->describe(fresh, 1, 1.0, now);
  }
  st = dtf_agree(s->grid->comm, st);
  if (!st) {
    s->mops->destroy(s->model);
    s->model = fresh;
  } else if (fresh)
    s->mops->destroy(fresh);
  for (int f = 0; !st && f < now->nfields; f++)
    for (int g = 0; g < k->state->nfields; g++)
      if (!strcmp(now->fields[f].name, k->state->fields[g].name) &&
          field_doubles(&now->fields[f]) == field_doubles(&k->state->fields[g]))
        memcpy(now->fields[f].data, k->data[g], (size_t)field_doubles(&now->fields[f]) * sizeof(double));
  for (int b = 0; !st && s->stats[0] && b < em_nparts(s); b++) {
    memcpy(s->stats[b], k->stats[b], (size_t)(k->rows[b] * k->W[b]) * sizeof(double));
    memcpy(s->updates[b], k->updates[b], (size_t)k->rows[b] * sizeof(double));
    s->Dstats[b] = k->D[b];
  }
  for (int n = 0; !st && s->bias && n < s->grid->nmodes; n++) {
    memcpy(s->off.rows[n].block, k->off[n], (size_t)s->off.rows[n].block_len * sizeof(double)); /* R = 1 */
    memcpy(s->offvar[n].block, k->offvar[n], (size_t)s->offvar[n].block_len * sizeof(double));
    s->lam[n] = k->lam[n];
  }
  s->off.mu = k->mu;
  s->beta = k->beta;
  s->sse_avg = k->sse_avg;
  memcpy(s->gamma, k->gamma, sizeof k->gamma);
  /* the model's rows changed: it refreshes what it derives from them (and may rebalance,
   * which the statistics follow), as after any update */
  if (!st) st = em_ensure_buffers(s);
  if (!st) st = rescaled(s, 0);
  free(now);
  return dtf_agree(s->grid->comm, st);
}

/* The train entries' log-likelihood under the current model, times prec (gaussian: the
 * noise precision; poisson: 1 / the dispersion), and the model's number of coefficients.
 * Collective. */
static dtf_status train_loglik(dtf_em_t *s, double prec, double *ll, double *params) {
  const dtf_observed_view_t *v = s->v;
  double q = 0;
  for (int64_t e0 = 0; e0 < v->nnz; e0 += CHUNK) {
    int64_t n = v->nnz - e0 < CHUNK ? v->nnz - e0 : CHUNK;
    const int64_t *inds = v->inds + e0 * v->nmodes;
    s->mops->predict(s->model, n, inds, s->x);
    dtf_model_bias_add(&s->off, n, inds, s->x);
    for (int64_t k = 0; k < n; k++) q += prec * s->lik->loglik(v->vals[e0 + k] * s->scale, s->x[k]);
  }
  *params = 0;
  for (int b = 0; b < s->nblocks; b++) {
    const dtf_factor_t *f = s->mops->block(s->model, b);
    *params += (double)f->rows * f->R;
  }
  *ll = q;
  return dtf_allreduce_sum(s->grid->comm, ll, 1, &s->comm);
}

/* After every epoch once the prior adapts: the model orders its components for the
 * prior, and once the fit has settled also merges and drops them (a component still
 * growing from a random start is small, not unneeded): those below --prune times the
 * strongest, or, when none is, the weakest one on trial (a fit from a generous rank
 * spreads the signal over more components than it needs, none of them small). The
 * smaller model is refitted by REFIT_SWEEPS full-data steps, and stands only if the train
 * log-likelihood, at the precision before, falls by less than the coefficients it
 * removes cost by Akaike's criterion, one each (BIC's (log n_train) / 2 each dropped
 * real, weak components), or by BIC for counts, whose quasi-likelihood overstates what
 * the data say (docs/algorithms.md); otherwise the model goes back to its copy,
 * and no reshaping is tried for COOLDOWN epochs, twice as many after each refusal in a
 * row (up to 16 times). */
enum { COOLDOWN = 5, REFIT_SWEEPS = 2 };

dtf_status em_prune(dtf_em_t *s) {
  s->pruned_now = 0;
  if (em_point(s)) return DTF_OK;
  int settled = s->delta < 1e-2 && s->epoch >= s->prune_after;
  /* --prune 0 keeps every component, the weakest one too */
  dtf_em_reshape_t how = {settled ? s->opt.prune : 0.0, settled ? s->opt.merge : 0.0,
                          settled && s->opt.prune > 0};
  int *keep[DTF_MAX_MODES] = {0}, removed = 0, moved = 0, dense = 0;
  double *scale[DTF_MAX_MODES] = {0}, *T[DTF_MAX_MODES] = {0}, ll0 = 0, p0 = 0;
  snapshot_t snap = {0};
  dtf_status st = DTF_OK;
  for (int b = 0; b < s->nblocks; b++) {
    size_t D = (size_t)s->mops->block(s->model, b)->R;
    if (!(keep[b] = malloc(D * sizeof(int))) || !(scale[b] = malloc(D * sizeof(double))) ||
        !(T[b] = malloc(D * D * sizeof(double))))
      st = dtf_error(DTF_ERR_INPUT, "out of memory");
  }
  st = dtf_agree(s->grid->comm, st);
  if (!st && settled) st = snapshot_take(s, &snap);
  /* both fits judged at the same precision: the refit's own estimate follows its
   * residuals, and with it a gaussian's scaled log-likelihood would be -n / 2 for any fit */
  double prec = em_dispersed(s) ? s->beta : 1.0;
  if (!st && settled) st = train_loglik(s, prec, &ll0, &p0);
  if (!st) st = s->mops->prune(s->model, &how, &removed, &moved, keep, scale, T, &dense, &s->comm);
  if (!st && (removed || moved)) {
    s->pruned_now = removed ? removed : -1;
    if (s->stats[0]) st = compact_stats(s, keep, scale, T, dense);
    if (!st) st = em_ensure_buffers(s);
    st = dtf_agree(s->grid->comm, st);
  }
  double ll1 = 0, p1 = 0;
  /* the smaller model refitted by full-data steps (the online averages left as they
   * are) before it is judged: the components that stay take up what the dropped
   * ones explained */
  if (!st && removed && settled) {
    int phase = s->phase;
    s->phase = EM_BATCH;
    for (int k = 0; k < REFIT_SWEEPS && !st; k++) st = em_sweep(s, -1, 1.0);
    s->phase = phase;
  }
  if (!st && removed && settled) st = train_loglik(s, prec, &ll1, &p1);
  /* Akaike: one unit of log-likelihood a coefficient; a quasi-likelihood's (counts divided
   * by their dispersion) BIC's (log n_train) / 2 */
  int quasi = em_dispersed(s) && !s->lik->noise_precision;
  double cost = (p0 - p1) * (quasi ? 0.5 * log((double)s->n_train) : 1.0);
  /* before the fit settles only what is exactly zero goes (a ring's canonical form at
   * tolerance 0), with no copy to go back to */
  if (!st && removed && snap.state && ll0 - ll1 > cost) {
    st = snapshot_restore(s, &snap);
    s->pruned_now = 0;
    s->prune_after = s->epoch + (COOLDOWN << s->prune_refused);
    s->prune_refused += s->prune_refused < EM_MAX_BACKOFF;
    if (!st && s->opt.log) {
      char msg[200];
      snprintf(msg, sizeof msg,
               "epoch %d: %d component%s kept: without %s the train log-likelihood falls by %.4g, more than "
               "the %.4g their %.0f coefficients cost (%s)",
               s->epoch, removed, removed > 1 ? "s" : "", removed > 1 ? "them" : "it", ll0 - ll1, cost,
               p0 - p1, quasi ? "BIC" : "AIC");
      s->opt.log(msg, s->opt.ctx);
    }
  }
  /* a refitted model's averages start again: the statistics of the rows before the refit
   * no longer describe it */
  if (!st && settled && s->pruned_now > 0) {
    s->prune_refused = 0;
    for (int b = 0; s->stats[0] && b < em_nparts(s); b++) {
      int64_t own = part_rows(s, b)->own_len;
      memset(s->updates[b], 0, (size_t)(own ? own : 1) * sizeof(double));
    }
  }
  snapshot_free(&snap);
  for (int b = 0; b < s->nblocks; b++) {
    free(keep[b]);
    free(scale[b]);
    free(T[b]);
  }
  return st;
}
