/* The --json run summary: a flat JSON object written atomically. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dtf/io.h"

struct dtf_json {
  char *buf;
  size_t len, cap;
};

static void put(dtf_json_t *j, const char *fmt, ...) {
  if (!j) return; /* the ranks that do not write the summary build none */
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
  if (!j) return;
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

dtf_status dtf_json_write(MPI_Comm comm, const dtf_json_t *j, const char *file) {
  int me;
  MPI_Comm_rank(comm, &me);
  dtf_output_t out;
  dtf_status st = dtf_output_begin(comm, file, &out);
  if (st) return st;
  st = out.fault; /* on any rank: its part of this output is the agreement */
  if (me == 0 && !st) {
    int fd = open(out.tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0666);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
      st = dtf_error(DTF_ERR_OUTPUT, "cannot create '%s' (for '%s'): %s", out.tmp, file, strerror(errno));
      if (fd >= 0) close(fd);
    } else {
      if (fprintf(f, "%s\n}\n", j->buf) < 0)
        st = dtf_error(DTF_ERR_OUTPUT, "writing '%s' failed: %s", file, strerror(errno));
      if (fclose(f) != 0 && !st)
        st = dtf_error(DTF_ERR_OUTPUT, "writing '%s' failed: %s", file, strerror(errno));
    }
  }
  return dtf_output_end(comm, &out, st);
}

void dtf_json_free(dtf_json_t *j) {
  if (!j) return;
  free(j->buf);
  free(j);
}
