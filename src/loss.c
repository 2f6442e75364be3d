/* The losses of generalized CP (Hong, Kolda and Duersch), as GenTen names them:
 *   gaussian          (m - x)^2
 *   poisson           e^m - x m            (log link: m is the log rate)
 *   poisson-identity  m - x log(m + eps)   (identity link, m >= 0 kept by nonnegative factors)
 *   bernoulli         log(1 + e^m) - x m   (logit link) */
#include <math.h>
#include <string.h>

#include "dtf/loss.h"

#define POISSON_EPS 1e-10
#define MAX_EXP 700.0 /* e^m overflows beyond 709 */

static const char *any_finite(double x) { return isfinite(x) ? NULL : "a finite number"; }
static const char *count(double x) {
  return x >= 0 && x == floor(x) && x < 9.007199254740992e15 ? NULL : "a non-negative integer count";
}
static const char *binary(double x) { return x == 0.0 || x == 1.0 ? NULL : "0 or 1"; }

static double gauss_value(double x, double m) { return (m - x) * (m - x); }
static double gauss_deriv(double x, double m) { return 2.0 * (m - x); }
static double identity(double m) { return m; }
static double gauss_scale(double rms, double mean) {
  (void)mean;
  return rms;
}

static double pois_value(double x, double m) { return exp(fmin(m, MAX_EXP)) - x * m; }
static double pois_deriv(double x, double m) { return exp(fmin(m, MAX_EXP)) - x; }
static double rate(double m) { return exp(fmin(m, MAX_EXP)); }
/* log rates of RMS 1: a start of random signs with the data's log mean as RMS puts some
 * rates at e^(3 log mean), and the first steps only fight those */
static double log_scale(double rms, double mean) {
  (void)rms;
  (void)mean;
  return 1.0;
}

static double pid_value(double x, double m) { return m - x * log(m + POISSON_EPS); }
static double pid_deriv(double x, double m) { return 1.0 - x / (m + POISSON_EPS); }
static double pid_scale(double rms, double mean) {
  (void)rms;
  return mean > 0 ? mean : 1.0;
}

static double bern_value(double x, double m) { return (m > 0 ? m + log1p(exp(-m)) : log1p(exp(m))) - x * m; }
static double sigmoid(double m) { return m >= 0 ? 1.0 / (1.0 + exp(-m)) : exp(m) / (1.0 + exp(m)); }
static double bern_deriv(double x, double m) { return sigmoid(m) - x; }
static double unit_scale(double rms, double mean) {
  (void)rms;
  (void)mean;
  return 1.0;
}

static const dtf_loss_t losses[] = {
    {"gaussian", any_finite, gauss_value, gauss_deriv, -INFINITY, identity, gauss_scale},
    {"poisson", count, pois_value, pois_deriv, -INFINITY, rate, log_scale},
    {"poisson-identity", count, pid_value, pid_deriv, 0.0, identity, pid_scale},
    {"bernoulli", binary, bern_value, bern_deriv, -INFINITY, sigmoid, unit_scale},
};

const dtf_loss_t *dtf_loss(const char *name) {
  for (size_t k = 0; k < sizeof losses / sizeof losses[0]; k++)
    if (!strcmp(losses[k].name, name)) return &losses[k];
  return NULL;
}
