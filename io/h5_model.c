/* CP model files: attributes model, dims, rank, fit, iterations, dtf_version on the root
 * group; datasets lambda [R] and factor_n [I_n][R] (docs/formats.md). */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/comm.h"
#include "dtf/io.h"
#include "dtf/version.h"
#include "h5util.h"

/* The model's attributes and datasets into an open file; nonzero on failure. */
static int write_model(hid_t fid, const dtf_grid_t *g, const dtf_cp_model_t *m) {
  int bad = 0;
  bad |= h5_attr_string(fid, "model", "cp");
  bad |= h5_attr_uint64_array(fid, "dims", m->dims, m->nmodes);
  bad |= h5_attr_int64(fid, "rank", m->R);
  bad |= h5_attr_double(fid, "fit", m->fit);
  bad |= h5_attr_int64(fid, "iterations", m->iterations);
  bad |= h5_attr_string(fid, "dtf_version", DTF_VERSION);
  /* lambda is identical everywhere: rank 0 writes it, the others select nothing */
  bad |= h5_write_doubles(fid, "lambda", m->R, 0, 0, g->rank == 0 ? m->R : 0, m->lambda);
  for (int n = 0; n < m->nmodes && !bad; n++) {
    char name[32];
    snprintf(name, sizeof name, "factor_%d", n);
    const dtf_factor_t *f = &m->factors[n];
    bad |= h5_write_doubles(fid, name, f->rows, m->R, f->own_start, f->own_len, dtf_factor_owned(f));
  }
  return bad;
}

dtf_status dtf_h5_cp_write(const dtf_grid_t *g, const char *file, const dtf_cp_model_t *m) {
  char tmp[4200];
  hid_t fid;
  dtf_status st = h5_create_tmp(g->comm, file, tmp, &fid);
  if (st) return st;
  if (write_model(fid, g, m))
    st = dtf_error(DTF_ERR_OUTPUT, "writing the model to '%s' failed (disk full?)", file);
  return h5_commit(g->comm, fid, tmp, file, st);
}

dtf_status dtf_h5_checkpoint_write(const dtf_grid_t *g, const char *file, const dtf_cp_als_t *s) {
  char tmp[4200];
  hid_t fid;
  dtf_status st = h5_create_tmp(g->comm, file, tmp, &fid);
  if (st) return st;
  int R = s->opt.rank, bad = write_model(fid, g, &s->model), first = g->rank == 0;
  bad |= h5_attr_string(fid, "checkpoint", "cp-als");
  bad |= h5_attr_double(fid, "delta", s->delta);
  bad |= h5_attr_int64(fid, "converged", s->converged);
  bad |= h5_attr_int64(fid, "seed", (int64_t)s->opt.seed);
  bad |= h5_write_doubles(fid, "fit_history", s->iteration, 0, 0, first ? s->iteration : 0, s->fit_history);
  for (int n = 0; n < g->nmodes && !bad;
       n++) { /* the Grams as carried: recomputing them would round differently */
    char name[32];
    snprintf(name, sizeof name, "gram_%d", n);
    bad |= h5_write_doubles(fid, name, R, R, 0, first ? R : 0, s->gram[n]);
  }
  if (bad) st = dtf_error(DTF_ERR_OUTPUT, "writing the checkpoint '%s' failed (disk full?)", file);
  return h5_commit(g->comm, fid, tmp, file, st);
}

static int read_attr(hid_t fid, const char *name, hid_t mtype, void *buf, int want_n) {
  if (H5Aexists(fid, name) <= 0) return -1;
  hid_t a = H5Aopen(fid, name, H5P_DEFAULT);
  hid_t sp = H5Aget_space(a);
  hssize_t n = H5Sget_simple_extent_npoints(sp);
  int rc = (n == want_n && H5Aread(a, mtype, buf) >= 0) ? 0 : -1;
  H5Sclose(sp);
  H5Aclose(a);
  return rc;
}

static dtf_status read_info(hid_t fid, const char *file, int *nmodes, int64_t *dims, int *R) {
  char model[16] = "";
  if (H5Aexists(fid, "model") > 0) {
    hid_t a = H5Aopen(fid, "model", H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    if (H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0) {
      hid_t mt = H5Tcopy(H5T_C_S1);
      H5Tset_size(mt, H5T_VARIABLE);
      H5Tset_cset(mt, H5Tget_cset(t));
      char *v = NULL;
      if (H5Aread(a, mt, &v) >= 0 && v) snprintf(model, sizeof model, "%s", v);
      if (v) H5free_memory(v);
      H5Tclose(mt);
    } else if (H5Tget_class(t) == H5T_STRING && H5Tget_size(t) < sizeof model) {
      hid_t mt = H5Tcopy(H5T_C_S1);
      H5Tset_size(mt, sizeof model);
      H5Tset_cset(mt, H5Tget_cset(t));
      H5Aread(a, mt, model);
      H5Tclose(mt);
    }
    H5Tclose(t);
    H5Aclose(a);
  }
  if (strcmp(model, "cp") != 0)
    return dtf_error(DTF_ERR_INPUT, "'%s' is not a CP model file (root attribute model=\"cp\" missing)",
                     file);
  int64_t r;
  if (read_attr(fid, "rank", H5T_NATIVE_INT64, &r, 1) || r < 1 || r > 1000000)
    return dtf_error(DTF_ERR_INPUT, "'%s': attribute 'rank' is missing or invalid", file);
  *R = (int)r;
  if (H5Aexists(fid, "dims") <= 0) return dtf_error(DTF_ERR_INPUT, "'%s': attribute 'dims' is missing", file);
  hid_t a = H5Aopen(fid, "dims", H5P_DEFAULT);
  hid_t sp = H5Aget_space(a);
  hssize_t n = H5Sget_simple_extent_npoints(sp);
  H5Sclose(sp);
  H5Aclose(a);
  uint64_t u[DTF_MAX_MODES];
  if (n < 2 || n > DTF_MAX_MODES || read_attr(fid, "dims", H5T_NATIVE_UINT64, u, (int)n))
    return dtf_error(DTF_ERR_INPUT, "'%s': attribute 'dims' must list 2 to %d sizes", file, DTF_MAX_MODES);
  *nmodes = (int)n;
  for (int k = 0; k < n; k++) dims[k] = (int64_t)u[k];
  return DTF_OK;
}

dtf_status dtf_h5_cp_info(MPI_Comm comm, const char *file, int *nmodes, int64_t *dims, int *R) {
  hid_t fid;
  dtf_status st = h5_open_read(comm, file, &fid);
  if (st) return st;
  st = dtf_agree(comm, read_info(fid, file, nmodes, dims, R));
  H5Fclose(fid);
  return st;
}

/* Read rows [row0, row0 + nrows) of dataset name, which must be rows x R. */
static dtf_status read_rows(hid_t fid, const char *file, const char *name, int64_t rows, int R, int64_t row0,
                            int64_t nrows, double *out) {
  hid_t did = H5Lexists(fid, name, H5P_DEFAULT) > 0 ? H5Dopen2(fid, name, H5P_DEFAULT) : -1;
  if (did < 0) return dtf_error(DTF_ERR_INPUT, "'%s' has no dataset '%s'", file, name);
  hid_t sp = H5Dget_space(did);
  hsize_t d[2] = {0, 0};
  int nd = H5Sget_simple_extent_ndims(sp);
  if (nd >= 1 && nd <= 2) H5Sget_simple_extent_dims(sp, d, NULL);
  if (nd == 1) d[1] = 1;
  dtf_status st = DTF_OK;
  if (nd < 1 || nd > 2 || d[0] != (hsize_t)rows || d[1] != (hsize_t)R)
    st = dtf_error(DTF_ERR_INPUT, "'%s:/%s' should be %lld x %d", file, name, (long long)rows, R);
  if (!st) {
    hid_t ms = h5_select_rows(sp, row0, nrows, nd == 1 ? 0 : R);
    if (H5Dread(did, H5T_NATIVE_DOUBLE, ms, sp, H5P_DEFAULT, out) < 0)
      st = dtf_error(DTF_ERR_INPUT, "reading '%s:/%s' failed", file, name);
    H5Sclose(ms);
  }
  H5Sclose(sp);
  H5Dclose(did);
  return st;
}

dtf_status dtf_h5_cp_read(const dtf_grid_t *g, const char *file, dtf_cp_model_t *m) {
  hid_t fid;
  dtf_status st = h5_open_read(g->comm, file, &fid);
  if (st) return st;
  int nmodes, R;
  int64_t dims[DTF_MAX_MODES];
  st = read_info(fid, file, &nmodes, dims, &R);
  if (!st && (nmodes != m->nmodes || R != m->R || memcmp(dims, m->dims, (size_t)nmodes * sizeof(int64_t))))
    st = dtf_error(DTF_ERR_INPUT, "'%s' does not match the model it is read into", file);
  if (!st) st = read_rows(fid, file, "lambda", R, 1, 0, R, m->lambda);
  for (int n = 0; n < nmodes && !st; n++) {
    char name[32];
    snprintf(name, sizeof name, "factor_%d", n);
    const dtf_factor_t *f = &m->factors[n];
    st = read_rows(fid, file, name, f->rows, R, f->block_start, f->block_len, f->block);
  }
  if (!st) {
    double fit = 0;
    int64_t it = 0;
    read_attr(fid, "fit", H5T_NATIVE_DOUBLE, &fit, 1);
    read_attr(fid, "iterations", H5T_NATIVE_INT64, &it, 1);
    m->fit = fit;
    m->iterations = (int)it;
  }
  H5Fclose(fid);
  return dtf_agree(g->comm, st);
}

dtf_status dtf_h5_checkpoint_read(const dtf_grid_t *g, const char *file, dtf_cp_als_t *s) {
  dtf_status st = dtf_h5_cp_read(g, file, &s->model);
  if (st) return st;
  hid_t fid;
  st = h5_open_read(g->comm, file, &fid);
  if (st) return st;
  int R = s->opt.rank, it = s->model.iterations;
  int64_t conv = 0, seed = 0;
  if (H5Aexists(fid, "checkpoint") <= 0)
    st = dtf_error(DTF_ERR_INPUT, "'%s' is a model file, not a checkpoint", file);
  else if (it < 1 || it > s->opt.max_iters)
    st = dtf_error(DTF_ERR_INPUT, "checkpoint '%s' is at iteration %d; the run allows %d (-i)", file, it,
                   s->opt.max_iters);
  else if (read_attr(fid, "seed", H5T_NATIVE_INT64, &seed, 1) || (uint64_t)seed != s->opt.seed)
    st = dtf_error(DTF_ERR_INPUT, "checkpoint '%s' was made with --seed %lld, not %llu", file,
                   (long long)seed, (unsigned long long)s->opt.seed);
  else if (read_attr(fid, "delta", H5T_NATIVE_DOUBLE, &s->delta, 1) ||
           read_attr(fid, "converged", H5T_NATIVE_INT64, &conv, 1))
    st = dtf_error(DTF_ERR_INPUT, "checkpoint '%s' lacks its solver state", file);
  if (!st) st = read_rows(fid, file, "fit_history", it, 1, 0, it, s->fit_history);
  for (int n = 0; !st && n < g->nmodes; n++) {
    char name[32];
    snprintf(name, sizeof name, "gram_%d", n);
    st = read_rows(fid, file, name, R, R, 0, R, s->gram[n]);
  }
  H5Fclose(fid);
  st = dtf_agree(g->comm, st);
  if (!st) {
    s->iteration = it;
    s->fit = s->model.fit;
    s->converged = (int)conv;
    dtf_cp_als_invalidate(s);
  }
  return st;
}
