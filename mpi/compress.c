/* Compressed sums over a communicator (include/dtf/compress.h). Every rank ends with the
 * same result: the reductions are MPI's, the decoding of gathered messages goes in rank
 * order, and the random directions are regenerated, not sent. */
#include "dtf/compress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/kernels.h"
#include "dtf/rng.h"

struct dtf_compressor {
  dtf_compress_spec_t spec;
  MPI_Comm comm;
  int p, me;
  int64_t rows, d;
  int cols;
  uint64_t site;
  double *state; /* residual (powersgd, topk: d), then powersgd's Q (cols x R) */
  int64_t state_len;
  double *work;
  unsigned char *msg, *all; /* gathered messages */
  int64_t *order;
};

dtf_status dtf_compress_parse(const char *text, dtf_compress_spec_t *s) {
  memset(s, 0, sizeof *s);
  const char *colon = strchr(text, ':');
  size_t len = colon ? (size_t)(colon - text) : strlen(text);
  char *end = NULL;
  if (!strncmp(text, "none", len) && len == 4 && !colon) {
    s->kind = DTF_COMPRESS_NONE;
    return DTF_OK;
  }
  if (!strcmp(text, "auto")) {
    s->kind = DTF_COMPRESS_NONE;
    s->automatic = 1;
    return DTF_OK;
  }
  static const char *const bare[] = {"core", "powersgd", "topk", "qsgd"};
  for (int k = 0; k < 4 && !colon; k++)
    if (!strcmp(text, bare[k])) { /* no budget: the ladder's first rung */
      s->kind = (dtf_compress_kind_t)(DTF_COMPRESS_CORE + k);
      s->adaptive = 1;
      dtf_compress_at_level(s, 0, 1);
      return DTF_OK;
    }
  if (!colon || !colon[1])
    return dtf_error(
        DTF_ERR_USAGE,
        "--compress '%s': expected none, auto, core[:M], powersgd[:R], topk[:FRAC] or qsgd[:BITS]", text);
  const char *arg = colon + 1;
  if (len == 4 && !strncmp(text, "core", 4)) {
    long v = strtol(arg, &end, 10);
    if (*end || v < 1 || v > 1000000)
      return dtf_error(DTF_ERR_USAGE,
                       "--compress core:M needs M, the directions, from 1 to 1000000, not '%s'", arg);
    s->kind = DTF_COMPRESS_CORE;
    s->m = (int)v;
  } else if (len == 8 && !strncmp(text, "powersgd", 8)) {
    long v = strtol(arg, &end, 10);
    if (*end || v < 1 || v > 100000)
      return dtf_error(DTF_ERR_USAGE, "--compress powersgd:R needs the rank R from 1 to 100000, not '%s'",
                       arg);
    s->kind = DTF_COMPRESS_POWERSGD;
    s->m = (int)v;
  } else if (len == 4 && !strncmp(text, "topk", 4)) {
    double v = strtod(arg, &end);
    if (*end || !(v > 0 && v <= 1))
      return dtf_error(DTF_ERR_USAGE, "--compress topk:FRAC needs a fraction FRAC in (0, 1], not '%s'", arg);
    s->kind = DTF_COMPRESS_TOPK;
    s->frac = v;
  } else if (len == 4 && !strncmp(text, "qsgd", 4)) {
    long v = strtol(arg, &end, 10);
    if (*end || v < 1 || v > 16)
      return dtf_error(DTF_ERR_USAGE, "--compress qsgd:BITS needs BITS from 1 to 16, not '%s'", arg);
    s->kind = DTF_COMPRESS_QSGD;
    s->m = (int)v;
  } else
    return dtf_error(
        DTF_ERR_USAGE,
        "--compress '%s': unknown compressor; expected none, auto, core[:M], powersgd[:R], topk[:FRAC] "
        "or qsgd[:BITS]",
        text);
  return DTF_OK;
}

int dtf_compress_at_level(dtf_compress_spec_t *s, int level, int max_rank) {
  if (level < 0) return -1;
  switch (s->kind) {
  case DTF_COMPRESS_NONE: return level ? -1 : 0;
  case DTF_COMPRESS_CORE:
    if (level > 16) return -1;
    s->m = 8 << level;
    break;
  case DTF_COMPRESS_TOPK:
    if (level > 0 && 0.002 * ldexp(1.0, level - 1) >= 1) return -1;
    s->frac = fmin(1.0, 0.002 * ldexp(1.0, level));
    break;
  case DTF_COMPRESS_QSGD:
    if (level > 14) return -1;
    s->m = 2 + level;
    break;
  case DTF_COMPRESS_POWERSGD:
    if (level > 0 && 1 + level > max_rank) return -1;
    s->m = 1 + level;
    break;
  }
  s->level = level;
  return 0;
}

void dtf_compress_format(const dtf_compress_spec_t *s, char *buf, int size) {
  static const char *const name[] = {"none", "core", "powersgd", "topk", "qsgd"};
  if (s->automatic)
    snprintf(buf, (size_t)size, "auto");
  else if (s->adaptive)
    snprintf(buf, (size_t)size, "%s", name[s->kind]);
  else
    dtf_compress_format_budget(s, buf, size);
}

void dtf_compress_format_budget(const dtf_compress_spec_t *s, char *buf, int size) {
  switch (s->kind) {
  case DTF_COMPRESS_NONE: snprintf(buf, (size_t)size, "none"); break;
  case DTF_COMPRESS_CORE: snprintf(buf, (size_t)size, "core:%d", s->m); break;
  case DTF_COMPRESS_POWERSGD: snprintf(buf, (size_t)size, "powersgd:%d", s->m); break;
  case DTF_COMPRESS_TOPK: snprintf(buf, (size_t)size, "topk:%g", s->frac); break;
  case DTF_COMPRESS_QSGD: snprintf(buf, (size_t)size, "qsgd:%d", s->m); break;
  }
}

static int64_t topk_count(const dtf_compress_spec_t *s, int64_t d) {
  int64_t k = (int64_t)ceil(s->frac * (double)d);
  return k < 1 ? 1 : k > d ? d : k;
}

static int64_t qsgd_bytes(const dtf_compress_spec_t *s, int64_t d) { return 8 + (d * (s->m + 1) + 7) / 8; }

enum { PAIR = 12 }; /* a top-k pair: int32 index, double value */

/* the compressor's own bytes, whether or not they beat the plain allreduce */
static double own_bytes(const dtf_compress_spec_t *s, int p, int64_t rows, int cols) {
  double d = (double)rows * cols, ring = 2.0 * (p - 1) / p * 8.0;
  switch (s->kind) {
  case DTF_COMPRESS_NONE: return ring * d;
  case DTF_COMPRESS_CORE: return ring * s->m;
  case DTF_COMPRESS_POWERSGD: return ring * (double)(rows + cols) * s->m;
  case DTF_COMPRESS_TOPK: return (double)(p - 1) * (double)topk_count(s, (int64_t)d) * PAIR;
  case DTF_COMPRESS_QSGD: return (double)(p - 1) * (double)qsgd_bytes(s, (int64_t)d);
  }
  return 0;
}

/* a compressor that would send at least the plain allreduce's bytes (CORE with M >= the
 * block's size, say) sends the exact sum instead */
static int worth_it(const dtf_compress_spec_t *s, int p, int64_t rows, int cols) {
  return s->kind != DTF_COMPRESS_NONE && own_bytes(s, p, rows, cols) < 2.0 * (p - 1) / p * 8.0 * rows * cols;
}

double dtf_compress_bytes(const dtf_compress_spec_t *s, int p, int64_t rows, int cols, double *plain) {
  *plain = p > 1 ? 2.0 * (p - 1) / p * 8.0 * (double)rows * cols : 0;
  if (p == 1) return 0;
  return worth_it(s, p, rows, cols) ? own_bytes(s, p, rows, cols) : *plain;
}

dtf_status dtf_compressor_create(const dtf_compress_spec_t *spec, MPI_Comm comm, int64_t rows, int cols,
                                 uint64_t site, dtf_compressor_t **out) {
  *out = NULL;
  dtf_compressor_t *c = calloc(1, sizeof *c);
  if (!c) return dtf_error(DTF_ERR_INPUT, "out of memory");
  c->spec = *spec;
  c->comm = comm;
  MPI_Comm_size(comm, &c->p);
  MPI_Comm_rank(comm, &c->me);
  c->rows = rows;
  c->cols = cols;
  c->d = rows * cols;
  c->site = site;
  int64_t d = c->d > 0 ? c->d : 1, work = d, msg = 0;
  int r = spec->m;
  switch (spec->kind) {
  case DTF_COMPRESS_NONE: break;
  case DTF_COMPRESS_CORE:
    c->state_len = d;
    work = 2 * (int64_t)spec->m;
    break;
  case DTF_COMPRESS_POWERSGD:
    c->state_len = d + (int64_t)cols * r;
    work = d + (rows + cols) * (int64_t)r + (int64_t)cols * r;
    break;
  case DTF_COMPRESS_TOPK:
    c->state_len = d;
    msg = topk_count(spec, d) * PAIR;
    break;
  case DTF_COMPRESS_QSGD: msg = qsgd_bytes(spec, d); break;
  }
  c->state = calloc((size_t)(c->state_len ? c->state_len : 1), sizeof(double));
  c->work = malloc((size_t)work * sizeof(double));
  c->msg = malloc((size_t)(msg ? msg : 1));
  c->all = malloc((size_t)(msg ? msg : 1) * (size_t)c->p);
  c->order = spec->kind == DTF_COMPRESS_TOPK ? malloc((size_t)d * sizeof(int64_t)) : NULL;
  if (!c->state || !c->work || !c->msg || !c->all || (spec->kind == DTF_COMPRESS_TOPK && !c->order)) {
    dtf_compressor_free(c);
    return dtf_error(DTF_ERR_INPUT, "out of memory for a compressor");
  }
  if (spec->kind == DTF_COMPRESS_POWERSGD) /* the first Q: the same normal draws on every rank */
    for (int64_t i = 0; i < (int64_t)cols * r; i++)
      c->state[d + i] = dtf_rng_normal(spec->seed, DTF_STREAM_COMPRESS, site, (uint64_t)i);
  *out = c;
  return DTF_OK;
}

void dtf_compressor_free(dtf_compressor_t *c) {
  if (!c) return;
  free(c->state);
  free(c->work);
  free(c->msg);
  free(c->all);
  free(c->order);
  free(c);
}

dtf_status dtf_compressor_rebudget(dtf_compressor_t *c, const dtf_compress_spec_t *spec) {
  dtf_compressor_t *n;
  dtf_status st = dtf_compressor_create(spec, c->comm, c->rows, c->cols, c->site, &n);
  if (st) return st;
  int64_t d = c->d > 0 ? c->d : 1, keep = c->state_len < n->state_len ? c->state_len : n->state_len;
  if (keep > d) keep = d;
  memcpy(n->state, c->state, (size_t)keep * sizeof(double)); /* the residual */
  if (spec->kind == DTF_COMPRESS_POWERSGD) {                 /* Q's columns kept, new ones drawn */
    int a = c->spec.m < spec->m ? c->spec.m : spec->m;
    for (int64_t i = 0; i < c->cols; i++)
      for (int r = 0; r < a; r++) n->state[d + i * spec->m + r] = c->state[d + i * c->spec.m + r];
  }
  dtf_compressor_t old = *c;
  *c = *n;
  *n = old;
  dtf_compressor_free(n);
  return DTF_OK;
}

double *dtf_compressor_state(dtf_compressor_t *c, int64_t *len) {
  *len = c->state_len;
  return c->state;
}

/* the key of this call's draws: (step, site) */
static uint64_t call_key(const dtf_compressor_t *c, uint64_t step) { return step * 1000003ULL + c->site; }

/* direction j's entries: +-1 from one 64-bit draw per 64 entries; out += sign * a_j, and
 * (local) e -= sign * b_j, in one pass over the draws */
static void core_rebuild(const dtf_compressor_t *c, uint64_t key, const double *a, const double *b,
                         double *out, double *e) {
  int64_t d = c->d;
  for (int j = 0; j < c->spec.m; j++)
    for (int64_t i0 = 0; i0 < d; i0 += 64) {
      uint64_t bits =
          dtf_rng_u64(c->spec.seed, DTF_STREAM_COMPRESS, key * 65536 + (uint64_t)j, (uint64_t)(i0 / 64));
      int64_t n = d - i0 < 64 ? d - i0 : 64;
      for (int64_t k = 0; k < n; k++) {
        double sign = (bits >> k & 1) ? 1.0 : -1.0;
        out[i0 + k] += sign * a[j];
        e[i0 + k] -= sign * b[j];
      }
    }
}

/* CORE with error feedback: v = x + e, its M projections summed over the ranks, the sum
 * rebuilt as gamma (1/M) sum_j xi_j <xi_j, sum v> and e = v - gamma (1/M) sum_j xi_j
 * <xi_j, v>. gamma = M / (d + M - 1) minimises E |v - gamma C v|^2 = (1 - gamma) |v|^2
 * (C v the unbiased rebuild, E |C v|^2 = (1 + (d - 1) / M) |v|^2): a contraction, so the
 * residual stays bounded, where the unbiased rebuild's error (d - 1) / M |v|^2 does not
 * shrink and feeding it back diverges. */
static void core_sum(dtf_compressor_t *c, const double *x, double *out, uint64_t step,
                     dtf_comm_stats_t *stats, dtf_status *st) {
  int M = c->spec.m;
  int64_t d = c->d;
  double *e = c->state, *sum = c->work, *own = c->work + M, gamma = M / ((double)d + M - 1);
  uint64_t key = call_key(c, step);
  for (int64_t i = 0; i < d; i++) e[i] += x[i]; /* v */
  for (int j = 0; j < M; j++) {
    double s = 0;
    for (int64_t i0 = 0; i0 < d; i0 += 64) {
      uint64_t bits =
          dtf_rng_u64(c->spec.seed, DTF_STREAM_COMPRESS, key * 65536 + (uint64_t)j, (uint64_t)(i0 / 64));
      int64_t n = d - i0 < 64 ? d - i0 : 64;
      for (int64_t b = 0; b < n; b++) s += (bits >> b & 1) ? e[i0 + b] : -e[i0 + b];
    }
    sum[j] = own[j] = s;
  }
  *st = dtf_allreduce_sum(c->comm, sum, M, stats);
  if (*st) return;
  for (int j = 0; j < M; j++) {
    sum[j] *= gamma / M;
    own[j] *= gamma / M;
  }
  memset(out, 0, (size_t)d * sizeof(double));
  core_rebuild(c, key, sum, own, out, e);
}

/* orthonormal columns of P (rows x r), in place (modified Gram-Schmidt; a column that
 * vanishes stays zero) */
static void orthonormalize(int64_t rows, int r, double *P) {
  for (int a = 0; a < r; a++) {
    for (int b = 0; b < a; b++) {
      double dot = 0;
      for (int64_t i = 0; i < rows; i++) dot += P[i * r + a] * P[i * r + b];
      for (int64_t i = 0; i < rows; i++) P[i * r + a] -= dot * P[i * r + b];
    }
    double nrm = 0;
    for (int64_t i = 0; i < rows; i++) nrm += P[i * r + a] * P[i * r + a];
    nrm = sqrt(nrm);
    for (int64_t i = 0; i < rows; i++) P[i * r + a] = nrm > 1e-300 ? P[i * r + a] / nrm : 0.0;
  }
}

static void powersgd_sum(dtf_compressor_t *c, const double *x, double *out, dtf_comm_stats_t *stats,
                         dtf_status *st) {
  int r = c->spec.m, cols = c->cols;
  int64_t rows = c->rows, d = c->d;
  double *E = c->state, *Q = c->state + d, *M = c->work, *P = M + d, *Ql = P + rows * r;
  for (int64_t i = 0; i < d; i++) M[i] = x[i] + E[i];
  dtf_matmul(0, 0, rows, r, cols, M, Q, P); /* P = M Q */
  if ((*st = dtf_allreduce_sum(c->comm, P, rows * r, stats))) return;
  orthonormalize(rows, r, P);
  dtf_matmul(1, 0, cols, r, rows, M, P, Ql); /* Q_local = M^T P */
  memcpy(Q, Ql, (size_t)cols * r * sizeof(double));
  if ((*st = dtf_allreduce_sum(c->comm, Q, (int64_t)cols * r, stats))) return;
  dtf_matmul(0, 1, rows, cols, r, P, Q, out); /* the sum's approximation P Q^T */
  dtf_matmul(0, 1, rows, cols, r, P, Ql, E);  /* what this rank's part sent: P Q_local^T */
  for (int64_t i = 0; i < d; i++) E[i] = M[i] - E[i];
}

/* largest |v| first; equal ones by index, so every run picks the same */
static const double *sort_v;
static int by_magnitude(const void *a, const void *b) {
  int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
  double x = fabs(sort_v[i]), y = fabs(sort_v[j]);
  return x > y ? -1 : x < y ? 1 : (i > j) - (i < j);
}

static void topk_sum(dtf_compressor_t *c, const double *x, double *out, dtf_comm_stats_t *stats,
                     dtf_status *st) {
  int64_t d = c->d, k = topk_count(&c->spec, d);
  double *v = c->state;
  for (int64_t i = 0; i < d; i++) {
    v[i] += x[i];
    c->order[i] = i;
  }
  sort_v = v;
  qsort(c->order, (size_t)d, sizeof(int64_t), by_magnitude);
  for (int64_t j = 0; j < k; j++) {
    int32_t idx = (int32_t)c->order[j];
    memcpy(c->msg + j * PAIR, &idx, 4);
    memcpy(c->msg + j * PAIR + 4, &v[idx], 8);
    v[idx] = 0.0; /* sent: what stays is the residual */
  }
  if ((*st = dtf_allgather_bytes(c->comm, c->msg, (int)(k * PAIR), c->all, stats))) return;
  memset(out, 0, (size_t)d * sizeof(double));
  for (int q = 0; q < c->p; q++)
    for (int64_t j = 0; j < k; j++) {
      int32_t idx;
      double val;
      memcpy(&idx, c->all + ((int64_t)q * k + j) * PAIR, 4);
      memcpy(&val, c->all + ((int64_t)q * k + j) * PAIR + 4, 8);
      out[idx] += val;
    }
}

static void qsgd_sum(dtf_compressor_t *c, const double *x, double *out, uint64_t step,
                     dtf_comm_stats_t *stats, dtf_status *st) {
  int b = c->spec.m, w = b + 1;
  int64_t d = c->d, nb = qsgd_bytes(&c->spec, d);
  double s = ldexp(1.0, b) - 1, nrm = dtf_norm(d, x);
  uint64_t key = call_key(c, step) * 4096 + (uint64_t)c->me;
  memset(c->msg, 0, (size_t)nb);
  memcpy(c->msg, &nrm, 8);
  unsigned char *codes = c->msg + 8;
  for (int64_t i = 0; i < d && nrm > 0; i++) {
    double r = s * fabs(x[i]) / nrm, l = floor(r);
    uint64_t level =
        (uint64_t)l + (dtf_rng_uniform(c->spec.seed, DTF_STREAM_COMPRESS, key, (uint64_t)i) < r - l);
    uint64_t code = level | (x[i] < 0 ? (uint64_t)1 << b : 0);
    for (int k = 0; k < w; k++) /* bit k of the code at bit i w + k of the stream */
      if (code >> k & 1) codes[(i * w + k) / 8] |= (unsigned char)(1u << ((i * w + k) % 8));
  }
  if ((*st = dtf_allgather_bytes(c->comm, c->msg, (int)nb, c->all, stats))) return;
  memset(out, 0, (size_t)d * sizeof(double));
  for (int q = 0; q < c->p; q++) {
    const unsigned char *m = c->all + (int64_t)q * nb;
    double qn;
    memcpy(&qn, m, 8);
    for (int64_t i = 0; i < d && qn > 0; i++) {
      uint64_t code = 0;
      for (int k = 0; k < w; k++) code |= (uint64_t)(m[8 + (i * w + k) / 8] >> ((i * w + k) % 8) & 1) << k;
      double level = (double)(code & (((uint64_t)1 << b) - 1));
      out[i] += (code >> b & 1 ? -1.0 : 1.0) * qn * level / s;
    }
  }
}

dtf_status dtf_compressed_sum(dtf_compressor_t *c, const double *x, double *out, uint64_t step,
                              dtf_comm_stats_t *stats) {
  dtf_status st = DTF_OK;
  if (c->p == 1 || c->d == 0) { /* nothing to exchange */
    if (out != x) memcpy(out, x, (size_t)c->d * sizeof(double));
    return DTF_OK;
  }
  uint64_t sent0 = stats ? stats->bytes_sent : 0;
  dtf_compress_kind_t kind = worth_it(&c->spec, c->p, c->rows, c->cols) ? c->spec.kind : DTF_COMPRESS_NONE;
  switch (kind) {
  case DTF_COMPRESS_NONE:
    if (out != x) memcpy(out, x, (size_t)c->d * sizeof(double));
    st = dtf_allreduce_sum(c->comm, out, c->d, stats);
    break;
  case DTF_COMPRESS_CORE: core_sum(c, x, out, step, stats, &st); break;
  case DTF_COMPRESS_POWERSGD: powersgd_sum(c, x, out, stats, &st); break;
  case DTF_COMPRESS_TOPK: topk_sum(c, x, out, stats, &st); break;
  case DTF_COMPRESS_QSGD: qsgd_sum(c, x, out, step, stats, &st); break;
  }
  if (stats && kind != DTF_COMPRESS_NONE) { /* what the plain allreduce would have sent */
    double plain;
    dtf_compress_bytes(&c->spec, c->p, c->rows, c->cols, &plain);
    stats->bytes_uncompressed =
        (uint64_t)((double)stats->bytes_uncompressed - (double)(stats->bytes_sent - sent0) + plain);
  }
  return st;
}
