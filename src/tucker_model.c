/* The Tucker model: allocation, its manifest (a replicated core and factors), values at
 * indices, a block of its full tensor, its fit against a tensor, and the "tucker" model
 * kind of dtf_model_kind. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/kernels.h"
#include "dtf/memory.h"
#include "dtf/model.h"
#include "dtf/tucker.h"

static int64_t core_size(int N, const int *ranks) {
  int64_t s = 1;
  for (int n = 0; n < N; n++) s *= ranks[n];
  return s;
}

dtf_status dtf_tucker_model_init(const dtf_grid_t *g, const int *ranks, dtf_tucker_model_t *m) {
  memset(m, 0, sizeof *m);
  int N = g->nmodes;
  m->nmodes = N;
  memcpy(m->dims, g->dims, sizeof m->dims);
  memcpy(m->start, g->start, sizeof m->start);
  for (int n = 0; n < N; n++) {
    if (ranks[n] < 1 || ranks[n] > g->dims[n])
      return dtf_error(DTF_ERR_USAGE, "core rank %d is %d; it must be from 1 to the mode's %lld", n + 1,
                       ranks[n], (long long)g->dims[n]);
    m->ranks[n] = ranks[n];
  }
  m->core = calloc((size_t)core_size(N, ranks), sizeof(double));
  int bad = !m->core;
  for (int n = 0; n < N; n++) {
    m->factors[n] = calloc((size_t)(g->dims[n] * ranks[n]), sizeof(double));
    bad |= !m->factors[n];
  }
  if (bad) {
    dtf_tucker_model_free(m);
    return dtf_error(DTF_ERR_INPUT, "out of memory for the Tucker model");
  }
  return DTF_OK;
}

void dtf_tucker_model_free(dtf_tucker_model_t *m) {
  free(m->core);
  m->core = NULL;
  for (int n = 0; n < m->nmodes; n++) {
    free(m->factors[n]);
    m->factors[n] = NULL;
  }
}

void dtf_tucker_model_describe(dtf_tucker_model_t *m, dtf_state_t *s) {
  int N = m->nmodes;
  int64_t r[DTF_MAX_MODES] = {0};
  for (int n = 0; n < N; n++) r[n] = m->ranks[n];
  dtf_state_ints(s, "core_shape", DTF_ATTR_STATE, NULL, r, N);
  dtf_state_real(s, "fit", DTF_ATTR_STATE, NULL, m->fit);
  dtf_state_int(s, "iterations", DTF_ATTR_STATE, NULL, m->iterations);
  dtf_state_array(s, "core", N, r, m->core);
  for (int n = 0; n < N; n++) {
    char name[32];
    snprintf(name, sizeof name, "factor_%d", n);
    dtf_state_replicated(s, name, m->dims[n], m->ranks[n], m->factors[n]);
  }
}

/* x[k] at count indices inds, each offset by start (NULL: none) */
static void predict_at(const dtf_tucker_model_t *m, const int64_t *start, int64_t count, const int64_t *inds,
                       double *x) {
  int N = m->nmodes;
  double *work = malloc((size_t)dtf_tucker_point_work(N, m->ranks) * sizeof(double));
  for (int64_t k = 0; k < count; k++) {
    if (!work) {
      x[k] = NAN;
      continue;
    }
    const double *rows[DTF_MAX_MODES];
    for (int n = 0; n < N; n++)
      rows[n] = m->factors[n] + (inds[k * N + n] + (start ? start[n] : 0)) * m->ranks[n];
    x[k] = dtf_tucker_point(N, m->ranks, m->core, rows, work);
  }
  free(work);
}

void dtf_tucker_model_predict(const dtf_tucker_model_t *m, int64_t count, const int64_t *inds, double *x) {
  predict_at(m, m->start, count, inds, x);
}

/* Apply op(M_n) to X in every mode n in turn (M_n from mats, rows[n] rows out), through two
 * buffers of `most` doubles; returns the buffer holding the result. */
static double *ttm_chain(int N, const int64_t *dims, const double *X, int trans, const double *const *mats,
                         const int64_t *rows, double alpha, double *buf0, double *buf1) {
  int64_t d[DTF_MAX_MODES];
  memcpy(d, dims, (size_t)N * sizeof(int64_t));
  const double *in = X;
  double *bufs[2] = {buf0, buf1}, *out = NULL;
  for (int n = 0; n < N; n++) {
    out = bufs[n & 1];
    dtf_ttm(N, d, n, in, trans, mats[n], rows[n], n == 0 ? alpha : 1.0, out);
    d[n] = rows[n];
    in = out;
  }
  return out;
}

/* the largest intermediate of a chain from dims to rows, mode by mode */
static int64_t chain_most(int N, const int64_t *dims, const int64_t *rows) {
  int64_t most = 1, d[DTF_MAX_MODES];
  memcpy(d, dims, (size_t)N * sizeof(int64_t));
  for (int n = 0; n < N; n++) {
    d[n] = rows[n];
    int64_t s = 1;
    for (int k = 0; k < N; k++) s *= d[k];
    if (s > most) most = s;
  }
  return most;
}

dtf_status dtf_tucker_model_block(const dtf_tucker_model_t *m, const int64_t *start, const int64_t *len,
                                  double *out) {
  int N = m->nmodes;
  int64_t r[DTF_MAX_MODES], size = 1;
  const double *mats[DTF_MAX_MODES];
  for (int n = 0; n < N; n++) {
    r[n] = m->ranks[n];
    size *= len[n];
    mats[n] = m->factors[n] + start[n] * m->ranks[n];
  }
  if (size == 0) return DTF_OK;
  int64_t most = chain_most(N, r, len);
  double *b0 = dtf_alloc_large((size_t)most * sizeof(double)),
         *b1 = dtf_alloc_large((size_t)most * sizeof(double));
  dtf_status st =
      b0 && b1 ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for a block of the Tucker model");
  if (!st) memcpy(out, ttm_chain(N, r, m->core, 0, mats, len, 1.0, b0, b1), (size_t)size * sizeof(double));
  free(b0);
  free(b1);
  return st;
}

/* scale^2 ||M||^2 = scale^2 <core, core x_n (U_n^T U_n)> */
static dtf_status model_norm2(const dtf_tucker_model_t *m, double scale, double *out) {
  int N = m->nmodes, most = 1;
  int64_t r[DTF_MAX_MODES], size = core_size(N, m->ranks);
  for (int n = 0; n < N; n++) {
    r[n] = m->ranks[n];
    if (m->ranks[n] > most) most = m->ranks[n];
  }
  double *grams = malloc((size_t)(N * most * most) * sizeof(double));
  double *b0 = dtf_alloc_large((size_t)size * sizeof(double)),
         *b1 = dtf_alloc_large((size_t)size * sizeof(double));
  dtf_status st =
      grams && b0 && b1 ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for the Tucker model's norm");
  if (!st) {
    const double *mats[DTF_MAX_MODES];
    for (int n = 0; n < N; n++) {
      dtf_gram(m->dims[n], m->ranks[n], m->factors[n], grams + n * most * most);
      mats[n] = grams + n * most * most;
    }
    const double *w = ttm_chain(N, r, m->core, 0, mats, r, scale, b0, b1);
    double s = 0;
    for (int64_t k = 0; k < size; k++) s += w[k] * (scale * m->core[k]);
    *out = s;
  }
  free(grams);
  free(b0);
  free(b1);
  return st;
}

dtf_status dtf_tucker_fit(const dtf_grid_t *g, dtf_tensor_t *t, const dtf_tucker_model_t *m, double *fit) {
  int N = m->nmodes;
  double norm = 0, ip = 0, nm2 = 0;
  dtf_status st = dtf_tensor_norm(g, t, &norm);
  if (!st && !(norm > 0.0)) st = dtf_error(DTF_ERR_INPUT, "the tensor is all zeros: the fit is undefined");
  if (st) return st;
  /* X' = scale X, and M' with the core over 2^ec (the core carries a model's scale), near
   * 1: scale M = 2^K M' */
  double scale = dtf_pow2_scale(norm), most = 0;
  int64_t csize = core_size(N, m->ranks);
  for (int64_t k = 0; k < csize; k++) most = fmax(most, fabs(m->core[k]));
  int ec = dtf_pow2_exponent(most), K = ec - dtf_pow2_exponent(norm);
  double cs = ldexp(1.0, -ec);
  if (!strcmp(t->ops->name, "dense")) { /* <X, M> = <X x_n U_n^T, core> */
    int64_t r[DTF_MAX_MODES], size = core_size(N, m->ranks);
    const double *mats[DTF_MAX_MODES];
    for (int n = 0; n < N; n++) {
      r[n] = m->ranks[n];
      mats[n] = m->factors[n] + t->start[n] * m->ranks[n];
    }
    int64_t most = chain_most(N, t->dims, r), cells = 1;
    for (int n = 0; n < N; n++) cells *= t->dims[n];
    double *b0 = dtf_alloc_large((size_t)most * sizeof(double)),
           *b1 = dtf_alloc_large((size_t)most * sizeof(double));
    double *proj = calloc((size_t)size, sizeof(double));
    st = b0 && b1 && proj ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for the Tucker fit");
    if (!st && cells > 0)
      memcpy(proj, ttm_chain(N, t->dims, dtf_dense_tensor_data(t), 1, mats, r, scale, b0, b1),
             (size_t)size * sizeof(double));
    free(b0);
    free(b1);
    st = dtf_agree(g->comm, st);
    if (!st) st = dtf_allreduce_sum(g->comm, proj, size, NULL);
    for (int64_t k = 0; !st && k < size; k++) ip += proj[k] * (cs * m->core[k]);
    free(proj);
  } else { /* <X, M> over the stored entries */
    int64_t n = t->ops->entries(t), chunk = 4096;
    int64_t *inds = malloc((size_t)(chunk * N) * sizeof(int64_t));
    double *v = malloc((size_t)chunk * sizeof(double)), *x = malloc((size_t)chunk * sizeof(double));
    st = inds && v && x ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for the Tucker fit");
    for (int64_t k0 = 0; !st && k0 < n; k0 += chunk) {
      int64_t c = n - k0 < chunk ? n - k0 : chunk;
      t->ops->entries_get(t, k0, c, inds, v);
      predict_at(m, NULL, c, inds, x);
      for (int64_t k = 0; k < c; k++) ip += (scale * v[k]) * (cs * x[k]);
    }
    free(inds);
    free(v);
    free(x);
    st = dtf_agree(g->comm, st);
    if (!st) st = dtf_allreduce_sum(g->comm, &ip, 1, NULL);
  }
  if (!st) st = dtf_agree(g->comm, model_norm2(m, cs, &nm2));
  if (!st) {
    double nx2 = (norm * scale) * (norm * scale);
    *fit = dtf_fit_scaled(nx2, nm2, ip, K);
    if (!isfinite(*fit)) st = dtf_fit_not_finite(*fit);
  }
  return st;
}

typedef struct {
  int N;
  const int64_t *dims;
  double budget, best;
  double *tail[DTF_MAX_MODES]; /* tail[n][r]: the eigenvalues of mode n from index r on */
  int cur[DTF_MAX_MODES], *out;
} search_t;

/* modes k.. given the core product and factor sizes so far; acc: the tails so far */
static void search(search_t *z, int k, double core, double fac, double acc) {
  int N = z->N;
  double rest_fac = 0; /* the remaining modes at rank 1 */
  for (int j = k + 1; j < N; j++) rest_fac += (double)z->dims[j];
  if (k == N - 1) { /* the largest rank that fits */
    double room = z->budget - fac, per = core + (double)z->dims[k];
    int64_t R = (int64_t)floor(room / per);
    if (R > z->dims[k]) R = z->dims[k];
    if (R < 1) return;
    double v = acc + z->tail[k][R];
    if (v < z->best) {
      z->best = v;
      z->cur[k] = (int)R;
      memcpy(z->out, z->cur, (size_t)N * sizeof(int));
    }
    return;
  }
  /* the most rank k can take with the rest at 1 */
  double rest_core_min = 1;
  int64_t most = z->dims[k];
  while (most >= 1 && core * most * rest_core_min + fac + (double)z->dims[k] * most + rest_fac > z->budget)
    most--;
  for (int64_t R = most; R >= 1; R--) {
    double a = acc + z->tail[k][R];
    /* a lower bound on the rest: each remaining mode at the largest rank its factor alone allows */
    double lb = 0, room = z->budget - fac - (double)z->dims[k] * R - core * R;
    for (int j = k + 1; j < N; j++) {
      int64_t r = (int64_t)floor(room / (double)z->dims[j]);
      if (r > z->dims[j]) r = z->dims[j];
      if (r < 1) r = 1;
      lb += z->tail[j][r];
    }
    if (a + lb >= z->best) continue;
    z->cur[k] = (int)R;
    search(z, k + 1, core * R, fac + (double)z->dims[k] * R, a);
  }
}

double dtf_tucker_budget_shape(int N, const int64_t *dims, const double *const *eig, double budget,
                               int *ranks) {
  double smallest = 1;
  for (int n = 0; n < N; n++) smallest += (double)dims[n];
  if (budget < smallest) return -1;
  search_t z = {N, dims, budget, INFINITY, {0}, {0}, ranks};
  int ok = 1;
  for (int n = 0; n < N; n++) {
    z.tail[n] = malloc((size_t)(dims[n] + 1) * sizeof(double));
    if (!z.tail[n]) {
      ok = 0;
      continue;
    }
    z.tail[n][dims[n]] = 0;
    for (int64_t r = dims[n] - 1; r >= 0; r--) z.tail[n][r] = z.tail[n][r + 1] + fmax(0.0, eig[n][r]);
  }
  if (ok) search(&z, 0, 1.0, 0.0, 0.0);
  for (int n = 0; n < N; n++) free(z.tail[n]);
  return ok ? z.best : -1;
}

dtf_status dtf_tucker_parse_ranks(const char *text, int nmodes, const int64_t *dims, int *ranks) {
  int n = 0;
  const char *p = text;
  while (*p) {
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || v < 1 || (*end && *end != 'x'))
      return dtf_error(DTF_ERR_USAGE,
                       "--ranks '%s': each core rank must be a positive integer, as in 10x10x5", text);
    if (n == DTF_MAX_MODES)
      return dtf_error(DTF_ERR_USAGE, "--ranks '%s' has more than %d ranks", text, DTF_MAX_MODES);
    if (n < nmodes && (errno || v > dims[n])) /* the rank as typed, not strtol's clamped value */
      return dtf_error(DTF_ERR_USAGE, "--ranks '%s': rank %.*s of mode %d is larger than the mode (%lld)",
                       text, (int)(end - p), p, n + 1, (long long)dims[n]);
    if (errno || v > INT_MAX) /* a rank is an int: never truncated to a smaller one */
      return dtf_error(DTF_ERR_USAGE,
                       "--ranks '%s': rank %.*s of mode %d is above the largest core rank (%d)", text,
                       (int)(end - p), p, n + 1, INT_MAX);
    ranks[n++] = (int)v;
    p = *end ? end + 1 : end;
  }
  if (n != nmodes)
    return dtf_error(DTF_ERR_USAGE, "--ranks '%s' gives %d ranks; this tensor has %d modes", text, n, nmodes);
  return DTF_OK;
}

/* ---- the "tucker" model kind ---- */

static void tk_destroy(void *model) {
  if (!model) return;
  dtf_tucker_model_free(model);
  free(model);
}

static dtf_status tk_create(const dtf_grid_t *g, const dtf_state_t *h, const char *file, void **out,
                            dtf_state_t *fields) {
  *out = NULL;
  int ranks[DTF_MAX_MODES];
  dtf_status st = dtf_model_ranks_attr(h, "core_shape", g->nmodes, g->dims, 0, file, ranks);
  if (st) return st;
  double cells = 1;
  for (int n = 0; n < g->nmodes; n++) cells *= (double)ranks[n];
  if (cells > 1e10) return dtf_error(DTF_ERR_INPUT, "'%s': a core of %.3g entries is too large", file, cells);
  dtf_tucker_model_t *m = calloc(1, sizeof *m);
  if (!m) return dtf_error(DTF_ERR_INPUT, "out of memory");
  st = dtf_tucker_model_init(g, ranks, m);
  if (st) {
    free(m);
    return st;
  }
  dtf_model_progress(h, &m->fit, &m->iterations);
  dtf_state_init(fields, h->solver, "tucker", 0, g->nmodes, g->dims);
  dtf_tucker_model_describe(m, fields);
  *out = m;
  return DTF_OK;
}

static dtf_status tk_check(const dtf_grid_t *g, void *model, const char *file) {
  (void)g;
  dtf_tucker_model_t *m = model;
  int64_t bad = dtf_first_nonfinite(core_size(m->nmodes, m->ranks), m->core);
  if (bad >= 0)
    return dtf_error(DTF_ERR_NUMERIC, "model '%s' has the value %g in core (entry %lld): not a usable model",
                     file, m->core[bad], (long long)bad);
  for (int n = 0; n < m->nmodes; n++) {
    bad = dtf_first_nonfinite(m->dims[n] * m->ranks[n], m->factors[n]);
    if (bad >= 0)
      return dtf_error(DTF_ERR_NUMERIC,
                       "model '%s' has the value %g in factor_%d (row %lld, column %lld): not a usable model",
                       file, m->factors[n][bad], n, (long long)(bad / m->ranks[n]),
                       (long long)(bad % m->ranks[n]));
  }
  return DTF_OK;
}

static dtf_status tk_fit(const dtf_grid_t *g, dtf_tensor_t *t, const void *m, double *fit) {
  return dtf_tucker_fit(g, t, m, fit);
}

static void tk_predict(const void *m, int64_t count, const int64_t *inds, double *x) {
  dtf_tucker_model_predict(m, count, inds, x);
}

const dtf_model_ops_t dtf_tucker_model_ops = {"tucker", tk_create, tk_check, tk_fit, tk_predict, tk_destroy};

dtf_status dtf_tucker_parse_order(const char *text, int N, const int64_t *dims, dtf_tucker_options_t *o) {
  if (!strcmp(text, "auto")) {
    double key[DTF_MAX_MODES];
    for (int n = 0; n < N; n++) {
      key[n] = o->ranks[n] > 0 && !(o->tol > 0) && !(o->budget > 0) ? (double)dims[n] / o->ranks[n]
                                                                    : (double)dims[n];
      o->order[n] = n;
    }
    for (int a = 1; a < N; a++) /* stable insertion sort, largest key first */
      for (int b = a; b > 0 && key[o->order[b]] > key[o->order[b - 1]]; b--) {
        int t = o->order[b];
        o->order[b] = o->order[b - 1];
        o->order[b - 1] = t;
      }
    return DTF_OK;
  }
  int n = 0, seen = 0;
  const char *p = text;
  while (*p) {
    char *end;
    long v = strtol(p, &end, 10);
    if (end == p || v < 1 || v > N || (*end && *end != ',') || (seen >> (v - 1) & 1) || n == N)
      return dtf_error(DTF_ERR_USAGE, "--order '%s': expected auto or each of the modes 1..%d once, as in %s",
                       text, N, N == 3 ? "3,1,2" : "2,1,3,...");
    seen |= 1 << (v - 1);
    o->order[n++] = (int)v - 1;
    p = *end ? end + 1 : end;
  }
  if (n != N) return dtf_error(DTF_ERR_USAGE, "--order '%s' names %d modes; this tensor has %d", text, n, N);
  return DTF_OK;
}

int dtf_tucker_grid(int P, int N, const int64_t *dims, const int *order, int *pdims) {
  int f[64], nf = 0;
  for (int p = 2, q = P; q > 1 && nf < 64; p++)
    while (q % p == 0 && nf < 64) {
      f[nf++] = p;
      q /= p;
    }
  for (int n = 0; n < N; n++) pdims[n] = 1;
  for (int k = nf - 1; k >= 0; k--) { /* the largest factor first: to the mode of most indices per rank */
    int best = -1;                    /* ties to the mode truncated later */
    for (int j = 0; j < N; j++) {
      int n = order[j];
      if ((int64_t)pdims[n] * f[k] > dims[n]) continue;
      if (best < 0 || (double)dims[n] / pdims[n] >= (double)dims[best] / pdims[best]) best = n;
    }
    if (best < 0) return -1;
    pdims[best] *= f[k];
  }
  return 0;
}
