/* What the dtf subcommands share: the option table, messages, loading, output checks,
 * the solver run loop and the JSON summary. A subcommand is one file over these. */
#ifndef DTF_CLI_H
#define DTF_CLI_H

#include <stdint.h>

#include "dtf/dtf.h"

typedef struct {
  const char *cmd; /* "cp", "generate", ... */
  int rank, size;  /* in MPI_COMM_WORLD */
  int quiet;
  const char *json; /* --json FILE or NULL */
  double t_start;
  double net_bw, net_lat; /* --net-model: bytes per second (0: off), seconds per message */
} cli_t;

/* Subcommands (src/cli/<name>.c): each returns the process exit code. */
int cli_generate(cli_t *c, int argc, char **argv);
int cli_cp(cli_t *c, int argc, char **argv);
int cli_tr(cli_t *c, int argc, char **argv);
int cli_gcp(cli_t *c, int argc, char **argv);
int cli_tucker(cli_t *c, int argc, char **argv);
int cli_reconstruct(cli_t *c, int argc, char **argv);
int cli_info(cli_t *c, int argc, char **argv);
int cli_eval(cli_t *c, int argc, char **argv);
int cli_convert(cli_t *c, int argc, char **argv);
int cli_complete(cli_t *c, int argc, char **argv);
int cli_predict(cli_t *c, int argc, char **argv);

/* ---- options (options.c): one table of every flag, each command accepts a subset ---- */

typedef enum {
  OPT_RANK,
  OPT_ITERS,
  OPT_TOL,
  OPT_SEED,
  OPT_GRID,
  OPT_OUTPUT,
  OPT_DIMS,
  OPT_NOISE,
  OPT_NNZ,
  OPT_TRUTH,
  OPT_DUPLICATES,
  OPT_SUM_DUPLICATES,
  OPT_PERMUTE,
  OPT_CHECKPOINT,
  OPT_CHECKPOINT_EVERY,
  OPT_RESUME,
  OPT_MAX_MEM,
  OPT_FORCE,
  OPT_MASK,
  OPT_HOLDOUT,
  OPT_VALIDATION,
  OPT_TEST,
  OPT_MODEL,
  OPT_LIKELIHOOD,
  OPT_ALGORITHM,
  OPT_REG,
  OPT_BATCHES,
  OPT_KAPPA,
  OPT_PRUNE,
  OPT_MERGE,
  OPT_MISSING,
  OPT_AT,
  OPT_RANKS,
  OPT_SAMPLED,
  OPT_FIT_EVERY,
  OPT_INIT,
  OPT_NET_MODEL,
  OPT_LOSS,
  OPT_OPTIMIZER,
  OPT_LR,
  OPT_COMPRESS,
  OPT_SAMPLE,
  OPT_STEPS,
  OPT_SLAB,
  OPT_METHOD,
  OPT_EIG,
  OPT_BUDGET,
  OPT_OVERSAMPLE,
  OPT_POWER,
  OPT_ORDER,
  OPT_BIAS,
  OPT_CONSTRAINT,
  OPT_UPDATE,
  OPT_JSON,
  OPT_QUIET,
  OPT_HELP,
  OPT_COUNT
} cli_opt_id;

/* Every option's value after parsing (defaults as set by the command before parsing). */
typedef struct {
  int given[OPT_COUNT]; /* the option appeared */
  int64_t rank, iters, nnz, every;
  double tol, noise, max_mem;
  uint64_t seed;
  const char *grid, *output, *truth, *checkpoint;
  int64_t dims[DTF_MAX_MODES];
  int nmodes;
  dtf_dup_rule_t duplicates;
  int permute, resume, force;
  const char *mask, *test, *model, *likelihood, *algorithm, *at;
  double holdout, reg, kappa, prune, merge, missing;
  /* set before parsing by a command that chooses by validation (complete): --rank then also
   * takes auto, a list or a range (kept whole in rank_spec), --reg also auto (reg_auto) */
  int auto_ok, reg_auto;
  const char *rank_spec;
  double validation;
  int64_t batches;
  const char *ranks, *init; /* --ranks AxBxC (parsed against the tensor's modes), --init */
  int64_t init_sweeps;      /* --init als:K */
  int64_t sampled, fit_every;
  const char *loss, *optimizer; /* gcp */
  dtf_compress_spec_t compress;
  double lr;
  int64_t sample, steps;
  const char *slab;       /* reconstruct: start:count,... */
  const char *method;     /* tucker: sthosvd or hooi */
  const char *eig;        /* tucker: lapack or scalapack */
  double budget;          /* tucker: numbers in the core and factors */
  int64_t oversample;     /* tucker --eig randomized: sketch columns beyond the rank */
  int64_t power;          /* tucker --eig randomized: power iterations */
  const char *order;      /* tucker: auto or 1-based modes, "2,1,3" */
  int bias;               /* complete: offsets on (1) or off (0) */
  const char *constraint; /* cp: per-mode constraints, parsed against the tensor's modes */
  dtf_update_t update;    /* cp: the row update */
  int npos;               /* positional arguments */
  char **pos;
} cli_opts_t;

/* An option a command accepts, with its own help text (NULL: the table's). */
typedef struct {
  cli_opt_id id;
  const char *help;
} cli_accept_t;

/* Parse argv with the options `accepted` (plus --json, --quiet and --help) into o. intro:
 * the command's usage line and description for --help. Returns -1 to go on, or the exit
 * code: 0 after --help, 1 after a usage error (printed). */
int cli_parse(cli_t *c, int argc, char **argv, const cli_accept_t *accepted, int naccepted, const char *intro,
              cli_opts_t *o);

/* A solver command's one INPUT and its --rank: -1 if present, else the usage error's code. */
int cli_input_and_rank(cli_t *c, const cli_opts_t *o);

/* ---- numbers (numbers.c): each token read whole, range and overflow checked ---- */

/* A decimal integer in [lo, hi] (an optional sign, then digits only); 0 on success. */
int cli_int(const char *s, int64_t lo, int64_t hi, int64_t *out);
/* A finite real, exactly strtod's reading of the whole token; one too small for a double
 * rounds to 0 or a subnormal, one too large is refused. 0 on success. */
int cli_double(const char *s, double *out);
/* --net-model BW[:LAT]: "10Gb:2us" -> bytes per second (> 0: b bits, B bytes, after an
 * optional k, M, G or T) and seconds per message (ns, us, ms or s; 0 if not given); 0 on
 * success. */
int cli_net_model(const char *s, double *bytes_per_s, double *latency_s);
/* "8G", "512M", "1.5T", "2000000000" -> bytes (> 0, finite); 0 on success. */
int cli_bytes_option(const char *s, double *bytes);
/* "300x200x100" -> dims (each >= 1); returns the number of modes, or -1. */
int cli_dims(const char *s, int64_t *dims);
/* --slab "S:C,S:C,..." for the N modes of dims into start and count, each block inside
 * its mode (START + COUNT <= dims, checked without overflow); DTF_ERR_USAGE naming the
 * mode and the block. */
dtf_status cli_slab(const char *text, int N, const int64_t *dims, int64_t *start, int64_t *count);

/* The memory a rank may use by default: the node's memory / the ranks on it. */
double cli_default_max_mem(void);

/* ---- messages and summaries (report.c) ---- */

/* Print (rank 0) "dtf CMD: error: <last message>" and return st as the exit code. An MPI
 * failure cannot be agreed on: the failing rank prints and aborts the job with code 5. */
int cli_fail(const cli_t *c, dtf_status st);
/* Print a usage error with a pointer to --help; returns DTF_ERR_USAGE. */
int cli_usage(const cli_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Rank 0 prints to stderr unless --quiet. */
void cli_progress(const cli_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Rank 0 prints the result to stdout. */
void cli_result(const cli_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A dtf_log_fn (ctx: the cli_t): rank 0 prints "dtf CMD: MESSAGE" to stderr, even with -q. */
void cli_log(const char *msg, void *ctx);

/* Start a JSON summary with the keys every command shares (NULL without --json). */
dtf_json_t *cli_json_begin(const cli_t *c, const dtf_grid_t *g);
/* Add time_total_s and peak_rss_bytes_max (collective), then write it. */
dtf_status cli_json_end(const cli_t *c, dtf_json_t *j);

/* ---- inputs and outputs (outputs.c) ---- */

/* The outputs of a command and the inputs they must not overwrite, checked before any
 * work by dtf_outputs_check; warnings go through cli_log. */
typedef struct {
  dtf_output_spec_t out[DTF_MAX_OUTPUTS];
  int nout;
  dtf_input_files_t in[4];
  int nin;
} cli_files_t;

/* Add an input (a tensor spec or a file name; default path "/X"). */
dtf_status cli_files_input(cli_files_t *f, const char *spec);
/* Add an output (name NULL: nothing to add). */
void cli_files_output(cli_files_t *f, const char *name, const char *path, dtf_output_kind_t kind,
                      const char *role, double bytes);
/* Add --checkpoint (name NULL: nothing to add); with --resume it is read first. */
void cli_files_checkpoint(cli_files_t *f, const char *name, int resume);
/* Check them all, --json among them; the exit code after printing the error, or 0. */
int cli_files_check(const cli_t *c, cli_files_t *f, int force);

/* ---- loading (load.c) ---- */

/* How a command wants its tensor loaded. */
typedef struct {
  const char *grid;          /* "AxBxC" or NULL for automatic */
  int finite;                /* dense: refuse NaN/Inf (sparse input is always checked) */
  dtf_dup_rule_t duplicates; /* sparse: what to do with equal coordinates */
  int permute;               /* sparse: relabel every mode's indices at random (seeded) */
  uint64_t seed;
  int observed;           /* 1: an observed-entry tensor (unlisted sparse entries and NaN are missing);
                           * 2: a dense input is one if a cell is NaN or a mask is given */
  const char *mask;       /* observed, dense: the mask dataset (NULL: NaN marks missing) */
  const dtf_grid_t *onto; /* read onto this grid (the shapes must agree), not a new one */
  double max_mem;         /* with permute: refuse labels above this many bytes a rank (0: no limit) */
  /* observed, sparse: once this rank's `entries` are on it, before they are grouped (a mode
   * of 2e9 indices costs 16 GB of offsets): the run's memory check (NULL: the tensor's own
   * estimate against the node's share). Collective. */
  dtf_status (*check_memory)(const dtf_grid_t *g, int64_t entries, void *ctx);
  void *check_ctx;
} cli_load_t;

/* What was loaded. */
typedef struct {
  dtf_spec_t spec;
  int elem_bytes;                 /* 4 or 8 for dense, 0 for sparse */
  int64_t entries;                /* sparse: distinct stored entries over all ranks */
  int64_t duplicates;             /* sparse: entries merged into others by the rule */
  int64_t observed;               /* dense observed-entry input: the observed cells */
  int64_t *labels[DTF_MAX_MODES]; /* with permute: original index of each row (free()) */
} cli_loaded_t;

/* Read INPUT onto a grid: an HDF5 dataset is a dense tensor, an HDF5 group a sparse COO
 * tensor, a .tns file FROSTT text; sparse entries are sent to the ranks that own them.
 * With opt->onto, *grid is that grid (not to be freed by the caller). */
dtf_status cli_load_tensor(const cli_t *c, const char *input, const cli_load_t *opt, cli_loaded_t *info,
                           dtf_grid_t **grid, dtf_tensor_t **tensor);
void cli_loaded_free(cli_loaded_t *info);
/* What cp and tr share before their solver: the input and the outputs (--output,
 * --checkpoint, --json) checked, the tensor loaded (finite dense, or sparse by the
 * --duplicates rule and --permute). Returns -1 to go on, else the exit code. */
int cli_solver_input(cli_t *c, const cli_opts_t *o, cli_loaded_t *in, dtf_grid_t **g, dtf_tensor_t **t);
/* Add the keys describing the loaded input to a summary. */
void cli_json_input(dtf_json_t *j, const char *input, const dtf_tensor_t *t, const cli_loaded_t *in,
                    int permute);

/* A model file read onto a grid (model.c): its header, kind and model. */
typedef struct {
  dtf_state_t *header;
  const dtf_model_ops_t *kind;
  void *model;
  const dtf_likelihood_t *lik; /* the file's "likelihood" attribute (default gaussian) */
  dtf_model_bias_t bias;       /* its offsets, if it has them */
} cli_model_t;

/* Read MODEL onto g (whose shape it must have; `input` names the tensor in messages),
 * refusing a kind this dtf cannot read or a model holding NaN or Inf. Collective. */
dtf_status cli_model_read(const char *file, const dtf_grid_t *g, const char *input, cli_model_t *m);
/* Peek at MODEL's header only (m->kind and m->lik set, no model). Collective. */
dtf_status cli_model_peek(const char *file, cli_model_t *m);
void cli_model_free(cli_model_t *m);
/* x (the linear predictor, offsets included) at count block-local indices inds. */
void cli_model_predict(const cli_model_t *m, int64_t count, const int64_t *inds, double *x);
/* Fit 1 - ||X - M|| / ||X|| on t (a model with offsets: from its predictions). Collective. */
dtf_status cli_model_fit(const cli_model_t *m, const dtf_grid_t *g, dtf_tensor_t *t, double *fit);

/* ---- signals (signals.c) ---- */

/* From the start of every command: SIGUSR1, SIGTERM or SIGINT ends the process at once,
 * rank 0 printing "dtf CMD: stopped by signal N<phase>; exit 75", the temporaries of
 * unfinished outputs removed, exit 75. */
void cli_signals_install(const cli_t *c);
/* What a signal would stop now, for that message (": ..." or " at ...: ..."; NULL: the
 * default, nothing written or checkpointed). */
void cli_signals_phase(const char *what);
/* A run loop with --checkpoint: from now on a signal is only recorded, to be acted on at
 * the next iteration boundary (cli_signal_pending), and SIGPIPE is ignored. */
void cli_signals_defer(void);
/* The last signal recorded since cli_signals_defer (0: none). */
int cli_signal_pending(void);

/* ---- the solver run loop (run.c) ---- */

typedef struct {
  const char *output;     /* model file (NULL: none) */
  const char *checkpoint; /* NULL: no checkpoints, signals keep their default */
  int every;              /* also checkpoint after every K-th iteration (0: never) */
  int resume;             /* continue from the checkpoint if it exists */
  int permute;            /* the input was relabelled with permute_seed (part of its identity) */
  uint64_t permute_seed;
  const char *input; /* the INPUT as given, for the summary */
  const cli_loaded_t *loaded;
  /* the command's own summary keys (may be NULL) */
  void (*json)(dtf_json_t *j, void *ctx);
  void *ctx;
  /* the command's own options a resume must match, added to a checkpoint (may be NULL) */
  void (*describe)(dtf_state_t *st, void *ctx);
} cli_run_t;

/* The last progress record's values (the result line and summary report them). */
typedef struct {
  char metric[DTF_STATE_NAME];
  double value;
  int nextra;
  char extra_name[DTF_PROGRESS_EXTRA][DTF_STATE_NAME];
  double extra[DTF_PROGRESS_EXTRA];
} cli_last_t;

/* ---- resume (resume.c) ---- */

/* Keep p's values (names copied). */
void cli_last_keep(cli_last_t *l, const dtf_progress_t *p);
/* The solver's model (checkpoint 0) or state (1) with the input it belongs to; a
 * checkpoint also gets the command's options (o->describe) and last (may be NULL). */
dtf_status cli_describe(const dtf_solver_t *s, int checkpoint, const dtf_fingerprint_t *fp,
                        const cli_run_t *o, const cli_last_t *last, dtf_state_t *st);
/* --resume: continue from o->checkpoint if it exists (*start: its iteration; *last: the
 * record it was written after), refusing one of another run (exit 2, naming what
 * differs) or with values a run cannot continue from. Collective. */
dtf_status cli_resume(cli_t *c, const dtf_grid_t *g, const dtf_solver_t *s, const dtf_fingerprint_t *fp,
                      const cli_run_t *o, int *start, cli_last_t *last);

/* Run the solver to its end: resume from the checkpoint, one progress line per iteration,
 * checkpoints every K iterations and on SIGUSR1/SIGTERM/SIGINT (then stop, exit 75), the
 * model file, the result line and the JSON summary. Returns the exit code. */
int cli_run(cli_t *c, const dtf_grid_t *g, dtf_tensor_t *t, const dtf_solver_t *solver, const cli_run_t *o);

#endif
