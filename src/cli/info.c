/* dtf info: what a tensor, model or checkpoint file holds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *intro =
    "usage: mpirun -np N dtf info INPUT [options]\n"
    "\n"
    "For a dense tensor (file.h5:/dataset; file.h5 alone means file.h5:/X): shape, type,\n"
    "size, and statistics read in parallel (norm, min, max, mean, non-finite entries). For a\n"
    "sparse tensor (a COO group or X.tns): shape, entries, density, norm, slice statistics.\n"
    "For a model or checkpoint file written by dtf (file.h5 with no dataset): its header.\n";

static const cli_accept_t accepted[] = {
    {OPT_DUPLICATES, NULL},
    {OPT_SUM_DUPLICATES, NULL},
    {OPT_FORCE, "replace an existing --json file that dtf did not write"}};

/* A model or checkpoint file: its manifest header and attributes; -1 if it is none. */
static int model_info(cli_t *c, const char *file) {
  dtf_state_t *h = malloc(sizeof *h);
  if (!h) return -1;
  dtf_status st = dtf_h5_state_peek(MPI_COMM_WORLD, file, h);
  if (st && h->model[0]) { /* a model or checkpoint this dtf refuses: say why */
    free(h);
    return cli_fail(c, st);
  }
  if (st || !h->model[0] || h->nmodes < 2) {
    free(h);
    return -1;
  }
  char d[128], line[512] = "";
  dtf_format_dims(h->nmodes, h->dims, d, sizeof d);
  int used = snprintf(line, sizeof line, "%s: %s %s, dims %s", file, h->model,
                      h->checkpoint ? "checkpoint" : "model", d);
  static const char *const shown[] = {"rank", "bond_ranks", "fit", "iterations"};
  for (int k = 0; k < 4 && used < (int)sizeof line; k++) {
    const dtf_attr_t *a = dtf_state_attr(h, shown[k]);
    char v[128];
    if (a && a->type == DTF_ATTR_INTS) {
      dtf_format_dims(a->n, a->ints, v, sizeof v);
      used += snprintf(line + used, sizeof line - (size_t)used, ", %s %s", shown[k], v);
    } else if (a && a->type == DTF_ATTR_INT)
      used += snprintf(line + used, sizeof line - (size_t)used, ", %s %lld", shown[k], (long long)a->i);
    else if (a && a->type == DTF_ATTR_REAL)
      used += snprintf(line + used, sizeof line - (size_t)used, ", %s %.6f", shown[k], a->d);
  }
  cli_result(c, "%s\n", line);
  if (h->solver[0]) cli_result(c, "written by %s on %d ranks\n", h->solver, h->ranks);
  dtf_json_t *j = cli_json_begin(c, NULL);
  dtf_json_string(j, "input", file);
  dtf_json_string(j, "model", h->model);
  dtf_json_string(j, "solver", h->solver);
  dtf_json_bool(j, "checkpoint", h->checkpoint);
  dtf_json_int_array(j, "dims", h->dims, h->nmodes);
  for (int k = 0; k < h->nattrs; k++) {
    const dtf_attr_t *a = &h->attrs[k];
    if (a->type == DTF_ATTR_INT) dtf_json_int(j, a->name, a->i);
    if (a->type == DTF_ATTR_REAL) dtf_json_number(j, a->name, a->d);
    if (a->type == DTF_ATTR_INTS) dtf_json_int_array(j, a->name, a->ints, a->n);
  }
  free(h);
  st = cli_json_end(c, j);
  return st ? cli_fail(c, st) : 0;
}

/* Mode m's slices that hold entries, over all ranks, and the most entries in one, without
 * an array over the mode's indices (a mode may have billions): each rank's (slice, count)
 * pairs go to the rank of its slice communicator that owns the slice's part of the block,
 * which adds them up. Memory: the local entries' slices. Collective. */
static dtf_status slice_stats(const dtf_grid_t *g, const dtf_tensor_t *t, int m, int64_t *nonempty,
                              int64_t *most) {
  int64_t n = t->ops->entries(t), len = g->len[m], S = g->slice_size[m];
  int64_t *ids = malloc((size_t)(n ? n : 1) * sizeof(int64_t)),
          *cnt = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
  int64_t *send = malloc((size_t)(n ? n : 1) * 2 * sizeof(int64_t)), *to = calloc((size_t)S, sizeof(int64_t));
  dtf_status st =
      ids && cnt && send && to ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory counting slices");
  st = dtf_agree(g->comm, st);
  int64_t *recv = NULL, nrecv = 0, stat[2] = {0, 0}; /* slices with entries, most entries */
  if (!st) {
    int64_t k = dtf_sparse_tensor_slices(t, m, ids, cnt);
    int64_t base = len / S, rem = len % S, cut = rem * (base + 1); /* dtf_block_range's parts */
    for (int64_t i = 0; i < k; i++) {                              /* ids increase, so their owners do too */
      int q = (int)(ids[i] < cut ? ids[i] / (base + 1) : rem + (ids[i] - cut) / base);
      to[q]++;
      send[2 * i] = ids[i];
      send[2 * i + 1] = cnt[i];
    }
    st = dtf_alltoallv_records(g->slice[m], send, to, 2, &recv, &nrecv, NULL);
  }
  if (!st && nrecv) st = dtf_sort_tuples(recv, nrecv, 2, 1); /* each sender's pairs are sorted, not all */
  st = dtf_agree(g->comm, st);
  if (!st)
    for (int64_t i = 0; i < nrecv;) {
      int64_t j = i, sum = 0;
      for (; j < nrecv && recv[2 * j] == recv[2 * i]; j++) sum += recv[2 * j + 1];
      stat[0]++;
      if (sum > stat[1]) stat[1] = sum;
      i = j;
    }
  free(ids);
  free(cnt);
  free(send);
  free(to);
  free(recv);
  if (!st) dtf_allreduce(g->comm, &stat[0], 1, MPI_INT64_T, MPI_SUM, NULL);
  if (!st) dtf_allreduce(g->comm, &stat[1], 1, MPI_INT64_T, MPI_MAX, NULL);
  *nonempty = stat[0];
  *most = stat[1];
  return st;
}

int cli_info(cli_t *c, int argc, char **argv) {
  cli_opts_t o = {0};
  int rc = cli_parse(c, argc, argv, accepted, sizeof accepted / sizeof accepted[0], intro, &o);
  if (rc >= 0) return rc;
  if (o.npos != 1) return cli_usage(c, "expected one INPUT");
  const char *input = o.pos[0];
  c->quiet = 1;
  cli_files_t files = {0};
  dtf_status st = cli_files_input(&files, input);
  if (st) return cli_fail(c, st);
  if ((rc = cli_files_check(c, &files, o.force))) return rc;
  /* a bare file name may be a model file */
  if (!strstr(input, ":/") && !dtf_is_tns(input)) {
    rc = model_info(c, input);
    if (rc >= 0) return rc;
  }
  dtf_grid_t *g;
  dtf_tensor_t *t;
  cli_loaded_t in;
  cli_load_t lo = {.duplicates = o.duplicates};
  st = cli_load_tensor(c, input, &lo, &in, &g, &t);
  const dtf_spec_t spec = in.spec;
  int eb = in.elem_bytes;
  if (st) return cli_fail(c, st);
  if (eb == 0) { /* sparse */
    double norm = 0, cells = 1;
    int64_t nnz = in.entries;
    dtf_tensor_norm(g, t, &norm);
    for (int k = 0; k < g->nmodes; k++) cells *= (double)g->dims[k];
    char d[128];
    dtf_format_dims(g->nmodes, g->dims, d, sizeof d);
    cli_result(c,
               "%s%s%s: sparse, dims %s, %lld entries (density %.3g), %lld entries with equal coordinates "
               "combined\nnorm %.6g\n",
               spec.file, dtf_is_tns(spec.file) ? "" : ":", dtf_is_tns(spec.file) ? "" : spec.path, d,
               (long long)nnz, (double)nnz / cells, (long long)in.duplicates, norm);
    /* per mode: slices with entries, and entries per slice (max, mean over all slices) */
    int64_t nonempty[DTF_MAX_MODES], most[DTF_MAX_MODES];
    for (int m = 0; !st && m < g->nmodes; m++) {
      st = slice_stats(g, t, m, &nonempty[m], &most[m]);
      if (!st)
        cli_result(c, "mode %d: %lld slices, %lld with entries; entries per slice max %lld, mean %.3g\n",
                   m + 1, (long long)g->dims[m], (long long)nonempty[m], (long long)most[m],
                   (double)nnz / (double)g->dims[m]);
    }
    if (st) {
      cli_loaded_free(&in);
      dtf_tensor_free(t);
      dtf_grid_free(g);
      return cli_fail(c, st);
    }
    dtf_json_t *j = cli_json_begin(c, g);
    cli_json_input(j, input, t, &in, 0);
    dtf_json_int_array(j, "nonempty_slices", nonempty, g->nmodes);
    dtf_json_int_array(j, "max_slice_nnz", most, g->nmodes);
    dtf_json_number(j, "density", (double)nnz / cells);
    dtf_json_number(j, "norm", norm);
    st = cli_json_end(c, j);
    cli_loaded_free(&in);
    dtf_tensor_free(t);
    dtf_grid_free(g);
    return st ? cli_fail(c, st) : 0;
  }
  const double *x = dtf_dense_tensor_data(t);
  int64_t n = 1;
  for (int k = 0; k < g->nmodes; k++) n *= g->len[k];
  /* finite entries: count, sum (for the mean), min, max, and their norm without overflow */
  double sums[2] = {0, 0}, mm[2] = {INFINITY, INFINITY}, norm_local = 0; /* sum, nonfinite; min, -max */
  enum { CHUNK = 4096 };
  double finite_part[CHUNK];
  int fill = 0;
  for (int64_t i = 0; i < n; i++) {
    if (!isfinite(x[i])) {
      sums[1] += 1;
      continue;
    }
    sums[0] += x[i];
    if (x[i] < mm[0]) mm[0] = x[i];
    if (-x[i] < mm[1]) mm[1] = -x[i];
    finite_part[fill++] = x[i];
    if (fill == CHUNK) {
      norm_local = hypot(norm_local, dtf_norm(fill, finite_part));
      fill = 0;
    }
  }
  if (fill) norm_local = hypot(norm_local, dtf_norm(fill, finite_part));
  double norm = 0;
  dtf_allreduce_norm(g->comm, norm_local, &norm, NULL);
  dtf_allreduce_sum(g->comm, sums, 2, NULL);
  dtf_allreduce(g->comm, mm, 2, MPI_DOUBLE, MPI_MIN, NULL);
  double total = 1;
  for (int k = 0; k < g->nmodes; k++) total *= (double)g->dims[k];
  char d[128], b[32];
  dtf_format_dims(g->nmodes, g->dims, d, sizeof d);
  dtf_format_bytes(total * eb, b, sizeof b);
  double finite = total - sums[1], mean = finite > 0 ? sums[0] / finite : NAN;
  cli_result(c,
             "%s:%s: dense float%d, dims %s, %.0f entries (%s)\n"
             "norm %.6g  min %.6g  max %.6g  mean %.6g  non-finite %.0f\n",
             spec.file, spec.path, eb * 8, d, total, b, norm, mm[0], -mm[1], mean, sums[1]);
  dtf_json_t *j = cli_json_begin(c, g);
  cli_json_input(j, input, t, &in, 0);
  dtf_json_int(j, "element_bytes", eb);
  dtf_json_number(j, "norm", norm);
  dtf_json_number(j, "min", mm[0]);
  dtf_json_number(j, "max", -mm[1]);
  dtf_json_number(j, "mean", mean);
  dtf_json_number(j, "nonfinite", sums[1]);
  st = cli_json_end(c, j);
  cli_loaded_free(&in);
  dtf_tensor_free(t);
  dtf_grid_free(g);
  return st ? cli_fail(c, st) : 0;
}
