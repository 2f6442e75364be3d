/* First-order optimizers of dtf gcp behind one table: SGD with momentum, Adam, Adan. An
 * optimizer keeps `buffers` doubles of state per parameter and updates n parameters in
 * place from their gradients. */
#ifndef DTF_OPTIM_H
#define DTF_OPTIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  double lr;                  /* step size */
  double beta1, beta2, beta3; /* sgd: beta1 the momentum; adam: beta1, beta2; adan: all three */
  double eps;
} dtf_optim_params_t;

typedef struct {
  const char *name; /* "sgd", "adam", "adan" */
  int buffers;      /* state doubles per parameter */
  /* The step-th update (1-based) of n parameters x with gradient g; state holds buffers x
   * n doubles (zero before the first step), parameter-major within each buffer. */
  void (*step)(const dtf_optim_params_t *p, int64_t step, int64_t n, double *x, const double *g,
               double *state);
  /* The defaults: sgd lr 1e-3, momentum 0.9; adam lr 1e-3, betas (0.9, 0.999); adan lr 1e-3,
   * betas (0.98, 0.92, 0.99) (its code's); eps 1e-8. */
  dtf_optim_params_t defaults;
} dtf_optim_t;

/* The optimizer named `name`, or NULL. */
const dtf_optim_t *dtf_optim(const char *name);

#ifdef __cplusplus
}
#endif
#endif
