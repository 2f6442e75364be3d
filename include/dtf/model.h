/* Model kinds behind one table, so that `dtf eval`, `dtf info` and the library read and
 * evaluate any model file the same way (CP and tensor ring; Tucker next). */
#ifndef DTF_MODEL_H
#define DTF_MODEL_H

#include "dtf/factor.h"
#include "dtf/grid.h"
#include "dtf/state.h"
#include "dtf/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const char *name; /* the model attribute of its files: "cp", "tr" */
  /* An empty model of the shape the file's header (a peeked manifest) gives, on grid,
   * and in *fields the manifest of its arrays, to be read from the file. DTF_ERR_INPUT
   * if the header lacks what the model needs (file names the file). Collective. */
  dtf_status (*create)(const dtf_grid_t *grid, const dtf_state_t *header, const char *file, void **model,
                       dtf_state_t *fields);
  /* After the fields were read: the model takes its arrays from them; DTF_ERR_NUMERIC if
   * it holds NaN or Inf. Collective. */
  dtf_status (*check)(const dtf_grid_t *grid, void *model, const char *file);
  /* Fit 1 - ||X - M|| / ||X|| on the tensor t. Collective. */
  dtf_status (*fit)(const dtf_grid_t *grid, dtf_tensor_t *t, const void *model, double *fit);
  /* x (the linear predictor) at count block-local indices inds (count x nmodes) of this
   * rank's grid block; the model's likelihood (the file's "likelihood" attribute) maps
   * it to a mean. Node-local. */
  void (*predict)(const void *model, int64_t count, const int64_t *inds, double *x);
  void (*destroy)(void *model);
} dtf_model_ops_t;

/* The offsets a completion model file may hold (docs/formats.md): `bias` (one value) and
 * `bias_n` (I_n values, mode n), added to the linear predictor before the likelihood's
 * mean. */
typedef struct {
  int on; /* the file has them */
  double mu;
  dtf_factor_t rows[DTF_MAX_MODES];
  int nmodes;
} dtf_model_bias_t;

/* If the header h of `file` lists the field `bias`: room for the offsets on grid, and their
 * fields added to `fields` (to be read with the model's). Collective. */
dtf_status dtf_model_bias_fields(const dtf_grid_t *grid, const dtf_state_t *h, const char *file,
                                 dtf_model_bias_t *b, dtf_state_t *fields);
/* After reading: DTF_ERR_NUMERIC naming the field if an offset is NaN or Inf. Collective. */
dtf_status dtf_model_bias_check(const dtf_grid_t *grid, const dtf_model_bias_t *b, const char *file);
/* x[k] += the offsets at count block-local indices inds (count x nmodes). */
void dtf_model_bias_add(const dtf_model_bias_t *b, int64_t count, const int64_t *inds, double *x);
void dtf_model_bias_free(dtf_model_bias_t *b);

/* The fit 1 - ||X - M|| / ||X|| of a model with offsets on the dense tensor t, from the
 * model's predictions at every cell (kind's predict plus b); DTF_ERR_INPUT for a sparse
 * tensor, whose unlisted cells a model with offsets does not leave at zero. Collective. */
dtf_status dtf_model_fit_cells(const dtf_grid_t *grid, dtf_tensor_t *t, const dtf_model_ops_t *kind,
                               const void *model, const dtf_model_bias_t *b, double *fit);

/* The model kind named `name` ("cp"), or NULL. */
const dtf_model_ops_t *dtf_model_kind(const char *name);

/* For a kind's create: the int attribute array `name` of a model file's header, n values
 * each from 1 to limit[k] (limit NULL: to most), into ranks; DTF_ERR_INPUT naming the file,
 * the attribute and the value. */
dtf_status dtf_model_ranks_attr(const dtf_state_t *h, const char *name, int n, const int64_t *limit,
                                int64_t most, const char *file, int *ranks);

/* The DTF_ERR_NUMERIC of a fit that is not finite (-Inf: a model beyond 1e308 times the
 * tensor; NaN), for a kind's fit. */
dtf_status dtf_fit_not_finite(double fit);

/* The header's fit and iterations (0 where absent). */
void dtf_model_progress(const dtf_state_t *h, double *fit, int *iterations);

#ifdef __cplusplus
}
#endif
#endif
