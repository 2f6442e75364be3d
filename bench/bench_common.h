/* What the benchmark drivers share: the --dims parser and DGEMM's rate on these ranks. */
#ifndef DTF_BENCH_COMMON_H
#define DTF_BENCH_COMMON_H

#include <cblas.h>
#include <stdlib.h>

#include "dtf/dtf.h"
#include "timer.h"

static inline int bench_parse_dims(const char *s, int64_t *d) {
  int n = 0;
  char *end;
  while (n < DTF_MAX_MODES) {
    d[n++] = strtoll(s, &end, 10);
    if (*end != 'x') break;
    s = end + 1;
  }
  return n;
}

/* Best of a few square DGEMMs of size n on every rank at once, GFLOP/s per rank (the
 * slowest rank's). */
static inline double bench_dgemm_rate(int n, MPI_Comm comm) {
  double *A = malloc((size_t)n * n * sizeof(double)), *B = malloc((size_t)n * n * sizeof(double)),
         *C = malloc((size_t)n * n * sizeof(double));
  for (int64_t i = 0; i < (int64_t)n * n; i++) {
    A[i] = dtf_rng_uniform(1, 1, 0, (uint64_t)i);
    B[i] = dtf_rng_uniform(1, 2, 0, (uint64_t)i);
  }
  double best = 0;
  for (int rep = 0; rep < 4; rep++) {
    MPI_Barrier(comm);
    double t0 = dtf_now();
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, A, n, B, n, 0.0, C, n);
    double dt = dtf_now() - t0;
    if (rep > 0 && 2.0 * n * n * (double)n / dt / 1e9 > best) best = 2.0 * n * n * (double)n / dt / 1e9;
  }
  free(A);
  free(B);
  free(C);
  MPI_Allreduce(MPI_IN_PLACE, &best, 1, MPI_DOUBLE, MPI_MIN, comm);
  return best;
}

#endif
