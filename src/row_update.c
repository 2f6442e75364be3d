/* The row-update table of the ALS sweep and the constraints that choose from it. */
#include <stdlib.h>
#include <string.h>

#include "dtf/kernels.h"
#include "row_update.h"

/* ALS: the normal equations solved exactly (Cholesky, or the pseudo-inverse). */
static dtf_status als(const dtf_row_update_t *u, int R, const double *V, int64_t rows, const double *M,
                      double *A, double *work, int *pinv) {
  (void)u;
  memcpy(A, M, (size_t)(rows * R) * sizeof(double));
  return dtf_spd_solve(R, V, rows, A, work, pinv);
}

static int64_t no_work(int R) {
  (void)R;
  return 0;
}

/* HALS: one pass of coordinate descent from the current rows, clipped at the floor when
 * the row keeps them nonnegative. */
static dtf_status hals(const dtf_row_update_t *u, int R, const double *V, int64_t rows, const double *M,
                       double *A, double *work, int *pinv) {
  (void)work;
  *pinv = 0;
  dtf_status st = dtf_normal_check(R, V);
  if (!st) dtf_hals_rows(R, V, rows, M, A, u->nonneg);
  return st;
}

/* ANLS by block principal pivoting: each row's nonnegative problem solved exactly. */
static dtf_status bpp(const dtf_row_update_t *u, int R, const double *V, int64_t rows, const double *M,
                      double *A, double *work, int *pinv) {
  (void)u;
  *pinv = 0;
  return dtf_bpp_rows(R, V, rows, M, A, work);
}

static const dtf_row_update_t update_als = {"als", 0, 0, dtf_spd_solve_work, als};
static const dtf_row_update_t update_bpp = {"bpp", 1, 0, dtf_bpp_work, bpp};
static const dtf_row_update_t update_hals = {"hals", 1, 1, no_work, hals};
static const dtf_row_update_t update_cd = {"hals", 0, 1, no_work, hals};

const dtf_row_update_t *dtf_row_update(dtf_update_t u, dtf_constraint_t c, const char **why) {
  *why = NULL;
  if (c == DTF_CONSTRAINT_NONNEG) {
    if (u == DTF_UPDATE_ALS) *why = "als solves the normal equations and cannot hold rows nonnegative";
    return u == DTF_UPDATE_ALS ? NULL : u == DTF_UPDATE_BPP ? &update_bpp : &update_hals;
  }
  return u == DTF_UPDATE_HALS ? &update_cd : &update_als;
}

static const char *const constraint_names[] = {"none", "nonneg"};
enum { NCONSTRAINTS = sizeof constraint_names / sizeof constraint_names[0] };

const char *dtf_constraint_name(dtf_constraint_t c) {
  return (unsigned)c < NCONSTRAINTS ? constraint_names[c] : "?";
}

static int constraint_of(const char *s, size_t len, dtf_constraint_t *c) {
  for (int k = 0; k < NCONSTRAINTS; k++)
    if (strlen(constraint_names[k]) == len && !strncmp(s, constraint_names[k], len)) {
      *c = (dtf_constraint_t)k;
      return 0;
    }
  return -1;
}

dtf_status dtf_constraint_parse(const char *spec, int nmodes, dtf_constraint_t *out) {
  int given[DTF_MAX_MODES] = {0};
  for (int n = 0; n < DTF_MAX_MODES; n++) out[n] = DTF_CONSTRAINT_NONE;
  const char *p = spec;
  for (int first = 1;; first = 0) {
    size_t len = strcspn(p, ","), digits = strspn(p, "0123456789");
    /* MODE:C where the item starts with digits and a colon; otherwise C for every mode */
    const char *colon = digits < len && p[digits] == ':' ? p + digits : NULL, *name = colon ? colon + 1 : p;
    size_t nlen = len - (size_t)(name - p);
    dtf_constraint_t c;
    if (constraint_of(name, nlen, &c))
      return dtf_error(DTF_ERR_USAGE,
                       "--constraint '%s': '%.*s' is not a constraint (none or nonneg, for all modes or "
                       "as MODE:C for one)",
                       spec, (int)nlen, name);
    if (!colon) {
      if (!first)
        return dtf_error(DTF_ERR_USAGE,
                         "--constraint '%s': '%.*s' has no mode; only the first item may apply to every mode",
                         spec, (int)len, p);
      for (int n = 0; n < nmodes; n++) out[n] = c;
    } else {
      char *end;
      long m = strtol(p, &end, 10);
      if (end != colon || m < 1 || m > nmodes)
        return dtf_error(DTF_ERR_USAGE,
                         "--constraint '%s': '%.*s' names no mode of this %d-mode tensor (1 to %d)", spec,
                         (int)(colon - p), p, nmodes, nmodes);
      if (given[m - 1]++)
        return dtf_error(DTF_ERR_USAGE, "--constraint '%s': mode %ld is given twice", spec, m);
      out[m - 1] = c;
    }
    if (!p[len]) break;
    p += len + 1;
  }
  return DTF_OK;
}
