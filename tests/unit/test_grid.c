/* Block partition and grid choice (pure functions, no MPI communication). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dtf/grid.h"

static void test_block_range_covers_once_and_balances(void **state) {
  (void)state;
  for (int64_t n = 1; n <= 40; n++)
    for (int p = 1; p <= n; p++) {
      int64_t next = 0, lo = n, hi = 0;
      for (int i = 0; i < p; i++) {
        int64_t s, l;
        dtf_block_range(n, p, i, &s, &l);
        assert_int_equal(s, next); /* contiguous, in order, no gap or overlap */
        next = s + l;
        if (l < lo) lo = l;
        if (l > hi) hi = l;
      }
      assert_int_equal(next, n);
      assert_true(hi - lo <= 1);
    }
}

static void test_grid_choose(void **state) {
  (void)state;
  int pd[4];
  int64_t cube[3] = {300, 300, 300};
  assert_int_equal(dtf_grid_choose(8, 3, cube, pd), DTF_OK);
  assert_int_equal(pd[0] * pd[1] * pd[2], 8);
  assert_int_equal(pd[0], 2); /* sum I/P is smallest for 2x2x2 */
  assert_int_equal(pd[1], 2);
  int64_t flat[3] = {1000, 10, 10};
  assert_int_equal(dtf_grid_choose(4, 3, flat, pd), DTF_OK);
  assert_int_equal(pd[0], 4); /* split the long mode */
  int64_t tiny[3] = {2, 2, 1};
  assert_int_equal(dtf_grid_choose(4, 3, tiny, pd), DTF_OK);
  assert_true(pd[0] == 2 && pd[1] == 2 && pd[2] == 1);
  assert_int_equal(dtf_grid_choose(5, 3, tiny, pd), DTF_ERR_USAGE); /* 5 > 2*2*1 */
  int64_t prime[2] = {7, 7};
  assert_int_equal(dtf_grid_choose(7, 2, prime, pd), DTF_OK);
  assert_true(pd[0] * pd[1] == 7);
}

static void test_grid_parse(void **state) {
  (void)state;
  int pd[3];
  assert_int_equal(dtf_grid_parse("2x2x1", 3, pd), DTF_OK);
  assert_true(pd[0] == 2 && pd[1] == 2 && pd[2] == 1);
  assert_int_equal(dtf_grid_parse("2x2", 3, pd), DTF_ERR_USAGE);
  assert_int_equal(dtf_grid_parse("2x2x1x1", 3, pd), DTF_ERR_USAGE);
  assert_int_equal(dtf_grid_parse("2x0x1", 3, pd), DTF_ERR_USAGE);
  assert_int_equal(dtf_grid_parse("axbxc", 3, pd), DTF_ERR_USAGE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_block_range_covers_once_and_balances),
      cmocka_unit_test(test_grid_choose),
      cmocka_unit_test(test_grid_parse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
