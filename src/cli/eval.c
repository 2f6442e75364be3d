/* dtf eval: the fit of a CP model file on a tensor. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *help =
    "usage: mpirun -np N dtf eval MODEL.h5 INPUT [options]\n"
    "\n"
    "Print the fit 1 - ||X - M|| / ||X|| of the CP model in MODEL.h5 on the tensor INPUT\n"
    "(file.h5:/dataset, file.h5 meaning file.h5:/X; a sparse group file.h5:/group; or X.tns).\n"
    "\n"
    "      --grid AxBxC      process grid (default: chosen automatically)\n"
    "      --sum-duplicates  sparse input: add entries with equal coordinates\n"
    "      --json FILE       write a machine-readable summary\n"
    "  -q, --quiet           no progress lines\n"
    "  -h, --help            this text\n";

int cli_eval(cli_t *c, int argc, char **argv) {
  static const struct option opts[] = {
      {"grid", required_argument, 0, 'g'}, {"sum-duplicates", no_argument, 0, 'D'}, CLI_SHARED_OPTIONS};
  const char *grid_text = NULL;
  int sum_duplicates = 0, opt, rc;
  opterr = 0;
  optind = 1;
  while ((opt = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
    switch (opt) {
    case 'g': grid_text = optarg; break;
    case 'D': sum_duplicates = 1; break;
    default:
      if ((rc = cli_shared_option(c, opt, argv, help)) != CLI_NEXT) return rc;
    }
  }
  if (argc - optind != 2) return cli_usage(c, "expected MODEL and INPUT");
  const char *model_file = argv[optind], *input = argv[optind + 1];
  dtf_spec_t in_spec;
  dtf_status st = dtf_spec_parse(input, "/X", &in_spec);
  if (!st && c->json) st = dtf_check_distinct(MPI_COMM_WORLD, in_spec.file, c->json, "the input and --json");
  if (!st && c->json) st = dtf_check_distinct(MPI_COMM_WORLD, model_file, c->json, "MODEL and --json");
  if (!st && c->json) st = dtf_check_writable(MPI_COMM_WORLD, c->json);
  int mn, R;
  int64_t mdims[DTF_MAX_MODES];
  if (!st) st = dtf_h5_cp_info(MPI_COMM_WORLD, model_file, &mn, mdims, &R);
  if (st) return cli_fail(c, st);
  dtf_grid_t *g;
  dtf_tensor_t *t;
  cli_loaded_t in;
  cli_load_t lo = {grid_text, 1, sum_duplicates, 0, 0};
  st = cli_load_tensor(c, input, &lo, &in, &g, &t);
  const dtf_spec_t spec = in.spec;
  if (st) return cli_fail(c, st);
  if (mn != g->nmodes || memcmp(mdims, g->dims, (size_t)mn * sizeof(int64_t))) {
    char a[128], b[128];
    cli_format_dims(mn, mdims, a, sizeof a);
    cli_format_dims(g->nmodes, g->dims, b, sizeof b);
    st = dtf_error(DTF_ERR_INPUT, "model '%s' is %s but tensor '%s:%s' is %s", model_file, a, spec.file,
                   spec.path, b);
  }
  dtf_cp_model_t m = {0};
  double fit = 0;
  if (!st) st = dtf_cp_model_init(g, R, &m);
  if (!st) st = dtf_h5_cp_read(g, model_file, &m);
  if (!st) st = dtf_cp_fit(g, t, &m, &fit);
  if (!st) {
    cli_result(c, "fit %.6f\n", fit);
    dtf_json_t *j = cli_json_begin(c, g);
    if (j) {
      dtf_json_string(j, "model", model_file);
      dtf_json_string(j, "input", input);
      dtf_json_int(j, "rank", R);
      dtf_json_number(j, "fit", fit);
    }
    st = cli_json_end(c, j);
  }
  if (m.lambda) dtf_cp_model_free(&m);
  dtf_tensor_free(t);
  dtf_grid_free(g);
  return st ? cli_fail(c, st) : 0;
}
