/* The model kinds dtf reads: each a table of functions (include/dtf/model.h). */
#include <string.h>

#include "dtf/status.h"

#include "dtf/model.h"

extern const dtf_model_ops_t dtf_cp_model_ops, dtf_tr_model_ops, dtf_tucker_model_ops;

static const dtf_model_ops_t *const kinds[] = {&dtf_cp_model_ops, &dtf_tr_model_ops, &dtf_tucker_model_ops};

const dtf_model_ops_t *dtf_model_kind(const char *name) {
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
    if (!strcmp(kinds[k]->name, name)) return kinds[k];
  return NULL;
}

dtf_status dtf_model_ranks_attr(const dtf_state_t *h, const char *name, int n, const int64_t *limit,
                                int64_t most, const char *file, int *ranks) {
  const dtf_attr_t *a = dtf_state_attr(h, name);
  if (!a || a->type != DTF_ATTR_INTS || a->n != n)
    return dtf_error(DTF_ERR_INPUT, "'%s': attribute '%s' (one per mode) is missing or invalid", file, name);
  for (int k = 0; k < n; k++) {
    int64_t hi = limit ? limit[k] : most;
    if (a->ints[k] < 1 || a->ints[k] > hi)
      return dtf_error(DTF_ERR_INPUT, "'%s': %s[%d] is %lld; it must be from 1 to %lld", file, name, k,
                       (long long)a->ints[k], (long long)hi);
    ranks[k] = (int)a->ints[k];
  }
  return DTF_OK;
}

void dtf_model_progress(const dtf_state_t *h, double *fit, int *iterations) {
  double f = 0;
  int64_t it = 0;
  dtf_state_get_real(h, "fit", &f);
  dtf_state_get_int(h, "iterations", &it);
  *fit = f;
  *iterations = (int)it;
}

dtf_status dtf_fit_not_finite(double fit) {
  if (fit < 0)
    return dtf_error(DTF_ERR_NUMERIC,
                     "the fit is below -1e308: the model's norm is more than 1e308 times the "
                     "tensor's (a model of data in other units?)");
  return dtf_error(DTF_ERR_NUMERIC, "the fit is not finite (the model's ||M|| or <X, M> is not a number)");
}
