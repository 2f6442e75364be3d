/* dtf cp: CP-ALS on a dense or sparse tensor, through the shared run loop. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *intro =
    "usage: mpirun -np N dtf cp INPUT -r R [options]\n"
    "\n"
    "CP decomposition by distributed alternating least squares (CP-ALS). INPUT is a dense\n"
    "dataset file.h5:/dataset (file.h5 alone means file.h5:/X; float64 or float32), a sparse\n"
    "COO group file.h5:/group, or a FROSTT text file X.tns.\n"
    "\n"
    "Progress (rank 0, stderr): iter K  fit F  delta D  T s  comm B.\n";

static const cli_accept_t accepted[] = {
    {OPT_RANK, "number of components (required, >= 1)"},
    {OPT_ITERS, NULL},
    {OPT_TOL, NULL},
    {OPT_SEED, "seed of the initial factors (default 0); the same start for any number of ranks"},
    {OPT_INIT, "initial factors: random (normal draws keyed by --seed, default) or svd (each mode's leading "
               "singular vectors: a randomized ST-HOSVD keyed by --seed for a dense tensor, the Grams for a "
               "sparse one; the other columns random)"},
    {OPT_CONSTRAINT, NULL},
    {OPT_UPDATE, NULL},
    {OPT_GRID, NULL},
    {OPT_OUTPUT, NULL},
    {OPT_DUPLICATES, NULL},
    {OPT_SUM_DUPLICATES, NULL},
    {OPT_PERMUTE, NULL},
    {OPT_CHECKPOINT, NULL},
    {OPT_CHECKPOINT_EVERY, NULL},
    {OPT_RESUME, NULL},
    {OPT_MAX_MEM, NULL},
    {OPT_NET_MODEL, NULL},
    {OPT_FORCE, NULL},
};

/* The keys of a CP-ALS summary beyond the run loop's. */
static void summary(dtf_json_t *j, void *ctx) {
  const dtf_cp_als_t *s = ctx;
  dtf_json_int(j, "rank", s->opt.rank);
  dtf_json_number(j, "tol", s->opt.tol);
  dtf_json_int(j, "seed", (int64_t)s->opt.seed);
  dtf_json_string(j, "constraint", s->constraints);
  dtf_json_string(j, "update", s->updates);
  dtf_json_string(j, "init", s->opt.init_svd ? "svd" : "random");
  dtf_json_number_array(j, "fit_history", s->fit_history, s->iteration);
  dtf_json_number_array(j, "lambda", s->model.lambda, s->opt.rank);
  dtf_json_number(j, "time_mttkrp_s", s->t_mttkrp);
  dtf_json_number(j, "time_comm_s", s->t_comm);
  dtf_json_number(j, "time_solve_small_s", s->t_solve);
}

int cli_cp(cli_t *c, int argc, char **argv) {
  cli_opts_t o = {.iters = 50, .tol = 1e-4};
  int rc = cli_parse(c, argc, argv, accepted, sizeof accepted / sizeof accepted[0], intro, &o);
  if (rc >= 0) return rc;
  if ((rc = cli_input_and_rank(c, &o)) >= 0) return rc;
  if (o.init_sweeps) return cli_usage(c, "--init als:K starts dtf gcp; dtf cp starts from random or svd");
  const char *input = o.pos[0];
  dtf_grid_t *g;
  dtf_tensor_t *t;
  cli_loaded_t in;
  if ((rc = cli_solver_input(c, &o, &in, &g, &t)) >= 0) return rc;
  dtf_status st;

  dtf_cp_options_t co;
  dtf_cp_options_default(&co);
  co.rank = (int)o.rank;
  co.max_iters = (int)o.iters;
  co.tol = o.tol;
  co.seed = o.seed;
  co.max_mem = o.given[OPT_MAX_MEM] ? o.max_mem : cli_default_max_mem();
  co.update = o.update;
  co.init_svd = o.init && !strcmp(o.init, "svd");
  co.log = cli_log;
  co.ctx = c;
  for (int n = 0; n < DTF_MAX_MODES; n++) co.row_labels[n] = in.labels[n];
  dtf_cp_als_t *s = NULL;
  st = o.constraint ? dtf_constraint_parse(o.constraint, g->nmodes, co.constraint) : DTF_OK;
  if (!st) st = dtf_cp_als_init(g, t, &co, &s);
  if (!st) {
    char rows[160] = ""; /* how the rows are found, where not plain ALS */
    if (strspn(s->updates, "als,") != strlen(s->updates))
      snprintf(rows, sizeof rows, ", constraint %s, update %s", s->constraints, s->updates);
    cli_progress(c, "cp-als rank %d, at most %d iterations, tol %.1e, seed %llu%s%s\n", co.rank, co.max_iters,
                 co.tol, (unsigned long long)co.seed, co.init_svd ? ", init svd" : "", rows);
  }
  if (st)
    rc = cli_fail(c, st);
  else {
    dtf_solver_t solver = dtf_cp_als_solver(s);
    cli_run_t run = {o.output, o.checkpoint, (int)o.every, o.resume, o.permute, o.seed,
                     input,    &in,          summary,      s,        NULL};
    rc = cli_run(c, g, t, &solver, &run);
  }
  dtf_cp_als_free(s);
  cli_loaded_free(&in);
  dtf_tensor_free(t);
  dtf_grid_free(g);
  return rc;
}
