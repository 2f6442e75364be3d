/* dtf tucker: Tucker decomposition by distributed ST-HOSVD, through the shared run loop. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *intro =
    "usage: mpirun -np N dtf tucker INPUT (--ranks AxBxC | -r R | --tol EPS | --budget P) [--method "
    "sthosvd|hooi] "
    "[options]\n"
    "\n"
    "Tucker decomposition by distributed sequentially truncated HOSVD (ST-HOSVD):\n"
    "X ~ core x_1 U_1 x_2 U_2 ... x_N U_N, U_n of shape I_n x R_n with orthonormal columns, the\n"
    "core R_1 x ... x R_N. Mode by mode: the Gram of the unfolding, its leading eigenvectors\n"
    "(LAPACK), and the n-mode product that shrinks the mode. INPUT is a dense dataset\n"
    "file.h5:/dataset or a sparse tensor (file.tns, or a COO group), never densified. With\n"
    "--tol EPS each mode keeps the fewest eigenvectors whose left-out eigenvalues sum to at\n"
    "most EPS^2 ||X||^2 / N, so that ||X - M|| <= EPS ||X||. With\n"
    "--method hooi, HOOI sweeps refine the ST-HOSVD factors (same ranks) until the fit changes by\n"
    "less than 1e-6 or -i sweeps; they checkpoint and resume.\n"
    "\n"
    "Progress (rank 0, stderr): one line per mode (iter K  fit F  delta D  T s  comm B | mode n:\n"
    "I -> R), then one per HOOI sweep.\n";

static const cli_accept_t accepted[] = {
    {OPT_RANKS, "the core's shape R_1 x ... x R_N (1 <= R_n <= I_n)"},
    {OPT_RANK, "every core rank R (instead of --ranks)"},
    {OPT_TOL, "relative error EPS in (0, 1): the ranks are the smallest that guarantee it"},
    {OPT_BUDGET, NULL},
    {OPT_METHOD, NULL},
    {OPT_EIG, NULL},
    {OPT_ORDER, NULL},
    {OPT_OVERSAMPLE, NULL},
    {OPT_POWER, NULL},
    {OPT_SEED, "randomized: seed of the test matrices (default 0); the same for any number of ranks"},
    {OPT_ITERS, "hooi: at most N sweeps after ST-HOSVD (default 10)"},
    {OPT_GRID, NULL},
    {OPT_OUTPUT, NULL},
    {OPT_CHECKPOINT, "hooi: write the solver state to FILE (on a signal, and with --checkpoint-every)"},
    {OPT_CHECKPOINT_EVERY, NULL},
    {OPT_RESUME, NULL},
    {OPT_MAX_MEM, NULL},
    {OPT_NET_MODEL, NULL},
    {OPT_FORCE, NULL},
};

typedef struct {
  dtf_tucker_t *s;
  const dtf_tucker_options_t *o;
  int nmodes;
} summary_ctx_t;

static void summary(dtf_json_t *j, void *ctx) {
  const summary_ctx_t *x = ctx;
  dtf_tucker_summary_t sm;
  dtf_tucker_summary(x->s, &sm);
  int64_t r[DTF_MAX_MODES] = {0}, order[DTF_MAX_MODES] = {0};
  for (int n = 0; n < x->nmodes; n++) {
    r[n] = sm.ranks[n];
    order[n] = x->o->order[n];
  }
  dtf_json_int_array(j, "ranks", r, x->nmodes);
  dtf_json_int_array(j, "mode_order", order, x->nmodes);
  if (x->o->tol > 0) dtf_json_number(j, "tol", x->o->tol);
  double core = 1, params = 0, cells = 1;
  for (int n = 0; n < x->nmodes; n++) {
    core *= (double)sm.ranks[n];
    params += (double)sm.ranks[n] * (double)sm.model->dims[n];
    cells *= (double)sm.model->dims[n];
  }
  params += core;
  dtf_json_number(j, "parameters", params);
  dtf_json_number(j, "compression", cells / params);
  dtf_json_number(j, "relative_error", 1.0 - sm.fit);
  if (x->o->budget > 0) {
    dtf_json_number(j, "budget", x->o->budget);
    dtf_json_number(j, "budget_bound", sm.budget_bound);
    dtf_json_number(j, "time_budget_s", sm.t_budget);
  }
  for (int n = 0; n < x->nmodes; n++) {
    char key[48];
    snprintf(key, sizeof key, "eigenvalues_%d", n);
    dtf_json_number_array(j, key, sm.eigenvalues[n], sm.neig[n]);
  }
  dtf_json_number(j, "time_gram_s", sm.t_gram);
  dtf_json_number(j, "time_eigen_s", sm.t_eig);
  dtf_json_number(j, "time_ttm_s", sm.t_ttm);
  dtf_json_number(j, "time_comm_s", sm.t_comm);
  dtf_json_string(j, "method", x->o->hooi ? "hooi" : "sthosvd");
  dtf_json_number_array(j, "fit_history", sm.fit_history, sm.iterations);
}

int cli_tucker(cli_t *c, int argc, char **argv) {
  cli_opts_t o = {.iters = 10};
  int rc = cli_parse(c, argc, argv, accepted, sizeof accepted / sizeof accepted[0], intro, &o);
  if (rc >= 0) return rc;
  if (o.npos != 1)
    return cli_usage(c, o.npos ? "expected one INPUT, got '%s' too" : "missing INPUT",
                     o.npos ? o.pos[1] : "");
  if ((o.ranks != NULL) + o.given[OPT_RANK] + o.given[OPT_TOL] + o.given[OPT_BUDGET] != 1)
    return cli_usage(
        c, "give the core's shape with --ranks AxBxC or -r R, an error with --tol EPS, or a size with "
           "--budget P (one of them)");
  if (o.given[OPT_TOL] && !(o.tol > 0 && o.tol < 1))
    return cli_usage(c, "--tol must be a relative error in (0, 1), not %g", o.tol);
  int hooi = o.method && !strcmp(o.method, "hooi");
  if ((o.given[OPT_OVERSAMPLE] || o.given[OPT_SEED] || o.given[OPT_POWER]) &&
      !(o.eig && !strcmp(o.eig, "randomized")))
    return cli_usage(c, "%s applies to --eig randomized",
                     o.given[OPT_SEED]    ? "--seed"
                     : o.given[OPT_POWER] ? "--power"
                                          : "--oversample");
  if (!hooi && (o.checkpoint || o.given[OPT_ITERS]))
    return cli_usage(c, "%s applies to --method hooi (ST-HOSVD is one pass)",
                     o.checkpoint ? "--checkpoint" : "-i");
  /* without --grid: the processes on the modes truncated last (dtf_tucker_grid) */
  char grid[128];
  dtf_spec_t spec;
  int nmodes = 0, eb = 0;
  int64_t dims[DTF_MAX_MODES];
  if (!o.grid && !dtf_spec_parse(o.pos[0], "/X", &spec) && !dtf_is_tns(spec.file) &&
      !dtf_h5_dense_info(MPI_COMM_WORLD, &spec, &nmodes, dims, &eb)) {
    dtf_tucker_options_t order;
    dtf_tucker_options_default(&order, nmodes);
    if (o.order && o.ranks) dtf_tucker_parse_ranks(o.ranks, nmodes, dims, order.ranks);
    if (o.order) dtf_tucker_parse_order(o.order, nmodes, dims, &order);
    int pd[DTF_MAX_MODES];
    if (!dtf_tucker_grid(c->size, nmodes, dims, order.order, pd)) {
      int64_t p64[DTF_MAX_MODES];
      for (int n = 0; n < nmodes; n++) p64[n] = pd[n];
      dtf_format_dims(nmodes, p64, grid, sizeof grid);
      o.grid = grid;
    }
  }
  dtf_grid_t *g;
  dtf_tensor_t *t;
  cli_loaded_t in;
  if ((rc = cli_solver_input(c, &o, &in, &g, &t)) >= 0) return rc;
  dtf_status st = DTF_OK;
  dtf_tucker_options_t to;
  dtf_tucker_options_default(&to, g->nmodes);
  if (o.ranks)
    st = dtf_tucker_parse_ranks(o.ranks, g->nmodes, g->dims, to.ranks);
  else if (o.given[OPT_RANK])
    for (int n = 0; !st && n < g->nmodes; n++) {
      to.ranks[n] = (int)o.rank;
      if (o.rank > g->dims[n])
        st = dtf_error(DTF_ERR_USAGE, "-r %lld is larger than mode %d (%lld indices)", (long long)o.rank,
                       n + 1, (long long)g->dims[n]);
    }
  to.tol = o.given[OPT_TOL] ? o.tol : 0;
  to.hooi = hooi;
  to.budget = o.given[OPT_BUDGET] ? o.budget : 0;
  to.eig = !o.eig                        ? DTF_EIG_AUTO
           : !strcmp(o.eig, "lapack")    ? DTF_EIG_LAPACK
           : !strcmp(o.eig, "scalapack") ? DTF_EIG_SCALAPACK
                                         : DTF_EIG_RANDOMIZED;
  if (o.given[OPT_OVERSAMPLE]) to.oversample = (int)o.oversample;
  to.power = (int)o.power;
  to.seed = o.seed;
  to.max_sweeps = (int)o.iters;
  to.max_mem = o.given[OPT_MAX_MEM] ? o.max_mem : cli_default_max_mem();
  to.overwrite_input = 1; /* the input is not read again once the run starts */
  if (!st && o.order) st = dtf_tucker_parse_order(o.order, g->nmodes, g->dims, &to);
  to.log = cli_log;
  to.ctx = c;
  dtf_tucker_t *s = NULL;
  if (!st) {
    char what[160];
    if (to.tol > 0)
      snprintf(what, sizeof what, "ranks for a relative error of at most %.3g", to.tol);
    else if (to.budget > 0)
      snprintf(what, sizeof what, "the shape of least error bound within %.0f numbers", to.budget);
    else {
      int64_t r[DTF_MAX_MODES] = {0};
      for (int n = 0; n < g->nmodes; n++) r[n] = to.ranks[n];
      char shape[128];
      dtf_format_dims(g->nmodes, r, shape, sizeof shape);
      snprintf(what, sizeof what, "core %s", shape);
    }
    static const char *paths[] = {
        "eigenvectors by LAPACK, or ScaLAPACK for a Gram above a quarter of --max-mem",
        "eigenvectors by LAPACK on rank 0", "eigenvectors by ScaLAPACK on every rank",
        "a randomized range finder (Khatri-Rao sketches, no Gram)"};
    cli_progress(c, "tucker %s, %s, %s\n", hooi ? "st-hosvd then hooi" : "st-hosvd", what, paths[to.eig]);
    if (hooi)
      cli_progress(c, "  at most %d hooi sweeps, until the fit changes by less than %.0e\n", to.max_sweeps,
                   to.hooi_tol);
    st = dtf_tucker_init(g, t, &to, &s);
  }
  if (st)
    rc = cli_fail(c, st);
  else {
    dtf_solver_t solver = dtf_tucker_solver(s);
    summary_ctx_t sc = {s, &to, g->nmodes};
    cli_run_t run = {o.output, o.checkpoint, (int)o.every, o.resume, 0, 0, o.pos[0], &in, summary, &sc, NULL};
    rc = cli_run(c, g, t, &solver, &run);
    if (rc == 0) {
      dtf_tucker_summary_t sm;
      dtf_tucker_summary(s, &sm);
      int64_t r[DTF_MAX_MODES] = {0};
      double params = 1, cells = 1;
      for (int n = 0; n < g->nmodes; n++) {
        r[n] = sm.ranks[n];
        params *= (double)sm.ranks[n];
        cells *= (double)g->dims[n];
      }
      for (int n = 0; n < g->nmodes; n++) params += (double)sm.ranks[n] * (double)g->dims[n];
      char shape[128];
      dtf_format_dims(g->nmodes, r, shape, sizeof shape);
      cli_result(c, "core %s, relative error %.4g, %.0f parameters (%.4gx smaller than the tensor)\n", shape,
                 1.0 - sm.fit, params, cells / params);
      if (to.budget > 0)
        cli_result(
            c,
            "budget %.0f: the HOSVD bound of this shape is %.4g (the spectra and the search took %.3g s)\n",
            to.budget, sm.budget_bound, sm.t_budget);
    }
  }
  dtf_tucker_free(s);
  cli_loaded_free(&in);
  dtf_tensor_free(t);
  dtf_grid_free(g);
  return rc;
}
