/* DTF_FAULT: a test switch that makes one chosen rank fail at one chosen stage. */
#include "dtf/fault.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int my_rank = -1;

void dtf_fault_set_rank(int rank) { my_rank = rank; }

typedef struct {
  int parsed, active, rank;
  long n;
  char stage[32];
  long seen; /* occurrences of the stage so far on this rank (for counted stages) */
} spec_t;

static spec_t spec;

static void parse(void) {
  spec.parsed = 1;
  const char *v = getenv("DTF_FAULT");
  if (!v || !*v) return;
  char stage[32];
  if (sscanf(v, "%d:%ld:%31s", &spec.rank, &spec.n, stage) != 3) {
    fprintf(stderr, "dtf: ignoring DTF_FAULT='%s' (expected RANK:N:STAGE)\n", v);
    return;
  }
  snprintf(spec.stage, sizeof spec.stage, "%s", stage);
  spec.active = 1;
}

/* RANK -1: every rank */
static int mine(void) { return spec.active && (spec.rank < 0 || my_rank == spec.rank); }

int dtf_fault(const char *stage, int n) {
  if (!spec.parsed) parse();
  if (!mine() || strcmp(stage, spec.stage) != 0) return 0;
  if (n == 0) n = (int)++spec.seen;
  return spec.n == 0 || spec.n == n;
}

int dtf_fault_call(const char *stage, const char *call) {
  if (!spec.parsed) parse();
  if (!mine()) return 0;
  size_t len = strlen(stage);
  /* "mpi" counts every call, "mpi:Sendrecv" only the calls of that name */
  if (strncmp(spec.stage, stage, len) != 0 ||
      (spec.stage[len] != '\0' && (spec.stage[len] != ':' || strcmp(spec.stage + len + 1, call) != 0)))
    return 0;
  long n = ++spec.seen;
  return spec.n == 0 || spec.n == n;
}

void dtf_fault_raise(const char *stage) {
  static int raised;
  if (!spec.parsed) parse();
  if (raised || !mine() || strcmp(stage, spec.stage) != 0) return;
  raised = 1;
  raise((int)spec.n);
}

dtf_status dtf_fault_status(const char *stage, int n, dtf_status code) {
  if (!dtf_fault(stage, n)) return DTF_OK;
  return dtf_error(code, "fault injected by DTF_FAULT on rank %d at %s %d (stage %s)", my_rank,
                   strcmp(stage, "write") == 0 ? "write" : "iteration", n ? n : (int)spec.seen, stage);
}
