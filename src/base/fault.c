/* DTF_FAULT: a test switch that makes one chosen rank fail at one chosen stage. */
#include "dtf/fault.h"

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

int dtf_fault(const char *stage, int n) {
  if (!spec.parsed) parse();
  if (!spec.active || my_rank != spec.rank || strcmp(stage, spec.stage) != 0) return 0;
  if (n == 0) n = (int)++spec.seen;
  return spec.n == 0 || spec.n == n;
}

dtf_status dtf_fault_status(const char *stage, int n, dtf_status code) {
  if (!dtf_fault(stage, n)) return DTF_OK;
  return dtf_error(code, "fault injected by DTF_FAULT on rank %d at %s %d (stage %s)", my_rank,
                   strcmp(stage, "write") == 0 ? "write" : "iteration", n ? n : (int)spec.seen, stage);
}
