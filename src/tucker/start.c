/* The leading singular vectors of every mode as a start for CP (dtf cp and dtf gcp
 * --init svd): an ST-HOSVD of ranks min(I_n, R), by the randomized range finder on a dense
 * tensor (a sketch keyed by the seed, no I_n x I_n Gram), by the Grams on a sparse one. */
#include <string.h>

#include "dtf/tucker.h"

dtf_status dtf_tucker_cp_start(const dtf_grid_t *g, dtf_tensor_t *t, int R, uint64_t seed, double max_mem,
                               dtf_log_fn log, void *ctx, dtf_tucker_t **out, int *shape) {
  int N = g->nmodes;
  dtf_tucker_options_t to;
  dtf_tucker_options_default(&to, N);
  for (int n = 0; n < N; n++) shape[n] = to.ranks[n] = g->dims[n] < R ? (int)g->dims[n] : R;
  if (!strcmp(t->ops->name, "dense")) {
    to.eig = DTF_EIG_RANDOMIZED;
    to.power = 1;
  }
  to.seed = seed;
  to.max_mem = max_mem;
  to.log = log;
  to.ctx = ctx;
  *out = NULL;
  dtf_status st = dtf_tucker_init(g, t, &to, out);
  if (!st) {
    dtf_solver_t solver = dtf_tucker_solver(*out);
    st = dtf_solver_run(&solver, NULL, NULL);
  }
  if (st) {
    dtf_tucker_free(*out);
    *out = NULL;
  }
  return st;
}
