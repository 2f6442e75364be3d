/* dtf gcp: generalized CP by distributed first-order optimization with compressed
 * gradient exchanges, through the shared run loop. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *intro =
    "usage: mpirun -np N dtf gcp INPUT -r R [--loss L] [--optimizer O] [--init I] [--compress C] [options]\n"
    "\n"
    "Generalized CP decomposition (GCP): a rank-R CP model fitted to the mean of a loss over\n"
    "the tensor's entries by SGD with momentum, Adam or Adan, every gradient summed over the\n"
    "ranks of its mode's slice by a compressed collective. INPUT: a dense dataset (NaN cells,\n"
    "or --mask, make it partly observed: the loss then runs over the observed entries), a\n"
    "sparse COO group or X.tns (its unlisted entries are zeros: --sample is needed). One\n"
    "epoch is --steps steps; after each the loss is estimated on a fixed sample, and an epoch\n"
    "whose loss rose is undone. The step size finds itself (it grows while the loss falls and\n"
    "is halved when it rises); --lr A fixes its start, divided by 10 after a rise.\n"
    "\n"
    "Progress (rank 0, stderr), one line per epoch: loss L  delta D  T s  comm B (of B'), the\n"
    "fit (gaussian loss, complete tensors), the step size, the compressed gradient's cosine\n"
    "with the exact one (checked every 5 epochs) and the compressor's budget.\n";

static const cli_accept_t accepted[] = {
    {OPT_RANK, "number of components (required, >= 1)"},
    {OPT_LOSS, NULL},
    {OPT_OPTIMIZER, NULL},
    {OPT_LR, NULL},
    {OPT_COMPRESS, NULL},
    {OPT_INIT, "the start: random (normal draws keyed by --seed), svd (each mode's leading singular "
               "vectors, by ST-HOSVD) or als:K (K sweeps of CP-ALS from the random start); svd and als: "
               "gaussian or poisson-identity loss, dense or sparse tensor. Default: svd for a dense "
               "tensor where it applies, random otherwise"},
    {OPT_SAMPLE, NULL},
    {OPT_STEPS, NULL},
    {OPT_ITERS, "at most N epochs (default 50)"},
    {OPT_TOL, "stop when the loss changes by a fraction below T in an epoch (default 1e-4)"},
    {OPT_SEED, "seed of the initial factors, the samples and the compressors' draws (default 0)"},
    {OPT_MASK, NULL},
    {OPT_GRID, NULL},
    {OPT_OUTPUT, NULL},
    {OPT_DUPLICATES, NULL},
    {OPT_SUM_DUPLICATES, NULL},
    {OPT_CHECKPOINT, NULL},
    {OPT_CHECKPOINT_EVERY, NULL},
    {OPT_RESUME, NULL},
    {OPT_MAX_MEM, NULL},
    {OPT_NET_MODEL, NULL},
    {OPT_FORCE, NULL},
};

typedef struct {
  dtf_gcp_t *s;
  const dtf_gcp_options_t *o;
} job_t;

static void summary(dtf_json_t *j, void *ctx) {
  const job_t *b = ctx;
  dtf_gcp_summary_t sm;
  dtf_gcp_summary(b->s, &sm);
  char comp[48];
  dtf_compress_format(&b->o->compress, comp, sizeof comp);
  dtf_json_int(j, "rank", b->o->rank);
  dtf_json_string(j, "loss_function", b->o->loss->name);
  dtf_json_string(j, "optimizer", b->o->optim->name);
  dtf_json_string(j, "compress", comp);
  dtf_json_string(j, "init", sm.init);
  dtf_json_int(j, "sample", b->o->sample);
  dtf_json_int(j, "steps_per_epoch", b->o->steps);
  dtf_json_int(j, "steps", sm.steps);
  dtf_json_int(j, "failed_epochs", sm.fails);
  dtf_json_number(j, "step_size", sm.lr);
  dtf_json_int(j, "seed", (int64_t)b->o->seed);
  if (!isnan(sm.fit)) dtf_json_number(j, "fit", sm.fit);
  dtf_json_number_array(j, "loss_history", sm.loss_history, sm.epochs);
  dtf_json_number_array(j, "fit_history", sm.fit_history, sm.epochs);
  dtf_json_number_array(j, "bytes_history", sm.bytes_history, sm.epochs);
  dtf_json_number_array(j, "bytes_uncompressed_history", sm.plain_history, sm.epochs);
  if (b->o->compress.kind != DTF_COMPRESS_NONE || b->o->compress.automatic) {
    dtf_json_string(j, "budget", sm.budget);
    dtf_json_number_array(j, "budget_history", sm.budget_history, sm.epochs);
    dtf_json_number_array(j, "cosine_history", sm.cosine_history, sm.epochs);
  }
  dtf_json_number(j, "time_gradient_s", sm.t_gradient);
  dtf_json_number(j, "time_comm_s", sm.t_comm);
  dtf_json_number(j, "time_update_s", sm.t_update);
}

int cli_gcp(cli_t *c, int argc, char **argv) {
  cli_opts_t o = {.iters = 50, .tol = 1e-4};
  int rc = cli_parse(c, argc, argv, accepted, sizeof accepted / sizeof accepted[0], intro, &o);
  if (rc >= 0) return rc;
  if ((rc = cli_input_and_rank(c, &o)) >= 0) return rc;
  if ((o.resume || o.every) && !o.checkpoint)
    return cli_usage(c, "--resume and --checkpoint-every need --checkpoint FILE");
  const char *input = o.pos[0];
  cli_files_t files = {0};
  dtf_status st = cli_files_input(&files, input);
  if (!st && o.mask) st = cli_files_input(&files, o.mask);
  if (st) return cli_fail(c, st);
  cli_files_output(&files, o.output, NULL, DTF_OUT_MODEL, "--output", 0);
  cli_files_checkpoint(&files, o.checkpoint, o.resume);
  if ((rc = cli_files_check(c, &files, o.force))) return rc;

  dtf_grid_t *g;
  dtf_tensor_t *t;
  cli_loaded_t in;
  cli_load_t lo = {
      .grid = o.grid, .finite = 1, .duplicates = o.duplicates, .seed = o.seed, .observed = 2, .mask = o.mask};
  st = cli_load_tensor(c, input, &lo, &in, &g, &t);
  if (st) return cli_fail(c, st);
  if (o.mask && in.elem_bytes == 0) {
    cli_loaded_free(&in);
    dtf_tensor_free(t);
    dtf_grid_free(g);
    return cli_fail(c, dtf_error(DTF_ERR_INPUT,
                                 "--mask is for dense input; a sparse input's unlisted entries are zeros"));
  }

  dtf_gcp_options_t go;
  dtf_gcp_options_default(&go);
  go.rank = (int)o.rank;
  go.loss = dtf_loss(o.loss ? o.loss : "gaussian");
  go.optim = dtf_optim(o.optimizer ? o.optimizer : "adam");
  go.step = go.optim->defaults;
  if (o.given[OPT_LR]) go.step.lr = o.lr;
  go.lr_auto = !o.given[OPT_LR];
  go.compress = o.compress;
  go.compress.seed = o.seed;
  go.sample = o.sample;
  go.steps = o.given[OPT_STEPS] ? (int)o.steps : o.sample ? 100 : 10;
  go.max_epochs = (int)o.iters;
  go.tol = o.tol;
  go.seed = o.seed;
  if (o.init)
    go.init = !strcmp(o.init, "random") ? DTF_GCP_INIT_RANDOM
              : !strcmp(o.init, "svd")  ? DTF_GCP_INIT_SVD
                                        : DTF_GCP_INIT_ALS;
  go.init_sweeps = (int)o.init_sweeps;
  go.max_mem = o.given[OPT_MAX_MEM] ? o.max_mem : cli_default_max_mem();
  go.log = cli_log;
  go.ctx = c;
  char comp[48];
  dtf_compress_format(&go.compress, comp, sizeof comp);
  cli_progress(c,
               "gcp rank %d, %s loss, %s (step size %g%s), compress %s, %s, %d steps an epoch, at most %d "
               "epochs, init %s\n",
               go.rank, go.loss->name, go.optim->name, go.step.lr, go.lr_auto ? ", adapted" : "", comp,
               go.sample ? "sampled" : "every entry each step", go.steps, go.max_epochs,
               o.init ? o.init : "auto");
  dtf_gcp_t *s = NULL;
  st = dtf_gcp_init(g, t, &go, &s);
  if (st)
    rc = cli_fail(c, st);
  else {
    dtf_solver_t solver = dtf_gcp_solver(s);
    job_t job = {s, &go};
    cli_run_t run = {o.output, o.checkpoint, (int)o.every, o.resume, 0,   o.seed,
                     input,    &in,          summary,      &job,     NULL};
    rc = cli_run(c, g, t, &solver, &run);
  }
  dtf_gcp_free(s);
  cli_loaded_free(&in);
  dtf_tensor_free(t);
  dtf_grid_free(g);
  return rc;
}
