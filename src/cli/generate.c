/* dtf generate: a synthetic low-rank dense tensor, written in parallel. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "timer.h"

static const char *help =
    "usage: mpirun -np N dtf generate -o OUT.h5[:/X] --dims 300x200x100 --rank R [options]\n"
    "\n"
    "Write a dense tensor X = [[A_1, ..., A_N]] + noise, with standard normal factors A_n,\n"
    "in parallel (each rank its own block). The values depend on the seed, not on the number\n"
    "of ranks (up to rounding in the last bits).\n"
    "\n"
    "  -o, --output OUT      output file, optionally :/dataset (default dataset /X)\n"
    "      --dims AxBxC      tensor shape, 2 to 8 modes (required)\n"
    "  -r, --rank R          rank of the planted model (required, >= 1)\n"
    "      --noise E         Gaussian noise with standard deviation E x RMS of the clean\n"
    "                        tensor (default 0)\n"
    "      --seed S          random seed (default 0)\n"
    "      --nnz N           a sparse tensor of exactly N distinct nonzeros instead (the\n"
    "                        planted model's values there, plus noise), written as a COO\n"
    "                        group, or as FROSTT text when OUT ends in .tns\n"
    "      --truth FILE      also write the planted model as a CP model file\n"
    "      --grid AxBxC      process grid (default: chosen automatically)\n"
    "      --json FILE       write a machine-readable summary\n"
    "  -q, --quiet           no progress lines\n"
    "  -h, --help            this text\n";

/* The JSON summary of both kinds of output (nnz 0: dense). */
static dtf_status summary(const cli_t *c, const dtf_grid_t *g, const char *out, const char *truth, int64_t R,
                          int64_t nnz, double noise, uint64_t seed, double t_gen, double t_write) {
  dtf_json_t *j = cli_json_begin(c, g);
  if (j) {
    dtf_json_string(j, "output", out);
    dtf_json_int(j, "rank", R);
    if (nnz) dtf_json_int(j, "nnz", nnz);
    dtf_json_number(j, "noise", noise);
    dtf_json_int(j, "seed", (int64_t)seed);
    dtf_json_number(j, "time_generate_s", t_gen);
    dtf_json_number(j, "time_write_s", t_write);
    if (truth) dtf_json_string(j, "truth", truth);
  }
  return cli_json_end(c, j);
}

/* --nnz: a sparse tensor written as a COO group, or as .tns text when OUT ends in .tns. */
static dtf_status generate_sparse(const cli_t *c, const dtf_grid_t *g, const dtf_spec_t *spec,
                                  const char *out, const char *truth, int R, int64_t nnz, double noise,
                                  uint64_t seed) {
  int tns = dtf_is_tns(spec->file);
  char d[128], gt[64];
  cli_format_dims(g->nmodes, g->dims, d, sizeof d);
  dtf_grid_format(g, gt, sizeof gt);
  cli_progress(c, "generate sparse %s, %lld nonzeros, rank %d noise %g seed %llu -> %s%s%s on %d rank%s\n", d,
               (long long)nnz, R, noise, (unsigned long long)seed, spec->file, tns ? "" : ":",
               tns ? "" : spec->path, c->size, c->size == 1 ? "" : "s");
  double t0 = dtf_now();
  dtf_coo_t coo;
  dtf_status st = dtf_generate_sparse(MPI_COMM_WORLD, g->nmodes, g->dims, R, nnz, noise, seed, &coo);
  if (st) return st;
  double t_gen = dtf_now() - t0;
  t0 = dtf_now();
  st =
      tns ? dtf_tns_write(MPI_COMM_WORLD, spec->file, &coo) : dtf_h5_sparse_write(MPI_COMM_WORLD, spec, &coo);
  double t_write = dtf_now() - t0;
  if (!st && truth) { /* the planted model, with its fit on the noisy tensor */
    dtf_cp_model_t model;
    dtf_coo_t mine;
    dtf_tensor_t *t = NULL;
    st = dtf_generate_truth(g, R, seed, &model);
    if (!st) {
      st = dtf_distribute_coo(g, &coo, &mine, NULL);
      if (!st)
        st = dtf_agree(g->comm,
                       dtf_sparse_tensor_create(g->nmodes, g->len, mine.nnz, mine.inds, mine.vals, &t));
      dtf_coo_free(&mine);
      if (!st) st = dtf_cp_fit(g, t, &model, &model.fit);
      dtf_tensor_free(t);
      if (!st) st = dtf_h5_cp_write(g, truth, &model);
      dtf_cp_model_free(&model);
    }
  }
  dtf_coo_free(&coo);
  if (st) return st;
  cli_progress(c, "generated in %.2f s, wrote in %.2f s\n", t_gen, t_write);
  cli_result(c, "wrote %s%s%s %s, %lld nonzeros%s%s\n", spec->file, tns ? "" : ":", tns ? "" : spec->path, d,
             (long long)nnz, truth ? ", planted model in " : "", truth ? truth : "");
  return summary(c, g, out, truth, R, nnz, noise, seed, t_gen, t_write);
}

int cli_generate(cli_t *c, int argc, char **argv) {
  static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                       {"dims", required_argument, 0, 'd'},
                                       {"rank", required_argument, 0, 'r'},
                                       {"noise", required_argument, 0, 'n'},
                                       {"seed", required_argument, 0, 's'},
                                       {"truth", required_argument, 0, 't'},
                                       {"nnz", required_argument, 0, 'z'},
                                       {"grid", required_argument, 0, 'g'},
                                       CLI_SHARED_OPTIONS};
  const char *out = NULL, *truth = NULL, *grid_text = NULL;
  int64_t dims[DTF_MAX_MODES], v, R = 0, nnz = 0;
  int nmodes = 0, opt, rc;
  double noise = 0;
  uint64_t seed = 0;
  opterr = 0;
  optind = 1;
  while ((opt = getopt_long(argc, argv, ":o:r:qh", opts, NULL)) != -1) {
    switch (opt) {
    case 'o': out = optarg; break;
    case 'd':
      if ((rc = cli_dims_option(c, optarg, dims, &nmodes))) return rc;
      break;
    case 'r':
      if (cli_int(optarg, 1, 1000000, &R))
        return cli_usage(c, "--rank must be an integer >= 1, not '%s'", optarg);
      break;
    case 'n':
      if (cli_double(optarg, &noise) || noise < 0)
        return cli_usage(c, "--noise must be a number >= 0, not '%s'", optarg);
      break;
    case 's':
      if (cli_int(optarg, 0, INT64_MAX, &v))
        return cli_usage(c, "--seed must be an integer >= 0, not '%s'", optarg);
      seed = (uint64_t)v;
      break;
    case 't': truth = optarg; break;
    case 'z':
      if (cli_int(optarg, 1, INT64_MAX, &nnz))
        return cli_usage(c, "--nnz must be an integer >= 1, not '%s'", optarg);
      break;
    case 'g': grid_text = optarg; break;
    default:
      if ((rc = cli_shared_option(c, opt, argv, help)) != CLI_NEXT) return rc;
    }
  }
  if (optind < argc) return cli_usage(c, "unexpected argument '%s'", argv[optind]);
  if (!out) return cli_usage(c, "missing --output (-o)");
  if (!nmodes) return cli_usage(c, "missing --dims");
  if (!R) return cli_usage(c, "missing --rank (-r)");
  double entries = 1;
  for (int k = 0; k < nmodes; k++) entries *= (double)dims[k];
  if (entries > 9.2e18)
    return cli_usage(c, "--dims: the tensor has more entries than a 64-bit index can count");

  dtf_spec_t spec;
  dtf_status st = dtf_spec_parse(out, "/X", &spec);
  if (st) return cli_fail(c, st);
  st = dtf_check_writable(MPI_COMM_WORLD, spec.file);
  if (!st && truth) st = dtf_check_distinct(MPI_COMM_WORLD, spec.file, truth, "--output and --truth");
  if (!st && truth) st = dtf_check_writable(MPI_COMM_WORLD, truth);
  if (!st && c->json) st = dtf_check_writable(MPI_COMM_WORLD, c->json);
  int pd[DTF_MAX_MODES];
  if (!st && grid_text) st = dtf_grid_parse(grid_text, nmodes, pd);
  dtf_grid_t *g = NULL;
  if (!st) st = dtf_grid_create(MPI_COMM_WORLD, nmodes, dims, grid_text ? pd : NULL, &g);
  if (st) return cli_fail(c, st);
  if (nnz) {
    st = generate_sparse(c, g, &spec, out, truth, (int)R, nnz, noise, seed);
    dtf_grid_free(g);
    return st ? cli_fail(c, st) : 0;
  }

  char d[128], b[32], gt[64];
  cli_format_dims(nmodes, dims, d, sizeof d);
  cli_bytes(entries * 8, b, sizeof b);
  dtf_grid_format(g, gt, sizeof gt);
  cli_progress(c, "generate %s rank %lld noise %g seed %llu -> %s:%s (%s) on %d rank%s, grid %s\n", d,
               (long long)R, noise, (unsigned long long)seed, spec.file, spec.path, b, c->size,
               c->size == 1 ? "" : "s", gt);
  double t0 = dtf_now();
  double *local = NULL;
  dtf_cp_model_t model;
  st = dtf_generate_dense(g, (int)R, noise, seed, &local, truth ? &model : NULL);
  double t_gen = dtf_now() - t0;
  if (!st) {
    t0 = dtf_now();
    st = dtf_h5_dense_write(g, &spec, local);
    double t_write = dtf_now() - t0;
    if (!st && truth) {
      /* the fit the planted model has on the noisy tensor, recorded in its file */
      dtf_tensor_t *t = NULL;
      st = dtf_dense_tensor_wrap(nmodes, g->len, local, &t);
      if (!st) {
        local = NULL; /* the tensor owns it now */
        st = dtf_cp_fit(g, t, &model, &model.fit);
        dtf_tensor_free(t);
      }
      if (!st) st = dtf_h5_cp_write(g, truth, &model);
    }
    if (!st) {
      cli_progress(c, "generated in %.2f s, wrote in %.2f s (%.0f MB/s)\n", t_gen, t_write,
                   entries * 8 / 1e6 / (t_write > 0 ? t_write : 1e-9));
      cli_result(c, "wrote %s:%s %s%s%s\n", spec.file, spec.path, d, truth ? ", planted model in " : "",
                 truth ? truth : "");
      st = summary(c, g, out, truth, R, 0, noise, seed, t_gen, t_write);
    }
    if (truth) dtf_cp_model_free(&model);
  }
  free(local);
  dtf_grid_free(g);
  return st ? cli_fail(c, st) : 0;
}
