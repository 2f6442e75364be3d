/* dtf eval: the fit of a model file (any model kind) on a tensor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *intro =
    "usage: mpirun -np N dtf eval MODEL.h5 INPUT [options]\n"
    "\n"
    "Print the fit 1 - ||X - M|| / ||X|| of the model in MODEL.h5 (a model file or a\n"
    "checkpoint) on the tensor INPUT: a dense dataset file.h5:/dataset (file.h5 alone means\n"
    "file.h5:/X), a sparse COO group file.h5:/group, or X.tns.\n";

static const cli_accept_t accepted[] = {
    {OPT_GRID, "process grid (default: chosen automatically)"},
    {OPT_DUPLICATES, NULL},
    {OPT_SUM_DUPLICATES, NULL},
};

int cli_eval(cli_t *c, int argc, char **argv) {
  cli_opts_t o = {0};
  int rc = cli_parse(c, argc, argv, accepted, sizeof accepted / sizeof accepted[0], intro, &o);
  if (rc >= 0) return rc;
  if (o.npos != 2) return cli_usage(c, "expected MODEL and INPUT");
  const char *model_file = o.pos[0], *input = o.pos[1];
  cli_files_t files = {0};
  dtf_status st = cli_files_input(&files, input);
  if (!st) st = cli_files_input(&files, model_file);
  if (st) return cli_fail(c, st);
  cli_files_output(&files, c->json, NULL, DTF_OUT_TEXT, "--json", 0);
  if ((rc = cli_files_check(c, &files, 0))) return rc;

  dtf_state_t *header = malloc(sizeof *header), *fields = malloc(sizeof *fields);
  if (!header || !fields) {
    free(header);
    free(fields);
    return cli_fail(c, dtf_error(DTF_ERR_INPUT, "out of memory"));
  }
  const dtf_model_ops_t *kind = NULL;
  st = dtf_h5_state_peek(MPI_COMM_WORLD, model_file, header);
  if (!st && !(kind = dtf_model_kind(header->model)))
    st = dtf_error(DTF_ERR_INPUT,
                   header->model[0] ? "'%s' holds a model of kind '%s', which this dtf cannot evaluate"
                                    : "'%s' is not a dtf model file (no root attribute 'model')%s",
                   model_file, header->model);
  dtf_grid_t *g = NULL;
  dtf_tensor_t *t = NULL;
  cli_loaded_t in = {0};
  cli_load_t lo = {o.grid, 1, o.duplicates, 0, 0, 0, NULL, NULL};
  if (!st) st = cli_load_tensor(c, input, &lo, &in, &g, &t);
  if (!st &&
      (header->nmodes != g->nmodes || memcmp(header->dims, g->dims, (size_t)g->nmodes * sizeof(int64_t)))) {
    char a[128], b[128];
    dtf_format_dims(header->nmodes, header->dims, a, sizeof a);
    dtf_format_dims(g->nmodes, g->dims, b, sizeof b);
    st = dtf_error(DTF_ERR_INPUT, "model '%s' is %s but tensor '%s:%s' is %s", model_file, a, in.spec.file,
                   in.spec.path, b);
  }
  void *model = NULL;
  double fit = 0;
  if (!st) st = kind->create(g, header, model_file, &model, fields);
  if (!st) st = dtf_h5_state_read(g, model_file, fields);
  if (!st) st = kind->check(g, model, model_file);
  if (!st) st = kind->fit(g, t, model, &fit);
  if (!st) {
    cli_result(c, "fit %.6f\n", fit);
    dtf_json_t *j = cli_json_begin(c, g);
    dtf_json_string(j, "model", model_file);
    dtf_json_string(j, "model_kind", kind->name);
    dtf_json_string(j, "input", input);
    int64_t R;
    if (!dtf_state_get_int(header, "rank", &R)) dtf_json_int(j, "rank", R);
    dtf_json_number(j, "fit", fit);
    st = cli_json_end(c, j);
  }
  if (model) kind->destroy(model);
  free(header);
  free(fields);
  cli_loaded_free(&in);
  dtf_tensor_free(t);
  dtf_grid_free(g);
  return st ? cli_fail(c, st) : 0;
}
