/* dtf predict: a model's predicted values (means, probabilities or rates, by its
 * likelihood) at listed coordinates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *intro =
    "usage: mpirun -np N dtf predict MODEL.h5 --at COORDS -o OUT [options]\n"
    "\n"
    "Write the predictions of the model in MODEL.h5 at the coordinates COORDS, a sparse tensor\n"
    "(a COO group file.h5:/G or X.tns, whose values are ignored), to OUT (a COO group\n"
    "file.h5[:/group], default group /X, or X.tns): the predicted mean (gaussian), the\n"
    "probability of a 1 (bernoulli) or the rate (poisson), by the model's likelihood. OUT\n"
    "lists every coordinate with its prediction, grouped by the rank that computed it.\n";

static const cli_accept_t accepted[] = {
    {OPT_AT, NULL},
    {OPT_OUTPUT, "the predictions: a COO group file.h5[:/group] or X.tns (required)"},
    {OPT_GRID, "process grid (default: chosen automatically)"},
    {OPT_DUPLICATES, NULL},
    {OPT_FORCE, NULL},
};

int cli_predict(cli_t *c, int argc, char **argv) {
  cli_opts_t o = {0};
  int rc = cli_parse(c, argc, argv, accepted, sizeof accepted / sizeof accepted[0], intro, &o);
  if (rc >= 0) return rc;
  if (o.npos != 1) return cli_usage(c, "expected one MODEL");
  if (!o.at) return cli_usage(c, "missing --at COORDS");
  if (!o.output) return cli_usage(c, "missing --output (-o)");
  const char *model_file = o.pos[0];
  dtf_spec_t out;
  dtf_status st = dtf_spec_parse(o.output, "/X", &out);
  cli_files_t files = {0};
  if (!st) st = cli_files_input(&files, model_file);
  if (!st) st = cli_files_input(&files, o.at);
  if (st) return cli_fail(c, st);
  int tns = dtf_is_tns(out.file);
  cli_files_output(&files, out.file, out.path, tns ? DTF_OUT_TNS : DTF_OUT_TENSOR, "--output", 0);
  if ((rc = cli_files_check(c, &files, o.force))) return rc;

  cli_model_t m = {0};
  dtf_grid_t *g = NULL;
  dtf_tensor_t *t = NULL;
  cli_loaded_t in = {0};
  st = cli_model_peek(model_file, &m);
  int pd[DTF_MAX_MODES];
  if (!st && o.grid) st = dtf_grid_parse(o.grid, m.header->nmodes, pd);
  if (!st) st = dtf_grid_create(MPI_COMM_WORLD, m.header->nmodes, m.header->dims, o.grid ? pd : NULL, &g);
  cli_model_free(&m);
  char what[5200];
  snprintf(what, sizeof what, "the model's tensor");
  if (!st) st = cli_model_read(model_file, g, what, &m);
  cli_load_t lo = {.duplicates = o.duplicates, .observed = 1, .onto = g};
  dtf_grid_t *same;
  if (!st) st = cli_load_tensor(c, o.at, &lo, &in, &same, &t);
  dtf_coo_t coo = {0};
  int64_t n = 0;
  if (!st) {
    /* the coordinates with the predictions, in global indices */
    const dtf_observed_view_t *v = dtf_observed_view(t);
    int N = g->nmodes;
    coo.nmodes = N;
    memcpy(coo.dims, g->dims, sizeof coo.dims);
    coo.nnz = v->nnz;
    coo.inds = malloc((size_t)(v->nnz ? v->nnz : 1) * N * sizeof(int64_t));
    coo.vals = malloc((size_t)(v->nnz ? v->nnz : 1) * sizeof(double));
    st = dtf_agree(g->comm, coo.inds && coo.vals ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory"));
    if (!st) {
      cli_model_predict(&m, v->nnz, v->inds, coo.vals);
      for (int64_t e = 0; e < v->nnz; e++) {
        coo.vals[e] = m.lik->mean(coo.vals[e]);
        for (int k = 0; k < N; k++) coo.inds[e * N + k] = v->inds[e * N + k] + t->start[k];
      }
      st = tns ? dtf_tns_write(MPI_COMM_WORLD, out.file, &coo)
               : dtf_h5_sparse_write(MPI_COMM_WORLD, &out, &coo);
    }
    if (!st) st = dtf_observed_count(g, t, &n);
  }
  if (!st) {
    cli_result(c, "wrote %lld predictions (%s: %s) to %s\n", (long long)n, m.lik->name,
               !strcmp(m.lik->name, "bernoulli") ? "probabilities"
               : !strcmp(m.lik->name, "poisson") ? "rates"
                                                 : "means",
               o.output);
    dtf_json_t *j = cli_json_begin(c, g);
    dtf_json_string(j, "model", model_file);
    dtf_json_string(j, "likelihood", m.lik->name);
    dtf_json_int(j, "predictions", n);
    dtf_json_string(j, "output", o.output);
    st = cli_json_end(c, j);
  }
  dtf_coo_free(&coo);
  cli_model_free(&m);
  cli_loaded_free(&in);
  dtf_tensor_free(t);
  dtf_grid_free(g);
  return st ? cli_fail(c, st) : 0;
}
