/* The model kinds dtf reads: each a table of functions (include/dtf/model.h). */
#include <string.h>

#include "dtf/model.h"

extern const dtf_model_ops_t dtf_cp_model_ops, dtf_tr_model_ops;

static const dtf_model_ops_t *const kinds[] = {&dtf_cp_model_ops, &dtf_tr_model_ops};

const dtf_model_ops_t *dtf_model_kind(const char *name) {
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
    if (!strcmp(kinds[k]->name, name)) return kinds[k];
  return NULL;
}
