/* The optimizers (src/optim.c) and the GCP losses (src/loss.c):
 *   - SGD with momentum, Adam and Adan each minimise a convex quadratic
 *     f(x) = 1/2 sum_i a_i (x_i - c_i)^2 to within 1e-3 of c;
 *   - Adan equals a direct transcription of its reference code's update (the in-place
 *     "negative previous gradient" buffer of its single-tensor path) for 50 steps;
 *   - every loss's derivative matches a central difference of its value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/loss.h"
#include "dtf/optim.h"

enum { P = 6 };
static const double a[P] = {1, 3, 0.5, 10, 2, 0.2}, c[P] = {1, -2, 0.5, 3, -0.25, 4};

static void quadratic_grad(const double *x, double *g) {
  for (int i = 0; i < P; i++) g[i] = a[i] * (x[i] - c[i]);
}

static void test_converge_on_quadratic(void **state) {
  (void)state;
  const char *names[] = {"sgd", "adam", "adan"};
  const double lrs[] = {0.02, 0.05, 0.05};
  for (int k = 0; k < 3; k++) {
    const dtf_optim_t *o = dtf_optim(names[k]);
    assert_non_null(o);
    dtf_optim_params_t p = o->defaults;
    p.lr = lrs[k];
    double x[P] = {0}, g[P], *s = calloc((size_t)(o->buffers * P), sizeof(double));
    for (int64_t t = 1; t <= 20000; t++) {
      quadratic_grad(x, g);
      o->step(&p, t, P, x, g, s);
      if (t % 5000 == 0) p.lr *= 0.1; /* as gcp's epochs do when the loss stops falling */
    }
    for (int i = 0; i < P; i++) assert_true(fabs(x[i] - c[i]) < 1e-3);
    free(s);
  }
}

/* Adan as its reference code writes it: neg = -g_prev (g_1 at the first step), then
 * neg += g (the difference), m, diff, neg = beta2 neg + g, n, and the step with bias
 * corrections; neg = -g for the next step. */
static void test_adan_transcription(void **state) {
  (void)state;
  const dtf_optim_t *o = dtf_optim("adan");
  dtf_optim_params_t p = o->defaults;
  p.lr = 0.01;
  double x[P] = {0}, y[P] = {0}, g[P], *s = calloc((size_t)(o->buffers * P), sizeof(double));
  double m[P] = {0}, d[P] = {0}, n[P] = {0}, neg[P];
  double b1 = p.beta1, b2 = p.beta2, b3 = p.beta3;
  for (int t = 1; t <= 50; t++) {
    quadratic_grad(x, g);
    o->step(&p, t, P, x, g, s);
    double gy[P];
    quadratic_grad(y, gy);
    if (t == 1)
      for (int i = 0; i < P; i++) neg[i] = -gy[i];
    double bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t), bc3 = sqrt(1 - pow(b3, t));
    for (int i = 0; i < P; i++) {
      neg[i] += gy[i];
      m[i] = m[i] * b1 + (1 - b1) * gy[i];
      d[i] = d[i] * b2 + (1 - b2) * neg[i];
      neg[i] = neg[i] * b2 + gy[i];
      n[i] = n[i] * b3 + (1 - b3) * neg[i] * neg[i];
      double denom = sqrt(n[i]) / bc3 + p.eps;
      y[i] -= p.lr / bc1 * m[i] / denom;
      y[i] -= p.lr * b2 / bc2 * d[i] / denom;
      neg[i] = -gy[i];
    }
    for (int i = 0; i < P; i++) assert_true(fabs(x[i] - y[i]) <= 1e-14 * (1 + fabs(y[i])));
  }
  free(s);
}

static void test_loss_derivatives(void **state) {
  (void)state;
  const char *names[] = {"gaussian", "poisson", "poisson-identity", "bernoulli"};
  const double xs[] = {0.7, 3, 2, 1}, ms[] = {-0.4, 0.8, 1.7, -1.2};
  for (int k = 0; k < 4; k++) {
    const dtf_loss_t *L = dtf_loss(names[k]);
    assert_non_null(L);
    assert_null(L->invalid(xs[k]));
    double h = 1e-6, num = (L->value(xs[k], ms[k] + h) - L->value(xs[k], ms[k] - h)) / (2 * h);
    assert_true(fabs(num - L->deriv(xs[k], ms[k])) < 1e-6);
  }
  assert_non_null(dtf_loss("bernoulli")->invalid(0.5));
  assert_non_null(dtf_loss("poisson")->invalid(-1));
  assert_non_null(dtf_loss("poisson")->invalid(2.5));
  assert_null(dtf_loss("nope"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_converge_on_quadratic),
      cmocka_unit_test(test_adan_transcription),
      cmocka_unit_test(test_loss_derivatives),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
