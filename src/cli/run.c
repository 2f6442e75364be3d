/* The one run loop of every solver subcommand: resume, iterate with progress lines,
 * checkpoints (every K iterations, and on a signal, then exit 75), the model file, the
 * result line and the JSON summary. A subcommand builds its solver and calls cli_run. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "timer.h"

static dtf_status write_state(const dtf_grid_t *g, const dtf_solver_t *s, int checkpoint,
                              const dtf_fingerprint_t *fp, const cli_run_t *o, const cli_last_t *last,
                              const char *file) {
  dtf_state_t *st = malloc(sizeof *st);
  if (!st) return dtf_error(DTF_ERR_OUTPUT, "out of memory");
  dtf_status rc = cli_describe(s, checkpoint, fp, o, last, st);
  if (!rc) rc = dtf_h5_state_write(g, file, st);
  free(st);
  return rc;
}

/* Under mpirun (Open MPI 4.1), a SIGTERM or Ctrl-C that mpirun received itself reaches
 * the ranks as SIGTERM, and mpirun then returns 1 whatever they return. */
static int under_mpirun(void) { return getenv("OMPI_MCA_orte_hnp_uri") != NULL; }

int cli_run(cli_t *c, const dtf_grid_t *g, dtf_tensor_t *t, const dtf_solver_t *s, const cli_run_t *o) {
  dtf_fingerprint_t fp;
  dtf_status st = dtf_tensor_fingerprint(g, t, (const int64_t *const *)o->loaded->labels, &fp);
  if (st) return cli_fail(c, st);
  int start = 0;
  /* with a checkpoint, SIGUSR1, SIGTERM and SIGINT finish the iteration, write the
   * checkpoint and exit 75; without, they stop the run at once (signals.c) */
  if (o->checkpoint) cli_signals_defer();
  /* what the result line reports: the last iteration's record, or the checkpoint's */
  cli_last_t last = {"fit", NAN, 0, {{0}}, {0}};
  if (o->resume && (st = cli_resume(c, g, s, &fp, o, &start, &last))) return cli_fail(c, st);

  double seconds = 0, net0 = dtf_comm_net_seconds();
  int n = 0, stopped = 0;
  dtf_comm_net_model(c->net_bw, c->net_lat); /* the iterations only: not reading or writing */
  uint64_t sent = 0, uncompressed = 0;
  while (!st && !s->ops->finished(s->impl)) {
    dtf_progress_t p;
    st = s->ops->iterate(s->impl, &p);
    if (st) break;
    cli_last_keep(&last, &p);
    seconds += p.seconds;
    sent += p.bytes_sent;
    uncompressed += p.bytes_uncompressed;
    n++;
    char b[32], u[48] = "";
    dtf_format_bytes((double)p.bytes_sent, b, sizeof b);
    if (p.bytes_uncompressed != p.bytes_sent) {
      char full[32];
      dtf_format_bytes((double)p.bytes_uncompressed, full, sizeof full);
      snprintf(u, sizeof u, " (of %s)", full);
    }
    char more[512] = "";
    size_t used = 0;
    for (int k = 0; k < p.nextra && used < sizeof more; k++) {
      if (!strcmp(p.extra_name[k], p.metric)) continue;
      used += (size_t)snprintf(more + used, sizeof more - used, "%s%s %.5g", used ? "  " : "  | ",
                               p.extra_name[k], p.extra[k]);
    }
    if (p.note[0]) snprintf(more + used, sizeof more - used, "%s%s", used ? "  " : "  | ", p.note);
    char v[64] = "-       ", d[32] = "-";
    if (!isnan(p.value)) /* fixed point for fits and RMSEs, exponent form for tiny or huge losses */
      snprintf(v, sizeof v, fabs(p.value) >= 1e-3 && fabs(p.value) < 1e5 ? "%.5f" : "%.4e", p.value);
    if (isfinite(p.delta)) snprintf(d, sizeof d, "%.1e", p.delta); /* none on a first iteration */
    cli_progress(c, "iter %-4d %s %s  delta %s  %.4f s  comm %s%s%s\n", p.iteration, p.metric, v, d,
                 p.seconds, b, u, more);
    if (!o->checkpoint) {
      char now[160];
      snprintf(now, sizeof now,
               " after iteration %d: no --checkpoint, so nothing to resume; run the command again",
               p.iteration);
      cli_signals_phase(now);
      continue;
    }
    /* every rank must take the same branch: agree on whether any rank was signalled */
    int sig = cli_signal_pending();
    dtf_allreduce(g->comm, &sig, 1, MPI_INT, MPI_MAX, NULL);
    if (!sig && !(o->every > 0 && p.iteration % o->every == 0)) continue;
    dtf_comm_net_model(0, 0); /* a checkpoint's I/O is not modelled */
    st = write_state(g, s, 1, &fp, o, &last, o->checkpoint);
    dtf_comm_net_model(c->net_bw, c->net_lat);
    if (st || !sig) continue;
    char msg[4400];
    snprintf(msg, sizeof msg,
             "signal %d: checkpoint of iteration %d written to %s; stopping (exit 75), resume with the same "
             "command and --resume%s",
             sig, p.iteration, o->checkpoint,
             sig != SIGUSR1 && under_mpirun()
                 ? " (if mpirun itself got this signal, Open MPI 4.1's mpirun returns 1 instead: send it "
                   "SIGUSR1 to see 75)"
                 : "");
    cli_log(msg, c);
    stopped = 1;
    break;
  }
  cli_signals_phase(NULL);
  dtf_comm_net_model(0, 0);
  double net = dtf_comm_net_seconds() - net0;
  if (st) return cli_fail(c, st);
  if (stopped) return DTF_INTERRUPTED;
  double t_write = dtf_now();
  if (o->output) st = write_state(g, s, 0, &fp, o, NULL, o->output);
  t_write = dtf_now() - t_write;
  if (st) return cli_fail(c, st);
  /* per-iteration figures of this process's iterations; bytes: the largest over ranks */
  int ran = n > 0 ? n : 1;
  uint64_t most = sent;
  dtf_allreduce(g->comm, &most, 1, MPI_UINT64_T, MPI_MAX, NULL);
  int iterations = start + n, conv = s->ops->converged(s->impl);
  char cb[32];
  dtf_format_bytes((double)most / ran, cb, sizeof cb);
  char vb[48];
  snprintf(vb, sizeof vb,
           (fabs(last.value) >= 1e-3 && fabs(last.value) < 1e6) || last.value == 0 ? "%.6f" : "%.6g",
           last.value);
  cli_result(c, "%s %s after %d iteration%s (%s), %.4g s/iteration, comm %s/iteration per rank%s%s\n",
             last.metric, vb, iterations, iterations == 1 ? "" : "s", conv ? "converged" : "iteration limit",
             seconds / ran, cb, o->output ? ", model in " : "", o->output ? o->output : "");
  dtf_json_t *j = cli_json_begin(c, g);
  cli_json_input(j, o->input, t, o->loaded, o->permute);
  dtf_json_string(j, "solver", s->ops->name);
  dtf_json_int(j, "iterations", iterations);
  dtf_json_number(j, last.metric, last.value);
  for (int k = 0; k < last.nextra; k++)
    if (strcmp(last.extra_name[k], last.metric)) dtf_json_number(j, last.extra_name[k], last.extra[k]);
  dtf_json_bool(j, "converged", conv);
  dtf_json_int(j, "resumed_at", start);
  dtf_json_number(j, "time_solve_s", seconds);
  dtf_json_number(j, "time_per_iter_s", seconds / ran);
  dtf_json_number(j, "time_write_s", t_write);
  if (c->net_bw > 0) dtf_json_number(j, "time_network_model_s", net);
  dtf_json_number(j, "comm_bytes_per_iter", (double)most / ran);
  dtf_json_number(j, "comm_bytes_uncompressed_per_iter", (double)uncompressed / ran);
  if (o->output) dtf_json_string(j, "output", o->output);
  if (o->json) o->json(j, o->ctx);
  st = cli_json_end(c, j);
  return st ? cli_fail(c, st) : 0;
}
