/* The generic run: iterate until finished, reporting each iteration. */
#include "dtf/solver.h"

dtf_status dtf_solver_run(const dtf_solver_t *s, dtf_progress_fn progress, void *ctx) {
  while (!s->ops->finished(s->impl)) {
    dtf_progress_t p;
    dtf_status st = s->ops->iterate(s->impl, &p);
    if (st) return st;
    if (progress && progress(&p, ctx)) return DTF_INTERRUPTED;
  }
  return DTF_OK;
}
