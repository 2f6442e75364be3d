/* Losses of generalized CP (dtf gcp) behind one table: the elementwise loss f(x, m) of a
 * data value x and a model value m, its derivative in m (the gradient of every factor is
 * the MTTKRP of these derivatives), and the bound the model values must keep. */
#ifndef DTF_LOSS_H
#define DTF_LOSS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const char *name; /* "gaussian", "poisson", "poisson-identity", "bernoulli" */
  /* NULL if x is a value of this loss's data, else what it should be ("0 or 1") */
  const char *(*invalid)(double x);
  double (*value)(double x, double m);
  double (*deriv)(double x, double m);
  /* factor entries are kept >= lower (identity-link Poisson: 0, so that m >= 0); -INFINITY:
   * unconstrained */
  double lower;
  /* the predicted mean at m (the model value, its sigmoid, its exponential) */
  double (*mean)(double m);
  /* a typical start scale of m given the data's RMS rms and mean mean */
  double (*scale)(double rms, double mean);
} dtf_loss_t;

/* The loss named `name`, or NULL. */
const dtf_loss_t *dtf_loss(const char *name);

#ifdef __cplusplus
}
#endif
#endif
