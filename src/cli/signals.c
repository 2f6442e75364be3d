/* SIGUSR1 (SLURM's warning before a time limit or preemption), SIGTERM (scancel, srun,
 * mpirun passing on Ctrl-C) and SIGINT, from the start of every command. Until a solver's
 * run loop takes them over with --checkpoint (cli_signals_defer), a signal ends the
 * process at once: rank 0 says what was stopped, the temporaries of unfinished outputs
 * are removed (no output is ever half-written: they are renamed only when complete), and
 * every rank exits 75. Under mpirun or srun every rank gets the signal; a rank that exits
 * alone takes the job down with it (mpirun ends the others). */
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t pending; /* deferred: the last signal received */
static int rank = -1;
static char who[64];       /* "dtf CMD: " */
static char phase[2][512]; /* what a signal stops now: the one `current` names is complete */
static volatile sig_atomic_t current;

static void put(const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

/* append s to the line (len: its length so far), as far as it fits */
static size_t add(char *line, size_t len, size_t cap, const char *s) {
  size_t n = strlen(s);
  if (n > cap - 1 - len) n = cap - 1 - len;
  memcpy(line + len, s, n);
  line[len + n] = '\0';
  return len + n;
}

static void at_once(int sig) {
  if (rank == 0) {
    char num[16], line[sizeof who + sizeof phase[0] + 64];
    int k = (int)sizeof num - 1;
    num[k] = '\0';
    do num[--k] = (char)('0' + sig % 10);
    while ((sig /= 10) > 0 && k > 0);
    /* one write: mpirun passes a rank's stderr on in the pieces it was written in, between
     * its own messages */
    size_t len = add(line, 0, sizeof line, who);
    len = add(line, len, sizeof line, "stopped by signal ");
    len = add(line, len, sizeof line, num + k);
    len = add(line, len, sizeof line, phase[current]);
    add(line, len, sizeof line, "; exit 75\n");
    put(line);
    dtf_output_abandon();
  } else { /* mpirun ends every rank once one exits: rank 0 says what stopped first */
    struct timespec wait = {0, 300000000};
    nanosleep(&wait, NULL);
  }
  _exit(DTF_INTERRUPTED);
}

static void later(int sig) { pending = sig; }

static void handle(void (*fn)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
}

void cli_signals_phase(const char *what) {
  if (!what)
    what = ": nothing was written or checkpointed (an unfinished output is removed, an earlier checkpoint "
           "left as "
           "it was); run the command again";
  int next = !current;
  size_t n = strlen(what);
  if (n >= sizeof phase[0]) n = sizeof phase[0] - 1;
  memcpy(phase[next], what, n);
  phase[next][n] = '\0';
  current = next;
}

void cli_signals_install(const cli_t *c) {
  rank = c->rank;
  size_t n = strlen(c->cmd);
  if (n > sizeof who - 8) n = sizeof who - 8;
  memcpy(who, "dtf ", 4);
  memcpy(who + 4, c->cmd, n);
  memcpy(who + 4 + n, ": ", 3);
  cli_signals_phase(NULL);
  handle(at_once);
}

void cli_signals_defer(void) {
  pending = 0;
  handle(later);
  /* a launcher that is shutting down may close our stderr: a failed write must not kill
   * the rank before its checkpoint is written */
  signal(SIGPIPE, SIG_IGN);
}

int cli_signal_pending(void) { return pending; }
