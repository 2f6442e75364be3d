/* dtf tr: tensor-ring decomposition by TR-ALS (exact or sampled), through the shared run
 * loop. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *intro =
    "usage: mpirun -np N dtf tr INPUT (--ranks AxBxC | -r R) [options]\n"
    "\n"
    "Tensor ring decomposition by distributed alternating least squares (TR-ALS):\n"
    "X(i_1..i_N) ~ trace(G_1[i_1] ... G_N[i_N]), core n of shape R_n x I_n x R_{n+1}, the ring\n"
    "closed (R_{N+1} = R_1). INPUT is a dense dataset file.h5:/dataset, a sparse COO group\n"
    "file.h5:/group, or a FROSTT text file X.tns. With --sampled J each core is solved on J\n"
    "index tuples drawn by the leverage scores of the other cores (sampled TR-ALS), and the\n"
    "exact fit is computed every --fit-every iterations.\n"
    "\n"
    "Progress (rank 0, stderr): iter K  fit F  delta D  T s  comm B.\n";

static const cli_accept_t accepted[] = {
    {OPT_RANKS, NULL},
    {OPT_RANK, "every bond rank R (instead of --ranks)"},
    {OPT_ITERS, NULL},
    {OPT_TOL, "stop when the fit changes by less than T (default 1e-6)"},
    {OPT_SEED, "seed of the initial cores and the samples (default 0); the same for any number of ranks"},
    {OPT_INIT, "initial cores: random (normal draws keyed by --seed, default) or svd (TR-SVD of the whole "
               "tensor, gathered on every rank: small tensors)"},
    {OPT_SAMPLED, NULL},
    {OPT_FIT_EVERY, NULL},
    {OPT_REG, "ridge added to every core's normal equations (default 0)"},
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

typedef struct {
  dtf_tr_als_t *s;
  const dtf_tr_options_t *o;
  int nmodes;
} summary_ctx_t;

/* The keys of a TR-ALS summary beyond the run loop's. */
static void summary(dtf_json_t *j, void *ctx) {
  const summary_ctx_t *x = ctx;
  dtf_tr_summary_t sm;
  dtf_tr_als_summary(x->s, &sm);
  int64_t r[DTF_MAX_MODES] = {0};
  for (int n = 0; n < x->nmodes; n++) r[n] = x->o->ranks[n];
  dtf_json_int_array(j, "ranks", r, x->nmodes);
  dtf_json_number(j, "tol", x->o->tol);
  dtf_json_int(j, "seed", (int64_t)x->o->seed);
  dtf_json_int(j, "sampled", x->o->sample);
  dtf_json_number(j, "fit", sm.fit);
  dtf_json_number_array(j, "fit_history", sm.fit_history, sm.iterations);
  dtf_json_number(j, "time_contract_s", sm.t_contract);
  dtf_json_number(j, "time_sample_s", sm.t_sample);
  dtf_json_number(j, "time_comm_s", sm.t_comm);
  dtf_json_number(j, "time_solve_small_s", sm.t_solve);
}

int cli_tr(cli_t *c, int argc, char **argv) {
  cli_opts_t o = {.iters = 50, .tol = 1e-6, .fit_every = 10};
  int rc = cli_parse(c, argc, argv, accepted, sizeof accepted / sizeof accepted[0], intro, &o);
  if (rc >= 0) return rc;
  if (o.init_sweeps) return cli_usage(c, "--init als:K starts dtf gcp; dtf tr starts from random or svd");
  if (o.npos != 1)
    return cli_usage(c, o.npos ? "expected one INPUT, got '%s' too" : "missing INPUT",
                     o.npos ? o.pos[1] : "");
  if (!o.ranks == !o.given[OPT_RANK])
    return cli_usage(c, "give the bond ranks with --ranks AxBxC or -r R (one of them)");
  if (o.given[OPT_FIT_EVERY] && !o.sampled) return cli_usage(c, "--fit-every applies to --sampled runs only");
  const char *input = o.pos[0];
  dtf_grid_t *g;
  dtf_tensor_t *t;
  cli_loaded_t in;
  if ((rc = cli_solver_input(c, &o, &in, &g, &t)) >= 0) return rc;
  dtf_status st = DTF_OK;

  dtf_tr_options_t to;
  dtf_tr_options_default(&to);
  if (o.ranks)
    st = dtf_tr_parse_ranks(o.ranks, g->nmodes, to.ranks);
  else
    for (int n = 0; n < g->nmodes; n++) to.ranks[n] = (int)o.rank;
  to.max_iters = (int)o.iters;
  to.tol = o.tol;
  to.seed = o.seed;
  to.sample = o.sampled;
  to.fit_every = (int)o.fit_every;
  to.reg = o.reg;
  to.init_svd = o.init && !strcmp(o.init, "svd");
  to.max_mem = o.given[OPT_MAX_MEM] ? o.max_mem : cli_default_max_mem();
  to.log = cli_log;
  to.ctx = c;
  for (int n = 0; n < DTF_MAX_MODES; n++) to.row_labels[n] = in.labels[n];
  dtf_tr_als_t *s = NULL;
  if (!st) {
    char bonds[128];
    int64_t r[DTF_MAX_MODES] = {0};
    for (int n = 0; n < g->nmodes; n++) r[n] = to.ranks[n];
    dtf_format_dims(g->nmodes, r, bonds, sizeof bonds);
    cli_progress(c, "tr-als%s bonds %s, at most %d iterations, tol %.1e, seed %llu, init %s\n",
                 to.sample ? " (sampled)" : "", bonds, to.max_iters, to.tol, (unsigned long long)to.seed,
                 to.init_svd ? "svd" : "random");
    if (to.sample)
      cli_progress(c, "  %lld samples per core; exact fit every %d iterations\n", (long long)to.sample,
                   to.fit_every);
    st = dtf_tr_als_init(g, t, &to, &s);
  }
  if (st)
    rc = cli_fail(c, st);
  else {
    dtf_solver_t solver = dtf_tr_als_solver(s);
    summary_ctx_t sc = {s, &to, g->nmodes};
    cli_run_t run = {o.output, o.checkpoint, (int)o.every, o.resume, o.permute, o.seed,
                     input,    &in,          summary,      &sc,      NULL};
    rc = cli_run(c, g, t, &solver, &run);
  }
  dtf_tr_als_free(s);
  cli_loaded_free(&in);
  dtf_tensor_free(t);
  dtf_grid_free(g);
  return rc;
}
