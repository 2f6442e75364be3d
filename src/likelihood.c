/* Gaussian, Bernoulli (logit link, Polya-Gamma E-step) and Poisson (log link, Fisher
 * scoring) likelihoods, and their metrics. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/kernels.h"
#include "dtf/likelihood.h"

/* exp() of a log-rate, capped where a rate could only be an overflow on the way */
#define MAX_LOG_RATE 50.0

static const char *gaussian_invalid(double y) { return isfinite(y) ? NULL : "a finite number"; }

static double identity(double x) { return x; }

static const char *bernoulli_invalid(double y) { return y == 0.0 || y == 1.0 ? NULL : "0 or 1"; }

/* Polya-Gamma: E[omega | psi] = tanh(psi / 2) / (2 psi), 1/4 at psi = 0; kappa = y - 1/2 */
static void bernoulli_weights(int64_t n, const double *y, const double *x, double *w, double *c) {
  for (int64_t e = 0; e < n; e++) {
    double psi = fabs(x[e]);
    w[e] = psi < 1e-6 ? 0.25 - psi * psi / 48.0 : tanh(psi / 2.0) / (2.0 * psi);
    c[e] = y[e] - 0.5;
  }
}

static double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); }

static const char *poisson_invalid(double y) {
  return y >= 0 && y == floor(y) && y < 9.007199254740992e15 ? NULL : "a non-negative integer count";
}

/* A damped Fisher scoring step: curvature w = max(mu, y) >= the Poisson information
 * mu = exp(x), target c = w x + (y - mu). Any w > 0 has the same fixed points (the
 * gradient sum (y - mu) h vanishes there); max(mu, y) keeps each entry's step in x within
 * (-1, 1), where plain Fisher scoring (w = mu) overshoots by (y - mu) / mu and diverges.
 * docs/algorithms.md says why not the negative-binomial Polya-Gamma bound. */
static void poisson_weights(int64_t n, const double *y, const double *x, double *w, double *c) {
  for (int64_t e = 0; e < n; e++) {
    double xe = fmin(x[e], MAX_LOG_RATE), mu = exp(xe);
    w[e] = fmax(mu, y[e]);
    c[e] = w[e] * xe + y[e] - mu;
  }
}

static double rate(double x) { return exp(fmin(x, MAX_LOG_RATE)); }

/* metric sums: s[0], s[1] per entry, residuals times unit; finish divides by the entries m
 * and by unit */
static void gaussian_sums(int64_t n, const double *y, const double *x, double unit, double *s) {
  for (int64_t e = 0; e < n; e++) {
    double r = (y[e] - x[e]) * unit;
    s[0] += r * r;
    s[1] += fabs(r);
  }
}

static void gaussian_finish(const double *s, double m, double unit, double *out) {
  out[0] = sqrt(s[0] / m) / unit; /* rmse */
  out[1] = s[1] / m / unit;       /* mae */
}

/* log(1 + exp(x)) without overflow */
static double softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

static void bernoulli_sums(int64_t n, const double *y, const double *x, double unit, double *s) {
  (void)unit;
  for (int64_t e = 0; e < n; e++) {
    s[0] += (sigmoid(x[e]) > 0.5) == (y[e] > 0.5); /* the probability predict gives, not x */
    s[1] += y[e] > 0.5 ? softplus(-x[e]) : softplus(x[e]);
  }
}

static void bernoulli_finish(const double *s, double m, double unit, double *out) {
  (void)unit;
  out[1] = s[0] / m; /* accuracy; out[0], the AUC, comes from the gathered scores */
  out[2] = s[1] / m; /* log-loss */
}

static void poisson_sums(int64_t n, const double *y, const double *x, double unit, double *s) {
  for (int64_t e = 0; e < n; e++) {
    double xe = fmin(x[e], MAX_LOG_RATE), mu = exp(xe), r = (y[e] - mu) * unit;
    s[0] += r * r;
    s[1] += y[e] * xe - mu - lgamma(y[e] + 1.0);
  }
}

static void poisson_finish(const double *s, double m, double unit, double *out) {
  out[0] = sqrt(s[0] / m) / unit; /* rmse of the rate */
  out[1] = s[1] / m;              /* mean log-likelihood */
}

static double gaussian_loglik(double y, double x) { return -0.5 * (y - x) * (y - x); }
static double bernoulli_loglik(double y, double x) { return y > 0.5 ? -softplus(-x) : -softplus(x); }
static double poisson_loglik(double y, double x) {
  double xe = fmin(x, MAX_LOG_RATE);
  return y * xe - exp(xe);
}

static double gaussian_deviance(double y, double x) { return (y - x) * (y - x); }
static double poisson_deviance(double y, double x) {
  double xe = fmin(x, MAX_LOG_RATE), mu = exp(xe);
  return 2.0 * ((y > 0 ? y * (log(y) - xe) : 0.0) - (y - mu));
}

static const dtf_likelihood_t kinds[] = {
    {"gaussian",
     gaussian_invalid,
     NULL,
     1,
     identity,
     gaussian_sums,
     gaussian_finish,
     -1,
     2,
     {"rmse", "mae"},
     {1, 1},
     0,
     gaussian_loglik,
     gaussian_deviance},
    {"bernoulli",
     bernoulli_invalid,
     bernoulli_weights,
     0,
     sigmoid,
     bernoulli_sums,
     bernoulli_finish,
     0,
     3,
     {"auc", "accuracy", "logloss"},
     {0, 0, 1},
     2,
     bernoulli_loglik,
     NULL},
    {"poisson",
     poisson_invalid,
     poisson_weights,
     0,
     rate,
     poisson_sums,
     poisson_finish,
     -1,
     2,
     {"rmse", "loglik"},
     {1, 0},
     1,
     poisson_loglik,
     poisson_deviance},
};

const dtf_likelihood_t *dtf_likelihood(const char *name) {
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
    if (!strcmp(kinds[k].name, name)) return &kinds[k];
  return NULL;
}

static int by_score(const void *a, const void *b) {
  const double *x = a, *y = b;
  return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0;
}

/* Area under the ROC curve of (predicted value, label) pairs gathered on rank 0: the
 * Mann-Whitney statistic with tied values given their mean rank (a tie counts half). */
static dtf_status auc(MPI_Comm comm, int64_t n, const double *y, const double *x, double (*mean)(double),
                      double *out, dtf_comm_stats_t *stats) {
  double *pairs = malloc((size_t)(n ? n : 1) * 2 * sizeof(double)), *all = NULL;
  dtf_status st = dtf_agree(
      comm, pairs && n <= INT32_MAX / 2
                ? DTF_OK
                : dtf_error(DTF_ERR_INPUT, "out of memory for the AUC of %lld entries", (long long)n));
  if (st) {
    free(pairs);
    return st;
  }
  for (int64_t e = 0; e < n; e++) { /* ranked by the predicted value (a probability), as predict gives it */
    pairs[2 * e] = mean(x[e]);
    pairs[2 * e + 1] = y[e];
  }
  int64_t total = 0;
  st = dtf_gather_doubles(comm, pairs, (int)(2 * n), 0, &all, &total, stats);
  free(pairs);
  double a = NAN;
  if (!st && all) { /* rank 0, the only one that received the scores */
    int64_t m = total / 2;
    qsort(all, (size_t)m, 2 * sizeof(double), by_score);
    double pos = 0, rank_sum = 0;
    for (int64_t i = 0; i < m;) {
      int64_t j = i;
      while (j < m && all[2 * j] == all[2 * i]) j++;
      double mid = 0.5 * (double)(i + 1 + j); /* mean 1-based rank of the tie group */
      for (int64_t k = i; k < j; k++)
        if (all[2 * k + 1] > 0.5) {
          pos += 1;
          rank_sum += mid;
        }
      i = j;
    }
    double neg = (double)m - pos;
    if (pos > 0 && neg > 0) a = (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
  }
  free(all);
  if (!st) st = dtf_bcast(comm, &a, sizeof a, 0);
  *out = a;
  return st;
}

dtf_status dtf_likelihood_metrics(MPI_Comm comm, const dtf_likelihood_t *lik, int64_t n, const double *y,
                                  const double *x, double *out, dtf_comm_stats_t *stats) {
  /* residuals times a power of two that takes the largest near 1: their squares neither
   * overflow nor underflow (data of 1e155 or 1e-170), and the metrics are exact as before */
  double big = 0;
  for (int64_t e = 0; e < n; e++) {
    double r = fabs(y[e] - lik->mean(x[e]));
    if (r > big && isfinite(r)) big = r;
  }
  dtf_status st = dtf_allreduce(comm, &big, 1, MPI_DOUBLE, MPI_MAX, stats);
  if (st) return st;
  double unit = dtf_pow2_scale(big), s[3] = {(double)n, 0, 0};
  lik->sums(n, y, x, unit, s + 1);
  st = dtf_allreduce_sum(comm, s, 3, stats);
  if (st) return st;
  for (int k = 0; k < lik->nmetrics; k++) out[k] = NAN;
  if (s[0] > 0) lik->finish(s + 1, s[0], unit, out);
  if (lik->auc_metric >= 0) st = auc(comm, n, y, x, lik->mean, &out[lik->auc_metric], stats);
  return st;
}
