/* Distributed pieces at any number of ranks: grid ownership, collectives, error
 * agreement, CP-ALS recovery of planted factors, and the fit of a model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dtf/dtf.h"

static int me, np;

/* Every global row of every factor is owned by exactly one rank, and every block row is
 * held by the whole slice. */
static void test_ownership(void) {
  int64_t dims[4] = {7, 5, 3, 11};
  dtf_grid_t *g;
  CHECK(dtf_grid_create(MPI_COMM_WORLD, 4, dims, NULL, &g) == DTF_OK, "%s", dtf_error_message());
  for (int n = 0; n < 4; n++) {
    dtf_factor_t f;
    CHECK(dtf_factor_init(g, n, 2, &f) == DTF_OK, "%s", dtf_error_message());
    int *owned = calloc((size_t)dims[n], sizeof(int));
    for (int64_t i = f.own_start; i < f.own_start + f.own_len; i++) owned[i]++;
    MPI_Allreduce(MPI_IN_PLACE, owned, (int)dims[n], MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    for (int64_t i = 0; i < dims[n]; i++)
      CHECK(owned[i] == 1, "mode %d row %lld owned %d times", n, (long long)i, owned[i]);
    CHECK(f.own_start >= f.block_start && f.own_start + f.own_len <= f.block_start + f.block_len,
          "own in block");
    /* allgather: each owner writes its global row index, then every block row is known */
    for (int64_t i = 0; i < f.own_len; i++) dtf_factor_owned(&f)[i * 2] = (double)(f.own_start + i);
    dtf_comm_stats_t cs = {0};
    CHECK(dtf_factor_allgather(&f, &cs) == DTF_OK, "allgather");
    for (int64_t i = 0; i < f.block_len; i++)
      CHECK(f.block[i * 2] == (double)(f.block_start + i), "gathered row");
    if (g->slice_size[n] > 1) CHECK(cs.bytes_sent > 0, "allgather counted no bytes");
    free(owned);
    dtf_factor_free(&f);
  }
  dtf_grid_free(g);
}

/* A failure on one rank becomes the same status and message on every rank. */
static void test_agree(void) {
  dtf_status st = DTF_OK;
  if (me == np - 1) st = dtf_error(DTF_ERR_INPUT, "rank %d saw a bad value", me);
  st = dtf_agree(MPI_COMM_WORLD, st);
  CHECK(st == DTF_ERR_INPUT, "agreed status %d", st);
  char want[64];
  snprintf(want, sizeof want, "rank %d saw a bad value", np - 1);
  CHECK(strcmp(dtf_error_message(), want) == 0, "message '%s'", dtf_error_message());
  CHECK(dtf_agree(MPI_COMM_WORLD, DTF_OK) == DTF_OK, "all ok");
}

/* Noise-free rank-5 tensor: CP-ALS recovers the planted factors. */
static void test_recovery(void) {
  int64_t dims[3] = {40, 35, 30};
  dtf_grid_t *g;
  CHECK(dtf_grid_create(MPI_COMM_WORLD, 3, dims, NULL, &g) == DTF_OK, "%s", dtf_error_message());
  double *local;
  dtf_cp_model_t truth;
  CHECK(dtf_generate_dense(g, 5, 0.0, 11, &local, &truth) == DTF_OK, "%s", dtf_error_message());
  dtf_tensor_t *t;
  CHECK(dtf_dense_tensor_wrap(3, g->start, g->len, local, &t) == DTF_OK, "wrap");
  double truth_fit;
  CHECK(dtf_cp_fit(g, t, &truth, &truth_fit) == DTF_OK, "%s", dtf_error_message());
  /* the fit comes from ||X||^2 + ||M||^2 - 2 <X, M>: near a perfect fit the cancellation
   * leaves about sqrt(machine epsilon) of it */
  CHECK(fabs(truth_fit - 1.0) < 1e-6, "planted model fit %.15f", truth_fit);

  dtf_cp_options_t o;
  dtf_cp_options_default(&o);
  o.rank = 5;
  o.max_iters = 500;
  o.tol = 1e-12;
  o.seed = 1;
  dtf_cp_als_t *s;
  CHECK(dtf_cp_als_init(g, t, &o, &s) == DTF_OK, "%s", dtf_error_message());
  CHECK(dtf_cp_als_run(s) == DTF_OK, "%s", dtf_error_message());
  double fms, fit;
  CHECK(dtf_cp_fms(g, &s->model, &truth, &fms) == DTF_OK, "fms");
  CHECK(fms >= 0.99, "factor match score %.6f after %d iterations (fit %.8f)", fms, s->iteration, s->fit);
  CHECK(s->fit > 0.9999, "fit %.8f", s->fit);
  /* the fit computed from Grams during ALS equals an independent evaluation */
  CHECK(dtf_cp_fit(g, t, &s->model, &fit) == DTF_OK, "fit");
  CHECK(fabs(fit - s->fit) < 1e-6, "eval fit %.12f vs als %.12f", fit, s->fit);
  CHECK(s->comm.bytes_sent > 0 || np == 1, "no bytes counted");
  if (me == 0) printf("recovery: fms %.6f fit %.10f iterations %d\n", fms, s->fit, s->iteration);
  dtf_cp_als_free(s);
  dtf_cp_model_free(&truth);
  dtf_tensor_free(t);
  dtf_grid_free(g);
}

/* A rank-deficient problem (rank above what the tensor supports) takes the
 * pseudo-inverse path once and reports it through the log callback. */
static int warnings;
static void count_log(const char *msg, void *ctx) {
  (void)ctx;
  (void)msg;
  warnings++;
}

static void test_pinv_warning(void) {
  int64_t dims[3] = {3, 3, 2};
  dtf_grid_t *g;
  int pd[3] = {1, 1, 1};
  pd[0] = np <= 3 ? np : 1;
  pd[1] = np <= 3 ? 1 : 2;
  pd[2] = np <= 3 ? 1 : 2;
  CHECK(dtf_grid_create(MPI_COMM_WORLD, 3, dims, pd, &g) == DTF_OK, "%s", dtf_error_message());
  double *local;
  CHECK(dtf_generate_dense(g, 1, 0.0, 5, &local, NULL) == DTF_OK, "%s", dtf_error_message());
  dtf_tensor_t *t;
  dtf_dense_tensor_wrap(3, g->start, g->len, local, &t);
  dtf_cp_options_t o;
  dtf_cp_options_default(&o);
  o.rank = 12; /* more columns than rows in every mode: Grams are singular */
  o.max_iters = 5;
  o.log = count_log;
  dtf_cp_als_t *s;
  CHECK(dtf_cp_als_init(g, t, &o, &s) == DTF_OK, "%s", dtf_error_message());
  CHECK(dtf_cp_als_run(s) == DTF_OK, "%s", dtf_error_message());
  CHECK(warnings == 1, "%d warnings", warnings);
  CHECK(s->fit > 0.99, "fit %.6f", s->fit);
  dtf_cp_als_free(s);
  dtf_tensor_free(t);
  dtf_grid_free(g);
}

static double run_cp(const dtf_grid_t *g, dtf_tensor_t *t, int R) {
  dtf_cp_options_t o;
  dtf_cp_options_default(&o);
  o.rank = R;
  o.max_iters = 25;
  o.tol = 0;
  o.seed = 2;
  dtf_cp_als_t *s;
  CHECK(dtf_cp_als_init(g, t, &o, &s) == DTF_OK, "%s", dtf_error_message());
  CHECK(dtf_cp_als_run(s) == DTF_OK, "%s", dtf_error_message());
  double fit = s->fit;
  dtf_cp_als_free(s);
  return fit;
}

/* The same tensor as dense and as sparse gives the same CP fit. The nonzeros start on
 * ranks chosen round-robin (not their owners) and reach their owners through
 * dtf_distribute_coo. */
static void test_sparse_same_fit(void) {
  int64_t dims[3] = {17, 13, 11}, n = 17 * 13 * 11;
  dtf_grid_t *g, *whole;
  CHECK(dtf_grid_create(MPI_COMM_WORLD, 3, dims, NULL, &g) == DTF_OK, "%s", dtf_error_message());
  int one[3] = {1, 1, 1};
  CHECK(dtf_grid_create(MPI_COMM_SELF, 3, dims, one, &whole) == DTF_OK, "%s", dtf_error_message());
  double *full;
  CHECK(dtf_generate_dense(whole, 3, 0.05, 8, &full, NULL) == DTF_OK, "%s", dtf_error_message());
  for (int64_t i = 0; i < n; i++) /* about 60% zeros */
    if (dtf_rng_uniform(8, 9, 0, (uint64_t)i) < 0.6) full[i] = 0.0;
  /* dense: this rank's block of the full tensor */
  int64_t bn = g->len[0] * g->len[1] * g->len[2];
  double *block = malloc((size_t)bn * sizeof(double));
  for (int64_t a = 0; a < g->len[0]; a++)
    for (int64_t b = 0; b < g->len[1]; b++)
      for (int64_t c = 0; c < g->len[2]; c++)
        block[(a * g->len[1] + b) * g->len[2] + c] =
            full[((g->start[0] + a) * dims[1] + g->start[1] + b) * dims[2] + g->start[2] + c];
  dtf_tensor_t *dense;
  dtf_dense_tensor_wrap(3, g->start, g->len, block, &dense);
  double fit_dense = run_cp(g, dense, 3);
  /* sparse: nonzero i starts on rank i % np, tagged with i */
  dtf_coo_t in = {.nmodes = 3}, mine;
  memcpy(in.dims, dims, sizeof dims);
  in.inds = malloc((size_t)n * 3 * sizeof(int64_t));
  in.vals = malloc((size_t)n * sizeof(double));
  in.tags = malloc((size_t)n * sizeof(int64_t));
  int64_t total_nnz = 0;
  for (int64_t i = 0; i < n; i++) {
    if (full[i] == 0.0) continue;
    total_nnz++;
    if (i % np != me) continue;
    int64_t k = in.nnz++;
    in.inds[k * 3] = i / (dims[1] * dims[2]);
    in.inds[k * 3 + 1] = i / dims[2] % dims[1];
    in.inds[k * 3 + 2] = i % dims[2];
    in.vals[k] = full[i];
    in.tags[k] = i;
  }
  dtf_comm_stats_t cs = {0};
  CHECK(dtf_distribute_coo(g, &in, &mine, &cs) == DTF_OK, "%s", dtf_error_message());
  int64_t sum = mine.nnz;
  MPI_Allreduce(MPI_IN_PLACE, &sum, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  CHECK(sum == total_nnz, "%lld nonzeros arrived of %lld", (long long)sum, (long long)total_nnz);
  for (int64_t k = 0; k < mine.nnz; k++) {
    int64_t gi = 0;
    for (int m = 0; m < 3; m++) {
      CHECK(mine.inds[k * 3 + m] >= 0 && mine.inds[k * 3 + m] < g->len[m], "outside the block");
      gi = gi * dims[m] + g->start[m] + mine.inds[k * 3 + m];
    }
    CHECK(mine.tags[k] == gi && mine.vals[k] == full[gi], "entry %lld arrived with the wrong tag or value",
          (long long)k);
  }
  if (np > 1) CHECK(cs.bytes_sent > 0, "no bytes counted");
  int64_t merged;
  CHECK(dtf_coo_duplicates(&mine, DTF_DUP_ERROR, g->start, "test", &merged) == DTF_OK, "%s",
        dtf_error_message());
  dtf_tensor_t *sparse;
  CHECK(dtf_sparse_tensor_create(3, g->start, g->len, mine.nnz, mine.inds, mine.vals, &sparse) == DTF_OK,
        "%s", dtf_error_message());
  double fit_sparse = run_cp(g, sparse, 3);
  CHECK(fabs(fit_sparse - fit_dense) <= 1e-9 * fabs(fit_dense), "sparse fit %.15f dense fit %.15f",
        fit_sparse, fit_dense);
  if (me == 0) printf("sparse vs dense: fit %.12f and %.12f\n", fit_sparse, fit_dense);

  /* a duplicate: refused naming both tags, or summed */
  if (mine.nnz > 0) {
    mine.inds = realloc(mine.inds, (size_t)(mine.nnz + 1) * 3 * sizeof(int64_t));
    mine.vals = realloc(mine.vals, (size_t)(mine.nnz + 1) * sizeof(double));
    mine.tags = realloc(mine.tags, (size_t)(mine.nnz + 1) * sizeof(int64_t));
    memcpy(mine.inds + mine.nnz * 3, mine.inds, 3 * sizeof(int64_t));
    mine.vals[mine.nnz] = 1.0;
    mine.tags[mine.nnz] = n + 5;
    mine.nnz++;
    CHECK(dtf_coo_duplicates(&mine, DTF_DUP_ERROR, g->start, "test", &merged) == DTF_ERR_INPUT,
          "duplicate not found");
    char want[64];
    snprintf(want, sizeof want, "test: rows %lld and %lld (0-based)", (long long)mine.tags[0],
             (long long)(n + 5));
    CHECK(strstr(dtf_error_message(), want), "message '%s' lacks '%s'", dtf_error_message(), want);
    double v0 = mine.vals[0];
    int64_t at[3] = {mine.inds[0], mine.inds[1], mine.inds[2]}, before = mine.nnz;
    CHECK(dtf_coo_duplicates(&mine, DTF_DUP_SUM, g->start, "test", &merged) == DTF_OK && merged == 1 &&
              mine.nnz == before - 1,
          "summing");
    int hits = 0;
    for (int64_t k = 0; k < mine.nnz; k++)
      if (!memcmp(mine.inds + k * 3, at, sizeof at)) {
        hits++;
        CHECK(mine.vals[k] == v0 + 1.0, "summed value %g, expected %g", mine.vals[k], v0 + 1.0);
      }
    CHECK(hits == 1, "%d entries at the duplicated coordinates", hits);
  }
  dtf_coo_free(&in);
  dtf_coo_free(&mine);
  dtf_tensor_free(sparse);
  dtf_tensor_free(dense);
  free(full);
  dtf_grid_free(whole);
  dtf_grid_free(g);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &me);
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  test_ownership();
  test_agree();
  test_recovery();
  test_pinv_warning();
  test_sparse_same_fit();
  if (me == 0) printf("test_cp_mpi: all checks passed on %d ranks\n", np);
  MPI_Finalize();
  return 0;
}
