/* The one table of dtf's flags: names, values, checks and help lines, shared by every
 * command (each accepts a subset), parsed with getopt_long. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

typedef struct {
  const char *name;
  int letter; /* short form, or 0 */
  int arg;    /* takes a value */
  const char *usage, *help;
} def_t;

static const def_t defs[OPT_COUNT] = {
    [OPT_RANK] = {"rank", 'r', 1, "-r, --rank R", "number of components (1 to 1000000)"},
    [OPT_ITERS] = {"iters", 'i', 1, "-i, --iters N", "at most N iterations (default 50)"},
    [OPT_TOL] = {"tol", 0, 1, "--tol T", "stop when the fit changes by less than T (default 1e-4)"},
    [OPT_SEED] = {"seed", 0, 1, "--seed S", "random seed (default 0); the same for any number of ranks"},
    [OPT_GRID] = {"grid", 0, 1, "--grid AxBxC", "process grid (default: chosen to minimise communication)"},
    [OPT_OUTPUT] = {"output", 'o', 1, "-o, --output FILE", "write the model to FILE (HDF5, docs/formats.md)"},
    [OPT_DIMS] = {"dims", 0, 1, "--dims AxBxC", "tensor shape, 2 to 8 modes"},
    [OPT_NOISE] = {"noise", 0, 1, "--noise E", "Gaussian noise of standard deviation E x RMS (default 0)"},
    [OPT_NNZ] = {"nnz", 0, 1, "--nnz N", "a sparse tensor of exactly N distinct entries"},
    [OPT_TRUTH] = {"truth", 0, 1, "--truth FILE", "also write the planted model as a CP model file"},
    [OPT_DUPLICATES] = {"duplicates", 0, 1, "--duplicates RULE",
                        "sparse input, entries with equal coordinates: error (default: refuse them, "
                        "naming both), sum, max, first or last (in input order)"},
    [OPT_SUM_DUPLICATES] = {"sum-duplicates", 0, 0, "--sum-duplicates", "the same as --duplicates sum"},
    [OPT_PERMUTE] = {"permute", 0, 0, "--permute",
                     "sparse input: relabel every mode's indices at random (seeded by --seed) to "
                     "balance the entries; the model is written in the original labels"},
    [OPT_CHECKPOINT] = {"checkpoint", 0, 1, "--checkpoint FILE",
                        "write the solver state to FILE on SIGUSR1, SIGTERM or SIGINT (then exit 75) "
                        "and with --checkpoint-every"},
    [OPT_CHECKPOINT_EVERY] = {"checkpoint-every", 0, 1, "--checkpoint-every K",
                              "also checkpoint after every K-th iteration"},
    [OPT_RESUME] = {"resume", 0, 0, "--resume",
                    "continue from --checkpoint FILE if it exists (refused if it belongs to another "
                    "input, rank, seed or solver); with the same ranks, bit for bit the uninterrupted run"},
    [OPT_MAX_MEM] = {"max-mem", 0, 1, "--max-mem SIZE",
                     "refuse to start when the estimated memory per rank is above SIZE (e.g. 8G; "
                     "default: the node's memory / ranks on it)"},
    [OPT_FORCE] = {"force", 0, 0, "--force",
                   "replace an existing output file that dtf did not write, or that holds other data"},
    [OPT_MASK] = {"mask", 0, 1, "--mask FILE.h5:/M",
                  "dense input: a uint8 dataset of the same shape, 1 = observed, 0 = missing (default: "
                  "NaN marks a missing entry)"},
    [OPT_HOLDOUT] = {"holdout", 0, 1, "--holdout F",
                     "hold out the fraction F (0 < F < 1) of the observed entries as test entries, chosen by "
                     "each entry's index and --seed (the same for any number of ranks)"},
    [OPT_VALIDATION] =
        {"validation", 0, 1, "--validation F",
         "with --rank or --reg auto: the fraction F (0 < F < 1) of the training entries the "
         "candidates are scored on, chosen by each entry's index and --seed, apart from --holdout "
         "(default 0.1)"},
    [OPT_TEST] = {"test", 0, 1, "--test INPUT",
                  "test entries: another partly observed tensor of the same shape"},
    [OPT_MODEL] = {"model", 0, 1, "--model cp|tr", "the model: CP (default) or tensor ring (with --ranks)"},
    [OPT_LIKELIHOOD] = {"likelihood", 0, 1, "--likelihood L",
                        "gaussian (default), bernoulli (0/1 data, logit link) or poisson (counts, log link)"},
    [OPT_ALGORITHM] = {"algorithm", 0, 1, "--algorithm A",
                       "online (default: mini-batch EM), batch (full-data EM) or als (least squares on the "
                       "observed entries with the ridge --reg, no prior)"},
    [OPT_REG] = {"reg", 0, 1, "--reg L", "als: ridge added to each row's normal equations (default 0.01)"},
    [OPT_BATCHES] = {"batches", 0, 1, "--batches B", "online: mini-batches per epoch (default 10)"},
    [OPT_KAPPA] = {"kappa", 0, 1, "--kappa K",
                   "online: step size (k + 1)^-K of a row's k-th update, 0.5 < K <= 1 (default 0.7)"},
    [OPT_PRUNE] = {"prune", 0, 1, "--prune T",
                   "drop components whose weight falls below T times the largest (default 0.01; 0: never)"},
    [OPT_MERGE] = {"merge", 0, 1, "--merge C",
                   "fuse a component with one or two stronger ones into one or two fewer when these "
                   "explain the fraction C of its squared weight (default 0.995; 0: never)"},
    [OPT_MISSING] = {"missing", 0, 1, "--missing F", "leave the fraction F of the cells missing (NaN)"},
    [OPT_AT] = {"at", 0, 1, "--at COORDS",
                "the coordinates: a sparse tensor (COO group file.h5:/G or X.tns) whose values are ignored"},
    [OPT_RANKS] = {"ranks", 0, 1, "--ranks AxBxC",
                   "the bond ranks R_1 x ... x R_N of a tensor ring, one per mode"},
    [OPT_SAMPLED] = {"sampled", 0, 1, "--sampled J",
                     "sampled TR-ALS: solve each core on J index tuples drawn by leverage scores"},
    [OPT_FIT_EVERY] = {"fit-every", 0, 1, "--fit-every K",
                       "sampled: compute the exact fit every K iterations and at the last (default 10)"},
    [OPT_NET_MODEL] = {"net-model", 0, 1, "--net-model BW[:LAT]",
                       "wait after each collective the time it would take on a network of bandwidth BW "
                       "per rank (10Gb: bits, 1.25GB: bytes, per second) and latency LAT per message "
                       "(2us; default 0): time to a result as on a cluster (docs/algorithms.md, "
                       "\"Network model\"); off by default"},
    [OPT_CONSTRAINT] = {"constraint", 0, 1, "--constraint C[,MODE:C...]",
                        "hold the factors to C: none (default) or nonneg, for every mode, then "
                        "MODE:C (1-based) for single modes: nonneg, nonneg,3:none, 2:nonneg"},
    [OPT_UPDATE] = {"update", 0, 1, "--update U",
                    "how a mode's rows are updated: als (solve the normal equations), hals (one "
                    "pass of coordinate descent, Cichocki and Phan) or bpp (nonnegative least "
                    "squares solved exactly by block principal pivoting, Kim and Park; als on an "
                    "unconstrained mode); default: hals for a nonnegative mode, als for the others"},
    [OPT_INIT] = {"init", 0, 1, "--init I", "the start: random, svd or als:K (each command lists its own)"},
    [OPT_LOSS] = {"loss", 0, 1, "--loss L",
                  "gaussian (default), poisson (counts, log link), poisson-identity (counts, identity link, "
                  "nonnegative factors) or bernoulli (0/1, logit link)"},
    [OPT_OPTIMIZER] = {"optimizer", 0, 1, "--optimizer O", "adam (default), adan or sgd (with momentum 0.9)"},
    [OPT_LR] = {"lr", 0, 1, "--lr A",
                "fixed start step size, divided by 10 after an epoch whose loss rose (default: none, the "
                "step size finds itself)"},
    [OPT_COMPRESS] =
        {"compress", 0, 1, "--compress C",
         "gradient exchanges: none (default), core:M, powersgd:R, topk:FRAC or qsgd:BITS; a bare "
         "core, powersgd, topk or qsgd adapts its budget to the gradient's noise; auto picks the kind "
         "by a probe"},
    [OPT_SAMPLE] = {"sample", 0, 1, "--sample N",
                    "entries each step reads (default 0: every entry of a dense or partly observed tensor; a "
                    "sparse tensor needs N: half from its stored entries, half from the others)"},
    [OPT_STEPS] = {"steps", 0, 1, "--steps K", "steps an epoch (default 100; 10 with every entry)"},
    [OPT_SLAB] = {"slab", 0, 1, "--slab S:C,...",
                  "only the block of C_n indices from S_n (0-based) in every mode n, e.g. 0:10,5:20,0:64"},
    [OPT_METHOD] = {"method", 0, 1, "--method M",
                    "sthosvd (default: one pass over the modes) or hooi (ST-HOSVD, then HOOI sweeps)"},
    [OPT_EIG] =
        {"eig", 0, 1, "--eig E",
         "each mode's factor: lapack (the Gram's eigenvectors on rank 0), scalapack (on every rank) or "
         "randomized (a range finder of the unfolding, no Gram); default: ScaLAPACK when the Gram would "
         "take more than a quarter of --max-mem, else LAPACK"},
    [OPT_ORDER] =
        {"order", 0, 1, "--order O",
         "the order in which ST-HOSVD truncates the modes: 1-based modes such as 3,1,2, or auto "
         "(the largest I_n / R_n first; the largest I_n with --tol or --budget); default 1,2,...,N"},
    [OPT_OVERSAMPLE] = {"oversample", 0, 1, "--oversample P",
                        "randomized: sketch columns beyond the rank (default 10)"},
    [OPT_POWER] = {"power", 0, 1, "--power Q",
                   "randomized: Q power iterations (each a product with Y Y^T; for flat spectra such as "
                   "noise; default 0)"},
    [OPT_BUDGET] =
        {"budget", 0, 1, "--budget P",
         "the core shape of least HOSVD error bound whose core and factors hold at most P numbers"},
    [OPT_BIAS] = {"bias", 0, 1, "--bias on|off",
                  "offsets: a global one and one per index of every mode, learned with their own prior "
                  "(default: on for the EM algorithms, off for --algorithm als)"},
    [OPT_JSON] = {"json", 0, 1, "--json FILE", "write a machine-readable summary"},
    [OPT_QUIET] = {"quiet", 'q', 0, "-q, --quiet", "no progress lines"},
    [OPT_HELP] = {"help", 'h', 0, "-h, --help", "this text"},
};

/* "  --usage    help words...", the help wrapped at 88 columns under itself */
static void help_line(const def_t *d, const char *help) {
  const char *h = help ? help : d->help;
  enum { COL = 25, WIDTH = 88 };
  if (strlen(d->usage) < COL - 3)
    printf("  %-*s", COL - 2, d->usage);
  else
    printf("  %s\n%*s", d->usage, COL, "");
  int used = COL;
  while (*h) {
    size_t w = strcspn(h, " ");
    if (used > COL && used + 1 + (int)w > WIDTH) {
      printf("\n%*s", COL, "");
      used = COL;
    } else if (used > COL) {
      putchar(' ');
      used++;
    }
    printf("%.*s", (int)w, h);
    used += (int)w;
    h += w;
    while (*h == ' ') h++;
  }
  putchar('\n');
}

static void print_help(const char *intro, const cli_accept_t *acc, int n) {
  fputs(intro, stdout);
  printf("\noptions:\n");
  for (int k = 0; k < n; k++) help_line(&defs[acc[k].id], acc[k].help);
  help_line(&defs[OPT_JSON], NULL);
  help_line(&defs[OPT_QUIET], NULL);
  help_line(&defs[OPT_HELP], NULL);
  printf("\nExit codes: 0 ok, 1 usage, 2 bad input, 3 numerical failure, 4 output failure,\n"
         "5 MPI failure, 75 stopped after writing a checkpoint (docs/cli.md).\n");
}

/* The option an unparseable word names, for the message: "--quiet" of "--quiet=1". */
static const def_t *named(const char *word) {
  if (strncmp(word, "--", 2)) return NULL;
  size_t len = strcspn(word + 2, "=");
  for (int k = 0; k < OPT_COUNT; k++)
    if (strlen(defs[k].name) == len && !strncmp(defs[k].name, word + 2, len)) return &defs[k];
  return NULL;
}

/* The integer options and their ranges (the messages state them). */
static const struct {
  int64_t lo, hi;
} int_range[OPT_COUNT] = {
    [OPT_RANK] = {1, 1000000},
    [OPT_ITERS] = {1, 100000000},
    [OPT_SEED] = {0, INT64_MAX},
    [OPT_NNZ] = {1, INT64_MAX},
    [OPT_CHECKPOINT_EVERY] = {1, 100000000},
    [OPT_BATCHES] = {1, 1000000},
    [OPT_SAMPLED] = {1, 100000000},
    [OPT_FIT_EVERY] = {1, 100000000},
    [OPT_SAMPLE] = {1, INT64_MAX},
    [OPT_STEPS] = {1, 100000000},
    [OPT_OVERSAMPLE] = {0, 100000},
    [OPT_POWER] = {0, 100},
};

static int value(cli_t *c, cli_opt_id id, const char *arg, cli_opts_t *o) {
  int64_t v = 0;
  if (id == OPT_RANK && o->auto_ok && cli_int(arg, int_range[id].lo, int_range[id].hi, &v)) {
    o->rank_spec = arg; /* auto, a list or a range: the command parses it */
    o->given[id] = 1;
    return 0;
  }
  if (id == OPT_REG && o->auto_ok && !strcmp(arg, "auto")) {
    o->reg_auto = 1;
    o->given[id] = 1;
    return 0;
  }
  if (int_range[id].hi && cli_int(arg, int_range[id].lo, int_range[id].hi, &v))
    return cli_usage(c, "--%s must be an integer from %lld to %lld, not '%s'", defs[id].name,
                     (long long)int_range[id].lo, (long long)int_range[id].hi, arg);
  switch (id) {
  case OPT_RANK:
    o->rank = v;
    o->rank_spec = NULL; /* the last --rank counts */
    break;
  case OPT_ITERS: o->iters = v; break;
  case OPT_SEED: o->seed = (uint64_t)v; break;
  case OPT_NNZ: o->nnz = v; break;
  case OPT_CHECKPOINT_EVERY: o->every = v; break;
  case OPT_BATCHES: o->batches = v; break;
  case OPT_SAMPLED: o->sampled = v; break;
  case OPT_FIT_EVERY: o->fit_every = v; break;
  case OPT_SAMPLE: o->sample = v; break;
  case OPT_STEPS: o->steps = v; break;
  case OPT_OVERSAMPLE: o->oversample = v; break;
  case OPT_POWER: o->power = v; break;
  case OPT_TOL:
    if (cli_double(arg, &o->tol) || o->tol < 0)
      return cli_usage(c, "--tol must be a finite number >= 0, not '%s'", arg);
    break;
  case OPT_GRID: o->grid = arg; break;
  case OPT_OUTPUT: o->output = arg; break;
  case OPT_DIMS:
    o->nmodes = cli_dims(arg, o->dims);
    if (o->nmodes < 2)
      return cli_usage(c, "--dims must be 2 to %d positive sizes like 300x200x100, not '%s'", DTF_MAX_MODES,
                       arg);
    break;
  case OPT_NOISE:
    if (cli_double(arg, &o->noise) || o->noise < 0)
      return cli_usage(c, "--noise must be a finite number >= 0, not '%s'", arg);
    break;
  case OPT_TRUTH: o->truth = arg; break;
  case OPT_DUPLICATES:
    if (dtf_dup_rule_parse(arg, &o->duplicates))
      return cli_usage(c, "--duplicates must be error, sum, max, first or last, not '%s'", arg);
    break;
  case OPT_SUM_DUPLICATES: o->duplicates = DTF_DUP_SUM; break;
  case OPT_PERMUTE: o->permute = 1; break;
  case OPT_CHECKPOINT: o->checkpoint = arg; break;
  case OPT_RESUME: o->resume = 1; break;
  case OPT_MAX_MEM:
    if (cli_bytes_option(arg, &o->max_mem))
      return cli_usage(c, "--max-mem must be a size like 8G, 512M or 2000000000 (above 0, finite), not '%s'",
                       arg);
    break;
  case OPT_FORCE: o->force = 1; break;
  case OPT_MASK: o->mask = arg; break;
  case OPT_TEST: o->test = arg; break;
  case OPT_AT: o->at = arg; break;
  case OPT_MODEL:
    if (strcmp(arg, "cp") && strcmp(arg, "tr"))
      return cli_usage(c, "--model must be cp or tr, not '%s'", arg);
    o->model = arg;
    break;
  case OPT_LIKELIHOOD:
    if (strcmp(arg, "gaussian") && strcmp(arg, "bernoulli") && strcmp(arg, "poisson"))
      return cli_usage(c, "--likelihood must be gaussian, bernoulli or poisson, not '%s'", arg);
    o->likelihood = arg;
    break;
  case OPT_BIAS:
    if (strcmp(arg, "on") && strcmp(arg, "off"))
      return cli_usage(c, "--bias must be on or off, not '%s'", arg);
    o->bias = !strcmp(arg, "on");
    break;
  case OPT_ALGORITHM:
    if (strcmp(arg, "online") && strcmp(arg, "batch") && strcmp(arg, "als"))
      return cli_usage(c, "--algorithm must be online, batch or als, not '%s'", arg);
    o->algorithm = arg;
    break;
  case OPT_HOLDOUT:
    if (cli_double(arg, &o->holdout) || !(o->holdout > 0 && o->holdout < 1))
      return cli_usage(c, "--holdout must be a fraction between 0 and 1 (exclusive), not '%s'", arg);
    break;
  case OPT_VALIDATION:
    if (cli_double(arg, &o->validation) || !(o->validation > 0 && o->validation < 1))
      return cli_usage(c, "--validation must be a fraction between 0 and 1 (exclusive), not '%s'", arg);
    break;
  case OPT_MISSING:
    if (cli_double(arg, &o->missing) || !(o->missing >= 0 && o->missing < 1))
      return cli_usage(c, "--missing must be a fraction in [0, 1), not '%s'", arg);
    break;
  case OPT_REG:
    if (cli_double(arg, &o->reg) || o->reg < 0)
      return cli_usage(c, "--reg must be a finite number >= 0, not '%s'", arg);
    o->reg_auto = 0;
    break;
  case OPT_KAPPA:
    if (cli_double(arg, &o->kappa) || !(o->kappa > 0.5 && o->kappa <= 1))
      return cli_usage(c, "--kappa must be in (0.5, 1], not '%s'", arg);
    break;
  case OPT_PRUNE:
    if (cli_double(arg, &o->prune) || !(o->prune >= 0 && o->prune < 1))
      return cli_usage(c, "--prune must be in [0, 1), not '%s'", arg);
    break;
  case OPT_MERGE:
    if (cli_double(arg, &o->merge) || !(o->merge >= 0 && o->merge < 1))
      return cli_usage(c, "--merge must be in [0, 1), not '%s'", arg);
    break;
  case OPT_RANKS: o->ranks = arg; break;
  case OPT_SLAB: o->slab = arg; break;
  case OPT_BUDGET:
    if (cli_double(arg, &o->budget) || !(o->budget >= 1 && o->budget <= 1e18))
      return cli_usage(c, "--budget must be a number of parameters from 1 to 1e18, not '%s'", arg);
    break;
  case OPT_ORDER: o->order = arg; break;
  case OPT_EIG:
    if (strcmp(arg, "lapack") && strcmp(arg, "scalapack") && strcmp(arg, "randomized"))
      return cli_usage(c, "--eig must be lapack, scalapack or randomized, not '%s'", arg);
    o->eig = arg;
    break;
  case OPT_METHOD:
    if (strcmp(arg, "sthosvd") && strcmp(arg, "hooi"))
      return cli_usage(c, "--method must be sthosvd or hooi, not '%s'", arg);
    o->method = arg;
    break;
  case OPT_NET_MODEL:
    if (cli_net_model(arg, &c->net_bw, &c->net_lat))
      return cli_usage(c,
                       "--net-model must be a bandwidth with its unit, bits (b) or bytes (B) per second, and "
                       "optionally a latency per message: 10Gb:2us, 1.25GB, 100Mb:50us; not '%s'",
                       arg);
    break;
  case OPT_CONSTRAINT: o->constraint = arg; break; /* parsed once the tensor's modes are known */
  case OPT_UPDATE:
    if (strcmp(arg, "als") && strcmp(arg, "hals") && strcmp(arg, "bpp"))
      return cli_usage(c, "--update must be als, hals or bpp, not '%s'", arg);
    o->update = !strcmp(arg, "als")    ? DTF_UPDATE_ALS
                : !strcmp(arg, "hals") ? DTF_UPDATE_HALS
                                       : DTF_UPDATE_BPP;
    break;
  case OPT_INIT:
    if (!strncmp(arg, "als:", 4)) {
      if (cli_int(arg + 4, 1, 1000, &o->init_sweeps))
        return cli_usage(c, "--init als:K needs K sweeps from 1 to 1000, not '%s'", arg + 4);
    } else if (strcmp(arg, "random") && strcmp(arg, "svd"))
      return cli_usage(c, "--init must be random, svd or als:K, not '%s'", arg);
    o->init = arg;
    break;
  case OPT_LOSS:
    if (!dtf_loss(arg))
      return cli_usage(c, "--loss must be gaussian, poisson, poisson-identity or bernoulli, not '%s'", arg);
    o->loss = arg;
    break;
  case OPT_OPTIMIZER:
    if (!dtf_optim(arg)) return cli_usage(c, "--optimizer must be sgd, adam or adan, not '%s'", arg);
    o->optimizer = arg;
    break;
  case OPT_LR:
    if (cli_double(arg, &o->lr) || !(o->lr > 0))
      return cli_usage(c, "--lr must be a finite number > 0, not '%s'", arg);
    break;
  case OPT_COMPRESS:
    if (dtf_compress_parse(arg, &o->compress)) return cli_usage(c, "%s", dtf_error_message());
    break;
  case OPT_JSON: c->json = arg; break;
  case OPT_QUIET: c->quiet = 1; break;
  case OPT_HELP: break;
  case OPT_COUNT: break;
  }
  o->given[id] = 1;
  return 0;
}

int cli_parse(cli_t *c, int argc, char **argv, const cli_accept_t *acc, int n, const char *intro,
              cli_opts_t *o) {
  struct option longs[OPT_COUNT + 1];
  char shorts[3 * OPT_COUNT + 2] = ":";
  cli_opt_id ids[OPT_COUNT];
  int nl = 0;
  for (int k = 0; k < n + 3; k++) {
    cli_opt_id id = k < n ? acc[k].id : (cli_opt_id)(OPT_JSON + (k - n));
    const def_t *d = &defs[id];
    ids[nl] = id;
    longs[nl++] = (struct option){d->name, d->arg ? required_argument : no_argument, NULL, 1000 + (int)id};
    if (d->letter) {
      size_t l = strlen(shorts);
      shorts[l] = (char)d->letter;
      shorts[l + 1] = d->arg ? ':' : '\0';
      shorts[l + 2] = '\0';
    }
  }
  longs[nl] = (struct option){0, 0, 0, 0};
  opterr = 0;
  optind = 1;
  int opt, rc;
  while ((opt = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
    cli_opt_id id = OPT_COUNT;
    if (opt >= 1000)
      id = (cli_opt_id)(opt - 1000);
    else
      for (int k = 0; k < nl; k++)
        if (defs[ids[k]].letter == opt) id = ids[k];
    if (id == OPT_HELP) {
      if (c->rank == 0) print_help(intro, acc, n);
      return 0;
    }
    if (id != OPT_COUNT && opt != '?' && opt != ':') {
      if ((rc = value(c, id, optarg, o))) return rc;
      continue;
    }
    /* name the word the user typed, not getopt's internal letter */
    const char *word = argv[optind - 1];
    const def_t *d = named(word);
    if (opt == ':') return cli_usage(c, "option '%s' needs a value", word);
    if (d && !d->arg && strchr(word, '=')) return cli_usage(c, "option '--%s' takes no value", d->name);
    if (d) return cli_usage(c, "option '%s' does not apply to dtf %s", word, c->cmd);
    return cli_usage(c, "unknown option '%s'", word);
  }
  o->pos = argv + optind;
  o->npos = argc - optind;
  return -1;
}

int cli_input_and_rank(cli_t *c, const cli_opts_t *o) {
  if (o->npos != 1)
    return cli_usage(c, o->npos ? "expected one INPUT, got '%s' too" : "missing INPUT",
                     o->npos ? o->pos[1] : "");
  if (!o->given[OPT_RANK]) return cli_usage(c, "missing --rank (-r)");
  return -1;
}

double cli_default_max_mem(void) {
  double node = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
  return node / dtf_ranks_on_node(MPI_COMM_WORLD);
}
