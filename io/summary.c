/* The --json run summary: a flat JSON object written atomically. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/io.h"

struct dtf_json {
  char *buf;
  size_t len, cap;
};

static void put(dtf_json_t *j, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int n = vsnprintf(j->buf + j->len, j->cap - j->len, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (j->len + (size_t)n < j->cap) {
      j->len += (size_t)n;
      return;
    }
    size_t cap = (j->cap + (size_t)n) * 2;
    char *b = realloc(j->buf, cap);
    if (!b) return;
    j->buf = b;
    j->cap = cap;
  }
}

static void put_string(dtf_json_t *j, const char *s) {
  put(j, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      put(j, "\\%c", c);
    else if (c < 0x20)
      put(j, "\\u%04x", c);
    else
      put(j, "%c", c);
  }
  put(j, "\"");
}

static void key(dtf_json_t *j, const char *k) {
  put(j, j->len > 1 ? ",\n  " : "\n  ");
  put_string(j, k);
  put(j, ": ");
}

static void put_number(dtf_json_t *j, double v) {
  if (isfinite(v))
    put(j, "%.17g", v);
  else
    put(j, "null");
}

dtf_json_t *dtf_json_new(void) {
  dtf_json_t *j = calloc(1, sizeof *j);
  if (!j) return NULL;
  j->cap = 1024;
  j->buf = malloc(j->cap);
  if (!j->buf) {
    free(j);
    return NULL;
  }
  j->buf[0] = '\0';
  put(j, "{");
  return j;
}

void dtf_json_string(dtf_json_t *j, const char *k, const char *v) {
  key(j, k);
  put_string(j, v);
}

void dtf_json_number(dtf_json_t *j, const char *k, double v) {
  key(j, k);
  put_number(j, v);
}

void dtf_json_int(dtf_json_t *j, const char *k, int64_t v) {
  key(j, k);
  put(j, "%lld", (long long)v);
}

void dtf_json_bool(dtf_json_t *j, const char *k, int v) {
  key(j, k);
  put(j, v ? "true" : "false");
}

void dtf_json_int_array(dtf_json_t *j, const char *k, const int64_t *v, int n) {
  key(j, k);
  put(j, "[");
  for (int i = 0; i < n; i++) put(j, i ? ", %lld" : "%lld", (long long)v[i]);
  put(j, "]");
}

void dtf_json_number_array(dtf_json_t *j, const char *k, const double *v, int n) {
  key(j, k);
  put(j, "[");
  for (int i = 0; i < n; i++) {
    if (i) put(j, ", ");
    put_number(j, v[i]);
  }
  put(j, "]");
}

dtf_status dtf_json_write(const dtf_json_t *j, const char *file) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.dtf-tmp", file);
  FILE *f = fopen(tmp, "w");
  if (!f) return dtf_error(DTF_ERR_OUTPUT, "cannot write '%s': %s", file, strerror(errno));
  int bad = fprintf(f, "%s\n}\n", j->buf) < 0;
  bad |= fclose(f) != 0;
  if (bad || rename(tmp, file) != 0) {
    remove(tmp);
    return dtf_error(DTF_ERR_OUTPUT, "cannot write '%s': %s", file, strerror(errno));
  }
  return DTF_OK;
}

void dtf_json_free(dtf_json_t *j) {
  if (!j) return;
  free(j->buf);
  free(j);
}
