/* A minimal assertion for MPI test programs: a failed check names itself and aborts
 * every rank, so a failing test can never hang. */
#ifndef DTF_TESTS_CHECK_H
#define DTF_TESTS_CHECK_H

#include <mpi.h>
#include <stdio.h>

#define CHECK(cond, ...)                                                                                     \
  do {                                                                                                       \
    if (!(cond)) {                                                                                           \
      int rank_;                                                                                             \
      MPI_Comm_rank(MPI_COMM_WORLD, &rank_);                                                                 \
      fprintf(stderr, "FAILED on rank %d, %s:%d: %s: ", rank_, __FILE__, __LINE__, #cond);                   \
      fprintf(stderr, __VA_ARGS__);                                                                          \
      fprintf(stderr, "\n");                                                                                 \
      MPI_Abort(MPI_COMM_WORLD, 1);                                                                          \
    }                                                                                                        \
  } while (0)

#endif
