/* The dtf executable: MPI set-up and the command table (dispatch and usage). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "timer.h"

typedef struct {
  const char *name;
  int (*run)(cli_t *c, int argc, char **argv);
  const char *summary;
} command_t;

static const command_t commands[] = {
    {"generate", cli_generate, "write a synthetic low-rank tensor (dense, or sparse with --nnz) in parallel"},
    {"cp", cli_cp, "CP decomposition by alternating least squares (CP-ALS), dense or sparse"},
    {"gcp", cli_gcp,
     "generalized CP (gaussian, poisson, bernoulli losses) by SGD, Adam or Adan, compressed exchanges"},
    {"tr", cli_tr, "tensor ring decomposition by alternating least squares (TR-ALS), exact or sampled"},
    {"tucker", cli_tucker,
     "Tucker decomposition by distributed ST-HOSVD, ranks given or from an error bound"},
    {"reconstruct", cli_reconstruct, "write a model's full tensor, or a block of it (--slab), in parallel"},
    {"complete", cli_complete, "fill in a partly observed tensor: CP by distributed (online) EM, rank found"},
    {"eval", cli_eval, "fit of a model file on a tensor, or its test metrics on observed entries (--test)"},
    {"predict", cli_predict,
     "a model's predicted values (means, probabilities, rates) at listed coordinates"},
    {"info", cli_info, "shape, type and statistics of a tensor, or a model file's header"},
    {"convert", cli_convert, "FROSTT .tns text to sparse HDF5 and back, in parallel"},
};
enum { NCOMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *f) {
  fprintf(f,
          "dtf %s - distributed tensor factorization\n\nusage: mpirun -np N dtf COMMAND [options]\n\n"
          "commands:\n",
          DTF_VERSION);
  for (int k = 0; k < NCOMMANDS; k++) fprintf(f, "  %-10s %s\n", commands[k].name, commands[k].summary);
  fprintf(f, "\n'dtf COMMAND --help' describes a command. Exit codes: 0 ok, 1 usage, 2 bad input,\n"
             "3 numerical failure, 4 output failure, 5 MPI failure, 75 stopped by a signal after\n"
             "writing a checkpoint (resume with --resume). Documentation: docs/cli.md.\n");
}

/* An MPI call failed on this rank: the peers may wait in a collective that will never
 * complete, so this rank names the call and aborts the job (exit 5). */
static void mpi_failed(void *ctx) { cli_fail(ctx, DTF_ERR_MPI); }

int main(int argc, char **argv) {
  /* Open MPI 4.1's default MPI-IO component (OMPIO) left holes of zeros in collective
   * HDF5 writes of CP models at 3 ranks (tests/cli/ranks_agree.sh); ROMIO writes them
   * correctly. Use ROMIO unless the user chose an io component. */
  setenv("OMPI_MCA_io", "romio321", 0);
  MPI_Init(&argc, &argv);
  /* MPI errors come back as codes, reported as DTF_ERR_MPI (exit 5), not as a crash */
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  cli_t c = {0};
  c.t_start = dtf_now();
  MPI_Comm_rank(MPI_COMM_WORLD, &c.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &c.size);
  dtf_fault_set_rank(c.rank);
  dtf_comm_on_failure(mpi_failed, &c);
  const char *cmd = argc > 1 ? argv[1] : "";
  c.cmd = cmd;
  cli_signals_install(&c);
  int rc = -1;
  for (int k = 0; k < NCOMMANDS && rc < 0; k++)
    if (!strcmp(cmd, commands[k].name)) rc = commands[k].run(&c, argc - 1, argv + 1);
  if (rc >= 0) {
  } else if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
    if (c.rank == 0) printf("dtf %s\n", DTF_VERSION);
    rc = 0;
  } else if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    if (c.rank == 0) usage(stdout);
    rc = 0;
  } else {
    if (c.rank == 0) {
      if (*cmd) fprintf(stderr, "dtf: unknown command '%s'\n\n", cmd);
      usage(stderr);
    }
    rc = DTF_ERR_USAGE;
  }
  dtf_io_finalize();
  MPI_Finalize();
  return rc;
}
