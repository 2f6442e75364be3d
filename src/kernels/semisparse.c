/* The semi-sparse tensor of sparse Tucker (semisparse.h): records of keys and values, their
 * groups, a group's Gram rows and n-mode product, HOOI's products in every mode but one. */
#include <stdlib.h>
#include <string.h>

#include "dtf/kernels.h"
#include "dtf/memory.h"
#include "dtf/semisparse.h"
#include "dtf/sort.h"

/* a record's values: its words past the keys, as doubles (copied: the words are int64) */
static void get_values(const dtf_semi_t *s, const int64_t *rec, double *z) {
  memcpy(z, rec + s->nk, (size_t)s->P * sizeof(double));
}

void dtf_semi_free(dtf_semi_t *s) {
  free(s->rec);
  s->rec = NULL;
  s->n = 0;
}

static dtf_status alloc_records(dtf_semi_t *s, int64_t n) {
  s->rec = dtf_alloc_large((size_t)((n ? n : 1) * dtf_semi_width(s)) * sizeof(int64_t));
  s->n = s->rec ? n : 0;
  return s->rec ? DTF_OK
                : dtf_error(DTF_ERR_INPUT, "out of memory for %lld records of %lld values", (long long)n,
                            (long long)s->P);
}

dtf_status dtf_semi_from_entries(int N, int64_t nnz, const int64_t *inds, const double *vals, double scale,
                                 dtf_semi_t *out) {
  memset(out, 0, sizeof *out);
  out->nk = N;
  for (int m = 0; m < N; m++) out->key[m] = m;
  out->P = 1;
  dtf_status st = alloc_records(out, nnz);
  for (int64_t k = 0; !st && k < nnz; k++) {
    int64_t *r = out->rec + k * (N + 1);
    memcpy(r, inds + k * N, (size_t)N * sizeof(int64_t));
    double v = scale * vals[k];
    memcpy(r + N, &v, sizeof v);
  }
  return st;
}

void dtf_semi_key_last(dtf_semi_t *s, int mode) {
  int at = 0;
  while (at < s->nk && s->key[at] != mode) at++;
  if (at >= s->nk - 1) return;
  int64_t W = dtf_semi_width(s);
  for (int64_t k = 0; k < s->n; k++) {
    int64_t *r = s->rec + k * W, v = r[at];
    memmove(r + at, r + at + 1, (size_t)(s->nk - 1 - at) * sizeof(int64_t));
    r[s->nk - 1] = v;
  }
  memmove(s->key + at, s->key + at + 1, (size_t)(s->nk - 1 - at) * sizeof(int));
  s->key[s->nk - 1] = mode;
}

uint64_t dtf_semi_group_hash(const dtf_semi_t *s, const int64_t *rec) {
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (int k = 0; k < s->nk - 1; k++) { /* splitmix64 of the running value and each key */
    uint64_t z = h + (uint64_t)rec[k] * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    h = z ^ (z >> 31);
  }
  return h;
}

/* records a and b agree in their first `keys` keys */
static int same_keys(const int64_t *a, const int64_t *b, int keys) {
  for (int k = 0; k < keys; k++)
    if (a[k] != b[k]) return 0;
  return 1;
}

dtf_status dtf_semi_sort_merge(dtf_semi_t *s) {
  int64_t W = dtf_semi_width(s);
  dtf_status st = dtf_sort_tuples(s->rec, s->n, (int)W, s->nk);
  if (st || s->n == 0) return st;
  double *a = malloc((size_t)s->P * 2 * sizeof(double));
  if (!a) return dtf_error(DTF_ERR_INPUT, "out of memory merging records");
  double *b = a + s->P;
  int64_t kept = 1;
  for (int64_t k = 1; k < s->n; k++) {
    int64_t *last = s->rec + (kept - 1) * W, *r = s->rec + k * W;
    if (same_keys(last, r, s->nk)) {
      get_values(s, last, a);
      get_values(s, r, b);
      for (int64_t p = 0; p < s->P; p++) a[p] += b[p];
      memcpy(last + s->nk, a, (size_t)s->P * sizeof(double));
    } else {
      if (kept != k) memcpy(s->rec + kept * W, r, (size_t)W * sizeof(int64_t));
      kept++;
    }
  }
  s->n = kept;
  free(a);
  return DTF_OK;
}

/* the end of the group that starts at record k */
static int64_t group_end(const dtf_semi_t *s, int64_t k) {
  int64_t W = dtf_semi_width(s), e = k + 1;
  while (e < s->n && same_keys(s->rec + k * W, s->rec + e * W, s->nk - 1)) e++;
  return e;
}

/* the largest group's records */
static int64_t largest_group(const dtf_semi_t *s) {
  int64_t most = 0;
  for (int64_t k = 0; k < s->n;) {
    int64_t e = group_end(s, k);
    if (e - k > most) most = e - k;
    k = e;
  }
  return most;
}

dtf_status dtf_semi_gram_rows(const dtf_semi_t *s, int64_t I, int64_t off, int64_t L, double *rows) {
  int64_t W = dtf_semi_width(s), P = s->P, most = largest_group(s);
  (void)I;
  double *Z = malloc((size_t)(most * P + 1) * sizeof(double)),
         *C = malloc((size_t)(most * most + 1) * sizeof(double));
  int64_t *idx = malloc((size_t)(most + 1) * sizeof(int64_t));
  if (!Z || !C || !idx) {
    free(Z);
    free(C);
    free(idx);
    return dtf_error(DTF_ERR_INPUT, "out of memory for a group of %lld records", (long long)most);
  }
  for (int64_t k = 0; k < s->n;) {
    int64_t e = group_end(s, k), g = e - k, first = -1, own = 0;
    for (int64_t a = 0; a < g; a++) { /* the group's values (by row index, ascending) */
      const int64_t *r = s->rec + (k + a) * W;
      idx[a] = r[s->nk - 1];
      get_values(s, r, Z + a * P);
      if (idx[a] >= off && idx[a] < off + L) {
        if (first < 0) first = a;
        own++;
      }
    }
    if (own) { /* C (own x g) = Z_own Z^T, into the rows */
      memset(C, 0, (size_t)(own * g) * sizeof(double));
      dtf_gemm_acc(0, 1, own, g, P, 1.0, Z + first * P, P, Z, P, C, g);
      for (int64_t a = 0; a < own; a++) {
        double *row = rows + (idx[first + a] - off) * I;
        for (int64_t b = 0; b < g; b++) row[idx[b]] += C[a * g + b];
      }
    }
    k = e;
  }
  free(Z);
  free(C);
  free(idx);
  return DTF_OK;
}

dtf_status dtf_semi_ttm(const dtf_semi_t *s, const double *U, int R,
                        int (*keep)(const int64_t *rec, void *ctx), void *ctx, dtf_semi_t *out) {
  int64_t W = dtf_semi_width(s), P = s->P, groups = 0, most = largest_group(s);
  for (int64_t k = 0; k < s->n; k = group_end(s, k))
    if (!keep || keep(s->rec + k * W, ctx)) groups++;
  memset(out, 0, sizeof *out);
  out->nk = s->nk - 1;
  memcpy(out->key, s->key, sizeof out->key);
  out->nd = s->nd + 1;
  memcpy(out->dmode, s->dmode, sizeof out->dmode);
  memcpy(out->drank, s->drank, sizeof out->drank);
  out->dmode[s->nd] = s->key[s->nk - 1];
  out->drank[s->nd] = R;
  out->P = P * R;
  dtf_status st = alloc_records(out, groups);
  double *Z = malloc((size_t)(most * P + 1) * sizeof(double)),
         *Ur = malloc((size_t)(most * R + 1) * sizeof(double)), *y = malloc((size_t)(P * R) * sizeof(double));
  if (!st && (!Z || !Ur || !y)) st = dtf_error(DTF_ERR_INPUT, "out of memory for an n-mode product");
  int64_t o = 0, Wo = dtf_semi_width(out);
  for (int64_t k = 0; !st && k < s->n;) {
    int64_t e = group_end(s, k), g = e - k;
    if (!keep || keep(s->rec + k * W, ctx)) {
      for (int64_t a = 0; a < g; a++) {
        const int64_t *r = s->rec + (k + a) * W;
        get_values(s, r, Z + a * P);
        memcpy(Ur + a * R, U + r[s->nk - 1] * R, (size_t)R * sizeof(double));
      }
      memset(y, 0, (size_t)(P * R) * sizeof(double)); /* y (P x R) = Z^T U_rows */
      dtf_gemm_acc(1, 0, P, R, g, 1.0, Z, P, Ur, R, y, R);
      int64_t *r = out->rec + o++ * Wo;
      memcpy(r, s->rec + k * W, (size_t)out->nk * sizeof(int64_t));
      memcpy(r + out->nk, y, (size_t)(P * R) * sizeof(double));
    }
    k = e;
  }
  free(Z);
  free(Ur);
  free(y);
  if (st) dtf_semi_free(out);
  return st;
}

dtf_status dtf_semi_ttmc(int N, int64_t nnz, const int64_t *inds, const double *vals, double scale, int n,
                         const double *const *U, const int *R, dtf_semi_t *out) {
  memset(out, 0, sizeof *out);
  out->nk = 1;
  out->key[0] = n;
  out->P = 1;
  for (int m = 0; m < N; m++)
    if (m != n) {
      out->dmode[out->nd] = m;
      out->drank[out->nd++] = R[m];
      out->P *= R[m];
    }
  int64_t P = out->P, I = 0, distinct = 0;
  for (int64_t k = 0; k < nnz; k++)
    if (inds[k * N + n] >= I) I = inds[k * N + n] + 1;
  int64_t *slot = malloc((size_t)(I + 1) * sizeof(int64_t));
  double *kr = malloc((size_t)(2 * P) * sizeof(double)), *acc = NULL;
  dtf_status st = slot && kr ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for a TTM chain");
  if (!st) {
    for (int64_t i = 0; i < I; i++) slot[i] = -1;
    for (int64_t k = 0; k < nnz; k++)
      if (slot[inds[k * N + n]] < 0) slot[inds[k * N + n]] = distinct++;
    acc = calloc((size_t)(distinct * P + 1), sizeof(double));
    if (!acc)
      st = dtf_error(DTF_ERR_INPUT, "out of memory for %lld rows of %lld values", (long long)distinct,
                     (long long)P);
  }
  for (int64_t k = 0; !st && k < nnz; k++) {
    const int64_t *ix = inds + k * N;
    double *cur = kr, *nxt = kr + P;
    int64_t len = 1;
    cur[0] = scale * vals[k];
    for (int d = 0; d < out->nd; d++) { /* cur (len) x row (R_m): the Kronecker product so far */
      int m = out->dmode[d], r = R[m];
      const double *u = U[m] + ix[m] * r;
      for (int64_t a = 0; a < len; a++)
        for (int b = 0; b < r; b++) nxt[a * r + b] = cur[a] * u[b];
      double *t = cur;
      cur = nxt;
      nxt = t;
      len *= r;
    }
    double *dst = acc + slot[ix[n]] * P;
    for (int64_t p = 0; p < P; p++) dst[p] += cur[p];
  }
  if (!st) st = alloc_records(out, distinct);
  for (int64_t i = 0; !st && i < I; i++)
    if (slot[i] >= 0) {
      int64_t *r = out->rec + slot[i] * (1 + P);
      r[0] = i;
      memcpy(r + 1, acc + slot[i] * P, (size_t)P * sizeof(double));
    }
  free(slot);
  free(kr);
  free(acc);
  if (st) dtf_semi_free(out);
  return st;
}

void dtf_semi_core(const dtf_semi_t *s, int N, double alpha, double *core) {
  int64_t size = s->P, stride[DTF_MAX_MODES] = {0}, W = dtf_semi_width(s);
  memset(core, 0, (size_t)size * sizeof(double));
  int R[DTF_MAX_MODES] = {0};
  for (int d = 0; d < s->nd; d++) R[s->dmode[d]] = s->drank[d];
  int64_t st = 1;
  for (int m = N - 1; m >= 0; m--) { /* C order strides of the modes */
    stride[m] = st;
    st *= R[m];
  }
  int r[DTF_MAX_MODES] = {0};
  for (int64_t k = 0; k < s->n; k++) {
    const int64_t *rec = s->rec + k * W;
    memset(r, 0, sizeof r);
    for (int64_t p = 0; p < size; p++) { /* p walks the values' order: the last dense mode fastest */
      int64_t at = 0;
      for (int d = 0; d < s->nd; d++) at += r[d] * stride[s->dmode[d]];
      double v;
      memcpy(&v, rec + s->nk + p, sizeof v);
      core[at] += alpha * v;
      for (int d = s->nd - 1; d >= 0; d--) {
        if (++r[d] < s->drank[d]) break;
        r[d] = 0;
      }
    }
  }
}
