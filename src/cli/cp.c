/* dtf cp: CP-ALS on a dense HDF5 tensor. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "timer.h"

static const char *help =
    "usage: mpirun -np N dtf cp INPUT -r R [options]\n"
    "\n"
    "CP decomposition of a dense tensor by distributed alternating least squares.\n"
    "INPUT is a dense dataset file.h5:/dataset (file.h5 alone means file.h5:/X, float64 or\n"
    "float32), a sparse COO group file.h5:/group, or a FROSTT text file X.tns.\n"
    "\n"
    "  -r, --rank R          number of components (required, >= 1)\n"
    "  -i, --iters N         at most N iterations (default 50)\n"
    "      --tol T           stop when the fit changes by less than T (default 1e-4)\n"
    "      --seed S          seed of the initial factors (default 0); the same seed gives\n"
    "                        the same start whatever the number of ranks\n"
    "      --grid AxBxC      process grid (default: chosen to minimise communication)\n"
    "  -o, --output FILE     write the model to FILE (HDF5; see docs/formats.md)\n"
    "      --permute         sparse input: relabel every mode's indices at random (seeded by\n"
    "                        --seed) to balance the nonzeros; the model is written in the\n"
    "                        original labels, and the run starts where the plain one does\n"
    "      --sum-duplicates  sparse input: add entries with equal coordinates (default:\n"
    "                        refuse them, naming both lines or rows)\n"
    "      --checkpoint FILE write the solver state to FILE on SIGUSR1 or SIGTERM (then exit\n"
    "                        75) and every K iterations with --checkpoint-every K\n"
    "      --checkpoint-every K  also checkpoint after every K-th iteration\n"
    "      --resume          continue from --checkpoint FILE if it exists (same input, rank\n"
    "                        and seed); with the same ranks the result is bit for bit the\n"
    "                        uninterrupted run's\n"
    "      --max-mem SIZE    refuse to start when the solver's estimated memory per rank is\n"
    "                        above SIZE (e.g. 8G; default: the node's memory / ranks on it)\n"
    "      --json FILE       write a machine-readable summary\n"
    "  -q, --quiet           no progress lines\n"
    "  -h, --help            this text\n"
    "\n"
    "Progress (rank 0, stderr): iter K  fit F  delta D  T s  comm B.\n";

typedef struct {
  const cli_t *c;
  const dtf_grid_t *g;
  dtf_cp_als_t *s;
  const char *checkpoint;
  int every;
  int stopped;        /* a signal asked to stop and the checkpoint was written */
  dtf_status failure; /* a checkpoint could not be written */
} progress_ctx;

/* SIGUSR1 (SLURM's warning before the time limit or preemption) or SIGTERM: finish the
 * iteration, write a checkpoint, exit 75. */
static volatile sig_atomic_t stop_signal;
static void on_signal(int sig) { stop_signal = sig; }

static int on_iter(const dtf_cp_progress_t *p, void *ctx) {
  progress_ctx *pc = ctx;
  const cli_t *c = pc->c;
  char b[32];
  cli_bytes((double)p->comm_bytes, b, sizeof b);
  cli_progress(c, "iter %-4d fit %.5f  delta %.1e  %.3g s  comm %s\n", p->iteration, p->fit, p->delta,
               p->seconds, b);
  if (!pc->checkpoint) return 0;
  /* every rank must take the same branch: agree on whether any rank was signalled */
  int sig = stop_signal;
  dtf_allreduce(pc->g->comm, &sig, 1, MPI_INT, MPI_MAX, NULL);
  if (!sig && !(pc->every > 0 && p->iteration % pc->every == 0)) return 0;
  dtf_status st = dtf_h5_checkpoint_write(pc->g, pc->checkpoint, pc->s);
  if (st) {
    pc->failure = st;
    return 1;
  }
  if (!sig) return 0;
  cli_progress(c, "signal %d: checkpoint of iteration %d written to %s\n", sig, p->iteration, pc->checkpoint);
  pc->stopped = 1;
  return 1;
}

static void on_log(const char *msg, void *ctx) {
  const cli_t *c = ((progress_ctx *)ctx)->c;
  if (c->rank == 0) fprintf(stderr, "dtf %s: %s\n", c->cmd, msg);
}

int cli_cp(cli_t *c, int argc, char **argv) {
  static const struct option opts[] = {{"rank", required_argument, 0, 'r'},
                                       {"iters", required_argument, 0, 'i'},
                                       {"tol", required_argument, 0, 't'},
                                       {"seed", required_argument, 0, 's'},
                                       {"grid", required_argument, 0, 'g'},
                                       {"output", required_argument, 0, 'o'},
                                       {"sum-duplicates", no_argument, 0, 'D'},
                                       {"permute", no_argument, 0, 'P'},
                                       {"checkpoint", required_argument, 0, 'c'},
                                       {"checkpoint-every", required_argument, 0, 'k'},
                                       {"resume", no_argument, 0, 'R'},
                                       {"max-mem", required_argument, 0, 'M'},
                                       CLI_SHARED_OPTIONS};
  dtf_cp_options_t o;
  dtf_cp_options_default(&o);
  const char *grid_text = NULL, *output = NULL;
  int have_rank = 0, sum_duplicates = 0, permute = 0, resume = 0, every = 0, opt, rc;
  const char *checkpoint = NULL;
  int64_t v;
  opterr = 0;
  optind = 1;
  while ((opt = getopt_long(argc, argv, ":r:i:o:qh", opts, NULL)) != -1) {
    switch (opt) {
    case 'r':
      if (cli_int(optarg, 1, 1000000, &v))
        return cli_usage(c, "--rank must be an integer >= 1, not '%s'", optarg);
      o.rank = (int)v;
      have_rank = 1;
      break;
    case 'i':
      if (cli_int(optarg, 1, 100000000, &v))
        return cli_usage(c, "--iters must be an integer >= 1, not '%s'", optarg);
      o.max_iters = (int)v;
      break;
    case 't':
      if (cli_double(optarg, &o.tol) || o.tol < 0)
        return cli_usage(c, "--tol must be a number >= 0, not '%s'", optarg);
      break;
    case 's':
      if (cli_int(optarg, 0, INT64_MAX, &v))
        return cli_usage(c, "--seed must be an integer >= 0, not '%s'", optarg);
      o.seed = (uint64_t)v;
      break;
    case 'g': grid_text = optarg; break;
    case 'o': output = optarg; break;
    case 'D': sum_duplicates = 1; break;
    case 'P': permute = 1; break;
    case 'c': checkpoint = optarg; break;
    case 'k':
      if (cli_int(optarg, 1, 100000000, &v))
        return cli_usage(c, "--checkpoint-every must be an integer >= 1, not '%s'", optarg);
      every = (int)v;
      break;
    case 'R': resume = 1; break;
    case 'M':
      if (cli_bytes_option(optarg, &o.max_mem))
        return cli_usage(c, "--max-mem must be a size like 8G, 512M or 2000000000, not '%s'", optarg);
      break;
    default:
      if ((rc = cli_shared_option(c, opt, argv, help)) != CLI_NEXT) return rc;
    }
  }
  if (optind != argc - 1)
    return cli_usage(c, optind >= argc ? "missing INPUT" : "expected one INPUT, got '%s' too",
                     argv[argc - 1]);
  if (!have_rank) return cli_usage(c, "missing --rank (-r)");
  if ((resume || every) && !checkpoint)
    return cli_usage(c, "--resume and --checkpoint-every need --checkpoint FILE");
  const char *input = argv[optind];

  dtf_spec_t in_spec;
  dtf_status st = dtf_spec_parse(input, "/X", &in_spec);
  if (!st && output) st = dtf_check_distinct(MPI_COMM_WORLD, in_spec.file, output, "the input and --output");
  if (!st && c->json) st = dtf_check_distinct(MPI_COMM_WORLD, in_spec.file, c->json, "the input and --json");
  if (!st && c->json && output)
    st = dtf_check_distinct(MPI_COMM_WORLD, output, c->json, "--output and --json");
  if (!st && output) st = dtf_check_writable(MPI_COMM_WORLD, output);
  if (!st && checkpoint)
    st = dtf_check_distinct(MPI_COMM_WORLD, in_spec.file, checkpoint, "the input and --checkpoint");
  if (!st && checkpoint && output)
    st = dtf_check_distinct(MPI_COMM_WORLD, output, checkpoint, "--output and --checkpoint");
  if (!st && checkpoint) st = dtf_check_writable(MPI_COMM_WORLD, checkpoint);
  if (!st && c->json) st = dtf_check_writable(MPI_COMM_WORLD, c->json);
  if (st) return cli_fail(c, st);

  dtf_grid_t *g;
  dtf_tensor_t *t;
  cli_loaded_t in;
  cli_load_t lo = {grid_text, 1, sum_duplicates, permute, o.seed};
  double t_read = dtf_now();
  st = cli_load_tensor(c, input, &lo, &in, &g, &t);
  if (st) return cli_fail(c, st);
  t_read = dtf_now() - t_read;

  progress_ctx pc = {c, g, NULL, checkpoint, every, 0, DTF_OK};
  for (int n = 0; n < DTF_MAX_MODES; n++) o.row_labels[n] = in.labels[n];
  o.progress = on_iter;
  o.log = on_log;
  o.ctx = &pc;
  cli_progress(c, "cp-als rank %d, at most %d iterations, tol %.1e, seed %llu\n", o.rank, o.max_iters, o.tol,
               (unsigned long long)o.seed);
  if (o.max_mem == 0) { /* default: this rank's share of the node's memory */
    double node = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    o.max_mem = node / dtf_ranks_on_node(MPI_COMM_WORLD);
  }
  dtf_cp_als_t *s = NULL;
  st = dtf_cp_als_init(g, t, &o, &s);
  pc.s = s;
  int start = 0;
  if (!st && resume) {
    int exists = access(checkpoint, F_OK) == 0;
    MPI_Bcast(&exists, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (exists) {
      st = dtf_h5_checkpoint_read(g, checkpoint, s);
      if (!st) {
        start = s->iteration;
        cli_progress(c, "resumed from %s at iteration %d (fit %.5f)\n", checkpoint, start, s->fit);
      }
    } else
      cli_progress(c, "no checkpoint %s yet: starting from the beginning\n", checkpoint);
  }
  if (checkpoint) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
  }
  if (!st) st = dtf_cp_als_run(s);
  if (st == DTF_INTERRUPTED && pc.failure) st = pc.failure;
  if (st == DTF_INTERRUPTED && pc.stopped) {
    cli_progress(c, "stopped at iteration %d; resume with the same command and --resume\n", s->iteration);
    dtf_cp_als_free(s);
    for (int n = 0; n < DTF_MAX_MODES; n++) free(in.labels[n]);
    dtf_tensor_free(t);
    dtf_grid_free(g);
    return DTF_INTERRUPTED;
  }
  double t_write = 0;
  if (!st && output) {
    double t0 = dtf_now();
    if (permute) { /* the model in the original labels */
      dtf_cp_model_t orig;
      st = dtf_cp_model_init(g, o.rank, &orig);
      for (int n = 0; !st && n < g->nmodes; n++)
        st = dtf_factor_relabel(g, &s->model.factors[n], in.labels[n], &orig.factors[n], NULL);
      if (!st) {
        memcpy(orig.lambda, s->model.lambda, (size_t)o.rank * sizeof(double));
        orig.fit = s->model.fit;
        orig.iterations = s->model.iterations;
        st = dtf_h5_cp_write(g, output, &orig);
      }
      if (orig.lambda) dtf_cp_model_free(&orig);
    } else
      st = dtf_h5_cp_write(g, output, &s->model);
    t_write = dtf_now() - t0;
  }
  if (!st) {
    uint64_t bytes = s->comm.bytes_sent;
    dtf_allreduce(g->comm, &bytes, 1, MPI_UINT64_T, MPI_MAX, NULL);
    int ran = s->iteration - start > 0 ? s->iteration - start : 1; /* in this process */
    double per_iter = s->t_total / ran;
    double comm_per_iter = (double)bytes / ran;
    char cb[32];
    cli_bytes(comm_per_iter, cb, sizeof cb);
    cli_result(c, "fit %.6f after %d iteration%s (%s), %.3g s/iteration, comm %s/iteration per rank%s%s\n",
               s->fit, s->iteration, s->iteration == 1 ? "" : "s",
               s->converged ? "converged" : "iteration limit", per_iter, cb, output ? ", model in " : "",
               output ? output : "");
    dtf_json_t *j = cli_json_begin(c, g);
    if (j) {
      dtf_json_string(j, "input", input);
      dtf_json_string(j, "tensor", t->ops->name);
      if (!in.elem_bytes) {
        dtf_json_bool(j, "permute", permute);
        dtf_json_int(j, "nnz", in.nnz);
        dtf_json_int(j, "duplicates_summed", in.duplicates);
      }
      dtf_json_int(j, "rank", o.rank);
      dtf_json_int(j, "iterations", s->iteration);
      dtf_json_number(j, "fit", s->fit);
      dtf_json_bool(j, "converged", s->converged);
      dtf_json_number(j, "tol", o.tol);
      dtf_json_int(j, "seed", (int64_t)o.seed);
      dtf_json_number_array(j, "fit_history", s->fit_history, s->iteration);
      dtf_json_number_array(j, "lambda", s->model.lambda, o.rank);
      dtf_json_number(j, "time_read_s", t_read);
      dtf_json_number(j, "time_solve_s", s->t_total);
      dtf_json_number(j, "time_write_s", t_write);
      dtf_json_number(j, "time_per_iter_s", per_iter);
      dtf_json_number(j, "time_mttkrp_s", s->t_mttkrp);
      dtf_json_number(j, "time_comm_s", s->t_comm);
      dtf_json_number(j, "time_solve_small_s", s->t_solve);
      dtf_json_number(j, "comm_bytes_per_iter", comm_per_iter);
      if (output) dtf_json_string(j, "output", output);
    }
    st = cli_json_end(c, j);
  }
  dtf_cp_als_free(s);
  for (int n = 0; n < DTF_MAX_MODES; n++) free(in.labels[n]);
  dtf_tensor_free(t);
  dtf_grid_free(g);
  return st ? cli_fail(c, st) : 0;
}
