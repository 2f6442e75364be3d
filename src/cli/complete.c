/* dtf complete: probabilistic completion of a partly observed tensor by distributed
 * (online) EM, through the shared run loop. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *intro =
    "usage: mpirun -np N dtf complete INPUT -r R [--holdout F | --test T] [options]\n"
    "       mpirun -np N dtf complete INPUT --model tr (--ranks AxBxC | -r R) [options]\n"
    "\n"
    "Fill in the missing entries of a partly observed tensor with a CP or tensor-ring model\n"
    "learned by distributed EM: a shrinkage prior (multiplicative gamma process, over the\n"
    "components of CP or of each bond of the ring) drops the components the data do not need,\n"
    "so -r and --ranks are start ranks; Gaussian, Bernoulli (0/1) and Poisson (count) data. INPUT: a dense "
    "dataset file.h5:/X with NaN for missing entries (or with\n"
    "--mask), a COO group file.h5:/G or a FROSTT file X.tns, whose listed entries are the\n"
    "observations (a listed zero is an observed zero; an unlisted entry is missing).\n"
    "\n"
    "Progress (rank 0, stderr), one line per epoch: the headline test metric (train without\n"
    "test entries), then the effective rank (a ring: the sum of its bonds, and the bonds) and\n"
    "every train and test metric.\n";

static const cli_accept_t accepted[] = {
    {OPT_RANK, "start rank (>= 1); components are pruned during the run (--prune); tr: every bond's"},
    {OPT_MODEL, NULL},
    {OPT_RANKS, "tr: the start rank of each bond"},
    {OPT_LIKELIHOOD, NULL},
    {OPT_ALGORITHM, NULL},
    {OPT_MASK, NULL},
    {OPT_HOLDOUT, NULL},
    {OPT_TEST, NULL},
    {OPT_ITERS, "at most N epochs (default 100)"},
    {OPT_TOL, "stop when the train loss changes by a fraction below T in an epoch (default 1e-4)"},
    {OPT_SEED, "seed of the initial factors, the mini-batches and --holdout (default 0)"},
    {OPT_BATCHES, NULL},
    {OPT_KAPPA, NULL},
    {OPT_PRUNE, NULL},
    {OPT_MERGE, NULL},
    {OPT_REG, NULL},
    {OPT_BIAS, NULL},
    {OPT_GRID, NULL},
    {OPT_OUTPUT, "write the model (CP or tensor ring, with its likelihood) to FILE (docs/formats.md)"},
    {OPT_DUPLICATES, NULL},
    {OPT_SUM_DUPLICATES, NULL},
    {OPT_CHECKPOINT, NULL},
    {OPT_CHECKPOINT_EVERY, NULL},
    {OPT_RESUME, NULL},
    {OPT_MAX_MEM, NULL},
    {OPT_FORCE, NULL},
    {OPT_COMPRESS, "refused unless none: complete exchanges sufficient statistics, not gradients"},
};

typedef struct {
  dtf_em_t *em;
  const dtf_em_options_t *opt;
  const char *model;
  int64_t n_train, n_test;
  double holdout; /* 0: no --holdout */
  char test[96];  /* the --test tensor's entries and checksum ("": none) */
} job_t;

/* The split of the observations, which a resume must match too. */
static void options(dtf_state_t *st, void *ctx) {
  const job_t *b = ctx;
  dtf_state_real(st, "holdout", DTF_ATTR_OPTION, "--holdout", b->holdout);
  dtf_state_style(st, "holdout", DTF_SHOW_UNSET);
  dtf_state_text_option(st, "test", "--test", b->test);
  dtf_state_style(st, "test", DTF_SHOW_UNSET);
}

static void summary(dtf_json_t *j, void *ctx) {
  const job_t *b = ctx;
  dtf_em_summary_t s;
  dtf_em_summary(b->em, &s);
  const dtf_likelihood_t *lik = b->opt->lik;
  dtf_json_string(j, "model", b->model);
  dtf_json_string(j, "likelihood", b->opt->algorithm == DTF_EM_ALS ? "gaussian" : lik->name);
  dtf_json_string(j, "algorithm",
                  b->opt->algorithm == DTF_EM_ONLINE  ? "online"
                  : b->opt->algorithm == DTF_EM_BATCH ? "batch"
                                                      : "als");
  dtf_json_int(j, "rank", b->opt->rank);
  dtf_json_int(j, "effective_rank", s.rank);
  if (s.nranks > 1) {
    int64_t r[DTF_MAX_MODES];
    for (int k = 0; k < s.nranks; k++) r[k] = s.ranks[k];
    dtf_json_int_array(j, "effective_bond_ranks", r, s.nranks);
    for (int k = 0; k < s.nranks; k++) r[k] = b->opt->bond_ranks[k];
    dtf_json_int_array(j, "start_bond_ranks", r, s.nranks);
  }
  dtf_json_int(j, "train_entries", b->n_train);
  dtf_json_int(j, "test_entries", b->n_test);
  dtf_json_int(j, "seed", (int64_t)b->opt->seed);
  if (b->opt->algorithm == DTF_EM_ONLINE) dtf_json_int(j, "batches", b->opt->batches);
  if (b->opt->algorithm == DTF_EM_ALS) dtf_json_number(j, "reg", b->opt->reg);
  if (isfinite(s.noise_sd)) dtf_json_number(j, "noise_sd", s.noise_sd);
  dtf_json_string(j, "bias", b->opt->bias ? "on" : "off");
  dtf_json_bool(j, "collapsed", s.collapsed);
  if (s.collapsed) dtf_json_string(j, "collapse_reason", s.collapse_why);
  if (b->opt->algorithm != DTF_EM_ALS) {
    dtf_json_int(j, "warmup_epochs", s.warmup_epochs);
    dtf_json_int(j, "online_epochs", s.online_epochs);
  }
  for (int k = 0; s.have_test && k < lik->nmetrics; k++) {
    char key[48];
    snprintf(key, sizeof key, "baseline_test_%s", lik->metric[k]);
    dtf_json_number(j, key, s.baseline[k]);
  }
  char key[48];
  snprintf(key, sizeof key, "train_%s_history", lik->metric[0]);
  dtf_json_number_array(j, key, s.train_history, s.epochs);
  if (s.have_test) {
    snprintf(key, sizeof key, "test_%s_history", lik->metric[0]);
    dtf_json_number_array(j, key, s.test_history, s.epochs);
  }
  dtf_json_number_array(j, "seconds_history", s.seconds_history, s.epochs);
  dtf_json_number_array(j, "effective_rank_history", s.rank_history, s.epochs);
  dtf_json_number(j, "time_estep_s", s.t_estep);
  dtf_json_number(j, "time_comm_s", s.t_comm);
  dtf_json_number(j, "time_solve_small_s", s.t_solve);
}

typedef struct {
  const dtf_em_options_t *opt;
  const char *model;
  int holdout;
} memory_t;

/* Before the observations are grouped: the run's estimate (with --holdout the input and its
 * two parts are held at once), against --max-mem. */
static dtf_status check_memory(const dtf_grid_t *g, int64_t entries, void *ctx) {
  const memory_t *m = ctx;
  return dtf_em_check_memory(g, entries, m->holdout ? entries : 0, dtf_em_model(m->model), m->opt);
}

int cli_complete(cli_t *c, int argc, char **argv) {
  cli_opts_t o = {
      .iters = 100, .tol = 1e-4, .batches = 10, .kappa = 0.7, .prune = 1e-2, .merge = 0.995, .reg = 1e-2};
  int rc = cli_parse(c, argc, argv, accepted, sizeof accepted / sizeof accepted[0], intro, &o);
  if (rc >= 0) return rc;
  if (o.given[OPT_COMPRESS] && o.compress.kind != DTF_COMPRESS_NONE)
    return cli_usage(
        c, "--compress applies to gradient exchanges (dtf gcp); dtf complete sums the rows' sufficient "
           "statistics, and a compressed sum would bias every M-step: there is no error to feed back");
  int tr = o.model && !strcmp(o.model, "tr");
  if (o.ranks && !tr) return cli_usage(c, "--ranks gives the bonds of --model tr");
  if (o.npos != 1)
    return cli_usage(c, o.npos ? "expected one INPUT, got '%s' too" : "missing INPUT",
                     o.npos ? o.pos[1] : "");
  if (!tr && !o.given[OPT_RANK]) return cli_usage(c, "missing --rank (-r)");
  if (tr && !o.ranks == !o.given[OPT_RANK])
    return cli_usage(c, "give the start bond ranks of --model tr with --ranks AxBxC or -r R (one of them)");
  if (o.test && o.given[OPT_HOLDOUT]) return cli_usage(c, "--holdout and --test exclude each other");
  if ((o.resume || o.every) && !o.checkpoint)
    return cli_usage(c, "--resume and --checkpoint-every need --checkpoint FILE");
  const char *input = o.pos[0];
  dtf_em_options_t eo;
  dtf_em_options_default(&eo);
  eo.algorithm = !o.algorithm || !strcmp(o.algorithm, "online") ? DTF_EM_ONLINE
                 : !strcmp(o.algorithm, "batch")                ? DTF_EM_BATCH
                                                                : DTF_EM_ALS;
  if (eo.algorithm == DTF_EM_ALS && o.likelihood && strcmp(o.likelihood, "gaussian"))
    return cli_usage(c, "--algorithm als is least squares: it takes no --likelihood %s", o.likelihood);
  if (eo.algorithm != DTF_EM_ALS && o.given[OPT_REG])
    return cli_usage(c, "--reg is the ridge of --algorithm als; EM's prior sets its own");
  eo.lik = dtf_likelihood(o.likelihood ? o.likelihood : "gaussian");
  eo.rank = (int)o.rank;
  eo.max_epochs = (int)o.iters;
  eo.tol = o.tol;
  eo.seed = o.seed;
  eo.batches = (int)o.batches;
  eo.kappa = o.kappa;
  eo.prune = o.prune;
  eo.merge = o.merge;
  eo.reg = o.reg;
  eo.bias = o.given[OPT_BIAS] ? o.bias : eo.lik != dtf_likelihood("gaussian");
  eo.max_mem = o.given[OPT_MAX_MEM] ? o.max_mem : cli_default_max_mem();
  eo.log = cli_log;
  eo.ctx = c;

  cli_files_t files = {0};
  dtf_status st = cli_files_input(&files, input);
  if (!st && o.mask) st = cli_files_input(&files, o.mask);
  if (!st && o.test) st = cli_files_input(&files, o.test);
  if (st) return cli_fail(c, st);
  cli_files_output(&files, o.output, NULL, DTF_OUT_MODEL, "--output", 0);
  cli_files_checkpoint(&files, o.checkpoint, o.resume);
  if ((rc = cli_files_check(c, &files, o.force))) return rc;

  dtf_grid_t *g = NULL;
  dtf_tensor_t *all = NULL, *train = NULL, *test = NULL;
  cli_loaded_t in, tin = {0};
  memory_t mem = {&eo, tr ? "tr" : "cp", o.given[OPT_HOLDOUT]};
  cli_load_t lo = {.grid = o.grid,
                   .duplicates = o.duplicates,
                   .seed = o.seed,
                   .observed = 1,
                   .mask = o.mask,
                   .check_memory = check_memory,
                   .check_ctx = &mem};
  st = cli_load_tensor(c, input, &lo, &in, &g, &all);
  if (!st && o.mask && in.elem_bytes == 0)
    st = dtf_error(DTF_ERR_INPUT, "--mask is for dense input; in a sparse input the listed entries are the "
                                  "observed ones");
  if (!st && o.test) {
    cli_load_t to = {.duplicates = o.duplicates, .seed = o.seed, .observed = 1, .onto = g};
    dtf_grid_t *same;
    st = cli_load_tensor(c, o.test, &to, &tin, &same, &test);
    train = all;
    all = NULL;
  } else if (!st && o.given[OPT_HOLDOUT]) {
    st = dtf_agree(g->comm, dtf_observed_split(all, g->dims, o.holdout, o.seed, &train, &test));
    dtf_tensor_free(all);
    all = NULL;
  } else if (!st) {
    train = all;
    all = NULL;
  }
  job_t job = {NULL, &eo, tr ? "tr" : "cp", 0, 0, o.given[OPT_HOLDOUT] ? o.holdout : 0, ""};
  dtf_fingerprint_t tfp;
  if (!st && o.test && o.checkpoint && !(st = dtf_tensor_fingerprint(g, test, NULL, &tfp)))
    snprintf(job.test, sizeof job.test, "%lld entries, checksum %016llx", (long long)tfp.entries,
             (unsigned long long)tfp.checksum);
  if (!st && tr) {
    if (o.ranks) st = dtf_tr_parse_ranks(o.ranks, g->nmodes, eo.bond_ranks);
    for (int n = 0; !st && n < g->nmodes; n++) {
      if (!o.ranks) eo.bond_ranks[n] = (int)o.rank;
      if (eo.bond_ranks[n] > eo.rank) eo.rank = eo.bond_ranks[n];
    }
  }
  if (!st) st = dtf_observed_count(g, train, &job.n_train);
  if (!st && test) st = dtf_observed_count(g, test, &job.n_test);
  if (!st && test && job.n_test == 0)
    st = dtf_error(DTF_ERR_INPUT, "there are no test entries (%s)",
                   o.test ? "the --test tensor has no observed entry" : "--holdout is too small");
  if (!st) {
    const char *alg = eo.algorithm == DTF_EM_ONLINE  ? "online EM"
                      : eo.algorithm == DTF_EM_BATCH ? "batch EM"
                                                     : "ALS";
    char batches[64] = "";
    if (eo.algorithm == DTF_EM_ONLINE) snprintf(batches, sizeof batches, ", %d mini-batches", eo.batches);
    char start[80];
    if (tr) {
      int64_t r[DTF_MAX_MODES];
      for (int n = 0; n < g->nmodes; n++) r[n] = eo.bond_ranks[n];
      char dims[64];
      dtf_format_dims(g->nmodes, r, dims, sizeof dims);
      snprintf(start, sizeof start, "tr bonds %s", dims);
    } else
      snprintf(start, sizeof start, "cp rank %d", eo.rank);
    cli_progress(c, "complete: %s (start), %s likelihood, %s%s, at most %d epochs, seed %llu\n", start,
                 eo.algorithm == DTF_EM_ALS ? "least-squares" : eo.lik->name, alg, batches, eo.max_epochs,
                 (unsigned long long)eo.seed);
    cli_progress(c, "train entries %lld, test entries %lld%s\n", (long long)job.n_train,
                 (long long)job.n_test,
                 o.given[OPT_HOLDOUT] ? " (--holdout)"
                 : o.test             ? " (--test)"
                                      : "");
    st = dtf_em_init(g, train, test, dtf_em_model(job.model), &eo, &job.em);
  }
  if (st)
    rc = cli_fail(c, st);
  else {
    dtf_solver_t solver = dtf_em_solver(job.em);
    cli_run_t run = {o.output, o.checkpoint, (int)o.every, o.resume, 0,      0,
                     input,    &in,          summary,      &job,     options};
    rc = cli_run(c, g, train, &solver, &run);
  }
  dtf_em_free(job.em);
  cli_loaded_free(&in);
  cli_loaded_free(&tin);
  dtf_tensor_free(all);
  dtf_tensor_free(train);
  dtf_tensor_free(test);
  dtf_grid_free(g);
  return rc;
}
