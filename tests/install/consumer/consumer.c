/* A tiny program built against an installed dtf: factor a small generated tensor. */
#include <stdio.h>

#include <dtf/dtf.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int64_t dims[3] = {12, 10, 8};
  dtf_grid_t *g;
  double *local;
  dtf_tensor_t *t;
  dtf_cp_als_t *s;
  dtf_cp_options_t o;
  dtf_cp_options_default(&o);
  o.rank = 2;
  o.max_iters = 200;
  o.tol = 1e-10;
  int rc = dtf_grid_create(MPI_COMM_WORLD, 3, dims, NULL, &g) ||
           dtf_generate_dense(g, 2, 0.0, 1, &local, NULL) ||
           dtf_dense_tensor_wrap(3, g->start, g->len, local, &t) || dtf_cp_als_init(g, t, &o, &s) ||
           dtf_cp_als_run(s);
  if (rc) {
    fprintf(stderr, "consumer: %s\n", dtf_error_message());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  if (g->rank == 0) printf("dtf %s fit %.6f\n", DTF_VERSION, s->fit);
  int ok = s->fit > 0.999;
  dtf_cp_als_free(s);
  dtf_tensor_free(t);
  dtf_grid_free(g);
  MPI_Finalize();
  return ok ? 0 : 1;
}
