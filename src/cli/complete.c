/* dtf complete: probabilistic completion of a partly observed tensor by distributed
 * (online) EM, through the shared run loop. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    "every train and test metric.\n"
    "\n"
    "--algorithm als chooses its rank (--rank auto, a list 2,4,8 or a range 1-12) and its ridge\n"
    "(--reg auto) on a validation split of the training entries (--validation F): one line per\n"
    "candidate fit, then the chosen pair is fitted to every training entry.\n";

static const cli_accept_t accepted[] = {
    {OPT_RANK,
     "start rank (>= 1); components are pruned during the run (--prune); tr: every bond's. als: the "
     "rank, or auto, a list (2,4,8) or a range (1-12) to choose from on --validation"},
    {OPT_MODEL, NULL},
    {OPT_RANKS, "tr: the start rank of each bond"},
    {OPT_LIKELIHOOD, NULL},
    {OPT_ALGORITHM, NULL},
    {OPT_MASK, NULL},
    {OPT_HOLDOUT, NULL},
    {OPT_TEST, NULL},
    {OPT_ITERS, "at most N epochs (default 100)"},
    {OPT_TOL, "stop when the train loss changes by a fraction below T in an epoch (default 1e-4)"},
    {OPT_SEED, "seed of the initial factors, the mini-batches, --holdout and --validation (default 0)"},
    {OPT_BATCHES, NULL},
    {OPT_KAPPA, NULL},
    {OPT_PRUNE, NULL},
    {OPT_MERGE, NULL},
    {OPT_REG,
     "als: ridge added to each row's normal equations (default 0.01), or auto: chosen on --validation "
     "(the data scaled to unit RMS, as ALS sees them)"},
    {OPT_VALIDATION, NULL},
    {OPT_BIAS, NULL},
    {OPT_GRID, NULL},
    {OPT_OUTPUT, "write the model (CP or tensor ring, with its likelihood) to FILE (docs/formats.md)"},
    {OPT_DUPLICATES, NULL},
    {OPT_SUM_DUPLICATES, NULL},
    {OPT_CHECKPOINT, NULL},
    {OPT_CHECKPOINT_EVERY, NULL},
    {OPT_RESUME, NULL},
    {OPT_MAX_MEM, NULL},
    {OPT_NET_MODEL, NULL},
    {OPT_FORCE, NULL},
    {OPT_COMPRESS, "refused unless none: complete exchanges sufficient statistics, not gradients"},
};

/* A checkpoint's validation_curve: rank, reg, validation RMSE, epochs, seconds, converged. */
#define CURVE_COLS 6

typedef struct {
  dtf_em_t *em;
  const dtf_em_options_t *opt;
  const char *model;
  int64_t n_train, n_test;
  double holdout; /* 0: no --holdout */
  char test[96];  /* the --test tensor's entries and checksum ("": none) */
  /* with --rank or --reg auto (select): the search as given, its fits and choice */
  int select;
  double validation;
  char rank_search[96], reg_search[32];
  dtf_selection_t sel;
  double curve[DTF_SELECT_MAX_FITS * CURVE_COLS], entries[2];
} job_t;

/* The split of the observations, which a resume must match too; with a selection, its
 * options and fits (a resume takes the choice from them instead of selecting again). */
static void options(dtf_state_t *st, void *ctx) {
  job_t *b = ctx;
  dtf_state_real(st, "holdout", DTF_ATTR_OPTION, "--holdout", b->holdout);
  dtf_state_style(st, "holdout", DTF_SHOW_UNSET);
  dtf_state_text_option(st, "test", "--test", b->test);
  dtf_state_style(st, "test", DTF_SHOW_UNSET);
  if (!b->select) return;
  dtf_state_real(st, "validation", DTF_ATTR_OPTION, "--validation", b->validation);
  dtf_state_text_option(st, "rank_search", "--rank", b->rank_search);
  dtf_state_text_option(st, "reg_search", "--reg", b->reg_search);
  for (int k = 0; k < b->sel.nfits; k++) {
    const dtf_select_fit_t *f = &b->sel.fits[k];
    double row[CURVE_COLS] = {f->rank, f->reg, f->rmse, f->epochs, f->seconds, f->converged};
    memcpy(b->curve + k * CURVE_COLS, row, sizeof row);
  }
  dtf_state_replicated(st, "validation_curve", b->sel.nfits, CURVE_COLS, b->curve);
  b->entries[0] = (double)b->sel.n_fit;
  b->entries[1] = (double)b->sel.n_valid;
  dtf_state_replicated(st, "validation_entries", 2, 0, b->entries);
  dtf_state_undefined_ok(st, "validation_curve"); /* a fit that failed numerically: Inf */
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
  if (!b->select) return;
  const dtf_selection_t *sel = &b->sel;
  int64_t rank[DTF_SELECT_MAX_FITS], epochs[DTF_SELECT_MAX_FITS];
  double reg[DTF_SELECT_MAX_FITS], rmse[DTF_SELECT_MAX_FITS], sec[DTF_SELECT_MAX_FITS];
  for (int k = 0; k < sel->nfits; k++) {
    rank[k] = sel->fits[k].rank;
    reg[k] = sel->fits[k].reg;
    rmse[k] = sel->fits[k].rmse;
    epochs[k] = sel->fits[k].epochs;
    sec[k] = sel->fits[k].seconds;
  }
  dtf_json_number(j, "validation_fraction", b->validation);
  dtf_json_int(j, "validation_entries", sel->n_valid);
  dtf_json_int(j, "validation_fit_entries", sel->n_fit);
  dtf_json_int_array(j, "validation_rank", rank, sel->nfits);
  dtf_json_number_array(j, "validation_reg", reg, sel->nfits);
  dtf_json_number_array(j, "validation_rmse", rmse, sel->nfits);
  dtf_json_int_array(j, "validation_epochs", epochs, sel->nfits);
  dtf_json_number_array(j, "validation_seconds", sec, sel->nfits);
  dtf_json_int(j, "chosen_rank", sel->rank);
  dtf_json_number(j, "chosen_reg", sel->reg);
  dtf_json_number(j, "chosen_validation_rmse", sel->rmse);
}

/* --rank auto, or a list of ranks and ranges ("2,4,8", "1-12", "1-4,8") into so; 0, or the
 * usage error's exit code. */
static int rank_spec(const cli_t *c, const char *spec, dtf_select_options_t *so) {
  if (!strcmp(spec, "auto")) {
    so->rank_auto = 1;
    return 0;
  }
  char item[64];
  int bad = strlen(spec) >= 1024;
  for (const char *p = spec; !bad;) {
    size_t len = strcspn(p, ",");
    int64_t a, b;
    char *dash = NULL;
    if (len == 0 || len >= sizeof item) {
      bad = 1;
      break;
    }
    memcpy(item, p, len);
    item[len] = '\0';
    if (len > 1 && (dash = strchr(item + 1, '-'))) *dash = '\0';
    if (cli_int(item, 1, 1000000, &a) || (dash && cli_int(dash + 1, 1, 1000000, &b))) {
      bad = 1;
      break;
    }
    if (!dash) b = a;
    if (b < a) return cli_usage(c, "--rank '%s': the range %s-%s runs backwards", spec, item, dash + 1);
    if (b - a >= DTF_SELECT_MAX_RANKS)
      return cli_usage(c, "--rank '%s' gives more than %d ranks to choose from", spec, DTF_SELECT_MAX_RANKS);
    for (int64_t r = a; r <= b; r++) {
      int k = 0;
      while (k < so->nranks && so->ranks[k] < r) k++;
      if (k < so->nranks && so->ranks[k] == r) continue;
      if (so->nranks == DTF_SELECT_MAX_RANKS)
        return cli_usage(c, "--rank '%s' gives more than %d ranks to choose from", spec,
                         DTF_SELECT_MAX_RANKS);
      memmove(so->ranks + k + 1, so->ranks + k, (size_t)(so->nranks - k) * sizeof(int));
      so->ranks[k] = (int)r;
      so->nranks++;
    }
    if (!p[len]) break;
    p += len + 1;
  }
  if (bad)
    return cli_usage(c,
                     "--rank must be an integer from 1 to 1000000, auto, a list such as 2,4,8 or a range "
                     "such as 1-12, not '%s'",
                     spec);
  return 0;
}

/* One line per candidate fit. */
static void report(const dtf_select_fit_t *f, void *ctx) {
  char rmse[32] = "failed (numerical)";
  if (isfinite(f->rmse)) snprintf(rmse, sizeof rmse, "%.5g", f->rmse);
  cli_progress(ctx, "select rank %-3d reg %-9.3g validation_rmse %-10s epochs %d%s  %.3f s\n", f->rank,
               f->reg, rmse, f->epochs, f->converged ? "" : " (limit)", f->seconds);
}

/* --resume from a checkpoint of a run that selected: its choice and fits, so that the
 * selection is not made again (*found 0: no checkpoint, or one that records none, which
 * cli_resume then judges). Collective. */
static dtf_status resumed_choice(const cli_t *c, const dtf_grid_t *g, const char *file, job_t *job,
                                 int *found) {
  *found = 0;
  int exists = c->rank == 0 && access(file, F_OK) == 0;
  dtf_status st = dtf_bcast(MPI_COMM_WORLD, &exists, sizeof exists, 0);
  if (st || !exists) return st;
  dtf_state_t *h = malloc(sizeof *h), *m = malloc(sizeof *m);
  st = h && m ? dtf_h5_state_peek(MPI_COMM_WORLD, file, h) : dtf_error(DTF_ERR_INPUT, "out of memory");
  const dtf_field_t *f = st ? NULL : dtf_state_field(h, "validation_curve"),
                    *n = st ? NULL : dtf_state_field(h, "validation_entries");
  int64_t rank;
  double reg;
  if (f && f->cols == CURVE_COLS && f->rows >= 1 && f->rows <= DTF_SELECT_MAX_FITS && n && n->rows == 2 &&
      !dtf_state_get_int(h, "start_rank", &rank) && !dtf_state_get_real(h, "reg", &reg)) {
    dtf_state_init(m, h->solver, h->model, 1, h->nmodes, h->dims);
    dtf_state_replicated(m, "validation_curve", f->rows, CURVE_COLS, job->curve);
    dtf_state_replicated(m, "validation_entries", 2, 0, job->entries);
    dtf_selection_t *sel = &job->sel;
    sel->nfits = (int)f->rows;
    if (!(st = dtf_h5_state_read(g, file, m))) {
      for (int k = 0; k < sel->nfits; k++) {
        const double *row = job->curve + k * CURVE_COLS;
        sel->fits[k] = (dtf_select_fit_t){(int)row[0], (int)row[3], (int)row[5], row[1], row[2], row[4]};
        if (sel->fits[k].rank == rank && sel->fits[k].reg == reg) sel->rmse = row[2];
      }
      sel->rank = (int)rank;
      sel->reg = reg;
      sel->n_fit = (int64_t)job->entries[0];
      sel->n_valid = (int64_t)job->entries[1];
      *found = 1;
    }
  }
  free(h);
  free(m);
  return st;
}

/* --rank or --reg auto: the rank and ridge of eo chosen on a validation split of train,
 * or taken from the checkpoint a resume continues. Collective. */
static dtf_status choose(cli_t *c, const dtf_grid_t *g, const dtf_tensor_t *train, const cli_opts_t *o,
                         const dtf_select_options_t *so, dtf_em_options_t *eo, job_t *job) {
  int found = 0;
  dtf_status st = o->resume ? resumed_choice(c, g, o->checkpoint, job, &found) : DTF_OK;
  if (st) return st;
  if (found)
    cli_progress(c, "select: rank %d, reg %.4g, as chosen before %s was written (%d fits)\n", job->sel.rank,
                 job->sel.reg, o->checkpoint, job->sel.nfits);
  else {
    char what[160];
    snprintf(what, sizeof what, "%s%s%s", o->rank_spec ? "--rank " : "", o->rank_spec ? o->rank_spec : "",
             o->reg_auto ? (o->rank_spec ? " and --reg auto" : "--reg auto") : "");
    cli_progress(c, "select: %s on the fraction %g of the training entries (--validation), seed %llu\n", what,
                 so->validation, (unsigned long long)eo->seed);
    cli_signals_phase(" while choosing the rank and ridge on the validation split: nothing was written or "
                      "checkpointed yet; run the command again");
    st = dtf_select(g, train, dtf_em_model(job->model), eo, so, &job->sel);
    cli_signals_phase(NULL);
    if (st) return st;
    cli_progress(c,
                 "select: chose rank %d, reg %.4g (validation rmse %.5g on %lld entries, fitted on %lld); "
                 "refitting on every training entry\n",
                 job->sel.rank, job->sel.reg, job->sel.rmse, (long long)job->sel.n_valid,
                 (long long)job->sel.n_fit);
  }
  eo->reg = job->sel.reg;
  if (o->rank_spec) {
    eo->rank = job->sel.rank;
    for (int n = 0; n < DTF_MAX_MODES; n++) eo->bond_ranks[n] = n < g->nmodes ? eo->rank : 0;
  }
  return DTF_OK;
}

typedef struct {
  const dtf_em_options_t *opt;
  const char *model;
  int holdout, select;
} memory_t;

/* Before the observations are grouped: the run's estimate (with --holdout the input and its
 * two parts are held at once, with a selection the training entries and their two parts),
 * against --max-mem. */
static dtf_status check_memory(const dtf_grid_t *g, int64_t entries, void *ctx) {
  const memory_t *m = ctx;
  return dtf_em_check_memory(g, entries, (m->holdout + m->select) * entries, dtf_em_model(m->model), m->opt);
}

int cli_complete(cli_t *c, int argc, char **argv) {
  cli_opts_t o = {.iters = 100,
                  .tol = 1e-4,
                  .batches = 10,
                  .kappa = 0.7,
                  .prune = 1e-2,
                  .merge = 0.995,
                  .reg = 1e-2,
                  .auto_ok = 1,
                  .validation = 0.1};
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
    return cli_usage(c, "--reg%s is the ridge of --algorithm als; EM's prior sets its own",
                     o.reg_auto ? " auto" : "");
  dtf_select_options_t so = {.validation = o.validation, .reg_auto = o.reg_auto, .report = report, .ctx = c};
  int select = o.rank_spec || o.reg_auto;
  if (o.rank_spec && eo.algorithm != DTF_EM_ALS)
    return cli_usage(c,
                     "--rank %s: choosing the rank on a validation split is for --algorithm als; EM's prior "
                     "prunes the components of a start rank (-r R) itself",
                     o.rank_spec);
  if (o.rank_spec && (rc = rank_spec(c, o.rank_spec, &so))) return rc;
  if (o.given[OPT_VALIDATION] && !select)
    return cli_usage(c,
                     "--validation is the split that --rank auto (or a list or range) and --reg auto choose "
                     "on: give one of them");
  if (!o.rank_spec) { /* the rank as given: one candidate */
    so.nranks = 1;
    so.ranks[0] = (int)o.rank;
  }
  eo.lik = dtf_likelihood(o.likelihood ? o.likelihood : "gaussian");
  /* before the choice: the largest rank of a list for the memory estimate */
  eo.rank = so.rank_auto ? 1 : so.ranks[so.nranks - 1];
  eo.max_epochs = (int)o.iters;
  eo.tol = o.tol;
  eo.seed = o.seed;
  eo.batches = (int)o.batches;
  eo.kappa = o.kappa;
  eo.prune = o.prune;
  eo.merge = o.merge;
  eo.reg = o.reg;
  eo.bias = o.given[OPT_BIAS] ? o.bias : eo.algorithm != DTF_EM_ALS;
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
  memory_t mem = {&eo, tr ? "tr" : "cp", o.given[OPT_HOLDOUT], select};
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
  job_t job = {.opt = &eo,
               .model = tr ? "tr" : "cp",
               .holdout = o.given[OPT_HOLDOUT] ? o.holdout : 0,
               .select = select,
               .validation = o.validation};
  snprintf(job.rank_search, sizeof job.rank_search, "%s", o.rank_spec ? o.rank_spec : "");
  if (!o.rank_spec && !o.ranks) snprintf(job.rank_search, sizeof job.rank_search, "%lld", (long long)o.rank);
  if (!o.rank_spec && o.ranks) snprintf(job.rank_search, sizeof job.rank_search, "%s", o.ranks);
  snprintf(job.reg_search, sizeof job.reg_search, o.reg_auto ? "auto" : "%.17g", o.reg);
  dtf_fingerprint_t tfp;
  if (!st && o.test && o.checkpoint && !(st = dtf_tensor_fingerprint(g, test, NULL, &tfp)))
    snprintf(job.test, sizeof job.test, "%lld entries, checksum %016llx", (long long)tfp.entries,
             (unsigned long long)tfp.checksum);
  if (!st && tr) {
    if (o.ranks) st = dtf_tr_parse_ranks(o.ranks, g->nmodes, eo.bond_ranks);
    for (int n = 0; !st && n < g->nmodes; n++) {
      if (!o.ranks) eo.bond_ranks[n] = eo.rank;
      if (eo.bond_ranks[n] > eo.rank) eo.rank = eo.bond_ranks[n];
    }
  }
  if (!st) st = dtf_observed_count(g, train, &job.n_train);
  if (!st && test) st = dtf_observed_count(g, test, &job.n_test);
  if (!st && test && job.n_test == 0)
    st = dtf_error(DTF_ERR_INPUT, "there are no test entries (%s)",
                   o.test ? "the --test tensor has no observed entry" : "--holdout is too small");
  if (!st && select) st = choose(c, g, train, &o, &so, &eo, &job);
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
    cli_progress(c, "complete: %s (%s), %s likelihood, %s%s, at most %d epochs, seed %llu\n", start,
                 select ? "chosen" : "start", eo.algorithm == DTF_EM_ALS ? "least-squares" : eo.lik->name,
                 alg, batches, eo.max_epochs, (unsigned long long)eo.seed);
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
    dtf_em_summary_t sum;
    dtf_em_summary(job.em, &sum);
    /* ALS can sit on a plateau (a swamp) for many epochs: a refit far worse on the training
     * entries than the chosen fit was on unseen ones stopped early */
    if (!rc && select && sum.epochs > 0 && sum.train[0] > 1.25 * job.sel.rmse) {
      char msg[320];
      snprintf(msg, sizeof msg,
               "warning: the refit's train rmse %.5g is far above the chosen fit's validation rmse %.5g: ALS "
               "stopped on a plateau; more epochs (-i) may leave it",
               sum.train[0], job.sel.rmse);
      cli_log(msg, c);
    }
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
