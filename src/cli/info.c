/* dtf info: what a tensor or model file holds. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *help =
    "usage: mpirun -np N dtf info INPUT [options]\n"
    "\n"
    "For a dense tensor (file.h5:/dataset; file.h5 alone means file.h5:/X): shape, type,\n"
    "size, and statistics read in parallel (norm, min, max, mean, non-finite entries).\n"
    "For a model file written by dtf (file.h5 with no dataset): its attributes.\n"
    "\n"
    "      --json FILE       write a machine-readable summary\n"
    "  -q, --quiet           accepted for symmetry (info prints only its result)\n"
    "  -h, --help            this text\n";

static int model_info(cli_t *c, const char *file) {
  int n, R;
  int64_t dims[DTF_MAX_MODES];
  dtf_status st = dtf_h5_cp_info(MPI_COMM_WORLD, file, &n, dims, &R);
  if (st) return -1;
  char d[128];
  cli_format_dims(n, dims, d, sizeof d);
  cli_result(c, "%s: CP model, dims %s, rank %d\n", file, d, R);
  dtf_json_t *j = cli_json_begin(c, NULL);
  if (j) {
    dtf_json_string(j, "input", file);
    dtf_json_string(j, "model", "cp");
    dtf_json_int_array(j, "dims", dims, n);
    dtf_json_int(j, "rank", R);
  }
  st = cli_json_end(c, j);
  return st ? cli_fail(c, st) : 0;
}

int cli_info(cli_t *c, int argc, char **argv) {
  static const struct option opts[] = {CLI_SHARED_OPTIONS};
  int opt, rc;
  opterr = 0;
  optind = 1;
  while ((opt = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
    switch (opt) {
    default:
      if ((rc = cli_shared_option(c, opt, argv, help)) != CLI_NEXT) return rc;
    }
  }
  if (argc - optind != 1) return cli_usage(c, "expected one INPUT");
  const char *input = argv[optind];
  c->quiet = 1;
  dtf_spec_t in_spec;
  dtf_status st = dtf_spec_parse(input, "/X", &in_spec);
  if (!st && c->json) st = dtf_check_distinct(MPI_COMM_WORLD, in_spec.file, c->json, "the input and --json");
  if (!st && c->json) st = dtf_check_writable(MPI_COMM_WORLD, c->json);
  if (st) return cli_fail(c, st);
  /* a bare file name may be a model file */
  if (!strstr(input, ":/")) {
    int rc = model_info(c, input);
    if (rc >= 0) return rc;
  }
  dtf_grid_t *g;
  dtf_tensor_t *t;
  cli_loaded_t in;
  cli_load_t lo = {NULL, 0, 1, 0, 0};
  st = cli_load_tensor(c, input, &lo, &in, &g, &t);
  const dtf_spec_t spec = in.spec;
  int eb = in.elem_bytes;
  if (st) return cli_fail(c, st);
  if (eb == 0) { /* sparse */
    double ss = t->ops->sum_squares(t), cells = 1;
    int64_t nnz = dtf_sparse_tensor_nnz(t);
    dtf_allreduce_sum(g->comm, &ss, 1, NULL);
    dtf_allreduce(g->comm, &nnz, 1, MPI_INT64_T, MPI_SUM, NULL);
    for (int k = 0; k < g->nmodes; k++) cells *= (double)g->dims[k];
    char d[128];
    cli_format_dims(g->nmodes, g->dims, d, sizeof d);
    cli_result(
        c,
        "%s%s%s: sparse, dims %s, %lld nonzeros (density %.3g), %lld duplicate entries summed\nnorm %.6g\n",
        spec.file, dtf_is_tns(spec.file) ? "" : ":", dtf_is_tns(spec.file) ? "" : spec.path, d,
        (long long)nnz, (double)nnz / cells, (long long)in.duplicates, sqrt(ss));
    /* per mode: slices with nonzeros, and nonzeros per slice (max, mean over all slices) */
    int64_t nonempty[DTF_MAX_MODES], most[DTF_MAX_MODES];
    for (int m = 0; m < g->nmodes; m++) {
      int64_t *counts = calloc((size_t)g->len[m], sizeof(int64_t));
      if (counts) dtf_sparse_tensor_slice_counts(t, m, counts);
      dtf_allreduce(g->slice[m], counts, (int)g->len[m], MPI_INT64_T, MPI_SUM, NULL);
      int64_t stat[2] = {0, 0}; /* nonempty, max: the slice's rank 0 speaks for the block */
      for (int64_t i = 0; counts && g->slice_rank[m] == 0 && i < g->len[m]; i++) {
        stat[0] += counts[i] > 0;
        if (counts[i] > stat[1]) stat[1] = counts[i];
      }
      free(counts);
      dtf_allreduce(g->comm, &stat[0], 1, MPI_INT64_T, MPI_SUM, NULL);
      dtf_allreduce(g->comm, &stat[1], 1, MPI_INT64_T, MPI_MAX, NULL);
      nonempty[m] = stat[0];
      most[m] = stat[1];
      cli_result(c, "mode %d: %lld slices, %lld with nonzeros; nonzeros per slice max %lld, mean %.1f\n",
                 m + 1, (long long)g->dims[m], (long long)stat[0], (long long)stat[1],
                 (double)nnz / (double)g->dims[m]);
    }
    dtf_json_t *j = cli_json_begin(c, g);
    if (j) {
      dtf_json_int(j, "duplicates_summed", in.duplicates);
      dtf_json_int_array(j, "nonempty_slices", nonempty, g->nmodes);
      dtf_json_int_array(j, "max_slice_nnz", most, g->nmodes);
      dtf_json_string(j, "input", input);
      dtf_json_string(j, "tensor", "sparse");
      dtf_json_int(j, "nnz", nnz);
      dtf_json_number(j, "density", (double)nnz / cells);
      dtf_json_number(j, "norm", sqrt(ss));
    }
    st = cli_json_end(c, j);
    dtf_tensor_free(t);
    dtf_grid_free(g);
    return st ? cli_fail(c, st) : 0;
  }
  const double *x = dtf_dense_tensor_data(t);
  int64_t n = 1;
  for (int k = 0; k < g->nmodes; k++) n *= g->len[k];
  double sums[3] = {0, 0, 0}, mm[2] = {INFINITY, INFINITY}; /* ss, sum, nonfinite; min, -max */
  for (int64_t i = 0; i < n; i++) {
    if (!isfinite(x[i])) {
      sums[2] += 1;
      continue;
    }
    sums[0] += x[i] * x[i];
    sums[1] += x[i];
    if (x[i] < mm[0]) mm[0] = x[i];
    if (-x[i] < mm[1]) mm[1] = -x[i];
  }
  dtf_allreduce_sum(g->comm, sums, 3, NULL);
  dtf_allreduce(g->comm, mm, 2, MPI_DOUBLE, MPI_MIN, NULL);
  double total = 1;
  for (int k = 0; k < g->nmodes; k++) total *= (double)g->dims[k];
  char d[128], b[32];
  cli_format_dims(g->nmodes, g->dims, d, sizeof d);
  cli_bytes(total * eb, b, sizeof b);
  double finite = total - sums[2];
  cli_result(c,
             "%s:%s: dense float%d, dims %s, %.0f entries (%s)\n"
             "norm %.6g  min %.6g  max %.6g  mean %.6g  non-finite %.0f\n",
             spec.file, spec.path, eb * 8, d, total, b, sqrt(sums[0]), mm[0], -mm[1],
             finite > 0 ? sums[1] / finite : NAN, sums[2]);
  dtf_json_t *j = cli_json_begin(c, g);
  if (j) {
    dtf_json_string(j, "input", input);
    dtf_json_string(j, "tensor", "dense");
    dtf_json_int(j, "element_bytes", eb);
    dtf_json_number(j, "entries", total);
    dtf_json_number(j, "norm", sqrt(sums[0]));
    dtf_json_number(j, "min", mm[0]);
    dtf_json_number(j, "max", -mm[1]);
    dtf_json_number(j, "mean", finite > 0 ? sums[1] / finite : NAN);
    dtf_json_number(j, "nonfinite", sums[2]);
  }
  st = cli_json_end(c, j);
  dtf_tensor_free(t);
  dtf_grid_free(g);
  return st ? cli_fail(c, st) : 0;
}
