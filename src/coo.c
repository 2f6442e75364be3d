/* COO entries: release, and duplicate coordinates found by sorting. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/coo.h"

void dtf_coo_free(dtf_coo_t *c) {
  free(c->inds);
  free(c->vals);
  free(c->tags);
  c->inds = c->tags = NULL;
  c->vals = NULL;
  c->nnz = 0;
}

static _Thread_local const dtf_coo_t *sort_coo;

static int compare(const void *pa, const void *pb) {
  int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
  const dtf_coo_t *c = sort_coo;
  for (int m = 0; m < c->nmodes; m++) {
    int64_t x = c->inds[a * c->nmodes + m], y = c->inds[b * c->nmodes + m];
    if (x != y) return x < y ? -1 : 1;
  }
  int64_t ta = c->tags ? c->tags[a] : a, tb = c->tags ? c->tags[b] : b;
  return ta < tb ? -1 : (ta > tb);
}

static void describe(const dtf_coo_t *c, int64_t k, const int64_t *offset, char *buf, size_t size) {
  int used = 0, one = c->tag_is_line ? 1 : 0;
  used += snprintf(buf, size, "%s", one ? "(" : "[");
  for (int m = 0; m < c->nmodes && used < (int)size; m++)
    used += snprintf(buf + used, size - (size_t)used, m ? ", %" PRId64 : "%" PRId64,
                     c->inds[k * c->nmodes + m] + (offset ? offset[m] : 0) + one);
  snprintf(buf + used, size - (size_t)used, "%s", one ? ")" : "]");
}

dtf_status dtf_coo_duplicates(dtf_coo_t *c, int sum, const int64_t *offset, int64_t *merged) {
  *merged = 0;
  int N = c->nmodes;
  int64_t n = c->nnz, *perm = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
  if (!perm)
    return dtf_error(DTF_ERR_INPUT, "out of memory checking %lld nonzeros for duplicates", (long long)n);
  for (int64_t k = 0; k < n; k++) perm[k] = k;
  sort_coo = c;
  qsort(perm, (size_t)n, sizeof(int64_t), compare);
  dtf_status st = DTF_OK;
  int64_t first_a = -1, first_b = -1; /* the pair with the smallest tags, for the message */
  for (int64_t k = 1; k < n; k++) {
    int64_t a = perm[k - 1], b = perm[k];
    if (memcmp(c->inds + a * N, c->inds + b * N, (size_t)N * sizeof(int64_t))) continue;
    if (!sum) {
      int64_t ta = c->tags ? c->tags[a] : a, fa = first_a < 0 ? 0 : (c->tags ? c->tags[first_a] : first_a);
      if (first_a < 0 || ta < fa) {
        first_a = a;
        first_b = b;
      }
    }
  }
  if (!sum && first_a >= 0) {
    char where[256];
    describe(c, first_a, offset, where, sizeof where);
    long long ta = c->tags ? c->tags[first_a] : first_a, tb = c->tags ? c->tags[first_b] : first_b;
    st = dtf_error(DTF_ERR_INPUT,
                   c->tag_is_line
                       ? "lines %lld and %lld both give the nonzero at %s (use --sum-duplicates to add them)"
                       : "nonzeros %lld and %lld both have the coordinates %s (use --sum-duplicates to "
                         "add them)",
                   ta, tb, where);
  } else if (sum && n > 1) {
    /* compact in sorted order, adding equal neighbours */
    int64_t *inds = malloc((size_t)n * N * sizeof(int64_t)),
            *tags = c->tags ? malloc((size_t)n * sizeof(int64_t)) : NULL;
    double *vals = malloc((size_t)n * sizeof(double));
    if (!inds || !vals || (c->tags && !tags)) {
      free(inds);
      free(vals);
      free(tags);
      free(perm);
      return dtf_error(DTF_ERR_INPUT, "out of memory merging duplicates");
    }
    int64_t out = 0;
    for (int64_t k = 0; k < n; k++) {
      int64_t a = perm[k];
      if (out > 0 && !memcmp(inds + (out - 1) * N, c->inds + a * N, (size_t)N * sizeof(int64_t))) {
        vals[out - 1] += c->vals[a];
        continue;
      }
      memcpy(inds + out * N, c->inds + a * N, (size_t)N * sizeof(int64_t));
      vals[out] = c->vals[a];
      if (tags) tags[out] = c->tags[a];
      out++;
    }
    *merged = n - out;
    free(c->inds);
    free(c->vals);
    free(c->tags);
    c->inds = inds;
    c->vals = vals;
    c->tags = tags;
    c->nnz = out;
  }
  free(perm);
  return st;
}
