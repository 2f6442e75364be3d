/* Dense TR-ALS benchmark: the local contraction of each core and whole sweeps, exact and
 * sampled, against OpenBLAS DGEMM measured in the same run on the same ranks. The tensor
 * is generated in memory (no I/O).
 *
 *   mpirun -np 2 bench/bench_tr [--dims 80x80x80x80] [--bond 8] [--iters 5] [--sampled 2000]
 *
 * Rates count the floating-point operations of the GEMMs the contraction does (the chains
 * of the other cores, Left^T X, the per-bond products): the work, not a nominal figure. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

static double prod(const int64_t *d, int from, int to) {
  double p = 1;
  for (int k = from; k < to; k++) p *= (double)d[k];
  return p;
}

/* flops of a chain over k modes with ranks r[0..k] */
static double chain_flops(int k, const int64_t *dims, const int *r) {
  double f = 0, P = (double)dims[0];
  for (int j = 1; j < k; j++) {
    f += 2.0 * P * r[0] * r[j] * (double)dims[j] * r[j + 1];
    P *= (double)dims[j];
  }
  return f;
}

/* flops of dtf_tr_dense_contract for core n of a block of shape dims */
static double contract_flops(int N, const int64_t *dims, const int *ranks, int n) {
  int rr[DTF_MAX_MODES + 1], R0 = ranks[0], Rn = ranks[n], Rn1 = ranks[(n + 1) % N];
  double In = (double)dims[n], Pl = prod(dims, 0, n), Pr = prod(dims, n + 1, N), f = 0;
  if (n + 1 < N) {
    for (int j = n + 1; j < N; j++) rr[j - n - 1] = ranks[j];
    rr[N - n - 1] = R0;
    f += chain_flops(N - n - 1, dims + n + 1, rr);
  }
  if (n == 0) return f + 2.0 * In * Pr * R0 * Rn1;
  f += chain_flops(n, dims, ranks) + 2.0 * R0 * Rn * Pl * In * Pr;
  if (n + 1 < N) f += 2.0 * R0 * Rn * In * Pr * Rn1;
  return f;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int64_t dims[DTF_MAX_MODES] = {80, 80, 80, 80}, J = 2000;
  int N = 4, B = 8, iters = 5, me, np;
  static const struct option opts[] = {{"dims", required_argument, 0, 'd'},
                                       {"bond", required_argument, 0, 'b'},
                                       {"iters", required_argument, 0, 'i'},
                                       {"sampled", required_argument, 0, 'j'},
                                       {0, 0, 0, 0}};
  int opt;
  while ((opt = getopt_long(argc, argv, "d:b:i:j:", opts, NULL)) != -1) {
    if (opt == 'd') N = bench_parse_dims(optarg, dims);
    if (opt == 'b') B = atoi(optarg);
    if (opt == 'i') iters = atoi(optarg);
    if (opt == 'j') J = atoll(optarg);
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &me);
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  dtf_grid_t *g;
  if (dtf_grid_create(MPI_COMM_WORLD, N, dims, NULL, &g)) {
    if (!me) fprintf(stderr, "%s\n", dtf_error_message());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  double *local;
  dtf_generate_dense(g, B, 0.01, 1, &local, NULL);
  dtf_tensor_t *t;
  dtf_dense_tensor_wrap(N, g->start, g->len, local, &t);
  int ranks[DTF_MAX_MODES];
  for (int n = 0; n < N; n++) ranks[n] = B;

  double gemm = bench_dgemm_rate(2000, MPI_COMM_WORLD);

  /* each core's local contraction on its own (after one warm-up call per core) */
  double mode_rate[DTF_MAX_MODES], sweep_flops = 0;
  {
    dtf_tr_model_t m;
    dtf_tr_model_init(g, ranks, &m);
    const double *C[DTF_MAX_MODES];
    int64_t most = 0;
    for (int k = 0; k < N; k++) {
      dtf_factor_fill_normal(&m.cores[k], 3, 1, NULL);
      C[k] = m.cores[k].block;
      if (g->len[k] * m.cores[k].R > most) most = g->len[k] * m.cores[k].R;
    }
    double *out = malloc((size_t)most * sizeof(double));
    for (int n = 0; n < N; n++) {
      double best = 1e30, flops = contract_flops(N, g->len, ranks, n);
      for (int rep = 0; rep < 3; rep++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = dtf_now();
        t->ops->tr_contract(t, n, C, ranks, out);
        double dt = dtf_now() - t0;
        if (rep > 0 && dt < best) best = dt;
      }
      MPI_Allreduce(MPI_IN_PLACE, &best, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
      mode_rate[n] = flops / best / 1e9;
      sweep_flops += flops;
    }
    free(out);
    dtf_tr_model_free(&m);
  }
  MPI_Allreduce(MPI_IN_PLACE, &sweep_flops, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);

  double per[2], fit[2];
  dtf_tr_summary_t sm[2];
  for (int sampled = 0; sampled < 2; sampled++) {
    dtf_tr_options_t o;
    dtf_tr_options_default(&o);
    memcpy(o.ranks, ranks, sizeof ranks);
    o.max_iters = iters;
    o.tol = 0;
    o.sample = sampled ? J : 0;
    o.fit_every = iters;
    dtf_tr_als_t *s;
    if (dtf_tr_als_init(g, t, &o, &s)) {
      if (!me) fprintf(stderr, "%s\n", dtf_error_message());
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    dtf_solver_t solver = dtf_tr_als_solver(s);
    /* the first sweep allocates and touches the workspaces: time the others */
    dtf_progress_t p;
    solver.ops->iterate(s, &p);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = dtf_now();
    for (int it = 1; it < iters - 1; it++) solver.ops->iterate(s, &p);
    double wall = dtf_now() - t0;
    solver.ops->iterate(s, &p); /* the last computes the fit of a sampled run */
    MPI_Allreduce(MPI_IN_PLACE, &wall, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    per[sampled] = wall / (iters - 2);
    dtf_tr_als_summary(s, &sm[sampled]);
    fit[sampled] = sm[sampled].fit;
    dtf_tr_als_free(s);
  }
  if (!me) {
    char gt[64];
    dtf_grid_format(g, gt, sizeof gt);
    printf("dims");
    for (int k = 0; k < N; k++) printf("%s%lld", k ? "x" : " ", (long long)dims[k]);
    printf("  bonds %d  ranks %d  grid %s  sweeps %d (timed: %d)\n", B, np, gt, iters, iters - 2);
    printf("DGEMM (n=2000, all ranks at once)      %8.2f GFLOP/s per rank, %8.2f total\n", gemm, gemm * np);
    for (int n = 0; n < N; n++)
      printf("local contraction, core %d             %8.2f GFLOP/s per rank  ratio %.2f\n", n + 1,
             mode_rate[n], mode_rate[n] / gemm);
    printf("exact TR-ALS sweep                     %8.4f s  %8.2f GFLOP/s total  ratio to DGEMM %.2f  fit "
           "%.6f\n",
           per[0], sweep_flops / per[0] / 1e9, sweep_flops / per[0] / 1e9 / (gemm * np), fit[0]);
    printf("sampled TR-ALS sweep (J = %lld)        %8.4f s  (%.1fx faster)  fit %.6f\n", (long long)J, per[1],
           per[0] / per[1], fit[1]);
  }
  dtf_tensor_free(t);
  dtf_grid_free(g);
  MPI_Finalize();
  return 0;
}
