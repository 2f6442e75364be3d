/* The state manifest: building it, and refusing a resume from a checkpoint that belongs to
 * another run, with a message naming what differs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/state.h"

static void checkpoint(dtf_state_t *s) {
  int64_t dims[3] = {30, 20, 10};
  dtf_fingerprint_t fp = {3, {30, 20, 10}, 6000, 12.5, 0x1234abcdULL};
  dtf_state_init(s, "cp-als", "cp", 1, 3, dims);
  dtf_state_input(s, &fp, 0, 0);
  dtf_state_int(s, "rank", DTF_ATTR_OPTION, "--rank", 5);
  dtf_state_int(s, "seed", DTF_ATTR_OPTION, "--seed", 0);
  dtf_state_int(s, "iterations", DTF_ATTR_STATE, NULL, 12);
  dtf_state_real(s, "fit", DTF_ATTR_STATE, NULL, 0.9);
}

/* file: the checkpoint as read back; run: a run that differs by `change`. */
static void expect(void (*change)(dtf_state_t *file, dtf_state_t *run), const char *message) {
  dtf_state_t *file = malloc(sizeof *file), *run = malloc(sizeof *run);
  checkpoint(file);
  checkpoint(run);
  if (change) change(file, run);
  dtf_status st = dtf_state_check_resume(file, run, "ck.h5");
  if (!message)
    assert_int_equal(st, DTF_OK);
  else {
    assert_int_equal(st, DTF_ERR_INPUT);
    if (!strstr(dtf_error_message(), message)) fail_msg("'%s' lacks '%s'", dtf_error_message(), message);
  }
  free(file);
  free(run);
}

static void as_model(dtf_state_t *f, dtf_state_t *r) {
  (void)r;
  f->checkpoint = 0;
}
static void other_solver(dtf_state_t *f, dtf_state_t *r) {
  (void)r;
  strcpy(f->solver, "tr-als");
}
static void newer(dtf_state_t *f, dtf_state_t *r) {
  (void)r;
  f->format = DTF_STATE_FORMAT + 1;
}
static void other_shape(dtf_state_t *f, dtf_state_t *r) {
  (void)f;
  r->dims[2] = 11;
}
static void other_input(dtf_state_t *f, dtf_state_t *r) {
  (void)f;
  r->input.checksum ^= 1;
}
static void other_norm(dtf_state_t *f, dtf_state_t *r) {
  (void)f;
  r->input.norm *= 1.0 + 1e-6;
}
static void rounding(dtf_state_t *f, dtf_state_t *r) {
  (void)f;
  r->input.norm *= 1.0 + 1e-14; /* another number of ranks rounds differently */
}
static void permuted(dtf_state_t *f, dtf_state_t *r) {
  (void)f;
  r->permute = 1;
  r->permute_seed = 3;
}
static void other_rank(dtf_state_t *f, dtf_state_t *r) {
  (void)f;
  r->attrs[0].i = 6;
}
static void no_rank(dtf_state_t *f, dtf_state_t *r) {
  (void)r;
  strcpy(f->attrs[0].name, "ranks_of_something");
}
static void old_checkpoint(dtf_state_t *f, dtf_state_t *r) {
  (void)r;
  f->have_input = 0;
}

/* gcp's solver names carry its loss: the option is named, not the solver */
static void other_loss(dtf_state_t *f, dtf_state_t *r) {
  strcpy(f->solver, "gcp-gaussian-adam");
  strcpy(r->solver, "gcp-poisson-adam");
  dtf_state_text_option(f, "loss", "--loss", "gaussian");
  dtf_state_text_option(r, "loss", "--loss", "poisson");
}
static void other_model(dtf_state_t *f, dtf_state_t *r) {
  (void)f;
  strcpy(r->model, "tr");
}
static void other_order(dtf_state_t *f, dtf_state_t *r) {
  int64_t a[3] = {2, 0, 1}, b[3] = {1, 0, 2};
  dtf_state_ints(f, "mode_order", DTF_ATTR_OPTION, "--order", a, 3);
  dtf_state_ints(r, "mode_order", DTF_ATTR_OPTION, "--order", b, 3);
  dtf_state_style(r, "mode_order", DTF_SHOW_MODES);
}
static void unset_tol(dtf_state_t *f, dtf_state_t *r) {
  dtf_state_real(f, "tol", DTF_ATTR_OPTION, "--tol", 0);
  dtf_state_real(r, "tol", DTF_ATTR_OPTION, "--tol", 0.1);
  dtf_state_style(r, "tol", DTF_SHOW_UNSET);
}
static void other_holdout(dtf_state_t *f, dtf_state_t *r) {
  dtf_state_real(f, "holdout", DTF_ATTR_OPTION, "--holdout", 0.1);
  dtf_state_real(r, "holdout", DTF_ATTR_OPTION, "--holdout", 0.2);
  r->input.checksum ^= 1; /* another split: another training tensor, but the option is the cause */
}
static void negative_iterations(dtf_state_t *f, dtf_state_t *r) {
  (void)r;
  dtf_state_int(f, "iterations", DTF_ATTR_STATE, NULL, -5);
}
static void nan_fit(dtf_state_t *f, dtf_state_t *r) {
  (void)r;
  dtf_state_real(f, "fit", DTF_ATTR_STATE, NULL, NAN);
}
static void nan_fit_allowed(dtf_state_t *f, dtf_state_t *r) {
  dtf_state_real(f, "fit", DTF_ATTR_STATE, NULL, NAN);
  dtf_state_undefined_ok(r, "fit");
}
static void negative_count(dtf_state_t *f, dtf_state_t *r) {
  dtf_state_int(f, "converged", DTF_ATTR_STATE, NULL, -1);
  dtf_state_int(r, "converged", DTF_ATTR_STATE, NULL, 0);
}
static void per_rank(dtf_state_t *f, dtf_state_t *r) {
  dtf_state_per_rank(f, "compress_0", 4, NULL);
  f->ranks = r->ranks = 2;
  f->grid[0] = r->grid[1] = 2;
  f->grid[1] = f->grid[2] = r->grid[0] = r->grid[2] = 1;
}
static void per_rank_same(dtf_state_t *f, dtf_state_t *r) {
  per_rank(f, r);
  r->grid[0] = 2;
  r->grid[1] = 1;
}

static void test_resume_refusals(void **state) {
  (void)state;
  expect(NULL, NULL);
  expect(rounding, NULL);
  expect(as_model, "is a cp model file, not a checkpoint");
  expect(other_solver, "is a tr-als checkpoint; this run is cp-als");
  expect(newer, "has format version 2");
  expect(other_shape, "was made for a 30x20x10 tensor; this input is 30x20x11");
  expect(other_input, "from another input of the same shape");
  expect(other_norm, "from another input of the same shape");
  expect(permuted, "was made with no --permute; this run has --permute (seed 3)");
  expect(other_rank, "was made with --rank 5; this run has --rank 6");
  expect(no_rank, "lacks attribute 'rank'");
  expect(old_checkpoint, "does not record its input");
  expect(other_loss, "was made with --loss gaussian; this run has --loss poisson");
  expect(other_model, "is of model cp; this run is of model tr (--model)");
  expect(other_order, "was made with --order 3,1,2; this run has --order 2,1,3");
  expect(unset_tol, "was made with no --tol; this run has --tol 0.1");
  expect(other_holdout, "was made with --holdout 0.1; this run has --holdout 0.2");
  expect(negative_iterations, "checkpoint 'ck.h5': attribute 'iterations' is -5");
  expect(nan_fit, "checkpoint 'ck.h5': attribute 'fit' is nan; it must be a finite number");
  expect(nan_fit_allowed, NULL);
  expect(negative_count, "attribute 'converged' is -1; it must be >= 0");
  expect(per_rank,
         "holds state of each rank ('compress_0'), written by 2 ranks on grid 2x1x1; this run has 2 "
         "ranks on grid 1x2x1");
  expect(per_rank_same, NULL);
}

/* the values read into a manifest: the first NaN or Inf, named with its place */
static void test_values(void **state) {
  (void)state;
  dtf_state_t *s = malloc(sizeof *s);
  int64_t dims[2] = {6, 3};
  double rows[6] = {1, 2, 3, 4, 5, 6}, hist[2] = {NAN, 1};
  dtf_state_init(s, "x", "cp", 1, 2, dims);
  dtf_state_rows(s, "factor_0", 6, 2, 3, 3, 3, 3, rows); /* rows 3..5 of 6 */
  dtf_state_replicated(s, "history", 2, 0, hist);
  dtf_state_undefined_ok(s, "history");
  assert_int_equal(dtf_state_check_values(s, "ck.h5"), DTF_OK);
  rows[3] = INFINITY;
  assert_int_equal(dtf_state_check_values(s, "ck.h5"), DTF_ERR_INPUT);
  const char *want = "checkpoint 'ck.h5': dataset 'factor_0' holds inf at row 4, column 1 (0-based)";
  if (!strstr(dtf_error_message(), want)) fail_msg("'%s' lacks '%s'", dtf_error_message(), want);
  free(s);
}

static void test_builders(void **state) {
  (void)state;
  dtf_state_t *s = malloc(sizeof *s);
  int64_t dims[2] = {4, 3};
  double data[12] = {0};
  dtf_state_init(s, "x", "cp", 0, 2, dims);
  dtf_state_rows(s, "factor_0", 4, 3, 2, 2, 3, 1, data);
  dtf_state_replicated(s, "lambda", 3, 0, data);
  dtf_state_real(s, "fit", DTF_ATTR_STATE, NULL, 0.5);
  const dtf_field_t *f = dtf_state_field(s, "factor_0");
  assert_non_null(f);
  assert_int_equal(f->kind, DTF_FIELD_ROWS);
  assert_int_equal(f->own_start, 3);
  assert_null(dtf_state_field(s, "factor_1"));
  double v = 0;
  int64_t i = 0;
  assert_int_equal(dtf_state_get_real(s, "fit", &v), 0);
  assert_true(v == 0.5);
  assert_int_equal(dtf_state_get_int(s, "fit", &i), -1); /* of another type */
  for (int k = 0; k < DTF_STATE_MAX_FIELDS; k++) dtf_state_replicated(s, "more", 1, 0, data);
  assert_int_equal(s->overflow, 1); /* too many fields is noticed, not written past the end */
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_resume_refusals),
      cmocka_unit_test(test_builders),
      cmocka_unit_test(test_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
