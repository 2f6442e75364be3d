/* The row updates of the ALS sweep: how a mode's owned rows are found from their MTTKRP
 * rows M and the Hadamard product V of the other modes' Grams (the normal equations
 * A V = M), one table row each. CP-ALS picks one per mode from its constraint and --update
 * (docs/algorithms.md, "Row updates"). */
#ifndef DTF_ROW_UPDATE_H
#define DTF_ROW_UPDATE_H

#include <stdint.h>

#include "dtf/cp.h"

typedef struct dtf_row_update {
  const char *name; /* as --update spells it */
  int nonneg;       /* keeps the rows nonnegative: the start must be nonnegative too */
  int warm;         /* starts from the rows as they stand (A on entry), not from M alone */
  /* doubles of workspace for rank R */
  int64_t (*work)(int R);
  /* A (rows x R): on entry the current rows (read when warm), on exit the new ones; M is
   * not changed; u is the table row itself. *pinv: set when V had to be pseudo-inverted.
   * DTF_ERR_NUMERIC on a V with a non-finite entry. */
  dtf_status (*update)(const struct dtf_row_update *u, int R, const double *V, int64_t rows, const double *M,
                       double *A, double *work, int *pinv);
} dtf_row_update_t;

/* The row update of a mode held to constraint c under the choice u; NULL (with the reason
 * in *why) when u cannot hold c. */
const dtf_row_update_t *dtf_row_update(dtf_update_t u, dtf_constraint_t c, const char **why);

#endif
