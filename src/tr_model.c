/* The distributed tensor-ring model: allocation, its manifest (cores in the file layout
 * R_n x I_n x R_{n+1}), prediction, fit against a tensor, and the "tr" model kind of
 * dtf_model_kind. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/comm.h"
#include "dtf/kernels.h"
#include "dtf/memory.h"
#include "dtf/model.h"
#include "dtf/tr.h"

dtf_status dtf_tr_model_init(const dtf_grid_t *g, const int *ranks, dtf_tr_model_t *m) {
  memset(m, 0, sizeof *m);
  int N = g->nmodes;
  m->nmodes = N;
  memcpy(m->dims, g->dims, sizeof m->dims);
  for (int n = 0; n < N; n++) {
    if (ranks[n] < 1)
      return dtf_error(DTF_ERR_USAGE, "bond rank %d is %d; every bond needs at least 1", n + 1, ranks[n]);
    m->ranks[n] = ranks[n];
  }
  dtf_status st = DTF_OK;
  for (int n = 0; !st && n < N; n++) {
    int D = ranks[n] * ranks[(n + 1) % N];
    st = dtf_factor_init(g, n, D, &m->cores[n]);
    if (st) break;
    m->file[n] =
        dtf_alloc_large((size_t)((m->cores[n].block_len ? m->cores[n].block_len : 1) * D) * sizeof(double));
    if (!m->file[n]) st = dtf_error(DTF_ERR_INPUT, "out of memory for the tensor-ring cores");
  }
  if (st) dtf_tr_model_free(m);
  return st;
}

void dtf_tr_model_free(dtf_tr_model_t *m) {
  for (int n = 0; n < m->nmodes; n++) {
    if (m->cores[n].block) dtf_factor_free(&m->cores[n]);
    free(m->file[n]);
    m->file[n] = NULL;
  }
}

void dtf_tr_model_describe(dtf_tr_model_t *m, double unscale, dtf_state_t *s) {
  int N = m->nmodes;
  int64_t r[DTF_MAX_MODES] = {0};
  for (int n = 0; n < N; n++) r[n] = m->ranks[n];
  dtf_state_ints(s, "bond_ranks", DTF_ATTR_OPTION, "--ranks", r, N);
  dtf_state_real(s, "fit", DTF_ATTR_STATE, NULL, m->fit);
  dtf_state_int(s, "iterations", DTF_ATTR_STATE, NULL, m->iterations);
  for (int n = 0; n < N; n++) {
    const dtf_factor_t *f = &m->cores[n];
    int Ra = m->ranks[n], Rb = m->ranks[(n + 1) % N];
    int64_t L = f->block_len;
    double k = n == 0 ? unscale : 1.0;
    for (int64_t i = 0; i < L; i++) /* [i][a][b] -> [a][i][b] */
      for (int a = 0; a < Ra; a++)
        for (int b = 0; b < Rb; b++)
          m->file[n][((int64_t)a * L + i) * Rb + b] = k * f->block[(i * Ra + a) * Rb + b];
    char name[32];
    snprintf(name, sizeof name, "core_%d", n);
    dtf_state_rows3(s, name, Ra, f->rows, Rb, f->block_start, L, f->own_start, f->own_len, m->file[n]);
  }
}

void dtf_tr_model_from_file(dtf_tr_model_t *m) {
  int N = m->nmodes;
  for (int n = 0; n < N; n++) {
    dtf_factor_t *f = &m->cores[n];
    int Ra = m->ranks[n], Rb = m->ranks[(n + 1) % N];
    int64_t L = f->block_len;
    for (int64_t i = 0; i < L; i++)
      for (int a = 0; a < Ra; a++)
        for (int b = 0; b < Rb; b++)
          f->block[(i * Ra + a) * Rb + b] = m->file[n][((int64_t)a * L + i) * Rb + b];
  }
}

/* room for one design row and its products */
static int64_t design_work(const dtf_tr_model_t *m) {
  int R = 1;
  for (int n = 0; n < m->nmodes; n++)
    if (m->ranks[n] > R) R = m->ranks[n];
  return (int64_t)R * R * 3;
}

void dtf_tr_model_predict(const dtf_tr_model_t *m, int64_t count, const int64_t *inds, double *x) {
  int N = m->nmodes;
  int64_t D = (int64_t)m->ranks[0] * m->ranks[1 % N];
  const double *C[DTF_MAX_MODES];
  for (int n = 0; n < N; n++) C[n] = m->cores[n].block;
  double *work = malloc((size_t)design_work(m) * sizeof(double));
  if (!work) { /* the caller's output stays defined */
    for (int64_t k = 0; k < count; k++) x[k] = NAN;
    return;
  }
  for (int64_t k = 0; k < count; k++) {
    const int64_t *ix = inds + k * N;
    dtf_tr_design(N, 0, m->ranks, C, ix, work, work + D);
    const double *g = C[0] + ix[0] * D;
    double s = 0;
    for (int64_t j = 0; j < D; j++) s += g[j] * work[j];
    x[k] = s;
  }
  free(work);
}

/* Transfer matrices of every core, core 0 times 2^-e0, over all ranks (each rank adds its
 * owned rows), into G[n] (R_n^2 x R_{n+1}^2, n-th block of buf). Collective. */
static dtf_status transfers(const dtf_grid_t *g, const dtf_tr_model_t *m, int e0, double *buf, double **G,
                            dtf_comm_stats_t *stats) {
  int N = m->nmodes;
  int64_t off = 0, most = 1, rows0 = m->cores[0].own_len * m->cores[0].R;
  for (int n = 0; n < N; n++) {
    int64_t D = (int64_t)m->ranks[n] * m->ranks[(n + 1) % N];
    if (D * D > most) most = D * D;
  }
  double *work = malloc((size_t)most * sizeof(double)), *c0 = malloc((size_t)(rows0 + 1) * sizeof(double));
  dtf_status st = work && c0 ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory");
  for (int n = 0; !st && n < N; n++) {
    const dtf_factor_t *f = &m->cores[n];
    const double *rows = dtf_factor_owned(f);
    int Ra = m->ranks[n], Rb = m->ranks[(n + 1) % N];
    if (n == 0) {
      for (int64_t i = 0; i < rows0; i++) c0[i] = ldexp(rows[i], -e0);
      rows = c0;
    }
    G[n] = buf + off;
    dtf_tr_transfer(f->own_len, Ra, Rb, rows, G[n], work);
    off += (int64_t)Ra * Ra * Rb * Rb;
  }
  free(work);
  free(c0);
  st = dtf_agree(g->comm, st);
  return st ? st : dtf_allreduce_sum(g->comm, buf, off, stats);
}

int64_t dtf_tr_transfer_size(const dtf_tr_model_t *m) {
  int64_t t = 0;
  for (int n = 0; n < m->nmodes; n++) {
    int64_t D = (int64_t)m->ranks[n] * m->ranks[(n + 1) % m->nmodes];
    t += D * D;
  }
  return t;
}

dtf_status dtf_tr_fit(const dtf_grid_t *g, dtf_tensor_t *t, const dtf_tr_model_t *m, double *fit) {
  int N = m->nmodes;
  int64_t D = (int64_t)m->ranks[0] * m->ranks[1 % N], L = m->cores[0].block_len;
  double *buf = malloc((size_t)(dtf_tr_transfer_size(m) + 1) * sizeof(double));
  double *mloc = malloc((size_t)(L * D + 1) * sizeof(double));
  double *work = malloc((size_t)dtf_tr_gram_work(N, m->ranks) * sizeof(double));
  double norm = 0, ip = 0, most = 0;
  double *G[DTF_MAX_MODES];
  dtf_status st = buf && mloc && work ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory");
  st = dtf_agree(g->comm, st);
  if (!st) st = dtf_tensor_norm(g, t, &norm);
  if (!st && !(norm > 0.0)) st = dtf_error(DTF_ERR_INPUT, "the tensor is all zeros: the fit is undefined");
  /* X' = scale X, and M' with core 0 over 2^e0 (core 0 carries a model's scale), near 1:
   * scale M = 2^K M' */
  for (int64_t j = 0; j < L * D; j++) most = fmax(most, fabs(m->cores[0].block[j]));
  if (!st) st = dtf_allreduce(g->comm, &most, 1, MPI_DOUBLE, MPI_MAX, NULL);
  double scale = dtf_pow2_scale(norm);
  int e0 = dtf_pow2_exponent(most), K = e0 - dtf_pow2_exponent(norm);
  if (!st) {
    const double *C[DTF_MAX_MODES];
    for (int n = 0; n < N; n++) C[n] = m->cores[n].block;
    st = t->ops->tr_contract(t, 0, C, m->ranks, mloc);
    /* <X', M'>: each rank's block, summed over the ranks */
    for (int64_t j = 0; !st && j < L * D; j++) ip += (mloc[j] * scale) * ldexp(C[0][j], -e0);
    st = dtf_agree(g->comm, st);
  }
  if (!st) st = transfers(g, m, e0, buf, G, NULL);
  if (!st) st = dtf_allreduce_sum(g->comm, &ip, 1, NULL);
  if (!st) {
    const double *Gc[DTF_MAX_MODES];
    for (int n = 0; n < N; n++) Gc[n] = G[n];
    double nm2 = dtf_tr_norm2(N, m->ranks, Gc, work), nx2 = (norm * scale) * (norm * scale);
    *fit = dtf_fit_scaled(nx2, nm2, ip, K);
    if (!isfinite(*fit)) st = dtf_fit_not_finite(*fit);
  }
  free(buf);
  free(mloc);
  free(work);
  return st;
}

dtf_status dtf_tr_parse_ranks(const char *text, int nmodes, int *ranks) {
  int n = 0;
  const char *p = text;
  while (*p) {
    char *end;
    long v = strtol(p, &end, 10);
    if (end == p || v < 1 || v > 100000 || (*end && *end != 'x'))
      return dtf_error(DTF_ERR_USAGE,
                       "--ranks '%s': each bond rank must be an integer from 1 to 100000, as in 4x4x4", text);
    if (n == DTF_MAX_MODES)
      return dtf_error(DTF_ERR_USAGE, "--ranks '%s' has more than %d bonds", text, DTF_MAX_MODES);
    ranks[n++] = (int)v;
    p = *end ? end + 1 : end;
  }
  if (n != nmodes)
    return dtf_error(DTF_ERR_USAGE, "--ranks '%s' gives %d bond ranks; this %d-mode tensor has %d bonds",
                     text, n, nmodes, nmodes);
  return DTF_OK;
}

/* ---- the "tr" model kind ---- */

/* A ring read from a file: a model file's cores (core_n), or a checkpoint's as its solver
 * holds them (core_rows_n), of the tensor times model_scale (TR-ALS works on X scaled to
 * unit norm; docs/formats.md). */
typedef struct {
  dtf_tr_model_t m; /* first: the kind's functions take the model as a dtf_tr_model_t */
  int by_rows;
  double unscale; /* core 0 times this is in the tensor's units */
} tr_read_t;

static void tr_destroy(void *model) {
  if (!model) return;
  dtf_tr_model_free(model);
  free(model);
}

/* 1 / model_scale of a checkpoint's cores by rows (TR-ALS checkpoints of 0.1.0 lack the
 * attribute: their scale is the power of two of the input's norm) */
static dtf_status unscale_of(const dtf_state_t *h, const char *file, double *unscale) {
  double k = 1;
  if (dtf_state_attr(h, "model_scale")) {
    if (dtf_state_get_real(h, "model_scale", &k) || !(k > 0) || !isfinite(k) || !isfinite(1 / k))
      return dtf_error(DTF_ERR_INPUT, "checkpoint '%s': attribute 'model_scale' is missing or invalid", file);
  } else if (!strncmp(h->solver, "tr-als", 6) && h->have_input && h->input.norm > 0)
    k = dtf_pow2_scale(h->input.norm);
  *unscale = 1 / k;
  return DTF_OK;
}

static dtf_status tr_create(const dtf_grid_t *g, const dtf_state_t *h, const char *file, void **out,
                            dtf_state_t *fields) {
  *out = NULL;
  int ranks[DTF_MAX_MODES];
  int by_rows = !dtf_state_field(h, "core_0") && dtf_state_field(h, "core_rows_0");
  double unscale = 1;
  dtf_status st = dtf_model_ranks_attr(h, "bond_ranks", g->nmodes, NULL, 100000, file, ranks);
  if (!st && by_rows) st = unscale_of(h, file, &unscale);
  if (st) return st;
  tr_read_t *r = calloc(1, sizeof *r);
  if (!r) return dtf_error(DTF_ERR_INPUT, "out of memory");
  dtf_tr_model_t *m = &r->m;
  st = dtf_tr_model_init(g, ranks, m);
  if (st) {
    free(r);
    return st;
  }
  r->by_rows = by_rows;
  r->unscale = unscale;
  dtf_model_progress(h, &m->fit, &m->iterations);
  dtf_state_init(fields, h->solver, "tr", 0, g->nmodes, g->dims);
  if (!by_rows)
    dtf_tr_model_describe(m, 1.0, fields);
  else
    for (int n = 0; n < g->nmodes; n++) {
      dtf_factor_t *f = &m->cores[n];
      char name[32];
      snprintf(name, sizeof name, "core_rows_%d", n);
      dtf_state_rows(fields, name, f->rows, f->R, f->block_start, f->block_len, f->own_start, f->own_len,
                     f->block);
    }
  *out = r;
  return DTF_OK;
}

static dtf_status tr_check(const dtf_grid_t *g, void *model, const char *file) {
  tr_read_t *r = model;
  dtf_tr_model_t *m = &r->m;
  if (!r->by_rows) dtf_tr_model_from_file(m);
  for (int64_t i = 0; r->unscale != 1 && i < m->cores[0].block_len * m->cores[0].R; i++)
    m->cores[0].block[i] *= r->unscale;
  dtf_status st = DTF_OK;
  for (int n = 0; !st && n < m->nmodes; n++) {
    const dtf_factor_t *f = &m->cores[n];
    int64_t bad = dtf_first_nonfinite(f->own_len * f->R, dtf_factor_owned(f));
    if (bad >= 0)
      st = dtf_error(DTF_ERR_NUMERIC,
                     "model '%s' has the value %g in %s_%d (index %lld of mode %d): not a usable model", file,
                     dtf_factor_owned(f)[bad], r->by_rows ? "core_rows" : "core", n,
                     (long long)(f->own_start + bad / f->R), n + 1);
  }
  return dtf_agree(g->comm, st);
}

static dtf_status tr_fit(const dtf_grid_t *g, dtf_tensor_t *t, const void *m, double *fit) {
  return dtf_tr_fit(g, t, m, fit);
}

static void tr_predict(const void *m, int64_t count, const int64_t *inds, double *x) {
  dtf_tr_model_predict(m, count, inds, x);
}

const dtf_model_ops_t dtf_tr_model_ops = {"tr", tr_create, tr_check, tr_fit, tr_predict, tr_destroy};
