/* The numbers of the command line: integers, reals, sizes, shapes and --slab blocks, each
 * read whole and checked for range and overflow before it is used. No MPI, no files: the
 * fuzz target of tests/fuzz (fuzz_cli) builds this file alone. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_int(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  if (!(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9'))) return -1; /* no blanks before it */
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (end == s || *end || errno || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

int cli_double(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  /* a value too small for a double rounds to the nearest one (0 or subnormal) as any
   * reader of the text would; one too large is refused */
  if (end == s || *end || !isfinite(v) || (errno && fabs(v) >= DBL_MIN)) return -1;
  *out = v;
  return 0;
}

int cli_bytes_option(const char *s, double *bytes) {
  /* the number, then an optional unit k, M, G or T and an optional B */
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || !isfinite(v) || (errno && fabs(v) >= DBL_MIN) || !(v > 0)) return -1;
  static const char units[] = "kmgt";
  double unit = 1;
  const char *u = *end ? strchr(units, *end | 0x20) : NULL;
  if (u) {
    unit = pow(1e3, (double)(u - units + 1));
    end++;
  }
  if (*end == 'B' || *end == 'b') end++;
  if (*end || !isfinite(v * unit)) return -1;
  *bytes = v * unit;
  return 0;
}

/* a number > 0 and finite, then a unit from `units` (each scale[k] times the number);
 * NULL units: none */
static const char *scaled(const char *s, const char *const *units, const double *scale, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || !isfinite(v) || (errno && fabs(v) >= DBL_MIN) || !(v >= 0)) return NULL;
  for (int k = 0; units[k]; k++) {
    size_t n = strlen(units[k]);
    if (!strncmp(end, units[k], n) && isfinite(v * scale[k])) {
      *out = v * scale[k];
      return end + n;
    }
  }
  return NULL;
}

int cli_net_model(const char *s, double *bytes_per_s, double *latency_s) {
  /* bandwidth: bits (b) or bytes (B) per second, with an optional k, M, G, T before */
  static const char *const bw[] = {"kb", "Mb", "Gb", "Tb", "kB", "MB", "GB", "TB", "b", "B", NULL};
  static const double bws[] = {125, 125e3, 125e6, 125e9, 1e3, 1e6, 1e9, 1e12, 0.125, 1};
  static const char *const lat[] = {"ns", "us", "ms", "s", NULL};
  static const double lats[] = {1e-9, 1e-6, 1e-3, 1};
  *latency_s = 0;
  const char *end = scaled(s, bw, bws, bytes_per_s);
  if (!end || !(*bytes_per_s > 0)) return -1;
  if (*end == ':' && (!(end = scaled(end + 1, lat, lats, latency_s)))) return -1;
  return *end ? -1 : 0;
}

int cli_dims(const char *s, int64_t *dims) {
  int n = 0;
  const char *p = s;
  while (*p) {
    if (*p < '0' || *p > '9') return -1; /* no sign, no blank */
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (errno || v < 1 || n == DTF_MAX_MODES) return -1;
    dims[n++] = v;
    p = end;
    if (*p == 'x' || *p == 'X') {
      p++;
      if (!*p) return -1;
    } else if (*p)
      return -1;
  }
  return n;
}

/* Digits at *p into *v; *big when they exceed INT64_MAX. 0 if there are none. */
static int digits(const char **p, int64_t *v, int *big) {
  const char *q = *p;
  *v = 0;
  *big = 0;
  for (; *q >= '0' && *q <= '9'; q++) {
    if (*v > (INT64_MAX - (*q - '0')) / 10)
      *big = 1;
    else if (!*big)
      *v = *v * 10 + (*q - '0');
  }
  int any = q != *p;
  *p = q;
  return any;
}

dtf_status cli_slab(const char *text, int N, const int64_t *dims, int64_t *start, int64_t *count) {
  const char *p = text;
  for (int n = 0; n < N; n++) {
    const char *block = p;
    int64_t s, c;
    int sbig, cbig;
    int ok = digits(&p, &s, &sbig) && *p == ':';
    if (ok) {
      p++;
      ok = digits(&p, &c, &cbig) && (cbig || c >= 1) && (n < N - 1 ? *p == ',' : !*p);
    }
    if (!ok)
      return dtf_error(
          DTF_ERR_USAGE,
          "--slab '%s': expected START:COUNT for each of the %d modes (START >= 0, COUNT >= 1), as in "
          "0:10,5:20,0:8",
          text, N);
    int blen = (int)(p - block);
    /* START + COUNT <= dims[n], checked without forming a sum that could overflow */
    if (sbig || cbig || s > dims[n] || c > dims[n] - s) {
      if (!sbig && !cbig && s <= INT64_MAX - c)
        return dtf_error(DTF_ERR_USAGE,
                         "--slab '%s': mode %d's block %.*s ends at %lld, past its %lld indices", text, n + 1,
                         blen, block, (long long)(s + c), (long long)dims[n]);
      return dtf_error(
          DTF_ERR_USAGE,
          "--slab '%s': mode %d's block %.*s ends past its %lld indices (START + COUNT is beyond "
          "any 64-bit index)",
          text, n + 1, blen, block, (long long)dims[n]);
    }
    start[n] = s;
    count[n] = c;
    if (*p) p++;
  }
  return DTF_OK;
}
