/* Likelihoods of the completion solvers behind one table: what a value may be, the
 * E-step (the weight and target each observation adds to the row statistics), the
 * predicted mean, and the metrics reported on train and test entries. */
#ifndef DTF_LIKELIHOOD_H
#define DTF_LIKELIHOOD_H

#include <mpi.h>
#include <stdint.h>

#include "dtf/comm.h"
#include "dtf/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DTF_MAX_METRICS 3

typedef struct {
  const char *name; /* "gaussian", "bernoulli", "poisson" */
  /* NULL if y is a value of this likelihood, else what it should be ("0 or 1") */
  const char *(*invalid)(double y);
  /* E-step at the linear predictor x: the row statistics gain w h h^T and c h for an
   * observation y whose design row is h (docs/algorithms.md). NULL: w = 1 and c = y
   * whatever x (gaussian), so the E-step needs no predictor. */
  void (*weights)(int64_t n, const double *y, const double *x, double *w, double *c);
  /* 1: the statistics are scaled by an estimated noise precision (gaussian) */
  int noise_precision;
  /* the predicted value at x: the mean, the probability, the rate */
  double (*mean)(double x);
  /* the metrics: per-entry sums s[0], s[1] (added to) of the residuals times unit (a power
   * of two that keeps their squares in range), then out[] from the sums over m entries, in
   * the data's units; the metric auc_metric (-1: none) is the AUC, computed from the scores */
  void (*sums)(int64_t n, const double *y, const double *x, double unit, double *s);
  void (*finish)(const double *s, double m, double unit, double *out);
  int auc_metric;
  int nmetrics;
  const char *metric[DTF_MAX_METRICS]; /* metric[0] is the headline ("rmse", "auc") */
  int lower_is_better[DTF_MAX_METRICS];
  int loss; /* the metric whose change on the train entries decides convergence */
  /* log p(y | x) up to a constant in x (gaussian: -(y - x)^2 / 2, for unit noise precision) */
  double (*loglik)(double y, double x);
  /* the unit deviance of y at x, whose sum over the train entries estimates the noise
   * precision (gaussian: (y - x)^2) or the dispersion phi of an overdispersed count
   * (poisson: 2 (y log(y / mu) - (y - mu))); NULL: none is estimated (bernoulli) */
  double (*deviance)(double y, double x);
} dtf_likelihood_t;

/* The likelihood named `name`, or NULL. */
const dtf_likelihood_t *dtf_likelihood(const char *name);

/* The metrics of predictions x at observations y (n local ones) over all ranks of comm:
 * out[k] is metric[k]. With no observation at all the metrics are NaN. Collective. */
dtf_status dtf_likelihood_metrics(MPI_Comm comm, const dtf_likelihood_t *lik, int64_t n, const double *y,
                                  const double *x, double *out, dtf_comm_stats_t *stats);

#ifdef __cplusplus
}
#endif
#endif
