/* What rank 0 tells the user: errors, progress, results, warnings, and the JSON summary. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "timer.h"

int cli_fail(const cli_t *c, dtf_status st) {
  if (st == DTF_ERR_MPI || dtf_error_is_stranded()) {
    /* peers may wait in a collective that will never complete: end the job here. A write
     * that failed on every rank strands them all: rank 0 speaks, and its MPI_Abort ends
     * the others (within the second they wait) before they repeat it. */
    if (st != DTF_ERR_MPI && c->rank != 0) sleep(1);
    fprintf(stderr, "dtf %s: error (rank %d): %s\n", c->cmd, c->rank, dtf_error_message());
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, (int)st);
  }
  if (c->rank == 0) fprintf(stderr, "dtf %s: error: %s\n", c->cmd, dtf_error_message());
  return (int)st;
}

int cli_usage(const cli_t *c, const char *fmt, ...) {
  if (c->rank == 0) { /* one write, so that mpirun passes it on in one piece */
    char fixed[1024], *msg = fixed;
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(fixed, sizeof fixed, fmt, ap);
    if (n >= (int)sizeof fixed && (msg = malloc((size_t)n + 1))) vsnprintf(msg, (size_t)n + 1, fmt, again);
    va_end(again);
    va_end(ap);
    /* a message too long for the buffer and for memory: its start */
    fprintf(stderr, "dtf %s: %s\nTry 'dtf %s --help'.\n", c->cmd, msg ? msg : fixed, c->cmd);
    if (msg != fixed) free(msg);
  }
  return DTF_ERR_USAGE;
}

void cli_progress(const cli_t *c, const char *fmt, ...) {
  if (c->rank != 0 || c->quiet) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fflush(stderr);
}

void cli_result(const cli_t *c, const char *fmt, ...) {
  if (c->rank != 0) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
  fflush(stdout);
}

void cli_log(const char *msg, void *ctx) {
  const cli_t *c = ctx;
  if (c->rank == 0) {
    fprintf(stderr, "dtf %s: %s\n", c->cmd, msg);
    fflush(stderr);
  }
}

dtf_json_t *cli_json_begin(const cli_t *c, const dtf_grid_t *g) {
  if (!c->json || c->rank != 0) return NULL;
  dtf_json_t *j = dtf_json_new();
  dtf_json_string(j, "command", c->cmd);
  dtf_json_string(j, "dtf_version", DTF_VERSION);
  dtf_json_int(j, "ranks", c->size);
  if (g) {
    int64_t pd[DTF_MAX_MODES];
    for (int n = 0; n < g->nmodes; n++) pd[n] = g->pdims[n];
    dtf_json_int_array(j, "grid", pd, g->nmodes);
    dtf_json_int_array(j, "dims", g->dims, g->nmodes);
  }
  return j;
}

dtf_status cli_json_end(const cli_t *c, dtf_json_t *j) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  uint64_t rss = (uint64_t)ru.ru_maxrss * 1024;
  dtf_allreduce(MPI_COMM_WORLD, &rss, 1, MPI_UINT64_T, MPI_MAX, NULL);
  if (!c->json) return DTF_OK;
  if (j) {
    dtf_json_number(j, "time_total_s", dtf_now() - c->t_start);
    dtf_json_int(j, "peak_rss_bytes_max", (int64_t)rss);
  }
  dtf_status st = dtf_json_write(MPI_COMM_WORLD, j, c->json);
  dtf_json_free(j);
  return st;
}
