/* dtf convert: FROSTT .tns text to a sparse COO group in HDF5, and back, in parallel. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "timer.h"

static const char *help =
    "usage: mpirun -np N dtf convert IN OUT [options]\n"
    "\n"
    "Convert a sparse tensor between FROSTT text and HDF5, in parallel:\n"
    "  IN.tns -> OUT.h5[:/group]   (default group /X; the COO layout of docs/formats.md)\n"
    "  IN.h5:/group -> OUT.tns     (1-based indices, values with up to 17 digits: exact)\n"
    "Each rank parses its own byte range of the text. Lines are numbered in errors.\n"
    "\n"
    "      --dims AxBxC      the shape (default: the largest index in each mode); an index\n"
    "                        beyond it is an error\n"
    "      --sum-duplicates  add entries with equal coordinates (default: refuse them,\n"
    "                        naming both lines); summed output is written in owner order\n"
    "      --json FILE       write a machine-readable summary\n"
    "  -q, --quiet           no progress lines\n"
    "  -h, --help            this text\n";

int cli_convert(cli_t *c, int argc, char **argv) {
  static const struct option opts[] = {
      {"dims", required_argument, 0, 'd'}, {"sum-duplicates", no_argument, 0, 'D'}, CLI_SHARED_OPTIONS};
  int64_t dims[DTF_MAX_MODES];
  int nmodes = 0, sum = 0, opt, rc;
  opterr = 0;
  optind = 1;
  while ((opt = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
    switch (opt) {
    case 'd':
      if ((rc = cli_dims_option(c, optarg, dims, &nmodes))) return rc;
      break;
    case 'D': sum = 1; break;
    default:
      if ((rc = cli_shared_option(c, opt, argv, help)) != CLI_NEXT) return rc;
    }
  }
  if (argc - optind != 2) return cli_usage(c, "expected IN and OUT");
  const char *in = argv[optind], *out = argv[optind + 1];
  dtf_spec_t ins, outs;
  dtf_status st = dtf_spec_parse(in, "/X", &ins);
  if (!st) st = dtf_spec_parse(out, "/X", &outs);
  if (st) return cli_fail(c, st);
  int to_h5 = dtf_is_tns(ins.file);
  if (to_h5 == dtf_is_tns(outs.file))
    return cli_usage(
        c, "convert turns a .tns file into HDF5 or HDF5 into a .tns file: exactly one of IN and OUT "
           "must end in .tns");
  if (!to_h5 && nmodes) return cli_usage(c, "--dims applies to .tns input only (HDF5 keeps its dims)");
  st = dtf_check_distinct(MPI_COMM_WORLD, ins.file, outs.file, "IN and OUT");
  if (!st) st = dtf_check_writable(MPI_COMM_WORLD, outs.file);
  if (!st && c->json) st = dtf_check_distinct(MPI_COMM_WORLD, ins.file, c->json, "IN and --json");
  if (!st && c->json) st = dtf_check_writable(MPI_COMM_WORLD, c->json);
  if (st) return cli_fail(c, st);

  double t0 = dtf_now();
  dtf_coo_t all, mine = {0};
  st = to_h5 ? dtf_tns_read(MPI_COMM_WORLD, ins.file, nmodes, nmodes ? dims : NULL, &all)
             : dtf_h5_sparse_read(MPI_COMM_WORLD, &ins, &all);
  if (st) return cli_fail(c, st);
  double t_read = dtf_now() - t0;
  /* duplicates: equal coordinates meet on the rank owning their block */
  dtf_grid_t *g = NULL;
  int64_t merged = 0;
  st = dtf_grid_create(MPI_COMM_WORLD, all.nmodes, all.dims, NULL, &g);
  if (!st) st = dtf_distribute_coo(g, &all, &mine, NULL);
  if (!st) st = dtf_agree(MPI_COMM_WORLD, dtf_coo_duplicates(&mine, sum, g->start, &merged));
  if (!st) dtf_allreduce(MPI_COMM_WORLD, &merged, 1, MPI_INT64_T, MPI_SUM, NULL);
  const dtf_coo_t *write = &all;
  if (!st && merged) { /* write the summed entries, back in global indices */
    for (int64_t k = 0; k < mine.nnz; k++)
      for (int m = 0; m < mine.nmodes; m++) mine.inds[k * mine.nmodes + m] += g->start[m];
    write = &mine;
  }
  double t1 = dtf_now();
  if (!st)
    st = to_h5 ? dtf_h5_sparse_write(MPI_COMM_WORLD, &outs, write)
               : dtf_tns_write(MPI_COMM_WORLD, outs.file, write);
  double t_write = dtf_now() - t1;
  int64_t nnz = write->nnz;
  dtf_allreduce(MPI_COMM_WORLD, &nnz, 1, MPI_INT64_T, MPI_SUM, NULL);
  if (!st) {
    struct stat sb;
    double text = stat(to_h5 ? ins.file : outs.file, &sb) == 0 ? (double)sb.st_size : 0;
    char d[128], b[32];
    cli_format_dims(all.nmodes, all.dims, d, sizeof d);
    cli_bytes(text, b, sizeof b);
    double mbs = text / 1e6 / ((to_h5 ? t_read : t_write) > 0 ? (to_h5 ? t_read : t_write) : 1e-9);
    if (to_h5)
      cli_progress(c, "parsed in %.2f s (%.0f MB/s of text), wrote HDF5 in %.2f s\n", t_read, mbs, t_write);
    else
      cli_progress(c, "read HDF5 in %.2f s, wrote text in %.2f s (%.0f MB/s)\n", t_read, t_write, mbs);
    cli_result(c, "wrote %s%s%s: %s, %lld nonzeros%s (%s of text)\n", outs.file, to_h5 ? ":" : "",
               to_h5 ? outs.path : "", d, (long long)nnz, merged ? " after summing duplicates" : "", b);
    dtf_json_t *j = cli_json_begin(c, g);
    if (j) {
      dtf_json_string(j, "input", in);
      dtf_json_string(j, "output", out);
      dtf_json_int(j, "nnz", nnz);
      dtf_json_int(j, "duplicates_summed", merged);
      dtf_json_number(j, "text_bytes", text);
      dtf_json_number(j, "time_read_s", t_read);
      dtf_json_number(j, "time_write_s", t_write);
    }
    st = cli_json_end(c, j);
  }
  dtf_coo_free(&all);
  dtf_coo_free(&mine);
  dtf_grid_free(g);
  return st ? cli_fail(c, st) : 0;
}
