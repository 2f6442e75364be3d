/* Dense CP-ALS benchmark: local MTTKRP and whole-sweep rates against OpenBLAS DGEMM
 * measured in the same run on the same ranks. The tensor is generated in memory (no I/O).
 *
 *   mpirun -np 2 bench/bench_cp_dense [--dims 300x300x300] [--rank 32] [--iters 10] [--grid 2x1x1]
 *
 * Effective rates count the nominal work, N x 2 x |X| x R flops per sweep (|X| the whole
 * tensor); a dimension tree does less, so the effective rate can exceed DGEMM's. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int64_t dims[DTF_MAX_MODES] = {300, 300, 300};
  int N = 3, R = 32, iters = 10, me, np;
  const char *grid_text = NULL;
  static const struct option opts[] = {{"dims", required_argument, 0, 'd'},
                                       {"rank", required_argument, 0, 'r'},
                                       {"iters", required_argument, 0, 'i'},
                                       {"grid", required_argument, 0, 'g'},
                                       {0, 0, 0, 0}};
  int opt;
  while ((opt = getopt_long(argc, argv, "d:r:i:g:", opts, NULL)) != -1) {
    if (opt == 'd') N = bench_parse_dims(optarg, dims);
    if (opt == 'r') R = atoi(optarg);
    if (opt == 'i') iters = atoi(optarg);
    if (opt == 'g') grid_text = optarg;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &me);
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  int pd[DTF_MAX_MODES];
  dtf_grid_t *g;
  if (grid_text && dtf_grid_parse(grid_text, N, pd)) {
    if (!me) fprintf(stderr, "%s\n", dtf_error_message());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  if (dtf_grid_create(MPI_COMM_WORLD, N, dims, grid_text ? pd : NULL, &g)) {
    if (!me) fprintf(stderr, "%s\n", dtf_error_message());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  double *local;
  dtf_generate_dense(g, R, 0.1, 1, &local, NULL);
  dtf_tensor_t *t;
  dtf_dense_tensor_wrap(N, g->start, g->len, local, &t);
  double total = 1, nloc = 1;
  for (int k = 0; k < N; k++) {
    total *= (double)dims[k];
    nloc *= (double)g->len[k];
  }

  double gemm = bench_dgemm_rate(2000, MPI_COMM_WORLD);

  /* local MTTKRP, each mode on its own (partials rebuilt every call) */
  double mode_rate[DTF_MAX_MODES];
  {
    dtf_cp_model_t m;
    dtf_cp_model_init(g, R, &m);
    const double *F[DTF_MAX_MODES];
    uint64_t v[DTF_MAX_MODES];
    int64_t maxlen = 0;
    for (int k = 0; k < N; k++) {
      dtf_factor_fill_normal(&m.factors[k], 3, 1, NULL);
      F[k] = m.factors[k].block;
      if (g->len[k] > maxlen) maxlen = g->len[k];
    }
    double *out = malloc((size_t)(maxlen * R) * sizeof(double));
    for (int n = 0; n < N; n++) {
      double best = 1e30;
      for (int rep = 0; rep < 3; rep++) {
        for (int k = 0; k < N; k++) v[k] = dtf_tensor_next_version();
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = dtf_now();
        t->ops->mttkrp(t, n, F, v, R, out);
        double dt = dtf_now() - t0;
        if (dt < best) best = dt;
      }
      MPI_Allreduce(MPI_IN_PLACE, &best, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
      mode_rate[n] = 2.0 * nloc * R / best / 1e9;
    }
    free(out);
    dtf_cp_model_free(&m);
  }

  dtf_cp_options_t o;
  dtf_cp_options_default(&o);
  o.rank = R;
  o.max_iters = iters;
  o.tol = 0;
  dtf_cp_als_t *s;
  /* timed like PLANC's "NTF took": the set-up (initial Grams, first partial MTTKRP) and
   * every iteration */
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = dtf_now();
  dtf_cp_als_init(g, t, &o, &s);
  double t_init = dtf_now() - t0;
  MPI_Allreduce(MPI_IN_PLACE, &t_init, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  dtf_cp_als_run(s);
  double wall = dtf_now() - t0;
  MPI_Allreduce(MPI_IN_PLACE, &wall, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  double tm[3] = {s->t_mttkrp, s->t_comm, s->t_solve}, tmax[3], tmin[3];
  MPI_Allreduce(tm, tmax, 3, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  MPI_Allreduce(tm, tmin, 3, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
  uint64_t bytes = s->comm.bytes_sent;
  MPI_Allreduce(MPI_IN_PLACE, &bytes, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
  double per_iter = wall / s->iteration;
  double sweep_rate = N * 2.0 * total * R / per_iter / 1e9;
  if (!me) {
    char gt[64];
    dtf_grid_format(g, gt, sizeof gt);
    printf("dims");
    for (int k = 0; k < N; k++) printf("%s%lld", k ? "x" : " ", (long long)dims[k]);
    printf("  R %d  ranks %d  grid %s  iterations %d\n", R, np, gt, s->iteration);
    printf("DGEMM (n=2000, all ranks at once)   %8.2f GFLOP/s per rank, %8.2f total\n", gemm, gemm * np);
    for (int n = 0; n < N; n++)
      printf("local MTTKRP mode %d (no reuse)      %8.2f GFLOP/s per rank  ratio %.2f\n", n + 1, mode_rate[n],
             mode_rate[n] / gemm);
    printf("CP-ALS sweep (set-up included)      %8.4f s/iteration, fit %.6f\n", per_iter, s->fit);
    printf("  set-up %.4f s (initial factors, Grams, ||X||, first partial MTTKRP); iterations alone %.4f s "
           "each\n",
           t_init, (wall - t_init) / s->iteration);
    printf(
        "  per iteration, max (min) over ranks: mttkrp %.4f (%.4f)  comm %.4f (%.4f)  solve %.4f (%.4f) s\n",
        tmax[0] / s->iteration, tmin[0] / s->iteration, tmax[1] / s->iteration, tmin[1] / s->iteration,
        tmax[2] / s->iteration, tmin[2] / s->iteration);
    printf("  communication %.1f kB/iteration per rank (max)\n", (double)bytes / s->iteration / 1e3);
    printf("sweep effective rate (N x 2|X|R)    %8.2f GFLOP/s total  ratio to DGEMM %.2f\n", sweep_rate,
           sweep_rate / (gemm * np));
  }
  dtf_cp_als_free(s);
  dtf_tensor_free(t);
  dtf_grid_free(g);
  MPI_Finalize();
  return 0;
}
