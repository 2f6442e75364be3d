/* libFuzzer target: the command line's number parsers (src/cli/numbers.c) on arbitrary
 * text, with properties: an integer is accepted exactly when it is one and lies in the
 * option's range; a real is exactly strtod's reading of the whole token and is accepted
 * whenever strtod reads the whole token as a finite number; sizes are finite and positive;
 * shapes read back as written; a --slab block always lies inside its mode.
 * The first byte picks the parser (i, d, b, x or s), the rest is the text; for s the text
 * is "DIMS|SLAB", as in "30x20x10|0:5,2:3,0:10". */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CHECK(cond)                                                                                          \
  do {                                                                                                       \
    if (!(cond)) {                                                                                           \
      fprintf(stderr, "property failed: %s (line %d) for '%s'\n", #cond, __LINE__, text);                    \
      abort();                                                                                               \
    }                                                                                                        \
  } while (0)

/* The reference reading of a decimal integer: an optional sign, then digits only.
 * 1 with *v set if it is one that int64 holds, else 0. */
static int ref_int(const char *s, int64_t *v) {
  const char *p = s;
  int neg = *p == '-';
  if (*p == '+' || *p == '-') p++;
  if (!*p) return 0;
  uint64_t acc = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (; *p; p++) {
    if (*p < '0' || *p > '9') return 0;
    unsigned d = (unsigned)(*p - '0');
    if (acc > (limit - d) / 10) return 0;
    acc = acc * 10 + d;
  }
  *v = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
  return 1;
}

static void integers(const char *text) {
  static const int64_t ranges[][2] = {
      {1, 1000000}, {0, INT64_MAX}, {1, INT64_MAX}, {0, 100}, {INT64_MIN, INT64_MAX}};
  int64_t ref = 0;
  int is_int = ref_int(text, &ref);
  for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
    int64_t v = -12345;
    int ok = cli_int(text, ranges[r][0], ranges[r][1], &v) == 0;
    CHECK(ok == (is_int && ref >= ranges[r][0] && ref <= ranges[r][1]));
    if (ok) CHECK(v == ref);
  }
}

static void reals(const char *text) {
  double v = 0;
  int ok = cli_double(text, &v) == 0;
  char *end;
  errno = 0;
  double ref = strtod(text, &end);
  int whole = end != text && !*end;
  if (ok) {
    CHECK(whole && isfinite(v));
    CHECK(memcmp(&v, &ref, sizeof v) == 0); /* bit for bit strtod's reading */
    char back[64];
    snprintf(back, sizeof back, "%.17g", v);
    double again = 0;
    CHECK(cli_double(back, &again) == 0 && again == v);
  } else
    CHECK(!whole || !isfinite(ref)); /* refused only when strtod does not read a finite number */
}

static void sizes(const char *text) {
  double b = 0;
  if (cli_bytes_option(text, &b) == 0) CHECK(isfinite(b) && b > 0);
  double v;
  if (cli_double(text, &v) || !(v > 0) || strlen(text) > 200) return;
  CHECK(cli_bytes_option(text, &b) == 0 && b == v); /* a plain number is bytes */
  char with[256];
  snprintf(with, sizeof with, "%sGB", text);
  int ok = cli_bytes_option(with, &b) == 0;
  CHECK(ok == isfinite(v * 1e9));
  if (ok) CHECK(b == v * 1e9);
}

static void networks(const char *text) {
  double bw = 0, lat = -1;
  if (cli_net_model(text, &bw, &lat)) return;
  CHECK(isfinite(bw) && bw > 0 && isfinite(lat) && lat >= 0);
  CHECK((lat > 0) <= (strchr(text, ':') != NULL)); /* a latency only where one is given */
  double v;
  if (cli_double(text, &v) == 0 || strlen(text) > 200) return; /* a bare number has no unit */
  char with[256];
  snprintf(with, sizeof with, "%s:1us", text);
  double bw2 = 0, lat2 = 0;
  if (!strchr(text, ':')) CHECK(cli_net_model(with, &bw2, &lat2) == 0 && bw2 == bw && lat2 == 1e-6);
}

static void shapes(const char *text) {
  int64_t dims[DTF_MAX_MODES];
  int n = cli_dims(text, dims);
  CHECK((n == 0) == !*text);
  if (n <= 0) return;
  CHECK(n <= DTF_MAX_MODES);
  int seps = 0;
  for (const char *p = text; *p; p++) seps += *p == 'x' || *p == 'X';
  CHECK(seps == n - 1);
  char back[DTF_MAX_MODES * 21 + 8] = "";
  size_t used = 0;
  for (int k = 0; k < n; k++) {
    CHECK(dims[k] >= 1);
    used += (size_t)snprintf(back + used, sizeof back - used, k ? "x%lld" : "%lld", (long long)dims[k]);
  }
  int64_t again[DTF_MAX_MODES];
  CHECK(cli_dims(back, again) == n && memcmp(again, dims, (size_t)n * sizeof(int64_t)) == 0);
}

static void slabs(const char *text) {
  const char *bar = strchr(text, '|');
  if (!bar || bar - text > 200) return;
  char d[256];
  memcpy(d, text, (size_t)(bar - text));
  d[bar - text] = '\0';
  int64_t dims[DTF_MAX_MODES], start[DTF_MAX_MODES], count[DTF_MAX_MODES];
  int n = cli_dims(d, dims);
  if (n < 1) return;
  dtf_status st = cli_slab(bar + 1, n, dims, start, count);
  if (st) {
    CHECK(st == DTF_ERR_USAGE && dtf_error_message()[0]);
    return;
  }
  for (int k = 0; k < n; k++) CHECK(start[k] >= 0 && count[k] >= 1 && count[k] <= dims[k] - start[k]);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  if (size < 1 || size > 4096) return 0;
  char *text = malloc(size);
  memcpy(text, data + 1, size - 1);
  text[size - 1] = '\0'; /* the text ends at its first NUL byte */
  switch (data[0]) {
  case 'i': integers(text); break;
  case 'd': reals(text); break;
  case 'b': sizes(text); break;
  case 'x': shapes(text); break;
  case 's': slabs(text); break;
  case 'n': networks(text); break;
  default: /* every parser */
    integers(text);
    reals(text);
    sizes(text);
    networks(text);
    shapes(text);
    slabs(text);
  }
  free(text);
  return 0;
}
