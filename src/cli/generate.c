/* dtf generate: a synthetic low-rank tensor (dense, or sparse with --nnz), in parallel. */
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "timer.h"

static const char *intro =
    "usage: mpirun -np N dtf generate -o OUT.h5[:/X] --dims 300x200x100 --rank R [options]\n"
    "\n"
    "Write a dense tensor X = [[A_1, ..., A_N]] + noise, with standard normal factors A_n,\n"
    "in parallel (each rank its own block). The values depend on the seed, not on the number\n"
    "of ranks (up to rounding in the last bits). An existing OUT is replaced only if it holds\n"
    "nothing but the tensor being written (see --force).\n";

static const cli_accept_t accepted[] = {
    {OPT_OUTPUT, "output file, optionally :/dataset (default dataset /X)"},
    {OPT_DIMS, "tensor shape, 2 to 8 modes (required)"},
    {OPT_RANK, "rank of the planted model (required, >= 1)"},
    {OPT_NOISE, NULL},
    {OPT_SEED, NULL},
    {OPT_NNZ, "a sparse tensor of exactly N distinct entries instead (the planted model's "
              "values there, plus noise), written as a COO group, or as FROSTT text when OUT "
              "ends in .tns"},
    {OPT_TRUTH, NULL},
    {OPT_LIKELIHOOD, "gaussian (default: the values plus --noise), bernoulli (0/1 with probability "
                     "sigmoid(x)) or poisson (counts of mean exp(x)), x the planted values scaled to "
                     "variance 1 (1/4 for poisson)"},
    {OPT_MISSING, "dense output: leave the fraction F of the cells missing (NaN)"},
    {OPT_GRID, "process grid (default: chosen automatically)"},
    {OPT_MAX_MEM, NULL},
    {OPT_FORCE, NULL},
};

typedef struct {
  cli_t *c;
  const dtf_grid_t *g;
  const cli_opts_t *o;
  const dtf_spec_t *spec;
  double t_gen, t_write;
} job_t;

/* The planted model, with its fit on the generated tensor t, as a CP model file (of the
 * linear predictor, with its likelihood, for binary and count data). */
static dtf_status write_truth(const job_t *b, dtf_tensor_t *t, dtf_cp_model_t *model) {
  const char *lik = b->o->likelihood ? b->o->likelihood : "gaussian";
  int plain = !strcmp(lik, "gaussian") && !(b->o->missing > 0);
  dtf_status st = DTF_OK;
  if (plain)
    st = dtf_cp_fit(b->g, t, model, &model->fit);
  else {
    model->fit = NAN; /* a fit is not defined on missing or binary data */
    for (int r = 0; strcmp(lik, "gaussian") && r < model->R; r++)
      model->lambda[r] *= dtf_generate_link_scale(lik, model->R);
  }
  dtf_fingerprint_t fp;
  if (!st) st = dtf_tensor_fingerprint(b->g, t, NULL, &fp);
  dtf_state_t *s = malloc(sizeof *s);
  if (!st && !s) st = dtf_error(DTF_ERR_OUTPUT, "out of memory");
  if (!st) {
    dtf_state_init(s, "generate", "cp", 0, b->g->nmodes, b->g->dims);
    dtf_state_input(s, &fp, 0, 0);
    dtf_cp_model_describe(model, s);
    dtf_state_int(s, "seed", DTF_ATTR_STATE, NULL, (int64_t)b->o->seed);
    dtf_state_text(s, "likelihood", lik);
    st = dtf_h5_state_write(b->g, b->o->truth, s);
  }
  free(s);
  return st;
}

/* --nnz: a sparse tensor written as a COO group, or as .tns text when OUT ends in .tns. */
static dtf_status generate_sparse(job_t *b) {
  const dtf_grid_t *g = b->g;
  const cli_opts_t *o = b->o;
  double t0 = dtf_now();
  dtf_coo_t coo;
  dtf_status st =
      dtf_generate_sparse(MPI_COMM_WORLD, g->nmodes, g->dims, (int)o->rank, o->nnz, o->noise, o->seed, &coo);
  if (st) return st;
  if (o->likelihood)
    dtf_generate_observe(g->nmodes, g->dims, coo.nnz, coo.inds, NULL, NULL, o->likelihood, (int)o->rank, 0,
                         o->seed, coo.vals);
  b->t_gen = dtf_now() - t0;
  t0 = dtf_now();
  st = dtf_is_tns(b->spec->file) ? dtf_tns_write(MPI_COMM_WORLD, b->spec->file, &coo)
                                 : dtf_h5_sparse_write(MPI_COMM_WORLD, b->spec, &coo);
  b->t_write = dtf_now() - t0;
  if (!st && o->truth) {
    dtf_cp_model_t model;
    dtf_coo_t mine;
    dtf_tensor_t *t = NULL;
    st = dtf_generate_truth(g, (int)o->rank, o->seed, &model);
    if (!st) {
      st = dtf_distribute_coo(g, &coo, &mine, NULL);
      if (!st)
        st = dtf_agree(g->comm, dtf_sparse_tensor_create(g->nmodes, g->start, g->len, mine.nnz, mine.inds,
                                                         mine.vals, &t));
      dtf_coo_free(&mine);
      if (!st) st = write_truth(b, t, &model);
      dtf_tensor_free(t);
      dtf_cp_model_free(&model);
    }
  }
  dtf_coo_free(&coo);
  return st;
}

static dtf_status generate_dense(job_t *b) {
  const dtf_grid_t *g = b->g;
  const cli_opts_t *o = b->o;
  double t0 = dtf_now(), *local = NULL;
  dtf_cp_model_t model = {0};
  dtf_status st = dtf_generate_dense(g, (int)o->rank, o->noise, o->seed, &local, o->truth ? &model : NULL);
  if (!st && (o->likelihood || o->missing > 0)) {
    int64_t n = 1;
    for (int k = 0; k < g->nmodes; k++) n *= g->len[k];
    dtf_generate_observe(g->nmodes, g->dims, n, NULL, g->start, g->len,
                         o->likelihood ? o->likelihood : "gaussian", (int)o->rank, o->missing, o->seed,
                         local);
  }
  b->t_gen = dtf_now() - t0;
  if (!st) {
    t0 = dtf_now();
    st = dtf_h5_dense_write(g, b->spec, local);
    b->t_write = dtf_now() - t0;
  }
  if (!st && o->truth) {
    dtf_tensor_t *t = NULL;
    st = dtf_dense_tensor_wrap(g->nmodes, g->start, g->len, local, &t);
    if (!st) {
      local = NULL; /* the tensor owns it now */
      st = write_truth(b, t, &model);
    }
    dtf_tensor_free(t);
  }
  if (model.lambda) dtf_cp_model_free(&model);
  free(local);
  return st;
}

int cli_generate(cli_t *c, int argc, char **argv) {
  cli_opts_t o = {0};
  int rc = cli_parse(c, argc, argv, accepted, sizeof accepted / sizeof accepted[0], intro, &o);
  if (rc >= 0) return rc;
  if (o.npos) return cli_usage(c, "unexpected argument '%s'", o.pos[0]);
  if (!o.output) return cli_usage(c, "missing --output (-o)");
  if (!o.nmodes) return cli_usage(c, "missing --dims");
  if (!o.given[OPT_RANK]) return cli_usage(c, "missing --rank (-r)");
  double entries = 1;
  for (int k = 0; k < o.nmodes; k++) entries *= (double)o.dims[k];
  if (entries > 9.2e18)
    return cli_usage(c, "--dims: the tensor has more entries than a 64-bit index can count");
  if (o.nnz && (double)o.nnz > entries)
    return cli_usage(c, "--nnz must be between 1 and the %.0f cells of the tensor, not %lld", entries,
                     (long long)o.nnz);

  dtf_spec_t spec;
  dtf_status st = dtf_spec_parse(o.output, "/X", &spec);
  if (st) return cli_fail(c, st);
  int tns = dtf_is_tns(spec.file);
  if (tns && !o.nnz) return cli_usage(c, "a .tns output holds a sparse tensor: add --nnz N");
  if (o.missing > 0 && o.nnz)
    return cli_usage(
        c, "--missing is for dense output; in a sparse output the listed entries are the observed ones");
  if (o.noise > 0 && o.likelihood && strcmp(o.likelihood, "gaussian"))
    return cli_usage(c, "--noise is Gaussian noise; %s data get their noise from the likelihood",
                     o.likelihood);
  double bytes = o.nnz ? (double)o.nnz * (8.0 * o.nmodes + 8.0) : entries * 8.0;
  cli_files_t files = {0};
  cli_files_output(&files, spec.file, spec.path, tns ? DTF_OUT_TNS : DTF_OUT_TENSOR, "--output", bytes);
  cli_files_output(&files, o.truth, NULL, DTF_OUT_MODEL, "--truth", 0);
  if ((rc = cli_files_check(c, &files, o.force))) return rc;

  int pd[DTF_MAX_MODES];
  if (o.grid) st = dtf_grid_parse(o.grid, o.nmodes, pd);
  dtf_grid_t *g = NULL;
  if (!st) st = dtf_grid_create(MPI_COMM_WORLD, o.nmodes, o.dims, o.grid ? pd : NULL, &g);
  if (st) return cli_fail(c, st);
  double need = dtf_generate_memory(g, (int)o.rank, o.nnz),
         limit = o.given[OPT_MAX_MEM] ? o.max_mem : cli_default_max_mem();
  if (need > limit) {
    dtf_grid_free(g);
    return cli_fail(
        c, dtf_error(DTF_ERR_INPUT,
                     "generating this tensor needs an estimated %.3g GB per rank, more than the limit "
                     "of %.3g GB (--max-mem); use more ranks",
                     need / 1e9, limit / 1e9));
  }
  char d[128], b[32], gt[64], where[5200];
  dtf_format_dims(o.nmodes, o.dims, d, sizeof d);
  dtf_format_bytes(bytes, b, sizeof b);
  dtf_grid_format(g, gt, sizeof gt);
  snprintf(where, sizeof where, tns ? "%s" : "%s:%s", spec.file, spec.path);
  if (o.nnz)
    cli_progress(c, "generate sparse %s, %lld entries, rank %lld noise %g seed %llu -> %s on %d rank%s\n", d,
                 (long long)o.nnz, (long long)o.rank, o.noise, (unsigned long long)o.seed, where, c->size,
                 c->size == 1 ? "" : "s");
  else
    cli_progress(c, "generate %s rank %lld noise %g seed %llu -> %s (%s) on %d rank%s, grid %s\n", d,
                 (long long)o.rank, o.noise, (unsigned long long)o.seed, where, b, c->size,
                 c->size == 1 ? "" : "s", gt);
  job_t job = {c, g, &o, &spec, 0, 0};
  st = o.nnz ? generate_sparse(&job) : generate_dense(&job);
  if (!st) {
    cli_progress(c, "generated in %.2f s, wrote in %.2f s (%.0f MB/s)\n", job.t_gen, job.t_write,
                 bytes / 1e6 / (job.t_write > 0 ? job.t_write : 1e-9));
    if (o.nnz)
      cli_result(c, "wrote %s %s, %lld entries%s%s\n", where, d, (long long)o.nnz,
                 o.truth ? ", planted model in " : "", o.truth ? o.truth : "");
    else
      cli_result(c, "wrote %s %s%s%s\n", where, d, o.truth ? ", planted model in " : "",
                 o.truth ? o.truth : "");
    dtf_json_t *j = cli_json_begin(c, g);
    dtf_json_string(j, "output", o.output);
    dtf_json_int(j, "rank", o.rank);
    if (o.nnz) dtf_json_int(j, "nnz", o.nnz);
    dtf_json_number(j, "noise", o.noise);
    dtf_json_string(j, "likelihood", o.likelihood ? o.likelihood : "gaussian");
    dtf_json_number(j, "missing", o.missing);
    dtf_json_int(j, "seed", (int64_t)o.seed);
    dtf_json_number(j, "time_generate_s", job.t_gen);
    dtf_json_number(j, "time_write_s", job.t_write);
    if (o.truth) dtf_json_string(j, "truth", o.truth);
    st = cli_json_end(c, j);
  }
  dtf_grid_free(g);
  return st ? cli_fail(c, st) : 0;
}
