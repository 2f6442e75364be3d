/* Helpers shared by the dtf subcommands. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "timer.h"

int cli_fail(const cli_t *c, dtf_status st) {
  if (c->rank == 0) fprintf(stderr, "dtf %s: error: %s\n", c->cmd, dtf_error_message());
  return (int)st;
}

int cli_usage(const cli_t *c, const char *fmt, ...) {
  if (c->rank == 0) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dtf %s: ", c->cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'dtf %s --help'.\n", c->cmd);
    va_end(ap);
  }
  return DTF_ERR_USAGE;
}

void cli_progress(const cli_t *c, const char *fmt, ...) {
  if (c->rank != 0 || c->quiet) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fflush(stderr);
}

void cli_result(const cli_t *c, const char *fmt, ...) {
  if (c->rank != 0) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
  fflush(stdout);
}

int cli_int(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (end == s || *end || errno || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

int cli_bytes_option(const char *s, double *bytes) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno || !(v > 0)) return -1;
  double unit = 1;
  switch (*end) {
  case 'k':
  case 'K':
    unit = 1e3;
    end++;
    break;
  case 'm':
  case 'M':
    unit = 1e6;
    end++;
    break;
  case 'g':
  case 'G':
    unit = 1e9;
    end++;
    break;
  case 't':
  case 'T':
    unit = 1e12;
    end++;
    break;
  }
  if (*end == 'B' || *end == 'b') end++;
  if (*end) return -1;
  *bytes = v * unit;
  return 0;
}

int cli_double(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end || errno || !isfinite(v)) return -1;
  *out = v;
  return 0;
}

int cli_dims(const char *s, int64_t *dims) {
  int n = 0;
  const char *p = s;
  while (*p) {
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (end == p || errno || v < 1 || n == DTF_MAX_MODES) return -1;
    dims[n++] = v;
    p = end;
    if (*p == 'x' || *p == 'X') {
      p++;
      if (!*p) return -1;
    } else if (*p)
      return -1;
  }
  return n;
}

int cli_dims_option(const cli_t *c, const char *arg, int64_t *dims, int *nmodes) {
  *nmodes = cli_dims(arg, dims);
  if (*nmodes < 2)
    return cli_usage(c, "--dims must be 2 to %d positive sizes like 300x200x100, not '%s'", DTF_MAX_MODES,
                     arg);
  return 0;
}

int cli_shared_option(cli_t *c, int opt, char **argv, const char *help) {
  extern int optind, optopt;
  extern char *optarg;
  switch (opt) {
  case 'j': c->json = optarg; return CLI_NEXT;
  case 'q': c->quiet = 1; return CLI_NEXT;
  case 'h':
    if (c->rank == 0) fputs(help, stdout);
    return 0;
  }
  const char *word = argv[optind - 1];
  if (opt == ':') return cli_usage(c, "option '%s' needs a value", word);
  if (optopt) return cli_usage(c, "unknown option '-%c'", optopt);
  return cli_usage(c, "unknown option '%s'", word);
}

void cli_bytes(double b, char *buf, int size) {
  const char *unit[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    u++;
  }
  snprintf(buf, (size_t)size, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
}

void cli_format_dims(int n, const int64_t *dims, char *buf, int size) {
  int used = 0;
  buf[0] = '\0';
  for (int k = 0; k < n && used < size; k++)
    used += snprintf(buf + used, (size_t)(size - used), k ? "x%lld" : "%lld", (long long)dims[k]);
}

/* Sparse input: each rank reads a contiguous part (of the nonzeros, or of the .tns
 * file's lines), the nonzeros travel to the ranks whose blocks hold them, and equal
 * coordinates are refused or summed there. */
static dtf_status load_sparse(const cli_t *c, const cli_load_t *o, cli_loaded_t *info, dtf_grid_t **grid,
                              dtf_tensor_t **tensor) {
  const dtf_spec_t *spec = &info->spec;
  int tns = dtf_is_tns(spec->file), pd[DTF_MAX_MODES];
  double t0 = dtf_now();
  dtf_coo_t all, mine = {0};
  dtf_status st = tns ? dtf_tns_read(MPI_COMM_WORLD, spec->file, 0, NULL, &all)
                      : dtf_h5_sparse_read(MPI_COMM_WORLD, spec, &all);
  if (st) return st;
  for (int m = 0; !st && o->permute && m < all.nmodes; m++) { /* new label of index i: perm[i] */
    int64_t *perm = malloc((size_t)all.dims[m] * sizeof(int64_t));
    info->labels[m] = malloc((size_t)all.dims[m] * sizeof(int64_t));
    if (!perm || !info->labels[m]) {
      free(perm);
      st = dtf_error(DTF_ERR_INPUT, "out of memory relabelling mode %d", m + 1);
      break;
    }
    dtf_permutation(all.dims[m], o->seed, m, perm);
    dtf_permutation_inverse(all.dims[m], perm, info->labels[m]);
    for (int64_t k = 0; k < all.nnz; k++) all.inds[k * all.nmodes + m] = perm[all.inds[k * all.nmodes + m]];
    free(perm);
  }
  if (!st && o->grid) st = dtf_grid_parse(o->grid, all.nmodes, pd);
  if (!st) st = dtf_grid_create(MPI_COMM_WORLD, all.nmodes, all.dims, o->grid ? pd : NULL, grid);
  dtf_comm_stats_t cs = {0, 0};
  double t1 = dtf_now();
  if (!st) st = dtf_distribute_coo(*grid, &all, &mine, &cs);
  dtf_coo_free(&all);
  int64_t merged = 0;
  double t2 = dtf_now();
  if (!st)
    st = dtf_agree(MPI_COMM_WORLD, dtf_coo_duplicates(&mine, o->sum_duplicates, (*grid)->start, &merged));
  double t3 = dtf_now();
  if (!st)
    st = dtf_agree(MPI_COMM_WORLD, dtf_sparse_tensor_create(mine.nmodes, (*grid)->len, mine.nnz, mine.inds,
                                                            mine.vals, tensor));
  double t4 = dtf_now();
  dtf_coo_free(&mine);
  if (st) {
    dtf_grid_free(*grid);
    *grid = NULL;
    return st;
  }
  int64_t n = dtf_sparse_tensor_nnz(*tensor), most = n;
  dtf_allreduce(MPI_COMM_WORLD, &most, 1, MPI_INT64_T, MPI_MAX, NULL);
  dtf_allreduce(MPI_COMM_WORLD, &n, 1, MPI_INT64_T, MPI_SUM, NULL);
  dtf_allreduce(MPI_COMM_WORLD, &merged, 1, MPI_INT64_T, MPI_SUM, NULL);
  info->nnz = n;
  info->duplicates = merged;
  double cells = 1;
  for (int k = 0; k < (*grid)->nmodes; k++) cells *= (double)(*grid)->dims[k];
  char d[128], gt[64], b[32], what[5200];
  cli_format_dims((*grid)->nmodes, (*grid)->dims, d, sizeof d);
  dtf_grid_format(*grid, gt, sizeof gt);
  cli_bytes((double)cs.bytes_sent, b, sizeof b);
  snprintf(what, sizeof what, tns ? "'%s'" : "'%s:%s'", spec->file, spec->path);
  cli_progress(c, "read %s: sparse %s, %lld nonzeros (density %.3g) in %.2f s on %d rank%s, grid %s\n", what,
               d, (long long)n, (double)n / cells, dtf_now() - t0, c->size, c->size == 1 ? "" : "s", gt);
  cli_progress(c, "nonzero imbalance %.2f (max/avg per rank)%s, %s sent to owners\n",
               n ? (double)most * c->size / (double)n : 1.0, o->permute ? " after random relabelling" : "",
               b);
  cli_progress(c, "rank 0: read %.2f s, distributed %.2f s, duplicate check %.2f s, CSF trees %.2f s\n",
               t1 - t0, t2 - t1, t3 - t2, t4 - t3);
  if (merged) cli_progress(c, "summed %lld duplicate entries into others\n", (long long)merged);
  return DTF_OK;
}

dtf_status cli_load_tensor(const cli_t *c, const char *input, const cli_load_t *o, cli_loaded_t *info,
                           dtf_grid_t **grid, dtf_tensor_t **tensor) {
  *grid = NULL;
  *tensor = NULL;
  memset(info, 0, sizeof *info);
  dtf_spec_t *spec = &info->spec;
  dtf_status st = dtf_spec_parse(input, "/X", spec);
  if (st) return st;
  if (dtf_is_tns(spec->file) || dtf_h5_is_group(MPI_COMM_WORLD, spec))
    return load_sparse(c, o, info, grid, tensor);
  int *elem_bytes = &info->elem_bytes;
  int nmodes = 0;
  int64_t dims[DTF_MAX_MODES];
  st = dtf_h5_dense_info(MPI_COMM_WORLD, spec, &nmodes, dims, elem_bytes);
  int pd[DTF_MAX_MODES];
  if (!st && o->grid) st = dtf_grid_parse(o->grid, nmodes, pd);
  if (!st) st = dtf_grid_create(MPI_COMM_WORLD, nmodes, dims, o->grid ? pd : NULL, grid);
  if (st) return st;
  double *local = NULL;
  double t0 = dtf_now();
  st = dtf_h5_dense_read(*grid, spec, &local);
  char what[5200];
  snprintf(what, sizeof what, "'%s:%s'", spec->file, spec->path);
  if (!st && o->finite) st = dtf_dense_require_finite(*grid, local, what);
  if (!st) st = dtf_dense_tensor_wrap(nmodes, (*grid)->len, local, tensor);
  if (st) {
    free(local);
    dtf_grid_free(*grid);
    *grid = NULL;
    return st;
  }
  double bytes = (double)*elem_bytes;
  for (int k = 0; k < nmodes; k++) bytes *= (double)dims[k];
  char b[32], d[128], gt[64];
  cli_bytes(bytes, b, sizeof b);
  cli_format_dims(nmodes, dims, d, sizeof d);
  dtf_grid_format(*grid, gt, sizeof gt);
  cli_progress(c, "read %s: %s float%d (%s) in %.2f s on %d rank%s, grid %s\n", what, d, *elem_bytes * 8, b,
               dtf_now() - t0, c->size, c->size == 1 ? "" : "s", gt);
  return DTF_OK;
}

dtf_json_t *cli_json_begin(const cli_t *c, const dtf_grid_t *g) {
  if (!c->json) return NULL;
  dtf_json_t *j = dtf_json_new();
  dtf_json_string(j, "command", c->cmd);
  dtf_json_string(j, "dtf_version", DTF_VERSION);
  dtf_json_int(j, "ranks", c->size);
  if (g) {
    int64_t pd[DTF_MAX_MODES];
    for (int n = 0; n < g->nmodes; n++) pd[n] = g->pdims[n];
    dtf_json_int_array(j, "grid", pd, g->nmodes);
    dtf_json_int_array(j, "dims", g->dims, g->nmodes);
  }
  return j;
}

dtf_status cli_json_end(const cli_t *c, dtf_json_t *j) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  uint64_t rss = (uint64_t)ru.ru_maxrss * 1024;
  dtf_allreduce(MPI_COMM_WORLD, &rss, 1, MPI_UINT64_T, MPI_MAX, NULL);
  if (!c->json) return DTF_OK;
  dtf_json_number(j, "time_total_s", dtf_now() - c->t_start);
  dtf_json_int(j, "peak_rss_bytes_max", (int64_t)rss);
  dtf_status st = c->rank == 0 ? dtf_json_write(j, c->json) : DTF_OK;
  dtf_json_free(j);
  return dtf_agree(MPI_COMM_WORLD, st);
}
