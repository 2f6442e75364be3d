/* The state manifest through HDF5 at any number of ranks (replicated, row-distributed
 * and per-rank fields, attributes, header), and the input fingerprint, which must not
 * depend on the distribution or on whether zeros are stored. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "dtf/dtf.h"

static int me, np;

static void test_round_trip(const char *file) {
  int64_t dims[3] = {13, 7, 5};
  dtf_grid_t *g;
  CHECK(dtf_grid_create(MPI_COMM_WORLD, 3, dims, NULL, &g) == DTF_OK, "%s", dtf_error_message());
  dtf_factor_t f;
  CHECK(dtf_factor_init(g, 0, 3, &f) == DTF_OK, "factor");
  for (int64_t i = 0; i < f.block_len; i++)
    for (int r = 0; r < 3; r++) f.block[i * 3 + r] = 100.0 * (double)(f.block_start + i) + r;
  double rep[4] = {1.5, -2, 3, 1e-300}, mine[3] = {me + 0.25, me + 0.5, me + 0.75};
  int64_t nmine = me % 2 ? 3 : 1; /* per-rank parts of different lengths */
  dtf_fingerprint_t fp = {3, {13, 7, 5}, 455, 21.0, 0xfedcba9876543210ULL};
  dtf_state_t *s = malloc(sizeof *s), *peek = malloc(sizeof *peek), *back = malloc(sizeof *back);
  dtf_state_init(s, "test-solver", "cp", 1, 3, dims);
  dtf_state_input(s, &fp, 1, 7);
  dtf_state_replicated(s, "rep", 2, 2, rep);
  dtf_state_rows(s, "rows", f.rows, 3, f.block_start, f.block_len, f.own_start, f.own_len, f.block);
  dtf_state_per_rank(s, "mine", nmine, mine);
  dtf_state_int(s, "rank", DTF_ATTR_OPTION, "--rank", 3);
  dtf_state_real(s, "fit", DTF_ATTR_STATE, NULL, 0.125);
  dtf_state_text(s, "note", "hello");
  int64_t ints[3] = {4, 5, 6};
  dtf_state_ints(s, "shape", DTF_ATTR_STATE, NULL, ints, 3);
  CHECK(dtf_h5_state_write(g, file, s) == DTF_OK, "%s", dtf_error_message());

  CHECK(dtf_h5_state_peek(MPI_COMM_WORLD, file, peek) == DTF_OK, "%s", dtf_error_message());
  CHECK(!strcmp(peek->solver, "test-solver") && !strcmp(peek->model, "cp") && peek->checkpoint == 1,
        "header");
  CHECK(peek->format == DTF_STATE_FORMAT && peek->ranks == np && peek->nmodes == 3 && peek->dims[0] == 13,
        "header shape");
  CHECK(peek->have_input && peek->input.checksum == fp.checksum && peek->input.norm == 21.0 &&
            peek->input.entries == 455 && peek->permute == 1 && peek->permute_seed == 7,
        "fingerprint");
  CHECK(dtf_state_check_resume(peek, s, file) == DTF_OK, "%s", dtf_error_message());
  double fit = 0;
  CHECK(dtf_state_get_real(peek, "fit", &fit) == 0 && fit == 0.125, "fit");
  const dtf_attr_t *note = dtf_state_attr(peek, "note"), *shape = dtf_state_attr(peek, "shape");
  CHECK(note && !strcmp(note->text, "hello") && shape && shape->n == 3 && shape->ints[2] == 6, "attrs");
  CHECK(dtf_state_field(peek, "rows") && dtf_state_field(peek, "rows")->rows == 13, "field list");

  /* read back into fresh arrays */
  dtf_factor_t f2;
  CHECK(dtf_factor_init(g, 0, 3, &f2) == DTF_OK, "factor");
  double rep2[4] = {0}, mine2[3] = {0};
  dtf_state_init(back, "test-solver", "cp", 1, 3, dims);
  dtf_state_replicated(back, "rep", 2, 2, rep2);
  dtf_state_rows(back, "rows", f2.rows, 3, f2.block_start, f2.block_len, f2.own_start, f2.own_len, f2.block);
  dtf_state_per_rank(back, "mine", nmine, mine2);
  CHECK(dtf_h5_state_read(g, file, back) == DTF_OK, "%s", dtf_error_message());
  CHECK(!memcmp(rep, rep2, sizeof rep), "replicated field");
  CHECK(!memcmp(f.block, f2.block, (size_t)(f.block_len * 3) * sizeof(double)), "rows field (block rows)");
  CHECK(!memcmp(mine, mine2, (size_t)nmine * sizeof(double)), "per-rank field");

  /* a field of another shape is refused, naming it */
  back->fields[0].cols = 3;
  CHECK(dtf_h5_state_read(g, file, back) == DTF_ERR_INPUT, "shape");
  CHECK(strstr(dtf_error_message(), "/rep' is 2 x 2; it should be 2 x 3"), "%s", dtf_error_message());
  back->fields[0].cols = 2;
  back->fields[2].rows = back->fields[2].read_len = nmine + 1;
  CHECK(dtf_h5_state_read(g, file, back) == DTF_ERR_INPUT, "per-rank length");
  CHECK(strstr(dtf_error_message(), "part has"), "%s", dtf_error_message());
  if (me == 0) unlink(file);
  dtf_factor_free(&f);
  dtf_factor_free(&f2);
  free(s);
  free(peek);
  free(back);
  dtf_grid_free(g);
}

/* The same tensor distributed over all ranks, whole on each rank, dense and sparse (with
 * and without stored zeros): one fingerprint. */
static void test_fingerprint(void) {
  int64_t dims[3] = {11, 9, 6}, n = 11 * 9 * 6, zero[3] = {0, 0, 0};
  dtf_grid_t *g, *whole;
  int one[3] = {1, 1, 1};
  CHECK(dtf_grid_create(MPI_COMM_WORLD, 3, dims, NULL, &g) == DTF_OK, "%s", dtf_error_message());
  CHECK(dtf_grid_create(MPI_COMM_SELF, 3, dims, one, &whole) == DTF_OK, "%s", dtf_error_message());
  double *full = malloc((size_t)n * sizeof(double));
  for (int64_t i = 0; i < n; i++)
    full[i] = dtf_rng_uniform(5, 1, 0, (uint64_t)i) < 0.5 ? 0.0 : (double)i - 100;
  double *block = malloc((size_t)(g->len[0] * g->len[1] * g->len[2]) * sizeof(double));
  int64_t *inds = malloc((size_t)n * 3 * sizeof(int64_t)), nnz = 0, all = 0;
  double *vals = malloc((size_t)n * sizeof(double));
  for (int64_t a = 0; a < g->len[0]; a++)
    for (int64_t b = 0; b < g->len[1]; b++)
      for (int64_t c = 0; c < g->len[2]; c++) {
        double v = full[((g->start[0] + a) * dims[1] + g->start[1] + b) * dims[2] + g->start[2] + c];
        block[(a * g->len[1] + b) * g->len[2] + c] = v;
        if (v == 0.0 && (a + b + c) % 3) continue; /* store some of the zeros */
        inds[nnz * 3] = a;
        inds[nnz * 3 + 1] = b;
        inds[nnz * 3 + 2] = c;
        vals[nnz++] = v;
      }
  int64_t bn = g->len[0] * g->len[1] * g->len[2];
  double *copy = malloc((size_t)n * sizeof(double)), *changed = malloc((size_t)bn * sizeof(double));
  memcpy(copy, full, (size_t)n * sizeof(double));
  memcpy(changed, block, (size_t)bn * sizeof(double));
  dtf_tensor_t *dense, *sparse, *ref;
  CHECK(dtf_dense_tensor_wrap(3, g->start, g->len, block, &dense) == DTF_OK, "wrap");
  CHECK(dtf_sparse_tensor_create(3, g->start, g->len, nnz, inds, vals, &sparse) == DTF_OK, "sparse");
  CHECK(dtf_dense_tensor_wrap(3, zero, dims, copy, &ref) == DTF_OK, "wrap whole");
  dtf_fingerprint_t a, b, c;
  CHECK(dtf_tensor_fingerprint(g, dense, NULL, &a) == DTF_OK, "%s", dtf_error_message());
  CHECK(dtf_tensor_fingerprint(g, sparse, NULL, &b) == DTF_OK, "%s", dtf_error_message());
  CHECK(dtf_tensor_fingerprint(whole, ref, NULL, &c) == DTF_OK, "%s", dtf_error_message());
  all = nnz;
  MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  CHECK(a.checksum == c.checksum && b.checksum == c.checksum, "checksums %llx %llx %llx",
        (unsigned long long)a.checksum, (unsigned long long)b.checksum, (unsigned long long)c.checksum);
  CHECK(fabs(a.norm - c.norm) <= 1e-13 * c.norm && fabs(b.norm - c.norm) <= 1e-13 * c.norm, "norms");
  CHECK(a.entries == n && b.entries == all && c.entries == n, "entries");
  /* one changed value changes the checksum */
  if (g->rank == 0) changed[0] += 1.0;
  dtf_tensor_free(dense);
  CHECK(dtf_dense_tensor_wrap(3, g->start, g->len, changed, &dense) == DTF_OK, "wrap");
  CHECK(dtf_tensor_fingerprint(g, dense, NULL, &a) == DTF_OK, "%s", dtf_error_message());
  CHECK(a.checksum != c.checksum, "a changed entry left the checksum as it was");
  if (me == 0)
    printf("fingerprint: checksum %016llx, ||X|| %.6f, same on %d ranks dense and sparse\n",
           (unsigned long long)c.checksum, c.norm, np);
  dtf_tensor_free(dense);
  dtf_tensor_free(sparse);
  dtf_tensor_free(ref);
  free(full);
  free(inds);
  free(vals);
  dtf_grid_free(g);
  dtf_grid_free(whole);
}

int main(int argc, char **argv) {
  setenv("OMPI_MCA_io", "romio321", 0); /* as the dtf executable does: see include/dtf/io.h */
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &me);
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  char file[4200];
  const char *tmp = getenv("TMPDIR");
  snprintf(file, sizeof file, "%s/state-%d.h5", tmp ? tmp : "/tmp", np);
  test_round_trip(file);
  test_fingerprint();
  if (me == 0) printf("test_state_mpi: all checks passed on %d ranks\n", np);
  dtf_io_finalize();
  MPI_Finalize();
  return 0;
}
