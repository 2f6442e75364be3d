/* dtf eval: the fit of a model file (any model kind) on a tensor, or its test metrics on
 * observed entries. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *intro =
    "usage: mpirun -np N dtf eval MODEL.h5 INPUT [options]\n"
    "       mpirun -np N dtf eval MODEL.h5 --test INPUT [--mask M] [options]\n"
    "\n"
    "Print the fit 1 - ||X - M|| / ||X|| of the model in MODEL.h5 (a model file or a\n"
    "checkpoint) on the tensor INPUT: a dense dataset file.h5:/dataset (file.h5 alone means\n"
    "file.h5:/X), a sparse COO group file.h5:/group, or X.tns. With --test, INPUT is a partly\n"
    "observed tensor (as for dtf complete) and eval prints the metrics of the model's\n"
    "likelihood on its observed entries: RMSE and MAE (gaussian), AUC, accuracy and log-loss\n"
    "(bernoulli), RMSE and mean log-likelihood (poisson).\n";

static const cli_accept_t accepted[] = {
    {OPT_TEST, "the observed entries to evaluate on (instead of a positional INPUT)"},
    {OPT_MASK, NULL},
    {OPT_GRID, "process grid (default: chosen automatically)"},
    {OPT_DUPLICATES, NULL},
    {OPT_SUM_DUPLICATES, NULL},
    {OPT_FORCE, "replace an existing --json file that dtf did not write"},
};

int cli_eval(cli_t *c, int argc, char **argv) {
  cli_opts_t o = {0};
  int rc = cli_parse(c, argc, argv, accepted, sizeof accepted / sizeof accepted[0], intro, &o);
  if (rc >= 0) return rc;
  int test = o.test != NULL;
  if (o.npos != (test ? 1 : 2))
    return cli_usage(c, test ? "expected MODEL (and --test INPUT)"
                             : "expected MODEL and INPUT (or --test INPUT)");
  if (o.mask && !test) return cli_usage(c, "--mask goes with --test");
  const char *model_file = o.pos[0], *input = test ? o.test : o.pos[1];
  cli_files_t files = {0};
  dtf_status st = cli_files_input(&files, input);
  if (!st) st = cli_files_input(&files, model_file);
  if (!st && o.mask) st = cli_files_input(&files, o.mask);
  if (st) return cli_fail(c, st);
  if ((rc = cli_files_check(c, &files, o.force))) return rc;

  cli_model_t m = {0};
  dtf_grid_t *g = NULL;
  dtf_tensor_t *t = NULL;
  cli_loaded_t in = {0};
  cli_load_t lo = {.grid = o.grid, .finite = 1, .duplicates = o.duplicates, .observed = test, .mask = o.mask};
  st = cli_model_peek(model_file, &m); /* a file that is not a model fails before the tensor is read */
  cli_model_free(&m);
  if (!st) st = cli_load_tensor(c, input, &lo, &in, &g, &t);
  char what[5200];
  snprintf(what, sizeof what, "tensor '%s'", input);
  if (!st) st = cli_model_read(model_file, g, what, &m);
  double fit = 0, metric[DTF_MAX_METRICS];
  int64_t n = 0;
  if (!st && !test) st = cli_model_fit(&m, g, t, &fit);
  if (!st && test) { /* the observations must be values of the model's likelihood, as for complete */
    char rule[4200];
    snprintf(what, sizeof what, "'%s': test entry", input);
    snprintf(rule, sizeof rule, "the %s likelihood of model '%s'", m.lik->name, model_file);
    st = dtf_tensor_check_values(g, t, m.lik->invalid, what, rule);
  }
  if (!st && test) {
    const dtf_observed_view_t *v = dtf_observed_view(t);
    double *x = malloc((size_t)(v->nnz ? v->nnz : 1) * sizeof(double));
    st = dtf_agree(g->comm, x ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory"));
    if (!st) {
      cli_model_predict(&m, v->nnz, v->inds, x);
      st = dtf_likelihood_metrics(g->comm, m.lik, v->nnz, v->vals, x, metric, NULL);
    }
    free(x);
    if (!st) st = dtf_observed_count(g, t, &n);
    if (!st && n == 0) st = dtf_error(DTF_ERR_INPUT, "the test tensor '%s' has no observed entry", input);
  }
  if (!st) {
    dtf_json_t *j = cli_json_begin(c, g);
    dtf_json_string(j, "model", model_file);
    dtf_json_string(j, "model_kind", m.kind->name);
    dtf_json_string(j, "input", input);
    int64_t R;
    if (!dtf_state_get_int(m.header, "rank", &R)) dtf_json_int(j, "rank", R);
    const dtf_attr_t *bonds = dtf_state_attr(m.header, "bond_ranks");
    if (bonds && bonds->type == DTF_ATTR_INTS) dtf_json_int_array(j, "bond_ranks", bonds->ints, bonds->n);
    if (test) {
      char line[512];
      size_t used = 0;
      dtf_json_string(j, "likelihood", m.lik->name);
      dtf_json_int(j, "test_entries", n);
      for (int k = 0; k < m.lik->nmetrics; k++) {
        char key[48];
        snprintf(key, sizeof key, "test_%s", m.lik->metric[k]);
        dtf_json_number(j, key, metric[k]);
        used += (size_t)snprintf(line + used, sizeof line - used, "%s%s %.6g", k ? "  " : "", key, metric[k]);
      }
      cli_result(c, "%s  (%lld test entries, %s likelihood)\n", line, (long long)n, m.lik->name);
    } else {
      cli_result(c, fabs(fit) < 1e6 ? "fit %.6f\n" : "fit %.6g\n", fit); /* -1.2e+170 in few digits */
      dtf_json_number(j, "fit", fit);
    }
    st = cli_json_end(c, j);
  }
  cli_model_free(&m);
  cli_loaded_free(&in);
  dtf_tensor_free(t);
  dtf_grid_free(g);
  return st ? cli_fail(c, st) : 0;
}
