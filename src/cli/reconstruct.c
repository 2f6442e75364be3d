/* dtf reconstruct: a model's full tensor, or one block of it, written in parallel: every
 * rank computes its block of the output grid, a Tucker model's from its replicated core and
 * factors, any other's (CP, tensor ring, with their offsets) from the whole model read on
 * every rank, as `predict` does at each cell (the likelihood's mean). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *intro =
    "usage: mpirun -np N dtf reconstruct MODEL.h5 -o OUT.h5[:/X] [--slab S:C,...] [options]\n"
    "\n"
    "Write the tensor of the model in MODEL.h5 (Tucker, CP or tensor ring; a completion model's\n"
    "predictions, as dtf predict gives them) to the dense dataset OUT, each rank its own block;\n"
    "with --slab only the block of C_n indices from S_n (0-based) in every mode n, without\n"
    "forming the rest.\n";

static const cli_accept_t accepted[] = {
    {OPT_OUTPUT, "the dense dataset to write, file.h5[:/path] (required)"},
    {OPT_SLAB, NULL},
    {OPT_GRID, "process grid of the output (default: chosen automatically)"},
    {OPT_FORCE, NULL},
};

/* The cells of the block (start, len; C order) of a model read whole: its predictions. */
static dtf_status predict_block(const cli_model_t *m, int N, const int64_t *start, const int64_t *len,
                                int64_t cells, double *out) {
  enum { CHUNK = 4096 };
  int64_t *inds = malloc((size_t)CHUNK * (size_t)N * sizeof(int64_t)), idx[DTF_MAX_MODES] = {0};
  if (!inds) return dtf_error(DTF_ERR_INPUT, "out of memory for the reconstruction's indices");
  for (int64_t k0 = 0; k0 < cells; k0 += CHUNK) {
    int64_t count = cells - k0 < CHUNK ? cells - k0 : CHUNK;
    for (int64_t k = 0; k < count; k++) {
      for (int n = 0; n < N; n++) inds[k * N + n] = start[n] + idx[n];
      for (int n = N - 1; n >= 0 && ++idx[n] == len[n]; n--) idx[n] = 0;
    }
    cli_model_predict(m, count, inds, out + k0);
    for (int64_t k = 0; k < count; k++) out[k0 + k] = m->lik->mean(out[k0 + k]);
  }
  free(inds);
  return DTF_OK;
}

int cli_reconstruct(cli_t *c, int argc, char **argv) {
  cli_opts_t o = {0};
  int rc = cli_parse(c, argc, argv, accepted, sizeof accepted / sizeof accepted[0], intro, &o);
  if (rc >= 0) return rc;
  if (o.npos != 1) return cli_usage(c, "expected one MODEL");
  if (!o.output) return cli_usage(c, "missing --output (-o)");
  const char *model_file = o.pos[0];
  dtf_spec_t out;
  dtf_status st = dtf_spec_parse(o.output, "/X", &out);
  if (!st && dtf_is_tns(out.file))
    st = dtf_error(DTF_ERR_USAGE, "-o '%s': the reconstruction is dense; write it to an HDF5 dataset",
                   o.output);
  cli_model_t m = {0};
  if (!st) st = cli_model_peek(model_file, &m);
  int N = st ? 0 : m.header->nmodes, tucker = !st && !strcmp(m.header->model, "tucker");
  int64_t dims[DTF_MAX_MODES], start[DTF_MAX_MODES] = {0}, count[DTF_MAX_MODES];
  if (!st) {
    memcpy(dims, m.header->dims, sizeof dims);
    memcpy(count, dims, sizeof count);
    if (o.slab) st = cli_slab(o.slab, N, dims, start, count);
  }
  cli_model_free(&m);
  if (st) return cli_fail(c, st);
  double bytes = 8;
  for (int n = 0; n < N; n++) bytes *= (double)count[n];
  cli_files_t files = {0};
  if ((st = cli_files_input(&files, model_file))) return cli_fail(c, st);
  cli_files_output(&files, out.file, out.path, DTF_OUT_TENSOR, "--output", bytes);
  if ((rc = cli_files_check(c, &files, o.force))) return rc;

  dtf_grid_t *g = NULL, *go = NULL; /* the model's grid (for reading), the output's */
  int pd[DTF_MAX_MODES];
  /* a Tucker model is replicated on the world's grid; the others are read whole by each rank */
  st = dtf_grid_create(tucker ? MPI_COMM_WORLD : MPI_COMM_SELF, N, dims, NULL, &g);
  if (!tucker) st = dtf_agree(MPI_COMM_WORLD, st); /* each rank's own grid */
  if (!st && o.grid) st = dtf_grid_parse(o.grid, N, pd);
  if (!st) st = dtf_grid_create(MPI_COMM_WORLD, N, count, o.grid ? pd : NULL, &go);
  if (!st) st = cli_model_read(model_file, g, "the model's tensor", &m);
  if (!tucker) st = dtf_agree(MPI_COMM_WORLD, st); /* read by each rank alone */
  double *local = NULL;
  double t0 = MPI_Wtime();
  if (!st) {
    int64_t at[DTF_MAX_MODES], cells = 1;
    for (int n = 0; n < N; n++) {
      at[n] = start[n] + go->start[n];
      cells *= go->len[n];
    }
    local = malloc((size_t)(cells ? cells : 1) * sizeof(double));
    if (!local)
      st = dtf_error(DTF_ERR_INPUT, "out of memory for this rank's block of the reconstruction");
    else if (tucker)
      st = dtf_tucker_model_block(m.model, at, go->len, local);
    else
      st = predict_block(&m, N, at, go->len, cells, local);
    st = dtf_agree(MPI_COMM_WORLD, st);
  }
  double t1 = MPI_Wtime();
  if (!st) st = dtf_h5_dense_write(go, &out, local);
  double t2 = MPI_Wtime();
  if (st)
    rc = cli_fail(c, st);
  else {
    char d[128], b[32];
    dtf_format_dims(N, count, d, sizeof d);
    dtf_format_bytes(bytes, b, sizeof b);
    cli_result(c, "wrote %s:%s %s (%s) in %.3g s\n", out.file, out.path, d, b, t2 - t0);
    dtf_json_t *j = cli_json_begin(c, go);
    dtf_json_string(j, "model", model_file);
    dtf_json_string(j, "output", o.output);
    dtf_json_int_array(j, "slab_start", start, N);
    dtf_json_number(j, "time_compute_s", t1 - t0);
    dtf_json_number(j, "time_write_s", t2 - t1);
    st = cli_json_end(c, j);
    if (st) rc = cli_fail(c, st);
  }
  free(local);
  cli_model_free(&m);
  dtf_grid_free(go);
  dtf_grid_free(g);
  return rc;
}
