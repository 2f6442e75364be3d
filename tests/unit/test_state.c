/* The state manifest: building it, and refusing a resume from a checkpoint that belongs to
 * another run, with a message naming what differs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
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
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
