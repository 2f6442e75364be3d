/* Reading a tensor onto the process grid: dense datasets by hyperslab, sparse COO groups
 * and .tns files in parallel, their entries sent to the ranks whose blocks hold them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "timer.h"

/* DTF_ERR_INPUT unless `what` has the shape of the grid it is read onto. */
static dtf_status same_shape(const dtf_grid_t *g, int nmodes, const int64_t *dims, const char *what) {
  if (nmodes == g->nmodes && !memcmp(dims, g->dims, (size_t)nmodes * sizeof(int64_t))) return DTF_OK;
  char a[128], b[128];
  dtf_format_dims(nmodes, dims, a, sizeof a);
  dtf_format_dims(g->nmodes, g->dims, b, sizeof b);
  return dtf_error(DTF_ERR_INPUT, "%s is %s but the input is %s: they must have the same shape", what, a, b);
}

/* The observed-entry tensor of this rank's `entries` fits in its share of the node. */
static dtf_status observed_fits(const dtf_grid_t *g, int64_t entries, const char *what) {
  double need = dtf_observed_bytes(g->nmodes, g->len, entries), limit = cli_default_max_mem();
  dtf_status st = dtf_allreduce(g->comm, &need, 1, MPI_DOUBLE, MPI_MAX, NULL);
  if (st || need <= limit) return st;
  char a[32], b[32];
  dtf_format_bytes(need, a, sizeof a);
  dtf_format_bytes(limit, b, sizeof b);
  return dtf_error(DTF_ERR_INPUT,
                   "the observed entries of %s need an estimated %s per rank (the entries and one offset per "
                   "index of every mode), more than this rank's share of the node, %s; use more ranks",
                   what, a, b);
}

/* Sparse input: each rank reads a contiguous part (of the entries, or of the .tns
 * file's lines), the entries travel to the ranks whose blocks hold them, and equal
 * coordinates are resolved there by the --duplicates rule. */
static dtf_status load_sparse(const cli_t *c, const cli_load_t *o, cli_loaded_t *info, dtf_grid_t **grid,
                              dtf_tensor_t **tensor) {
  const dtf_spec_t *spec = &info->spec;
  int tns = dtf_is_tns(spec->file), pd[DTF_MAX_MODES];
  double t0 = dtf_now();
  char what[5200];
  snprintf(what, sizeof what, tns ? "'%s'" : "'%s:%s'", spec->file, spec->path);
  dtf_coo_t all, mine = {0};
  dtf_status st = tns ? dtf_tns_read(MPI_COMM_WORLD, spec->file, 0, NULL, &all)
                      : dtf_h5_sparse_read(MPI_COMM_WORLD, spec, &all);
  if (st) return st;
  /* the labels are sized by the modes' lengths, not by the entries: checked before any is made */
  double need = 0;
  for (int m = 0; o->permute && m < all.nmodes; m++) need += 16.0 * (double)all.dims[m];
  if (o->permute && o->max_mem > 0 && need > o->max_mem) {
    char a[32], b[32];
    dtf_format_bytes(need, a, sizeof a);
    dtf_format_bytes(o->max_mem, b, sizeof b);
    st = dtf_error(DTF_ERR_INPUT,
                   "--permute needs %s per rank for the labels of every mode's indices (8 bytes an index, "
                   "and as much again while relabelling), more than the %s allowed (--max-mem)",
                   a, b);
  }
  dtf_fault_raise("load");
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
  st = dtf_agree(MPI_COMM_WORLD, st);
  if (!st && o->onto) {
    /* a .tns file's shape is its largest indices: it fits if they are inside the grid */
    int inside = all.nmodes == o->onto->nmodes;
    for (int m = 0; inside && m < all.nmodes; m++) inside = all.dims[m] <= o->onto->dims[m];
    st = tns && inside ? DTF_OK : same_shape(o->onto, all.nmodes, all.dims, what);
    *grid = (dtf_grid_t *)o->onto;
  } else {
    if (!st && o->grid) st = dtf_grid_parse(o->grid, all.nmodes, pd);
    if (!st) st = dtf_grid_create(MPI_COMM_WORLD, all.nmodes, all.dims, o->grid ? pd : NULL, grid);
  }
  dtf_comm_stats_t cs = {0};
  double t1 = dtf_now();
  if (!st) st = dtf_distribute_coo(*grid, &all, &mine, &cs);
  dtf_coo_free(&all);
  int64_t merged = 0;
  double t2 = dtf_now();
  if (!st)
    st = dtf_agree(MPI_COMM_WORLD, dtf_coo_duplicates(&mine, o->duplicates, (*grid)->start, what, &merged));
  double t3 = dtf_now();
  if (!st && o->observed == 1)
    st = o->check_memory ? o->check_memory(*grid, mine.nnz, o->check_ctx)
                         : observed_fits(*grid, mine.nnz, what);
  if (!st && o->observed == 1) {
    st = dtf_observed_tensor_create(mine.nmodes, (*grid)->start, (*grid)->len, mine.nnz, mine.inds, mine.vals,
                                    tensor);
    mine.inds = NULL; /* the tensor owns them now */
    mine.vals = NULL;
    st = dtf_agree(MPI_COMM_WORLD, st);
  } else if (!st)
    st = dtf_agree(MPI_COMM_WORLD, dtf_sparse_tensor_create(mine.nmodes, (*grid)->start, (*grid)->len,
                                                            mine.nnz, mine.inds, mine.vals, tensor));
  double t4 = dtf_now();
  dtf_coo_free(&mine);
  if (st) {
    if (!o->onto) dtf_grid_free(*grid);
    *grid = NULL;
    return st;
  }
  int64_t n = (*tensor)->ops->entries(*tensor), most = n;
  dtf_allreduce(MPI_COMM_WORLD, &most, 1, MPI_INT64_T, MPI_MAX, NULL);
  dtf_allreduce(MPI_COMM_WORLD, &n, 1, MPI_INT64_T, MPI_SUM, NULL);
  dtf_allreduce(MPI_COMM_WORLD, &merged, 1, MPI_INT64_T, MPI_SUM, NULL);
  info->entries = n;
  if (o->observed == 1) info->observed = n;
  info->duplicates = merged;
  double cells = 1;
  for (int k = 0; k < (*grid)->nmodes; k++) cells *= (double)(*grid)->dims[k];
  char d[128], gt[64], b[32];
  dtf_format_dims((*grid)->nmodes, (*grid)->dims, d, sizeof d);
  dtf_grid_format(*grid, gt, sizeof gt);
  dtf_format_bytes((double)cs.bytes_sent, b, sizeof b);
  cli_progress(c, "read %s: %s %s, %lld %s (density %.3g) in %.2f s on %d rank%s, grid %s\n", what,
               o->observed == 1 ? "partly observed" : "sparse", d, (long long)n,
               o->observed == 1 ? "observed entries" : "entries", (double)n / cells, dtf_now() - t0, c->size,
               c->size == 1 ? "" : "s", gt);
  cli_progress(c, "entry imbalance %.2f (max/avg per rank)%s, %s sent to owners\n",
               n ? (double)most * c->size / (double)n : 1.0, o->permute ? " after random relabelling" : "",
               b);
  cli_progress(c, "rank 0: read %.2f s, distributed %.2f s, duplicate check %.2f s, %s %.2f s\n", t1 - t0,
               t2 - t1, t3 - t2, o->observed == 1 ? "grouping" : "CSF trees", t4 - t3);
  if (merged)
    cli_progress(c, "combined %lld entries with equal coordinates into others (--duplicates %s)\n",
                 (long long)merged, dtf_dup_rule_name(o->duplicates));
  return DTF_OK;
}

static dtf_status load(const cli_t *c, const char *input, const cli_load_t *o, cli_loaded_t *info,
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
  char what[5200];
  snprintf(what, sizeof what, "'%s:%s'", spec->file, spec->path);
  if (!st && o->onto) {
    st = same_shape(o->onto, nmodes, dims, what);
    *grid = (dtf_grid_t *)o->onto;
  } else {
    if (!st && o->grid) st = dtf_grid_parse(o->grid, nmodes, pd);
    if (!st) st = dtf_grid_create(MPI_COMM_WORLD, nmodes, dims, o->grid ? pd : NULL, grid);
  }
  if (st) {
    *grid = NULL;
    return st;
  }
  double *local = NULL;
  uint8_t *mask = NULL;
  double t0 = dtf_now();
  st = dtf_h5_dense_read(*grid, spec, &local);
  dtf_fault_raise("load");
  int observed = o->observed == 1;
  if (!st && o->observed == 2) { /* partly observed if a mask is given or a cell is NaN */
    int any = o->mask != NULL;
    int64_t cells = 1;
    for (int k = 0; k < nmodes; k++) cells *= (*grid)->len[k];
    for (int64_t k = 0; !any && k < cells; k++) any = isnan(local[k]);
    st = dtf_allreduce(MPI_COMM_WORLD, &any, 1, MPI_INT, MPI_MAX, NULL);
    observed = any;
  }
  if (!st && observed && o->mask) {
    dtf_spec_t ms;
    st = dtf_spec_parse(o->mask, "/mask", &ms);
    if (!st) st = dtf_h5_mask_read(*grid, &ms, what, &mask);
  }
  if (!st && o->finite && !observed) st = dtf_dense_require_finite(*grid, local, what);
  if (!st && observed) {
    st = dtf_agree(MPI_COMM_WORLD,
                   dtf_observed_from_dense(nmodes, (*grid)->start, (*grid)->len, local, mask, what, tensor));
    free(local);
    local = NULL;
  } else if (!st)
    st = dtf_dense_tensor_wrap(nmodes, (*grid)->start, (*grid)->len, local, tensor);
  free(mask);
  if (st) {
    free(local);
    if (!o->onto) dtf_grid_free(*grid);
    *grid = NULL;
    return st;
  }
  info->entries = 1;
  for (int k = 0; k < nmodes; k++) info->entries *= dims[k];
  if (observed) {
    int64_t n = (*tensor)->ops->entries(*tensor);
    dtf_allreduce(MPI_COMM_WORLD, &n, 1, MPI_INT64_T, MPI_SUM, NULL);
    info->observed = n;
  }
  char b[32], d[128], gt[64];
  dtf_format_bytes((double)*elem_bytes * (double)info->entries, b, sizeof b);
  dtf_format_dims(nmodes, dims, d, sizeof d);
  dtf_grid_format(*grid, gt, sizeof gt);
  cli_progress(c, "read %s: %s float%d (%s) in %.2f s on %d rank%s, grid %s\n", what, d, *elem_bytes * 8, b,
               dtf_now() - t0, c->size, c->size == 1 ? "" : "s", gt);
  if (observed)
    cli_progress(c, "observed entries: %lld of %lld (%.1f%%, %s)\n", (long long)info->observed,
                 (long long)info->entries, 100.0 * (double)info->observed / (double)info->entries,
                 o->mask ? "1 in the mask" : "the cells that are not NaN");
  return DTF_OK;
}

dtf_status cli_load_tensor(const cli_t *c, const char *input, const cli_load_t *o, cli_loaded_t *info,
                           dtf_grid_t **grid, dtf_tensor_t **tensor) {
  cli_signals_phase(
      " while reading the input: nothing was written or checkpointed (an earlier checkpoint is left "
      "as it was); run the command again");
  dtf_status st = load(c, input, o, info, grid, tensor);
  cli_signals_phase(NULL);
  return st;
}

void cli_loaded_free(cli_loaded_t *info) {
  for (int n = 0; n < DTF_MAX_MODES; n++) {
    free(info->labels[n]);
    info->labels[n] = NULL;
  }
}

void cli_json_input(dtf_json_t *j, const char *input, const dtf_tensor_t *t, const cli_loaded_t *in,
                    int permute) {
  dtf_json_string(j, "input", input);
  dtf_json_string(j, "tensor", t->ops->name);
  dtf_json_int(j, "entries", in->entries);
  if (!in->elem_bytes) {
    dtf_json_bool(j, "permute", permute);
    dtf_json_int(j, "nnz", in->entries);
    dtf_json_int(j, "duplicates_combined", in->duplicates);
  }
}

int cli_solver_input(cli_t *c, const cli_opts_t *o, cli_loaded_t *in, dtf_grid_t **g, dtf_tensor_t **t) {
  if ((o->resume || o->every) && !o->checkpoint)
    return cli_usage(c, "--resume and --checkpoint-every need --checkpoint FILE");
  const char *input = o->pos[0];
  cli_files_t files = {0};
  dtf_status st = cli_files_input(&files, input);
  if (st) return cli_fail(c, st);
  cli_files_output(&files, o->output, NULL, DTF_OUT_MODEL, "--output", 0);
  cli_files_checkpoint(&files, o->checkpoint, o->resume);
  int rc = cli_files_check(c, &files, o->force);
  if (rc) return rc;
  cli_load_t lo = {.grid = o->grid,
                   .finite = 1,
                   .duplicates = o->duplicates,
                   .permute = o->permute,
                   .seed = o->seed,
                   .max_mem = o->given[OPT_MAX_MEM] ? o->max_mem : cli_default_max_mem()};
  st = cli_load_tensor(c, input, &lo, in, g, t);
  return st ? cli_fail(c, st) : -1;
}
