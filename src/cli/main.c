/* The dtf executable: MPI set-up and subcommand dispatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "timer.h"

static const char *usage =
    "dtf " DTF_VERSION " - distributed tensor factorization\n"
    "\n"
    "usage: mpirun -np N dtf COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  generate   write a synthetic low-rank tensor to HDF5 in parallel\n"
    "  cp         CP decomposition by alternating least squares (CP-ALS)\n"
    "  eval       fit of a CP model file on a tensor\n"
    "  info       shape, type and statistics of a tensor, or a model's attributes\n"
    "  convert    FROSTT .tns text to sparse HDF5 and back, in parallel\n"
    "\n"
    "'dtf COMMAND --help' describes a command. Exit codes: 0 ok, 1 usage, 2 bad input,\n"
    "3 numerical failure, 4 output failure. Documentation: docs/cli.md.\n";

int main(int argc, char **argv) {
  /* Open MPI 4.1's default MPI-IO component (OMPIO) left holes of zeros in collective
   * HDF5 writes of CP models at 3 ranks (tests/cli/ranks_agree.sh); ROMIO writes them
   * correctly. Use ROMIO unless the user chose an io component. */
  setenv("OMPI_MCA_io", "romio321", 0);
  MPI_Init(&argc, &argv);
  cli_t c = {0};
  c.t_start = dtf_now();
  MPI_Comm_rank(MPI_COMM_WORLD, &c.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &c.size);
  int rc;
  const char *cmd = argc > 1 ? argv[1] : "";
  c.cmd = cmd;
  if (!strcmp(cmd, "generate"))
    rc = cli_generate(&c, argc - 1, argv + 1);
  else if (!strcmp(cmd, "cp"))
    rc = cli_cp(&c, argc - 1, argv + 1);
  else if (!strcmp(cmd, "info"))
    rc = cli_info(&c, argc - 1, argv + 1);
  else if (!strcmp(cmd, "eval"))
    rc = cli_eval(&c, argc - 1, argv + 1);
  else if (!strcmp(cmd, "convert"))
    rc = cli_convert(&c, argc - 1, argv + 1);
  else if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
    if (c.rank == 0) printf("dtf %s\n", DTF_VERSION);
    rc = 0;
  } else if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    if (c.rank == 0) fputs(usage, stdout);
    rc = 0;
  } else {
    if (c.rank == 0) {
      if (*cmd) fprintf(stderr, "dtf: unknown command '%s'\n\n", cmd);
      fputs(usage, stderr);
    }
    rc = DTF_ERR_USAGE;
  }
  MPI_Finalize();
  return rc;
}
