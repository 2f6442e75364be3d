/* Tucker's ranks under a size budget (docs/algorithms.md, "Tucker", "Ranks under a size
 * budget"; --budget): the spectra of every mode's Gram of the input, then the core shape
 * (dtf_tucker_budget_shape, src/tucker_model.c). */
#include <math.h>
#include <stdlib.h>

#include "timer.h"
#include "tucker_impl.h"

/* --budget: every mode's spectrum of the input, then the shape of least HOSVD bound that
 * fits the budget (dtf_tucker_budget_shape) becomes the ranks of the ST-HOSVD */
dtf_status tucker_budget_shape(dtf_tucker_t *s) {
  int N = s->N;
  double t0 = dtf_now(), *w[DTF_MAX_MODES] = {0};
  dtf_status st = DTF_OK;
  for (int n = 0; !st && n < N; n++) {
    int64_t I = s->x.dims[n], L = s->x.len[n];
    double *rows = calloc((size_t)(L * I + 1), sizeof(double)), *V = NULL;
    w[n] = malloc((size_t)I * sizeof(double));
    st = dtf_agree(s->g->comm, rows && w[n] ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for a Gram"));
    if (!st && s->sparse) {
      dtf_semi_t x, got;
      st = tucker_sparse_records(s, &x);
      if (!st) st = tucker_sparse_gram(s, &x, n, rows, &got);
      dtf_semi_free(&got);
    } else if (!st)
      st = tucker_gram(s, &s->x, n, s->scale, rows);
    if (!st)
      st = tucker_eigen(s, n, I, L, s->g->start[n], 1, rows, &V, w[n]);
    else
      free(rows);
    free(V);
  }
  if (!st) {
    double best = dtf_tucker_budget_shape(N, s->g->dims, (const double *const *)w, s->o.budget, s->o.ranks);
    if (best < 0)
      st = dtf_error(DTF_ERR_USAGE, "--budget %.0f is smaller than the smallest Tucker model", s->o.budget);
    else
      s->budget_bound = sqrt(best / s->nx2);
  }
  for (int n = 0; n < N; n++) free(w[n]);
  s->t_budget = dtf_now() - t0;
  return st;
}
