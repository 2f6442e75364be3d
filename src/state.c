/* Building manifests, and deciding whether a checkpoint belongs to a run. */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/format.h"
#include "dtf/state.h"
#include "dtf/version.h"

void dtf_state_init(dtf_state_t *s, const char *solver, const char *model, int checkpoint, int nmodes,
                    const int64_t *dims) {
  memset(s, 0, sizeof *s);
  snprintf(s->solver, sizeof s->solver, "%s", solver);
  snprintf(s->model, sizeof s->model, "%s", model);
  s->checkpoint = checkpoint;
  s->format = DTF_STATE_FORMAT;
  s->nmodes = nmodes;
  memcpy(s->dims, dims, (size_t)nmodes * sizeof(int64_t));
}

void dtf_state_input(dtf_state_t *s, const dtf_fingerprint_t *fp, int permute, uint64_t permute_seed) {
  s->have_input = 1;
  s->input = *fp;
  s->permute = permute;
  s->permute_seed = permute ? permute_seed : 0;
}

static dtf_field_t *new_field(dtf_state_t *s, const char *name, dtf_field_kind_t kind) {
  if (s->nfields == DTF_STATE_MAX_FIELDS) {
    s->overflow = 1;
    return NULL;
  }
  dtf_field_t *f = &s->fields[s->nfields++];
  memset(f, 0, sizeof *f);
  snprintf(f->name, sizeof f->name, "%s", name);
  f->kind = kind;
  return f;
}

void dtf_state_replicated(dtf_state_t *s, const char *name, int64_t rows, int64_t cols, double *data) {
  dtf_field_t *f = new_field(s, name, DTF_FIELD_REPLICATED);
  if (!f) return;
  f->rows = rows;
  f->cols = cols;
  f->read_len = f->own_len = rows;
  f->data = data;
}

void dtf_state_rows(dtf_state_t *s, const char *name, int64_t rows, int64_t cols, int64_t read_start,
                    int64_t read_len, int64_t own_start, int64_t own_len, double *data) {
  dtf_field_t *f = new_field(s, name, DTF_FIELD_ROWS);
  if (!f) return;
  f->rows = rows;
  f->cols = cols;
  f->read_start = read_start;
  f->read_len = read_len;
  f->own_start = own_start;
  f->own_len = own_len;
  f->data = data;
}

void dtf_state_rows3(dtf_state_t *s, const char *name, int64_t lead, int64_t rows, int64_t cols,
                     int64_t read_start, int64_t read_len, int64_t own_start, int64_t own_len, double *data) {
  dtf_state_rows(s, name, rows, cols, read_start, read_len, own_start, own_len, data);
  if (s->nfields && !strcmp(s->fields[s->nfields - 1].name, name)) s->fields[s->nfields - 1].lead = lead;
}

void dtf_state_per_rank(dtf_state_t *s, const char *name, int64_t len, double *data) {
  dtf_field_t *f = new_field(s, name, DTF_FIELD_PER_RANK);
  if (!f) return;
  f->rows = f->read_len = f->own_len = len;
  f->data = data;
}

void dtf_state_array(dtf_state_t *s, const char *name, int ndims, const int64_t *shape, double *data) {
  int64_t size = 1;
  for (int k = 0; k < ndims; k++) size *= shape[k];
  dtf_state_replicated(s, name, size, 0, data);
  if (!s->nfields || strcmp(s->fields[s->nfields - 1].name, name)) return;
  dtf_field_t *f = &s->fields[s->nfields - 1];
  f->ndims = ndims;
  memcpy(f->shape, shape, (size_t)ndims * sizeof(int64_t));
}

static dtf_attr_t *new_attr(dtf_state_t *s, const char *name, dtf_attr_type_t type, dtf_attr_role_t role,
                            const char *flag) {
  dtf_attr_t *a = (dtf_attr_t *)dtf_state_attr(s, name); /* set again: the later value wins */
  if (!a && s->nattrs == DTF_STATE_MAX_ATTRS) {
    s->overflow = 1;
    return NULL;
  }
  if (!a) a = &s->attrs[s->nattrs++];
  memset(a, 0, sizeof *a);
  snprintf(a->name, sizeof a->name, "%s", name);
  snprintf(a->flag, sizeof a->flag, "%s", flag ? flag : name);
  a->type = type;
  a->role = role;
  return a;
}

void dtf_state_int(dtf_state_t *s, const char *name, dtf_attr_role_t role, const char *flag, int64_t v) {
  dtf_attr_t *a = new_attr(s, name, DTF_ATTR_INT, role, flag);
  if (a) a->i = v;
}

void dtf_state_real(dtf_state_t *s, const char *name, dtf_attr_role_t role, const char *flag, double v) {
  dtf_attr_t *a = new_attr(s, name, DTF_ATTR_REAL, role, flag);
  if (a) a->d = v;
}

void dtf_state_text(dtf_state_t *s, const char *name, const char *v) {
  dtf_attr_t *a = new_attr(s, name, DTF_ATTR_TEXT, DTF_ATTR_STATE, NULL);
  if (a) snprintf(a->text, sizeof a->text, "%s", v);
}

void dtf_state_ints(dtf_state_t *s, const char *name, dtf_attr_role_t role, const char *flag,
                    const int64_t *v, int n) {
  dtf_attr_t *a = new_attr(s, name, DTF_ATTR_INTS, role, flag);
  if (!a) return;
  a->n = n < DTF_MAX_MODES ? n : DTF_MAX_MODES;
  memcpy(a->ints, v, (size_t)a->n * sizeof(int64_t));
}

void dtf_state_text_option(dtf_state_t *s, const char *name, const char *flag, const char *v) {
  dtf_attr_t *a = new_attr(s, name, DTF_ATTR_TEXT, DTF_ATTR_OPTION, flag);
  if (a) snprintf(a->text, sizeof a->text, "%s", v);
}

void dtf_state_style(dtf_state_t *s, const char *name, int show) {
  dtf_attr_t *a = (dtf_attr_t *)dtf_state_attr(s, name);
  if (a) a->show = show;
}

void dtf_state_undefined_ok(dtf_state_t *s, const char *name) {
  dtf_attr_t *a = (dtf_attr_t *)dtf_state_attr(s, name);
  dtf_field_t *f = (dtf_field_t *)dtf_state_field(s, name);
  if (a) a->undefined_ok = 1;
  if (f) f->undefined_ok = 1;
}

const dtf_attr_t *dtf_state_attr(const dtf_state_t *s, const char *name) {
  for (int k = 0; k < s->nattrs; k++)
    if (!strcmp(s->attrs[k].name, name)) return &s->attrs[k];
  return NULL;
}

const dtf_field_t *dtf_state_field(const dtf_state_t *s, const char *name) {
  for (int k = 0; k < s->nfields; k++)
    if (!strcmp(s->fields[k].name, name)) return &s->fields[k];
  return NULL;
}

int dtf_state_get_int(const dtf_state_t *s, const char *name, int64_t *v) {
  const dtf_attr_t *a = dtf_state_attr(s, name);
  if (!a || a->type != DTF_ATTR_INT) return -1;
  *v = a->i;
  return 0;
}

int dtf_state_get_real(const dtf_state_t *s, const char *name, double *v) {
  const dtf_attr_t *a = dtf_state_attr(s, name);
  if (!a) return -1;
  if (a->type == DTF_ATTR_REAL)
    *v = a->d;
  else if (a->type == DTF_ATTR_INT)
    *v = (double)a->i;
  else
    return -1;
  return 0;
}

static int is_unset(const dtf_attr_t *a) {
  switch (a->type) {
  case DTF_ATTR_INT: return a->i == 0;
  case DTF_ATTR_REAL: return a->d == 0;
  case DTF_ATTR_TEXT: return !a->text[0];
  case DTF_ATTR_INTS:
    for (int k = 0; k < a->n; k++)
      if (a->ints[k]) return 0;
    return 1;
  }
  return 0;
}

/* An option as the user gives it: "--rank 3", "--order 3,1,2", "no --tol"; `flag` is the
 * run's (a file's attributes carry none). */
static void format_option(const dtf_attr_t *a, const char *flag, char *buf, size_t size) {
  if ((a->show & DTF_SHOW_UNSET) && is_unset(a)) {
    snprintf(buf, size, "no %s", flag);
    return;
  }
  int used = snprintf(buf, size, "%s ", flag);
  if (used < 0 || (size_t)used >= size) return;
  buf += used;
  size -= (size_t)used;
  switch (a->type) {
  case DTF_ATTR_INT: snprintf(buf, size, "%" PRId64, a->i); break;
  case DTF_ATTR_REAL: /* the shortest form that reads back as the value: 0.1, not 0.10000000000000001 */
    snprintf(buf, size, "%.15g", a->d);
    if (strtod(buf, NULL) != a->d) snprintf(buf, size, "%.17g", a->d);
    break;
  case DTF_ATTR_TEXT: snprintf(buf, size, strpbrk(a->text, " ,") ? "(%s)" : "%s", a->text); break;
  case DTF_ATTR_INTS:
    if (!(a->show & DTF_SHOW_MODES)) {
      dtf_format_dims(a->n, a->ints, buf, size);
      break;
    }
    buf[0] = 0;
    for (int k = 0, at = 0; k < a->n && (size_t)at < size; k++)
      at += snprintf(buf + at, size - (size_t)at, "%s%" PRId64, k ? "," : "", a->ints[k] + 1);
    break;
  }
}

static int same_value(const dtf_attr_t *a, const dtf_attr_t *b) {
  if (a->type == DTF_ATTR_INT && b->type == DTF_ATTR_REAL) return (double)a->i == b->d;
  if (a->type == DTF_ATTR_REAL && b->type == DTF_ATTR_INT) return a->d == (double)b->i;
  if (a->type != b->type) return 0;
  switch (a->type) {
  case DTF_ATTR_INT: return a->i == b->i;
  case DTF_ATTR_REAL: return a->d == b->d;
  case DTF_ATTR_TEXT: return !strcmp(a->text, b->text);
  case DTF_ATTR_INTS: return a->n == b->n && !memcmp(a->ints, b->ints, (size_t)a->n * sizeof(int64_t));
  }
  return 0;
}

static void describe_permute(int on, uint64_t seed, char *buf, size_t size) {
  if (on)
    snprintf(buf, size, "--permute (seed %llu)", (unsigned long long)seed);
  else
    snprintf(buf, size, "no --permute");
}

/* The solver family: "gcp" of "gcp-poisson-adam", "complete" of "complete-online/gaussian",
 * "tr" of "tr-als-sampled": solvers of one family differ by their options. */
static size_t family(const char *solver) { return strcspn(solver, "-/"); }

/* An option of the run that the file has with another value (NULL: none). */
static const dtf_attr_t *differing_option(const dtf_state_t *f, const dtf_state_t *run,
                                          const dtf_attr_t **in_file) {
  for (int k = 0; k < run->nattrs; k++) {
    const dtf_attr_t *want = &run->attrs[k], *have;
    if (want->role != DTF_ATTR_OPTION || !(have = dtf_state_attr(f, want->name))) continue;
    if (!same_value(have, want)) {
      *in_file = have;
      return want;
    }
  }
  return NULL;
}

static dtf_status option_differs(const dtf_attr_t *have, const dtf_attr_t *want, const char *file) {
  char a[256], b[256];
  dtf_attr_t shown = *have; /* the file's value, read as the run's option reads */
  shown.show = want->show;
  format_option(&shown, want->flag, a, sizeof a);
  format_option(want, want->flag, b, sizeof b);
  return dtf_error(DTF_ERR_INPUT, "checkpoint '%s' was made with %s; this run has %s", file, a, b);
}

static int any_per_rank(const dtf_state_t *s, const char **name) {
  for (int k = 0; k < s->nfields; k++)
    if (s->fields[k].kind == DTF_FIELD_PER_RANK) {
      *name = s->fields[k].name;
      return 1;
    }
  return 0;
}

static void describe_grid(const dtf_state_t *s, char *buf, size_t size) {
  int64_t p[DTF_MAX_MODES];
  char dims[128] = "an unrecorded grid";
  int known = s->nmodes > 0;
  for (int n = 0; n < s->nmodes; n++) known &= (p[n] = s->grid[n]) > 0;
  if (known) dtf_format_dims(s->nmodes, p, dims, sizeof dims);
  snprintf(buf, size, "%d rank%s on %s%s", s->ranks, s->ranks == 1 ? "" : "s", known ? "grid " : "", dims);
}

/* The file's header values a run would take over: counts, and reals the run needs finite. */
static dtf_status check_values(const dtf_state_t *f, const dtf_state_t *run, const char *file) {
  int64_t it = 0;
  if (!dtf_state_get_int(f, "iterations", &it) && (it < 1 || it > INT_MAX))
    return dtf_error(DTF_ERR_INPUT,
                     "checkpoint '%s': attribute 'iterations' is %" PRId64
                     "; a checkpoint is written after an iteration (1 to %d)",
                     file, it, INT_MAX);
  for (int k = 0; k < f->nattrs; k++) {
    const dtf_attr_t *a = &f->attrs[k], *want = dtf_state_attr(run, a->name);
    if (!want || want->role != DTF_ATTR_STATE) continue;
    if (a->type == DTF_ATTR_REAL && !want->undefined_ok && !isfinite(a->d))
      return dtf_error(DTF_ERR_INPUT, "checkpoint '%s': attribute '%s' is %g; it must be a finite number",
                       file, a->name, a->d);
    if (a->type == DTF_ATTR_INT && want->type == DTF_ATTR_INT && a->i < 0)
      return dtf_error(DTF_ERR_INPUT, "checkpoint '%s': attribute '%s' is %" PRId64 "; it must be >= 0", file,
                       a->name, a->i);
  }
  return DTF_OK;
}

dtf_status dtf_state_check_resume(const dtf_state_t *f, const dtf_state_t *run, const char *file) {
  char a[256], b[256];
  const dtf_attr_t *want, *have = NULL;
  if (!f->checkpoint)
    return dtf_error(DTF_ERR_INPUT, "'%s' is a %s model file, not a checkpoint: --resume needs a checkpoint",
                     file, f->model[0] ? f->model : "dtf");
  if (f->format > DTF_STATE_FORMAT)
    return dtf_error(DTF_ERR_INPUT,
                     "checkpoint '%s' has format version %d; this dtf (%s) reads up to version %d", file,
                     f->format, DTF_VERSION, DTF_STATE_FORMAT);
  if (strcmp(f->solver, run->solver)) {
    size_t n = family(run->solver);
    if (n == family(f->solver) && !strncmp(f->solver, run->solver, n) &&
        (want = differing_option(f, run, &have)))
      return option_differs(have, want, file);
    return dtf_error(DTF_ERR_INPUT, "checkpoint '%s' is a %s checkpoint; this run is %s", file,
                     f->solver[0] ? f->solver : "(unnamed)", run->solver);
  }
  if (strcmp(f->model, run->model))
    return dtf_error(DTF_ERR_INPUT, "checkpoint '%s' is of model %s; this run is of model %s (--model)", file,
                     f->model[0] ? f->model : "(unnamed)", run->model);
  if (f->nmodes != run->nmodes || memcmp(f->dims, run->dims, (size_t)run->nmodes * sizeof(int64_t))) {
    dtf_format_dims(f->nmodes, f->dims, a, sizeof a);
    dtf_format_dims(run->nmodes, run->dims, b, sizeof b);
    return dtf_error(DTF_ERR_INPUT, "checkpoint '%s' was made for a %s tensor; this input is %s", file, a, b);
  }
  /* the options before the input: another --holdout or --seed also makes another input */
  if ((want = differing_option(f, run, &have))) return option_differs(have, want, file);
  for (int k = 0; k < run->nattrs; k++) {
    want = &run->attrs[k];
    if (want->role == DTF_ATTR_OPTION && !dtf_state_attr(f, want->name))
      return dtf_error(DTF_ERR_INPUT, "checkpoint '%s' does not record %s (it lacks attribute '%s')", file,
                       want->flag, want->name);
  }
  if (run->have_input) {
    if (!f->have_input)
      return dtf_error(DTF_ERR_INPUT, "checkpoint '%s' does not record its input (no input_checksum)", file);
    const dtf_fingerprint_t *x = &f->input, *y = &run->input;
    /* the norm's last bits depend on the number of ranks; the checksum does not */
    if (x->checksum != y->checksum || fabs(x->norm - y->norm) > 1e-9 * fmax(x->norm, y->norm))
      return dtf_error(DTF_ERR_INPUT,
                       "checkpoint '%s' was made from another input of the same shape: its ||X|| is %.17g "
                       "and checksum %016llx, this input's %.17g and %016llx",
                       file, x->norm, (unsigned long long)x->checksum, y->norm,
                       (unsigned long long)y->checksum);
    if (f->permute != run->permute || f->permute_seed != run->permute_seed) {
      describe_permute(f->permute, f->permute_seed, a, sizeof a);
      describe_permute(run->permute, run->permute_seed, b, sizeof b);
      return dtf_error(DTF_ERR_INPUT, "checkpoint '%s' was made with %s; this run has %s", file, a, b);
    }
  }
  const char *part;
  if (run->ranks > 0 && any_per_rank(f, &part)) {
    int same = f->ranks == run->ranks;
    for (int n = 0; n < run->nmodes; n++) same &= f->grid[n] == run->grid[n];
    if (!same) {
      describe_grid(f, a, sizeof a);
      describe_grid(run, b, sizeof b);
      return dtf_error(DTF_ERR_INPUT,
                       "checkpoint '%s' holds state of each rank ('%s'), written by %s; this run has %s: "
                       "resume on as many ranks with the same --grid",
                       file, part, a, b);
    }
  }
  return check_values(f, run, file);
}

dtf_status dtf_state_check_values(const dtf_state_t *s, const char *file) {
  for (int k = 0; k < s->nfields; k++) {
    const dtf_field_t *f = &s->fields[k];
    if (f->undefined_ok || !f->data) continue;
    int64_t cols = f->cols ? f->cols : 1, rows = f->kind == DTF_FIELD_ROWS ? f->read_len : f->rows;
    int64_t lead = f->lead > 0 ? f->lead : 1, n = lead * rows * cols;
    for (int64_t e = 0; e < n; e++) {
      if (isfinite(f->data[e])) continue;
      int64_t row = (e / cols) % rows + (f->kind == DTF_FIELD_ROWS ? f->read_start : 0);
      char where[96];
      if (f->lead > 0)
        snprintf(where, sizeof where, "[%" PRId64 "][%" PRId64 "][%" PRId64 "]", e / (rows * cols), row,
                 e % cols);
      else if (f->cols)
        snprintf(where, sizeof where, "row %" PRId64 ", column %" PRId64, row, e % cols);
      else
        snprintf(where, sizeof where, "entry %" PRId64, row);
      return dtf_error(DTF_ERR_INPUT,
                       "checkpoint '%s': dataset '%s' holds %g at %s (0-based): not a usable checkpoint",
                       file, f->name, f->data[e], where);
    }
  }
  return DTF_OK;
}
