/* Distributed TR-ALS. Per core n: the contraction of the local block with the local
 * chains of the other cores (the tensor kind's tr_contract: GEMMs for a dense block, the
 * entries' design rows for a sparse one) -> reduce-scatter in the mode's slice -> owners
 * solve G_n V = M with V the Gram of the design rows, the cyclic product of the other
 * cores' transfer matrices -> the new core's transfer matrix (and the failure flag) by
 * one allreduce -> allgatherv of the rows in the slice. The fit comes from ||X||, the
 * transfer matrices and the last contraction, without forming the model.
 *
 * Sampled TR-ALS (o->sample = J): each core's least-squares problem is solved on J rows
 * of its design matrix, index tuples of the other modes drawn with probability the
 * product of the leverage scores of those cores' unfoldings (Malik and Becker, ICML
 * 2021), from the counter-based RNG keyed by (seed, iteration, core, draw): every rank
 * draws the same tuples. The ranks whose block holds a tuple form its design row from
 * their block rows and read the matching fibre of their block; the rows are weighted by
 * 1 / sqrt(J p).
 *
 * Failures inside the sweep ride on the transfer-matrix allreduce, as in CP-ALS. The
 * sweep works on X * scale, scale a power of two near 1 / ||X||; model files hold core 0
 * divided by it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/fault.h"
#include "dtf/kernels.h"
#include "dtf/memory.h"
#include "dtf/rng.h"
#include "dtf/tr.h"
#include "timer.h"

struct dtf_tr_als {
  const dtf_grid_t *grid;
  dtf_tensor_t *tensor;
  dtf_tr_options_t opt;
  dtf_tr_model_t model;            /* the cores of X * scale */
  dtf_tr_model_t relabelled;       /* the model in the original labels, made for output */
  double *gbuf, *G[DTF_MAX_MODES]; /* transfer matrices of the cores, over all ranks */
  int64_t gsize;
  double norm_x, scale;
  int iteration, converged, warned_pinv;
  double fit, delta, last_fit; /* last_fit: the last computed (sampled runs skip some) */
  double *fit_history;
  dtf_comm_stats_t comm;
  double t_contract, t_comm, t_solve, t_sample, t_total;
  /* workspace */
  double *mloc, *mown, *V, *solve_work, *gram_work, *tr_work, *flag;
  /* sampled */
  double *lev[DTF_MAX_MODES]; /* cumulative sampling weights of every row of each core */
  int lev_valid[DTF_MAX_MODES];
  int64_t *tuples;             /* J x N global indices */
  double *prob;                /* J: the probability of each draw */
  double *H, *F, *fib, *hwork; /* local draws' design rows, their fibres */
  int *counts, *displs;
};

void dtf_tr_options_default(dtf_tr_options_t *o) {
  memset(o, 0, sizeof *o);
  for (int n = 0; n < DTF_MAX_MODES; n++) o->ranks[n] = 1;
  o->max_iters = 50;
  o->tol = 1e-6;
  o->fit_every = 10;
}

static int64_t dmax(const dtf_grid_t *g, const int *ranks) {
  int64_t m = 1;
  for (int n = 0; n < g->nmodes; n++) {
    int64_t D = (int64_t)ranks[n] * ranks[(n + 1) % g->nmodes];
    if (D > m) m = D;
  }
  return m;
}

double dtf_tr_als_memory(const dtf_grid_t *g, const dtf_tensor_t *t, const dtf_tr_options_t *o) {
  int N = g->nmodes;
  double D = (double)dmax(g, o->ranks), rows = 0, most = 0;
  for (int n = 0; n < N; n++) {
    rows += (double)g->len[n] * o->ranks[n] * o->ranks[(n + 1) % N];
    if (g->len[n] > most) most = (double)g->len[n];
  }
  /* cores and their file copies, contraction (local and owned), transfer matrices, V and
   * the solve, the tensor's contraction workspace */
  double bytes = 8.0 * (2 * rows + 2 * most * D + N * D * D + D * D + (double)dtf_spd_solve_work((int)D)) +
                 t->ops->tr_workspace_bytes(t, o->ranks);
  if (o->sample > 0) {
    double J = (double)o->sample, In = 0;
    for (int n = 0; n < N; n++) In += (double)g->dims[n];
    bytes += 8.0 * (In + J * (N + 1) + J * D + J * most);
  }
  dtf_allreduce(g->comm, &bytes, 1, MPI_DOUBLE, MPI_MAX, NULL);
  return bytes;
}

/* The transfer matrix of core n from this rank's owned rows into G[n] (not reduced). */
static void local_transfer(dtf_tr_als_t *s, int n) {
  const dtf_factor_t *f = &s->model.cores[n];
  int N = s->grid->nmodes, Ra = s->model.ranks[n], Rb = s->model.ranks[(n + 1) % N];
  dtf_tr_transfer(f->own_len, Ra, Rb, dtf_factor_owned(f), s->G[n], s->tr_work);
}

/* Whole-tensor TR-SVD on every rank (the dense tensor gathered), each keeping its block
 * rows; DTF_ERR_INPUT if the tensor is not dense or does not fit o->max_mem. */
static dtf_status svd_init(dtf_tr_als_t *s);

dtf_status dtf_tr_als_init(const dtf_grid_t *g, dtf_tensor_t *t, const dtf_tr_options_t *o,
                           dtf_tr_als_t **out) {
  *out = NULL;
  int N = g->nmodes;
  for (int n = 0; n < N; n++)
    if (o->ranks[n] < 1)
      return dtf_error(DTF_ERR_USAGE, "bond rank %d is %d; every bond needs at least 1", n + 1, o->ranks[n]);
  if (o->max_iters < 1)
    return dtf_error(DTF_ERR_USAGE, "the iteration limit must be at least 1, not %d", o->max_iters);
  if (!(o->tol >= 0)) return dtf_error(DTF_ERR_USAGE, "the tolerance must be >= 0, not %g", o->tol);
  if (o->sample < 0 || o->sample > 100000000)
    return dtf_error(DTF_ERR_USAGE, "--sampled J must be from 1 to 100000000, not %lld",
                     (long long)o->sample);
  if (!(o->reg >= 0)) return dtf_error(DTF_ERR_USAGE, "--reg must be >= 0, not %g", o->reg);
  if (o->fit_every < 1) return dtf_error(DTF_ERR_USAGE, "--fit-every must be at least 1");
  if (o->max_mem > 0) {
    double need = dtf_tr_als_memory(g, t, o);
    if (need > o->max_mem)
      return dtf_error(
          DTF_ERR_INPUT,
          "these bond ranks need an estimated %.3g GB per rank (cores, contraction chains, transfer "
          "matrices), more than the limit of %.3g GB (--max-mem); use lower ranks or more ranks",
          need / 1e9, o->max_mem / 1e9);
  }
  dtf_tr_als_t *s = calloc(1, sizeof *s);
  if (!s) return dtf_error(DTF_ERR_INPUT, "out of memory");
  s->grid = g;
  s->tensor = t;
  s->opt = *o;
  s->fit = s->last_fit = NAN;
  dtf_status st = dtf_tr_model_init(g, o->ranks, &s->model);
  int64_t D = dmax(g, o->ranks), maxblock = 1, maxown = 1;
  for (int n = 0; n < N; n++) {
    if (g->len[n] > maxblock) maxblock = g->len[n];
    if (!st && s->model.cores[n].own_len > maxown) maxown = s->model.cores[n].own_len;
  }
  if (!st) {
    s->gsize = dtf_tr_transfer_size(&s->model);
    s->gbuf = malloc((size_t)(s->gsize + 2) * sizeof(double));
    s->flag = malloc(((size_t)D * D + 4) * sizeof(double));
    s->mloc = dtf_alloc_large((size_t)(maxblock * D) * sizeof(double));
    s->mown = dtf_alloc_large((size_t)(maxown * D) * sizeof(double));
    s->V = malloc((size_t)(D * D) * sizeof(double));
    s->solve_work = malloc((size_t)dtf_spd_solve_work((int)D) * sizeof(double));
    s->gram_work = malloc((size_t)dtf_tr_gram_work(N, o->ranks) * sizeof(double));
    s->tr_work = malloc((size_t)(D * D) * sizeof(double));
    s->fit_history = calloc((size_t)o->max_iters, sizeof(double));
    if (!s->gbuf || !s->flag || !s->mloc || !s->mown || !s->V || !s->solve_work || !s->gram_work ||
        !s->tr_work || !s->fit_history)
      st = dtf_error(DTF_ERR_INPUT, "out of memory for the TR-ALS workspace");
  }
  if (!st && o->sample > 0) {
    int64_t J = o->sample;
    for (int n = 0; n < N && !st; n++)
      if (!(s->lev[n] = malloc((size_t)(g->dims[n] + 1) * sizeof(double))))
        st = dtf_error(DTF_ERR_INPUT, "out of memory");
    s->tuples = malloc((size_t)(J * N) * sizeof(int64_t));
    s->prob = malloc((size_t)J * sizeof(double));
    s->H = dtf_alloc_large((size_t)(J * D) * sizeof(double));
    s->F = dtf_alloc_large((size_t)(J * maxblock) * sizeof(double));
    s->fib = malloc((size_t)maxblock * sizeof(double));
    int Rmax = 1;
    for (int n = 0; n < N; n++)
      if (o->ranks[n] > Rmax) Rmax = o->ranks[n];
    s->hwork = malloc((size_t)(2 * Rmax * Rmax + D) * sizeof(double));
    s->counts = malloc((size_t)g->size * sizeof(int));
    s->displs = malloc((size_t)g->size * sizeof(int));
    if (!st && (!s->tuples || !s->prob || !s->H || !s->F || !s->fib || !s->hwork || !s->counts || !s->displs))
      st = dtf_error(DTF_ERR_INPUT, "out of memory for %lld samples", (long long)J);
  }
  st = dtf_agree(g->comm, st);
  if (!st) st = dtf_allreduce_norm(g->comm, t->ops->norm(t), &s->norm_x, &s->comm);
  if (!st && !(s->norm_x > 0.0))
    st = dtf_error(DTF_ERR_INPUT, "the tensor is all zeros: there is nothing to factor");
  if (st) {
    dtf_tr_als_free(s);
    return st;
  }
  s->scale = dtf_pow2_scale(s->norm_x);
  int64_t off = 0;
  for (int n = 0; n < N; n++) {
    s->G[n] = s->gbuf + off;
    off += (int64_t)s->model.cores[n].R * s->model.cores[n].R;
  }
  if (o->init_svd)
    st = svd_init(s);
  else {
    /* Initial cores: normal draws keyed by (seed, mode, global row, column), scaled so that
     * the model's entries have about the tensor's RMS: the same start for any grid. */
    double cells = 1;
    for (int n = 0; n < N; n++) cells *= (double)g->dims[n];
    double rms = s->norm_x * s->scale / sqrt(cells), per = 1;
    for (int n = 0; n < N; n++) per *= (double)o->ranks[n];
    double c = pow(rms / sqrt(per), 1.0 / N);
    for (int n = 0; n < N; n++) {
      dtf_factor_t *f = &s->model.cores[n];
      dtf_factor_fill_normal(f, o->seed, DTF_STREAM_INIT, o->row_labels[n]);
      for (int64_t i = 0; i < f->block_len * f->R; i++) f->block[i] *= c;
    }
  }
  if (!st) {
    for (int n = 0; n < N; n++) local_transfer(s, n);
    st = dtf_allreduce_sum(g->comm, s->gbuf, s->gsize, &s->comm);
  }
  if (st) {
    dtf_tr_als_free(s);
    return st;
  }
  *out = s;
  return DTF_OK;
}

/* ---- TR-SVD start ---- */

static dtf_status svd_init(dtf_tr_als_t *s) {
  const dtf_grid_t *g = s->grid;
  int N = g->nmodes;
  dtf_tensor_t *t = s->tensor;
  int64_t total = 1;
  for (int n = 0; n < N; n++) total *= g->dims[n];
  double need = 8.0 * ((double)total + (double)dtf_tr_svd_work(N, g->dims, s->opt.ranks));
  dtf_status st = DTF_OK;
  if (s->opt.max_mem > 0 && need > s->opt.max_mem)
    st = dtf_error(
        DTF_ERR_INPUT,
        "--init svd gathers the whole tensor on every rank: an estimated %.3g GB, more than the limit of "
        "%.3g GB (--max-mem); use --init random",
        need / 1e9, s->opt.max_mem / 1e9);
  enum { CHUNK = 4096 };
  double *X = NULL, *work = NULL, *vals = malloc(CHUNK * sizeof(double)), *cores[DTF_MAX_MODES] = {0};
  int64_t *inds = malloc((size_t)CHUNK * N * sizeof(int64_t));
  if (!st) {
    X = dtf_alloc_large((size_t)total * sizeof(double));
    work = dtf_alloc_large((size_t)dtf_tr_svd_work(N, g->dims, s->opt.ranks) * sizeof(double));
    if (!X || !work || !vals || !inds) st = dtf_error(DTF_ERR_INPUT, "out of memory for --init svd");
  }
  for (int n = 0; !st && n < N; n++)
    if (!(cores[n] = malloc((size_t)(g->dims[n] * s->model.cores[n].R) * sizeof(double))))
      st = dtf_error(DTF_ERR_INPUT, "out of memory for --init svd");
  st = dtf_agree(g->comm, st);
  if (!st) { /* every rank puts its entries into a zero tensor; the sum is the tensor */
    memset(X, 0, (size_t)total * sizeof(double));
    int64_t m = t->ops->entries(t);
    for (int64_t k0 = 0; k0 < m; k0 += CHUNK) {
      int64_t c = m - k0 < CHUNK ? m - k0 : CHUNK;
      t->ops->entries_get(t, k0, c, inds, vals);
      for (int64_t k = 0; k < c; k++) {
        int64_t lin = 0;
        for (int n = 0; n < N; n++) lin = lin * g->dims[n] + inds[k * N + n];
        X[lin] = vals[k] * s->scale;
      }
    }
    st = dtf_allreduce_sum(g->comm, X, total, &s->comm);
  }
  if (!st) st = dtf_agree(g->comm, dtf_tr_svd(N, g->dims, X, s->opt.ranks, cores, work));
  for (int n = 0; !st && n < N; n++) { /* this rank's block rows (of the tensor as loaded) */
    dtf_factor_t *f = &s->model.cores[n];
    memcpy(f->block, cores[n] + f->block_start * f->R, (size_t)(f->block_len * f->R) * sizeof(double));
  }
  for (int n = 0; n < N; n++) free(cores[n]);
  free(X);
  free(work);
  free(vals);
  free(inds);
  return st;
}

/* ---- sampling ---- */

/* Core k's sampling weights: the leverage score of each of its rows in its unfolding
 * (rows x R_k R_{k+1}), g^T (G^T G)^+ g, over all ranks, as cumulative sums in lev[k]
 * (I_k + 1 entries). G^T G is the transfer matrix rearranged. Collective. */
static dtf_status leverage(dtf_tr_als_t *s, int k) {
  const dtf_grid_t *g = s->grid;
  const dtf_factor_t *f = &s->model.cores[k];
  int N = g->nmodes, Ra = s->model.ranks[k], Rb = s->model.ranks[(k + 1) % N], D = Ra * Rb;
  const double *Gm = s->G[k];
  for (int a = 0; a < Ra; a++) /* Gram[(a, b)][(a2, b2)] = Gamma[(a, a2)][(b, b2)] */
    for (int a2 = 0; a2 < Ra; a2++)
      for (int b = 0; b < Rb; b++)
        for (int b2 = 0; b2 < Rb; b2++)
          s->V[(int64_t)(a * Rb + b) * D + a2 * Rb + b2] =
              Gm[((int64_t)(a * Ra + a2)) * Rb * Rb + b * Rb + b2];
  double *A = s->mown, *lev = s->lev[k] + 1;
  memcpy(A, dtf_factor_owned(f), (size_t)(f->own_len * D) * sizeof(double));
  int pinv = 0;
  dtf_status st = dtf_spd_solve(D, s->V, f->own_len, A, s->solve_work, &pinv);
  for (int64_t i = 0; !st && i < f->own_len; i++) {
    double v = 0;
    const double *a = dtf_factor_owned(f) + i * D;
    for (int j = 0; j < D; j++) v += a[j] * A[i * D + j];
    lev[f->own_start + i] = fmax(v, 0.0);
  }
  /* every rank's owned part, in place (agreed first: a rank without its array must not
   * leave the others in the gather) */
  int64_t mine[2] = {f->own_start, f->own_len}, *parts = malloc((size_t)g->size * 2 * sizeof(int64_t));
  if (!st && !parts) st = dtf_error(DTF_ERR_INPUT, "out of memory");
  st = dtf_agree(g->comm, st);
  if (st) {
    free(parts);
    return st;
  }
  memcpy(parts + (int64_t)g->rank * 2, mine, sizeof mine);
  st = dtf_allgather_int64(g->comm, parts, 2);
  for (int q = 0; q < g->size; q++) {
    s->displs[q] = (int)parts[2 * q];
    s->counts[q] = (int)parts[2 * q + 1];
  }
  free(parts);
  if (!st) st = dtf_allgatherv_inplace(g->comm, lev, s->counts, s->displs, &s->comm);
  if (st) return st;
  s->lev[k][0] = 0;
  for (int64_t i = 0; i < g->dims[k]; i++) lev[i] += lev[i - 1];
  if (!(s->lev[k][g->dims[k]] > 0))
    return dtf_error(DTF_ERR_NUMERIC, "core %d is zero: its rows cannot be sampled", k + 1);
  s->lev_valid[k] = 1;
  return DTF_OK;
}

/* the row whose cumulative weight interval holds u * total */
static int64_t draw(const double *cum, int64_t rows, double u) {
  double x = u * cum[rows];
  int64_t lo = 0, hi = rows - 1;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (cum[mid + 1] > x)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

/* The sampled contraction of core n: mloc (block rows) = sum over this rank's draws of
 * w^2 X(:, t) h(t); V (D x D) = sum over all draws of w^2 h h^T (each draw counted once:
 * by the rank of its fibre group at coordinate 0 in mode n), not yet reduced. */
static dtf_status sampled_contract(dtf_tr_als_t *s, int n) {
  const dtf_grid_t *g = s->grid;
  int N = g->nmodes;
  int64_t J = s->opt.sample, L = g->len[n], D = s->model.cores[n].R, it = s->iteration + 1;
  dtf_status st = DTF_OK;
  for (int k = 0; !st && k < N; k++)
    if (k != n && !s->lev_valid[k]) st = leverage(s, k);
  if (st) return st;
  const double *C[DTF_MAX_MODES];
  for (int k = 0; k < N; k++) C[k] = s->model.cores[k].block;
  int64_t m = 0;
  for (int64_t j = 0; j < J; j++) {
    int64_t *t = s->tuples + j * N, ix[DTF_MAX_MODES];
    double p = 1;
    int mine = 1;
    for (int k = 0; k < N; k++) {
      if (k == n) {
        t[k] = 0;
        ix[k] = 0;
        continue;
      }
      double u = dtf_rng_uniform(s->opt.seed, DTF_STREAM_TR_SAMPLE, (uint64_t)it * N + (uint64_t)n,
                                 (uint64_t)j * N + (uint64_t)k);
      t[k] = draw(s->lev[k], g->dims[k], u);
      p *= (s->lev[k][t[k] + 1] - s->lev[k][t[k]]) / s->lev[k][g->dims[k]];
      ix[k] = t[k] - g->start[k];
      mine &= ix[k] >= 0 && ix[k] < g->len[k];
    }
    s->prob[j] = p;
    if (!mine) continue;
    double w = 1.0 / sqrt((double)J * p), *h = s->H + m * D;
    dtf_tr_design(N, n, s->model.ranks, C, ix, h, s->hwork);
    for (int64_t q = 0; q < D; q++) h[q] *= w;
    if ((st = s->tensor->ops->fibre(s->tensor, n, ix, s->F + m * L))) break;
    for (int64_t i = 0; i < L; i++) s->F[m * L + i] *= w * s->scale;
    m++;
  }
  if (st) return st;
  dtf_cross(m, (int)L, s->F, (int)D, s->H, s->mloc); /* F^T H: L x D */
  if (g->coords[n] == 0)
    dtf_gram(m, (int)D, s->H, s->flag);
  else
    memset(s->flag, 0, (size_t)(D * D) * sizeof(double));
  return DTF_OK;
}

/* ---- the sweep ---- */

/* Update core n; on the last core also return <X s, M> in *ip. Every rank makes the same
 * collectives whatever fails locally; the status is agreed on the transfer allreduce. */
static dtf_status update_core(dtf_tr_als_t *s, int n, double *ip) {
  const dtf_grid_t *g = s->grid;
  int N = g->nmodes, last = n == N - 1, it = s->iteration + 1, sampled = s->opt.sample > 0;
  dtf_factor_t *f = &s->model.cores[n];
  int64_t D = f->R, DD = D * D, own = f->own_len * D;
  const double *C[DTF_MAX_MODES];
  for (int k = 0; k < N; k++) C[k] = s->model.cores[k].block;
  double t0 = dtf_now();
  dtf_status st = sampled ? sampled_contract(s, n)
                          : s->tensor->ops->tr_contract(s->tensor, n, C, s->model.ranks, s->mloc);
  if (!st) st = dtf_fault_status("mttkrp", it, DTF_ERR_INPUT);
  if (st) memset(s->mloc, 0, (size_t)(f->block_len * D) * sizeof(double));
  double t1 = dtf_now();
  if (sampled)
    s->t_sample += t1 - t0;
  else
    s->t_contract += t1 - t0;
  dtf_status mpi = dtf_factor_reduce_scatter(f, s->mloc, s->mown, &s->comm);
  if (!mpi && sampled) {
    /* the sampled Gram travels with a failure flag */
    s->flag[DD] = st ? 1.0 : 0.0;
    mpi = dtf_allreduce_sum(g->comm, s->flag, DD + 1, &s->comm);
    if (!mpi && s->flag[DD] > 0 && !st) st = dtf_error(DTF_ERR_INPUT, "another rank failed");
  }
  if (mpi) return mpi;
  double t2 = dtf_now();
  s->t_comm += t2 - t1;
  if (!sampled) {
    for (int64_t i = 0; i < own; i++) s->mown[i] *= s->scale;
    dtf_tr_gram(N, n, s->model.ranks, (const double *const *)s->G, s->V, s->gram_work);
  } else
    memcpy(s->V, s->flag, (size_t)DD * sizeof(double));
  for (int64_t j = 0; j < D; j++) s->V[j * D + j] += s->opt.reg;
  double *A = dtf_factor_owned(f);
  memcpy(A, s->mown, (size_t)own * sizeof(double));
  int pinv = 0;
  if (!st) st = dtf_spd_solve((int)D, s->V, f->own_len, A, s->solve_work, &pinv);
  if (!st) st = dtf_fault_status("solve", it, DTF_ERR_NUMERIC);
  if (st) memset(A, 0, (size_t)own * sizeof(double));
  if (!st && own > 0 && dtf_fault("nan", it)) A[0] = NAN;
  for (int64_t i = 0; !st && i < own; i++)
    if (!isfinite(A[i]))
      st = dtf_error(DTF_ERR_NUMERIC, "core %d became non-finite at iteration %d", n + 1, it);
  if (pinv && !s->warned_pinv && s->opt.log) {
    s->warned_pinv = 1;
    char msg[256];
    snprintf(
        msg, sizeof msg,
        "warning: the normal equations of core %d at iteration %d are not positive definite; solved with "
        "the pseudo-inverse (not reported again). The bond ranks may be too high.",
        n + 1, it);
    s->opt.log(msg, s->opt.ctx);
  }
  /* the new transfer matrix, <X, M> on the last core (exact runs), and the status: one allreduce */
  local_transfer(s, n);
  double loc = 0;
  if (last && !sampled)
    for (int64_t i = 0; i < own; i++) loc += A[i] * s->mown[i];
  double *buf = s->flag;
  memcpy(buf, s->G[n], (size_t)DD * sizeof(double));
  buf[DD] = loc;
  buf[DD + 1] = st ? 1.0 : 0.0;
  double t3 = dtf_now();
  s->t_solve += t3 - t2;
  mpi = dtf_allreduce_sum(g->comm, buf, DD + 2, &s->comm);
  if (mpi) return mpi;
  if (buf[DD + 1] > 0) return dtf_agree(g->comm, st);
  memcpy(s->G[n], buf, (size_t)DD * sizeof(double));
  if (last) *ip = buf[DD];
  double t4 = dtf_now();
  s->t_comm += t4 - t3;
  st = dtf_factor_allgather(f, &s->comm);
  s->t_comm += dtf_now() - t4;
  s->lev_valid[n] = 0;
  return st;
}

/* The fit of the current cores: one exact contraction (core 0) and the transfer matrices. */
static dtf_status exact_fit(dtf_tr_als_t *s, double *fit) {
  const dtf_grid_t *g = s->grid;
  int N = g->nmodes;
  const double *C[DTF_MAX_MODES];
  for (int k = 0; k < N; k++) C[k] = s->model.cores[k].block;
  const dtf_factor_t *f = &s->model.cores[0];
  double t0 = dtf_now();
  dtf_status st = s->tensor->ops->tr_contract(s->tensor, 0, C, s->model.ranks, s->mloc);
  double ip = 0;
  for (int64_t j = 0; !st && j < f->block_len * f->R; j++) ip += s->mloc[j] * s->scale * f->block[j];
  s->t_contract += dtf_now() - t0;
  st = dtf_agree(g->comm, st);
  if (!st) st = dtf_allreduce_sum(g->comm, &ip, 1, &s->comm);
  if (st) return st;
  double nx2 = (s->norm_x * s->scale) * (s->norm_x * s->scale);
  double nm2 = dtf_tr_norm2(N, s->model.ranks, (const double *const *)s->G, s->gram_work);
  *fit = 1.0 - sqrt(fmax(0.0, nx2 + nm2 - 2.0 * ip)) / sqrt(nx2);
  return DTF_OK;
}

static dtf_status iterate(void *impl, dtf_progress_t *p) {
  dtf_tr_als_t *s = impl;
  double t0 = dtf_now();
  uint64_t b0 = s->comm.bytes_sent;
  int N = s->grid->nmodes, sampled = s->opt.sample > 0;
  double ip = 0.0, fit = NAN;
  for (int n = 0; n < N; n++) {
    dtf_status st = update_core(s, n, &ip);
    if (st) return st;
  }
  int it = s->iteration + 1;
  if (!sampled) {
    double nx2 = (s->norm_x * s->scale) * (s->norm_x * s->scale);
    double nm2 = dtf_tr_norm2(N, s->model.ranks, (const double *const *)s->G, s->gram_work);
    fit = 1.0 - sqrt(fmax(0.0, nx2 + nm2 - 2.0 * ip)) / sqrt(nx2);
  } else if (it % s->opt.fit_every == 0 || it == s->opt.max_iters) {
    dtf_status st = exact_fit(s, &fit);
    if (st) return st;
  }
  if (isnan(fit) && !sampled)
    return dtf_error(DTF_ERR_NUMERIC, "the fit became non-finite at iteration %d", it);
  if (!isnan(fit)) {
    if (!isfinite(fit)) return dtf_error(DTF_ERR_NUMERIC, "the fit became non-finite at iteration %d", it);
    s->delta = isnan(s->last_fit) ? NAN : fabs(fit - s->last_fit); /* NAN: no earlier fit */
    s->last_fit = fit;
    s->converged = s->delta < s->opt.tol;
  }
  s->fit = fit;
  s->iteration = it;
  if (it <= s->opt.max_iters) s->fit_history[it - 1] = fit;
  s->model.fit = s->last_fit;
  s->model.iterations = it;
  double dt = dtf_now() - t0;
  s->t_total += dt;
  if (p) {
    uint64_t sent = s->comm.bytes_sent - b0;
    *p = (dtf_progress_t){.iteration = it,
                          .metric = "fit",
                          .value = fit,
                          .delta = isnan(fit) ? NAN : s->delta,
                          .seconds = dt,
                          .bytes_sent = sent,
                          .bytes_uncompressed = sent};
  }
  return DTF_OK;
}

static int finished(const void *impl) {
  const dtf_tr_als_t *s = impl;
  return s->converged || s->iteration >= s->opt.max_iters;
}

static int converged(const void *impl) { return ((const dtf_tr_als_t *)impl)->converged; }

/* The model in the original labels of a relabelled run (collective). */
static dtf_status relabelled(dtf_tr_als_t *s, dtf_tr_model_t **m) {
  const dtf_grid_t *g = s->grid;
  *m = &s->model;
  int any = 0;
  for (int n = 0; n < g->nmodes; n++) any |= s->opt.row_labels[n] != NULL;
  if (!any) return DTF_OK;
  dtf_status st = DTF_OK;
  if (!s->relabelled.cores[0].block) st = dtf_tr_model_init(g, s->model.ranks, &s->relabelled);
  for (int n = 0; !st && n < g->nmodes; n++) {
    if (s->opt.row_labels[n])
      st = dtf_factor_relabel(g, &s->model.cores[n], s->opt.row_labels[n], &s->relabelled.cores[n], NULL);
    else
      memcpy(s->relabelled.cores[n].block, s->model.cores[n].block,
             (size_t)(s->model.cores[n].block_len * s->model.cores[n].R) * sizeof(double));
  }
  if (st) return st;
  s->relabelled.fit = s->model.fit;
  s->relabelled.iterations = s->model.iterations;
  *m = &s->relabelled;
  return DTF_OK;
}

static const char *solver_name(const dtf_tr_als_t *s) {
  return s->opt.sample > 0 ? "tr-als-sampled" : "tr-als";
}

static dtf_status state(void *impl, int checkpoint, dtf_state_t *out) {
  dtf_tr_als_t *s = impl;
  const dtf_grid_t *g = s->grid;
  dtf_tr_model_t *m = &s->model;
  dtf_status st = checkpoint ? DTF_OK : relabelled(s, &m);
  if (st) return st;
  dtf_state_init(out, solver_name(s), "tr", checkpoint, g->nmodes, g->dims);
  if (!checkpoint)
    dtf_tr_model_describe(m, 1.0 / s->scale, out);
  else { /* the cores as they are (scaled, by rows): a checkpoint is dtf's own */
    int64_t r[DTF_MAX_MODES] = {0};
    for (int n = 0; n < g->nmodes; n++) r[n] = m->ranks[n];
    dtf_state_ints(out, "bond_ranks", DTF_ATTR_OPTION, "--ranks", r, g->nmodes);
    dtf_state_real(out, "fit", DTF_ATTR_STATE, NULL, s->last_fit);
    dtf_state_int(out, "iterations", DTF_ATTR_STATE, NULL, s->iteration);
    for (int n = 0; n < g->nmodes; n++) {
      char name[32];
      dtf_factor_t *f = &m->cores[n];
      snprintf(name, sizeof name, "core_rows_%d", n);
      dtf_state_rows(out, name, f->rows, f->R, f->block_start, f->block_len, f->own_start, f->own_len,
                     f->block);
    }
    dtf_state_real(out, "model_scale", DTF_ATTR_STATE, NULL, s->scale); /* for dtf eval and predict */
    dtf_state_replicated(out, "transfer", s->gsize, 0, s->gbuf);
    dtf_state_replicated(out, "fit_history", s->iteration, 0, s->fit_history);
    dtf_state_real(out, "delta", DTF_ATTR_STATE, NULL, s->delta);
    dtf_state_undefined_ok(out, "delta");
    dtf_state_undefined_ok(out, "fit"); /* a sampled run's fit is not computed every time */
    dtf_state_undefined_ok(out, "fit_history");
  }
  dtf_state_int(out, "seed", DTF_ATTR_OPTION, "--seed", (int64_t)s->opt.seed);
  dtf_state_int(out, "converged", DTF_ATTR_STATE, NULL, s->converged);
  dtf_state_real(out, "tol", DTF_ATTR_STATE, NULL, s->opt.tol);
  dtf_state_real(out, "reg", DTF_ATTR_OPTION, "--reg", s->opt.reg);
  dtf_state_text_option(out, "init", "--init", s->opt.init_svd ? "svd" : "random");
  dtf_state_int(out, "sampled", DTF_ATTR_OPTION, "--sampled", s->opt.sample);
  dtf_state_style(out, "sampled", DTF_SHOW_UNSET);
  if (s->opt.sample > 0) dtf_state_int(out, "fit_every", DTF_ATTR_OPTION, "--fit-every", s->opt.fit_every);
  return DTF_OK;
}

static dtf_status restore(void *impl, const dtf_state_t *file, dtf_state_read_fn read, void *ctx) {
  dtf_tr_als_t *s = impl;
  double fit = 0;
  dtf_status st = dtf_solver_restore_scalars(file, "TR-ALS", s->opt.max_iters, &s->iteration, &s->converged,
                                             &fit, &s->delta);
  if (!st) st = dtf_solver_restore_fields(state, s, read, ctx);
  if (st) return st;
  s->last_fit = s->fit = s->model.fit = fit;
  s->model.iterations = s->iteration;
  for (int n = 0; n < s->grid->nmodes; n++) s->lev_valid[n] = 0;
  return DTF_OK;
}

static const dtf_solver_ops_t tr_als_ops = {"tr-als", iterate, finished, converged, state, restore};

dtf_solver_t dtf_tr_als_solver(dtf_tr_als_t *s) { return (dtf_solver_t){&tr_als_ops, s}; }

void dtf_tr_als_summary(const dtf_tr_als_t *s, dtf_tr_summary_t *o) {
  memset(o, 0, sizeof *o);
  o->iterations = s->iteration;
  o->converged = s->converged;
  o->fit = s->last_fit;
  o->fit_history = s->fit_history;
  o->t_contract = s->t_contract;
  o->t_comm = s->t_comm;
  o->t_solve = s->t_solve;
  o->t_sample = s->t_sample;
}

void dtf_tr_als_free(dtf_tr_als_t *s) {
  if (!s) return;
  dtf_tr_model_free(&s->model);
  if (s->relabelled.cores[0].block) dtf_tr_model_free(&s->relabelled);
  free(s->gbuf);
  free(s->flag);
  free(s->mloc);
  free(s->mown);
  free(s->V);
  free(s->solve_work);
  free(s->gram_work);
  free(s->tr_work);
  free(s->fit_history);
  for (int n = 0; n < DTF_MAX_MODES; n++) free(s->lev[n]);
  free(s->tuples);
  free(s->prob);
  free(s->H);
  free(s->F);
  free(s->fib);
  free(s->hwork);
  free(s->counts);
  free(s->displs);
  free(s);
}
