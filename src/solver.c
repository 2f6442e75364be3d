/* The generic run: iterate until finished, reporting each iteration; what every solver's
 * restore shares. */
#include <stdlib.h>

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

dtf_status dtf_solver_restore_scalars(const dtf_state_t *file, const char *what, int max_iters,
                                      int *iteration, int *converged, double *fit, double *delta) {
  int64_t it = 0, conv = 0;
  if (dtf_state_get_int(file, "iterations", &it) || dtf_state_get_int(file, "converged", &conv) ||
      dtf_state_get_real(file, "fit", fit) || dtf_state_get_real(file, "delta", delta))
    return dtf_error(DTF_ERR_INPUT, "the checkpoint lacks the %s state (iterations, converged, fit, delta)",
                     what);
  if (it < 1 || it > max_iters)
    return dtf_error(DTF_ERR_INPUT, "the checkpoint is at iteration %lld; this run allows %d (-i)",
                     (long long)it, max_iters);
  *iteration = (int)it;
  *converged = (int)conv;
  return DTF_OK;
}

dtf_status dtf_solver_restore_fields(dtf_status (*state)(void *impl, int checkpoint, dtf_state_t *out),
                                     void *impl, dtf_state_read_fn read, void *ctx) {
  dtf_state_t *fields = malloc(sizeof *fields);
  if (!fields) return dtf_error(DTF_ERR_INPUT, "out of memory");
  dtf_status st = state(impl, 1, fields);
  if (!st) st = read(fields, ctx);
  free(fields);
  return st;
}
