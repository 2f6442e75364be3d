/* COO entries: release, and duplicate coordinates found by sorting. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/coo.h"
#include "dtf/sort.h"
#include "dtf/memory.h"

void dtf_coo_free(dtf_coo_t *c) {
  free(c->inds);
  free(c->vals);
  free(c->tags);
  c->inds = c->tags = NULL;
  c->vals = NULL;
  c->nnz = 0;
}

static const char *const rule_names[] = {"error", "sum", "max", "first", "last"};

int dtf_dup_rule_parse(const char *text, dtf_dup_rule_t *rule) {
  for (int k = 0; k < 5; k++)
    if (!strcmp(text, rule_names[k])) {
      *rule = (dtf_dup_rule_t)k;
      return 0;
    }
  return -1;
}

const char *dtf_dup_rule_name(dtf_dup_rule_t rule) { return rule_names[rule]; }

static void describe(const dtf_coo_t *c, int64_t k, const int64_t *offset, char *buf, size_t size) {
  int used = 0, one = c->tag_is_line ? 1 : 0;
  used += snprintf(buf, size, "%s", one ? "(" : "[");
  for (int m = 0; m < c->nmodes && used < (int)size; m++)
    used += snprintf(buf + used, size - (size_t)used, m ? ", %" PRId64 : "%" PRId64,
                     c->inds[k * c->nmodes + m] + (offset ? offset[m] : 0) + one);
  snprintf(buf + used, size - (size_t)used, "%s", one ? ")" : "]");
}

static dtf_status out_of_memory(int64_t n) {
  return dtf_error(DTF_ERR_INPUT, "out of memory checking %lld entries for duplicate coordinates",
                   (long long)n);
}

dtf_status dtf_coo_duplicates(dtf_coo_t *c, dtf_dup_rule_t rule, const int64_t *offset, const char *what,
                              int64_t *merged) {
  *merged = 0;
  int N = c->nmodes, W = N + 2;
  int64_t n = c->nnz, *t = dtf_alloc_large((size_t)(n ? n : 1) * W * sizeof(int64_t));
  if (!t) return out_of_memory(n);
  /* tuples (coordinates, tag, position): equal coordinates end up adjacent, in tag order */
  for (int64_t k = 0; k < n; k++) {
    memcpy(t + k * W, c->inds + k * N, (size_t)N * sizeof(int64_t));
    t[k * W + N] = c->tags ? c->tags[k] : k;
    t[k * W + N + 1] = k;
  }
  if (dtf_sort_tuples(t, n, W, N + 1)) {
    free(t);
    return out_of_memory(n);
  }
  dtf_status st = DTF_OK;
  int64_t first = -1; /* the tuple whose successor repeats it, with the smallest tag */
  for (int64_t k = 1; k < n; k++)
    if (!memcmp(t + (k - 1) * W, t + k * W, (size_t)N * sizeof(int64_t)) &&
        (first < 0 || t[(k - 1) * W + N] < t[first * W + N]))
      first = k - 1;
  if (first >= 0 && rule == DTF_DUP_ERROR) {
    char where[256];
    describe(c, t[first * W + N + 1], offset, where, sizeof where);
    long long a = (long long)t[first * W + N], b = (long long)t[(first + 1) * W + N];
    if (c->tag_is_line)
      st = dtf_error(DTF_ERR_INPUT,
                     "%s: lines %lld and %lld both give the entry at %s; choose how to combine entries with "
                     "equal coordinates: --duplicates sum, max, first or last",
                     what, a, b, where);
    else
      st = dtf_error(DTF_ERR_INPUT,
                     "%s: rows %lld and %lld (0-based) both have the coordinates %s (0-based); choose how to "
                     "combine entries with equal coordinates: --duplicates sum, max, first or last",
                     what, a, b, where);
  } else if (first >= 0) {
    /* compact in sorted order, combining equal neighbours by the rule */
    int64_t *inds = malloc((size_t)n * N * sizeof(int64_t)),
            *tags = c->tags ? malloc((size_t)n * sizeof(int64_t)) : NULL;
    double *vals = malloc((size_t)n * sizeof(double));
    if (!inds || !vals || (c->tags && !tags)) {
      free(inds);
      free(vals);
      free(tags);
      free(t);
      return out_of_memory(n);
    }
    int64_t out = 0;
    for (int64_t k = 0; k < n; k++) {
      const int64_t *e = t + k * W;
      double v = c->vals[e[N + 1]];
      if (out > 0 && !memcmp(inds + (out - 1) * N, e, (size_t)N * sizeof(int64_t))) {
        double *have = &vals[out - 1];
        switch (rule) {
        case DTF_DUP_SUM: *have += v; break;
        case DTF_DUP_MAX: *have = v > *have ? v : *have; break;
        case DTF_DUP_LAST: *have = v; break;
        default: break; /* first: keep it */
        }
        continue;
      }
      memcpy(inds + out * N, e, (size_t)N * sizeof(int64_t));
      vals[out] = v;
      if (tags) tags[out] = e[N];
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
  free(t);
  return st;
}
