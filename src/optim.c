/* SGD with momentum, Adam (Kingma and Ba) and Adan (Xie, Zhou, Li, Lin, Yan: Nesterov
 * momentum estimated from gradient differences, three moment buffers; as its reference
 * code: the difference buffer enters the step with weight beta2, every buffer is bias
 * corrected, and the first step's difference is zero). */
#include <math.h>
#include <string.h>

#include "dtf/optim.h"

/* v <- beta1 v + g; x <- x - lr v */
static void sgd_step(const dtf_optim_params_t *p, int64_t t, int64_t n, double *x, const double *g,
                     double *s) {
  (void)t;
  for (int64_t i = 0; i < n; i++) {
    s[i] = p->beta1 * s[i] + g[i];
    x[i] -= p->lr * s[i];
  }
}

static void adam_step(const dtf_optim_params_t *p, int64_t t, int64_t n, double *x, const double *g,
                      double *s) {
  double *m = s, *v = s + n, b1 = 1 - pow(p->beta1, (double)t), b2 = 1 - pow(p->beta2, (double)t);
  for (int64_t i = 0; i < n; i++) {
    m[i] = p->beta1 * m[i] + (1 - p->beta1) * g[i];
    v[i] = p->beta2 * v[i] + (1 - p->beta2) * g[i] * g[i];
    x[i] -= p->lr * (m[i] / b1) / (sqrt(v[i] / b2) + p->eps);
  }
}

/* buffers: m (gradient), d (gradient difference), nn (squared Nesterov gradient), the
 * previous gradient */
static void adan_step(const dtf_optim_params_t *p, int64_t t, int64_t n, double *x, const double *g,
                      double *s) {
  double *m = s, *d = s + n, *nn = s + 2 * n, *prev = s + 3 * n;
  double b1 = 1 - pow(p->beta1, (double)t), b2 = 1 - pow(p->beta2, (double)t),
         b3 = sqrt(1 - pow(p->beta3, (double)t));
  for (int64_t i = 0; i < n; i++) {
    double diff = t > 1 ? g[i] - prev[i] : 0.0, u = g[i] + p->beta2 * diff;
    m[i] = p->beta1 * m[i] + (1 - p->beta1) * g[i];
    d[i] = p->beta2 * d[i] + (1 - p->beta2) * diff;
    nn[i] = p->beta3 * nn[i] + (1 - p->beta3) * u * u;
    double denom = sqrt(nn[i]) / b3 + p->eps;
    x[i] -= (p->lr / b1 * m[i] + p->lr * p->beta2 / b2 * d[i]) / denom;
    prev[i] = g[i];
  }
}

static const dtf_optim_t optims[] = {
    {"sgd", 1, sgd_step, {1e-3, 0.9, 0, 0, 1e-8}},
    {"adam", 2, adam_step, {1e-3, 0.9, 0.999, 0, 1e-8}},
    {"adan", 4, adan_step, {1e-3, 0.98, 0.92, 0.99, 1e-8}},
};

const dtf_optim_t *dtf_optim(const char *name) {
  for (size_t k = 0; k < sizeof optims / sizeof optims[0]; k++)
    if (!strcmp(optims[k].name, name)) return &optims[k];
  return NULL;
}
