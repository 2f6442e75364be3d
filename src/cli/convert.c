/* dtf convert: FROSTT .tns text to a sparse COO group in HDF5, and back, in parallel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "timer.h"

static const char *intro =
    "usage: mpirun -np N dtf convert IN OUT [options]\n"
    "\n"
    "Convert a sparse tensor between FROSTT text and HDF5, in parallel:\n"
    "  IN.tns -> OUT.h5[:/group]   (default group /X; the COO layout of docs/formats.md)\n"
    "  IN.h5:/group -> OUT.tns     (1-based indices, values with up to 17 digits: exact)\n"
    "Each rank parses its own byte range of the text. Lines are numbered in errors. An\n"
    "existing OUT.h5 is replaced only if it holds nothing but the group written (--force).\n";

static const cli_accept_t accepted[] = {
    {OPT_DIMS, "the shape (default: the largest index in each mode); an index beyond it is an error"},
    {OPT_DUPLICATES, "entries with equal coordinates: error (default: refuse them, naming both lines), sum, "
                     "max, first or last; combined output is written in owner order"},
    {OPT_SUM_DUPLICATES, NULL},
    {OPT_FORCE, NULL},
};

int cli_convert(cli_t *c, int argc, char **argv) {
  cli_opts_t o = {0};
  int rc = cli_parse(c, argc, argv, accepted, sizeof accepted / sizeof accepted[0], intro, &o);
  if (rc >= 0) return rc;
  if (o.npos != 2) return cli_usage(c, "expected IN and OUT");
  const char *in = o.pos[0], *out = o.pos[1];
  int nmodes = o.nmodes;
  int64_t *dims = o.dims;
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
  cli_files_t files = {0};
  st = cli_files_input(&files, in);
  if (st) return cli_fail(c, st);
  cli_files_output(&files, outs.file, outs.path, to_h5 ? DTF_OUT_TENSOR : DTF_OUT_TNS, "OUT", 0);
  if ((rc = cli_files_check(c, &files, o.force))) return rc;

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
  char what[5200];
  snprintf(what, sizeof what, to_h5 ? "'%s'" : "'%s:%s'", ins.file, ins.path);
  if (!st) st = dtf_agree(MPI_COMM_WORLD, dtf_coo_duplicates(&mine, o.duplicates, g->start, what, &merged));
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
    dtf_format_dims(all.nmodes, all.dims, d, sizeof d);
    dtf_format_bytes(text, b, sizeof b);
    double mbs = text / 1e6 / ((to_h5 ? t_read : t_write) > 0 ? (to_h5 ? t_read : t_write) : 1e-9);
    if (to_h5)
      cli_progress(c, "parsed in %.2f s (%.0f MB/s of text), wrote HDF5 in %.2f s\n", t_read, mbs, t_write);
    else
      cli_progress(c, "read HDF5 in %.2f s, wrote text in %.2f s (%.0f MB/s)\n", t_read, t_write, mbs);
    cli_result(c, "wrote %s%s%s: %s, %lld entries%s (%s of text)\n", outs.file, to_h5 ? ":" : "",
               to_h5 ? outs.path : "", d, (long long)nnz, merged ? " after combining equal coordinates" : "",
               b);
    dtf_json_t *j = cli_json_begin(c, g);
    dtf_json_string(j, "input", in);
    dtf_json_string(j, "output", out);
    dtf_json_int(j, "nnz", nnz);
    dtf_json_int(j, "duplicates_combined", merged);
    dtf_json_string(j, "duplicates", dtf_dup_rule_name(o.duplicates));
    dtf_json_number(j, "text_bytes", text);
    dtf_json_number(j, "time_read_s", t_read);
    dtf_json_number(j, "time_write_s", t_write);
    st = cli_json_end(c, j);
  }
  dtf_coo_free(&all);
  dtf_coo_free(&mine);
  dtf_grid_free(g);
  return st ? cli_fail(c, st) : 0;
}
