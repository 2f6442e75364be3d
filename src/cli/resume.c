/* What the run loop writes into a checkpoint beyond the solver's state, and --resume: the
 * checkpoint checked against this run (dtf_state_check_resume), restored, its values
 * checked, and the last progress record it holds taken back, so that a run resumed at its
 * end reports what the interrupted run reached. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void cli_last_keep(cli_last_t *l, const dtf_progress_t *p) {
  snprintf(l->metric, sizeof l->metric, "%s", p->metric);
  l->value = p->value;
  l->nextra = 0;
  for (int k = 0; k < p->nextra && k < DTF_PROGRESS_EXTRA; k++) {
    snprintf(l->extra_name[l->nextra], sizeof l->extra_name[0], "%s", p->extra_name[k]);
    l->extra[l->nextra++] = p->extra[k];
  }
}

/* The checkpoint's attribute "report" lists the names (the metric first), "report_NAME"
 * holds each value. */
static void report_attr(const char *name, char *buf, size_t size) { snprintf(buf, size, "report_%s", name); }

static void last_describe(const cli_last_t *l, dtf_state_t *st) {
  if (!l || !l->metric[0]) return;
  char names[128], key[DTF_STATE_NAME + 8];
  size_t used = (size_t)snprintf(names, sizeof names, "%s", l->metric);
  report_attr(l->metric, key, sizeof key);
  dtf_state_real(st, key, DTF_ATTR_STATE, NULL, l->value);
  dtf_state_undefined_ok(st, key);
  for (int k = 0; k < l->nextra; k++) {
    if (!strcmp(l->extra_name[k], l->metric)) continue; /* complete repeats its headline metric */
    if (used + 1 + strlen(l->extra_name[k]) >= sizeof names) break;
    used += (size_t)snprintf(names + used, sizeof names - used, ",%s", l->extra_name[k]);
    report_attr(l->extra_name[k], key, sizeof key);
    dtf_state_real(st, key, DTF_ATTR_STATE, NULL, l->extra[k]);
    dtf_state_undefined_ok(st, key);
  }
  dtf_state_text(st, "report", names);
}

/* The record the checkpoint's run reported last; a checkpoint without one: its fit. */
static void last_restore(cli_last_t *l, const dtf_state_t *file) {
  const dtf_attr_t *a = dtf_state_attr(file, "report");
  char key[DTF_STATE_NAME + 8];
  if (!a || a->type != DTF_ATTR_TEXT) {
    double fit;
    if (dtf_state_get_real(file, "fit", &fit)) return;
    snprintf(l->metric, sizeof l->metric, "fit");
    l->value = fit;
    l->nextra = 0;
    return;
  }
  char names[sizeof a->text];
  snprintf(names, sizeof names, "%s", a->text);
  l->nextra = -1;
  for (char *save = NULL, *name = strtok_r(names, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
    double v = NAN;
    report_attr(name, key, sizeof key);
    dtf_state_get_real(file, key, &v);
    if (l->nextra < 0) {
      snprintf(l->metric, sizeof l->metric, "%s", name);
      l->value = v;
    } else if (l->nextra < DTF_PROGRESS_EXTRA) {
      snprintf(l->extra_name[l->nextra], sizeof l->extra_name[0], "%s", name);
      l->extra[l->nextra] = v;
    } else
      continue;
    l->nextra++;
  }
  if (l->nextra < 0) l->nextra = 0;
}

dtf_status cli_describe(const dtf_solver_t *s, int checkpoint, const dtf_fingerprint_t *fp,
                        const cli_run_t *o, const cli_last_t *last, dtf_state_t *st) {
  dtf_status rc = s->ops->state(s->impl, checkpoint, st);
  if (rc) return rc;
  dtf_state_input(st, fp, o->permute, o->permute_seed);
  if (!checkpoint) return DTF_OK;
  if (o->describe) o->describe(st, o->ctx);
  last_describe(last, st);
  return DTF_OK;
}

typedef struct {
  const dtf_grid_t *g;
  const char *file;
} reader_t;

/* The solver's arrays from the checkpoint, every value finite unless the solver says. */
static dtf_status read_fields(dtf_state_t *into, void *ctx) {
  const reader_t *r = ctx;
  dtf_status st = dtf_h5_state_read(r->g, r->file, into);
  return st ? st : dtf_agree(r->g->comm, dtf_state_check_values(into, r->file));
}

/* A solver's restore says "the checkpoint ...": name it. */
static void name_the_file(dtf_status st, const char *file) {
  char quoted[4200], msg[4400];
  snprintf(quoted, sizeof quoted, "'%s", file);
  const char *m = dtf_error_message(), *the = "the checkpoint ";
  if (st != DTF_ERR_INPUT || strstr(m, quoted)) return;
  if (!strncmp(m, the, strlen(the)))
    snprintf(msg, sizeof msg, "checkpoint '%s' %s", file, m + strlen(the));
  else
    snprintf(msg, sizeof msg, "checkpoint '%s': %s", file, m);
  dtf_error_set_message(msg);
}

dtf_status cli_resume(cli_t *c, const dtf_grid_t *g, const dtf_solver_t *s, const dtf_fingerprint_t *fp,
                      const cli_run_t *o, int *start, cli_last_t *last) {
  int exists = c->rank == 0 && access(o->checkpoint, F_OK) == 0;
  dtf_status st = dtf_bcast(MPI_COMM_WORLD, &exists, sizeof exists, 0);
  if (st) return st;
  if (!exists) {
    cli_progress(c, "no checkpoint %s yet: starting from the beginning\n", o->checkpoint);
    return DTF_OK;
  }
  dtf_state_t *file = malloc(sizeof *file), *run = malloc(sizeof *run);
  st = file && run ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory");
  if (!st) st = dtf_h5_state_peek(MPI_COMM_WORLD, o->checkpoint, file);
  if (!st) st = cli_describe(s, 1, fp, o, NULL, run);
  if (!st) {
    run->ranks = g->size;
    for (int n = 0; n < g->nmodes; n++) run->grid[n] = g->pdims[n];
    st = dtf_state_check_resume(file, run, o->checkpoint);
  }
  reader_t r = {g, o->checkpoint};
  if (!st) {
    st = s->ops->restore(s->impl, file, read_fields, &r);
    name_the_file(st, o->checkpoint);
  }
  if (!st) {
    int64_t it = 0;
    dtf_state_get_int(file, "iterations", &it);
    *start = (int)it;
    last_restore(last, file);
    char at[96] = "";
    if (isfinite(last->value))
      snprintf(at, sizeof at,
               fabs(last->value) >= 1e-3 && fabs(last->value) < 1e5 ? " (%s %.5f)" : " (%s %.4e)",
               last->metric, last->value);
    cli_progress(c, "resumed from %s at iteration %d%s\n", o->checkpoint, *start, at);
  }
  free(file);
  free(run);
  return st;
}
