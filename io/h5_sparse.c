/* Sparse COO tensors in HDF5: a group with attribute dims (uint64[N]) and datasets
 * indices (integer [nnz][N], 0-based) and values (float [nnz]). Each rank reads one
 * contiguous range of nonzeros; dtf_distribute_coo then sends them to their owners. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/comm.h"
#include "dtf/coo.h"
#include "dtf/format.h"
#include "dtf/io.h"
#include "h5util.h"

/* The group's attribute dims: 2 to DTF_MAX_MODES sizes, each an integer >= 1, stored as
 * signed or unsigned integers or as floats holding integers (30.0; MATLAB writes doubles),
 * whose product a 64-bit index can count. The message names the mode and its value. */
static dtf_status read_dims(hid_t a, const char *f, const char *p, int *nmodes, int64_t *dims) {
  hid_t sp = H5Aget_space(a), t = H5Aget_type(a);
  hssize_t n = H5Sget_simple_extent_npoints(sp);
  H5T_class_t cls = H5Tget_class(t);
  int sign = cls == H5T_INTEGER && H5Tget_sign(t) != H5T_SGN_NONE;
  H5Sclose(sp);
  H5Tclose(t);
  if (n < 2 || n > DTF_MAX_MODES)
    return dtf_error(DTF_ERR_INPUT, "'%s:%s': attribute 'dims' has %lld entries; a tensor needs 2 to %d", f,
                     p, (long long)n, DTF_MAX_MODES);
  uint64_t u[DTF_MAX_MODES];
  int64_t s[DTF_MAX_MODES];
  double d[DTF_MAX_MODES];
  /* each read in its own type: a conversion to another would clamp or round silently */
  hid_t mt = cls == H5T_FLOAT ? H5T_NATIVE_DOUBLE : sign ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64;
  void *buf = cls == H5T_FLOAT ? (void *)d : sign ? (void *)s : (void *)u;
  if ((cls != H5T_INTEGER && cls != H5T_FLOAT) || H5Aread(a, mt, buf) < 0)
    return dtf_error(DTF_ERR_INPUT, "'%s:%s': attribute 'dims' is not a list of integers", f, p);
  double cells = 1;
  for (int k = 0; k < n; k++) {
    char v[64];
    int bad = 0;
    if (cls == H5T_FLOAT) {
      for (int prec = 15; prec <= 17; prec++) /* the shortest text that reads back as d[k] */
        if (snprintf(v, sizeof v, "%.*g", prec, d[k]) > 0 && (strtod(v, NULL) == d[k] || prec == 17)) break;
      bad = !(d[k] >= 1 && d[k] < 0x1p63 && d[k] == floor(d[k]));
      if (!bad) dims[k] = (int64_t)d[k];
    } else if (sign) {
      snprintf(v, sizeof v, "%lld", (long long)s[k]);
      bad = s[k] < 1;
      dims[k] = s[k];
    } else {
      snprintf(v, sizeof v, "%llu", (unsigned long long)u[k]);
      bad = u[k] < 1 || u[k] > (uint64_t)INT64_MAX;
      dims[k] = (int64_t)u[k];
    }
    if (bad)
      return dtf_error(DTF_ERR_INPUT,
                       "'%s:%s': attribute 'dims' gives mode %d the size %s; each size must be an integer "
                       "from 1 to 2^63 - 1",
                       f, p, k + 1, v);
    cells *= (double)dims[k];
  }
  int64_t total = 1;
  for (int k = 0; k < n; k++) {
    if (dims[k] > INT64_MAX / total) {
      char shape[160];
      dtf_format_dims((int)n, dims, shape, sizeof shape);
      return dtf_error(DTF_ERR_INPUT, "'%s:%s': dims %s overflow a 64-bit index (%.3g cells)", f, p, shape,
                       cells);
    }
    total *= dims[k];
  }
  *nmodes = (int)n;
  return DTF_OK;
}

/* Check the group's layout; fills nmodes, dims, nnz. */
static dtf_status check_group(hid_t fid, const dtf_spec_t *s, int *nmodes, int64_t *dims, int64_t *nnz) {
  const char *f = s->file, *p = s->path;
  H5O_info_t oi;
  if (H5Oget_info_by_name(fid, p, &oi, H5P_DEFAULT) >= 0 && oi.type == H5O_TYPE_DATASET)
    return dtf_error(DTF_ERR_INPUT, "'%s:%s' is a dataset (a dense tensor), not a sparse COO group", f, p);
  hid_t gid = H5Gopen2(fid, p, H5P_DEFAULT);
  if (gid < 0) return dtf_error(DTF_ERR_INPUT, "cannot open group '%s:%s'", f, p);
  dtf_status st = DTF_OK;
  hid_t a = H5Aexists(gid, "dims") > 0 ? H5Aopen(gid, "dims", H5P_DEFAULT) : -1;
  if (a < 0)
    st = dtf_error(DTF_ERR_INPUT,
                   "'%s:%s' is a group without attribute 'dims': not a sparse tensor (a dense tensor is a "
                   "dataset; a sparse one a group with attribute dims and datasets indices and values)",
                   f, p);
  if (!st) st = read_dims(a, f, p, nmodes, dims);
  if (a >= 0) H5Aclose(a);
  hid_t di = -1, dv = -1;
  if (!st &&
      (H5Lexists(gid, "indices", H5P_DEFAULT) <= 0 || (di = H5Dopen2(gid, "indices", H5P_DEFAULT)) < 0))
    st = dtf_error(DTF_ERR_INPUT, "sparse tensor '%s:%s' has no dataset 'indices'", f, p);
  if (!st && (H5Lexists(gid, "values", H5P_DEFAULT) <= 0 || (dv = H5Dopen2(gid, "values", H5P_DEFAULT)) < 0))
    st = dtf_error(DTF_ERR_INPUT, "sparse tensor '%s:%s' has no dataset 'values'", f, p);
  if (!st) {
    hid_t ti = H5Dget_type(di), tv = H5Dget_type(dv), si = H5Dget_space(di), sv = H5Dget_space(dv);
    hsize_t hi[2] = {0, 0}, hv[1] = {0};
    int ri = H5Sget_simple_extent_ndims(si), rv = H5Sget_simple_extent_ndims(sv);
    if (ri == 2) H5Sget_simple_extent_dims(si, hi, NULL);
    if (rv == 1) H5Sget_simple_extent_dims(sv, hv, NULL);
    if (H5Tget_class(ti) != H5T_INTEGER)
      st = dtf_error(DTF_ERR_INPUT, "'%s:%s/indices' must hold integers", f, p);
    else if (H5Tget_class(tv) != H5T_FLOAT && H5Tget_class(tv) != H5T_INTEGER)
      st = dtf_error(DTF_ERR_INPUT, "'%s:%s/values' must hold numbers", f, p);
    else if (ri != 2 || hi[1] != (hsize_t)*nmodes)
      st = dtf_error(DTF_ERR_INPUT, "'%s:%s/indices' must be nnz x %d (one column per mode)", f, p, *nmodes);
    else if (rv != 1 || hv[0] != hi[0])
      st = dtf_error(DTF_ERR_INPUT, "'%s:%s/values' must be 1-D with one value per row of indices (%llu)", f,
                     p, (unsigned long long)hi[0]);
    *nnz = (int64_t)hi[0];
    if (!st && *nnz == 0)
      st = dtf_error(DTF_ERR_INPUT,
                     "sparse tensor '%s:%s' is empty: its datasets indices and values have no rows", f, p);
    if (!st) st = h5_check_filters(di, f, "indices");
    if (!st) st = h5_check_filters(dv, f, "values");
    H5Tclose(ti);
    H5Tclose(tv);
    H5Sclose(si);
    H5Sclose(sv);
  }
  if (di >= 0) H5Dclose(di);
  if (dv >= 0) H5Dclose(dv);
  H5Gclose(gid);
  return st;
}

int dtf_h5_is_group(MPI_Comm comm, const dtf_spec_t *spec) {
  hid_t fid;
  if (h5_open_read(comm, spec->file, &fid)) return 0;
  H5O_info_t oi;
  int group = h5_path_exists(fid, spec->path) &&
              H5Oget_info_by_name(fid, spec->path, &oi, H5P_DEFAULT) >= 0 && oi.type == H5O_TYPE_GROUP;
  H5Fclose(fid);
  return group;
}

/* Read rows [k0, k0 + n) of a 2-D (cols > 0) or 1-D (cols == 0) dataset. */
static int read_range(hid_t did, hid_t mtype, int64_t k0, int64_t n, int cols, void *out) {
  hid_t sp = H5Dget_space(did);
  hid_t ms = h5_select_rows(sp, k0, n, cols);
  hid_t dxpl = h5_dxpl_collective();
  int rc = H5Dread(did, mtype, ms, sp, dxpl, out) < 0 ? -1 : 0;
  H5Pclose(dxpl);
  H5Sclose(ms);
  H5Sclose(sp);
  return rc;
}

dtf_status dtf_h5_sparse_read(MPI_Comm comm, const dtf_spec_t *spec, dtf_coo_t *out) {
  int me, P;
  MPI_Comm_rank(comm, &me);
  MPI_Comm_size(comm, &P);
  memset(out, 0, sizeof *out);
  hid_t fid;
  dtf_status st = h5_open_read(comm, spec->file, &fid);
  if (st) return st;
  int64_t nnz = 0;
  if (!h5_path_exists(fid, spec->path))
    st = h5_missing(fid, spec->file, spec->path, "group");
  else
    st = check_group(fid, spec, &out->nmodes, out->dims, &nnz);
  st = dtf_agree(comm, st);
  int N = out->nmodes;
  int64_t k0 = 0, n = 0;
  if (!st) {
    dtf_block_range(nnz, P, me, &k0, &n);
    size_t one = (size_t)(n ? n : 1);
    out->inds = malloc(one * N * sizeof(int64_t));
    out->vals = malloc(one * sizeof(double));
    out->tags = malloc(one * sizeof(int64_t));
    if (!out->inds || !out->vals || !out->tags)
      st = dtf_error(DTF_ERR_INPUT, "out of memory reading %lld entries", (long long)n);
    st = dtf_agree(comm, st);
  }
  if (!st) {
    char name[1100];
    snprintf(name, sizeof name, "%s/indices", spec->path);
    hid_t di = H5Dopen2(fid, name, H5P_DEFAULT);
    snprintf(name, sizeof name, "%s/values", spec->path);
    hid_t dv = H5Dopen2(fid, name, H5P_DEFAULT);
    /* unsigned indices read as such (a conversion to int64 would clamp those above 2^63 - 1
     * and the message would name another index); one above INT64_MAX reads as negative */
    hid_t ti = H5Dget_type(di);
    int unsig = H5Tget_sign(ti) == H5T_SGN_NONE;
    H5Tclose(ti);
    if (read_range(di, unsig ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64, k0, n, N, out->inds) ||
        read_range(dv, H5T_NATIVE_DOUBLE, k0, n, 0, out->vals))
      st = dtf_error(DTF_ERR_INPUT, "reading '%s:%s' failed (file truncated or damaged?)", spec->file,
                     spec->path);
    H5Dclose(di);
    H5Dclose(dv);
    for (int64_t k = 0; !st && k < n; k++) {
      out->tags[k] = k0 + k;
      for (int m = 0; !st && m < N; m++)
        if (out->inds[k * N + m] < 0 || out->inds[k * N + m] >= out->dims[m]) {
          char v[32];
          if (unsig)
            snprintf(v, sizeof v, "%llu", (unsigned long long)(uint64_t)out->inds[k * N + m]);
          else
            snprintf(v, sizeof v, "%lld", (long long)out->inds[k * N + m]);
          st = dtf_error(
              DTF_ERR_INPUT,
              "'%s:%s': entry %lld (0-based row of indices) has index %s in mode %d, outside 0..%lld",
              spec->file, spec->path, (long long)(k0 + k), v, m + 1, (long long)out->dims[m] - 1);
        }
      if (!st && !isfinite(out->vals[k]))
        st = dtf_error(
            DTF_ERR_INPUT,
            "'%s:%s': entry %lld (0-based row of values) has the value %g; every value must be finite",
            spec->file, spec->path, (long long)(k0 + k), out->vals[k]);
    }
    st = dtf_agree(comm, st);
  }
  H5Fclose(fid);
  if (st)
    dtf_coo_free(out);
  else
    out->nnz = n;
  return st;
}

dtf_status dtf_h5_sparse_write(MPI_Comm comm, const dtf_spec_t *spec, const dtf_coo_t *c) {
  int64_t row0 = 0, total = c->nnz;
  dtf_status st = dtf_exscan_sum_int64(comm, c->nnz, &row0);
  if (!st) st = dtf_allreduce(comm, &total, 1, MPI_INT64_T, MPI_SUM, NULL);
  dtf_output_t out;
  hid_t fid;
  if (!st)
    st = h5_create(comm, spec->file, h5_file_bytes((double)total * (8.0 * c->nmodes + 8.0), 3), &out, &fid);
  if (st) return st;
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t gid = strcmp(spec->path, "/") ? H5Gcreate2(fid, spec->path, lcpl, H5P_DEFAULT, H5P_DEFAULT)
                                      : H5Gopen2(fid, "/", H5P_DEFAULT);
  H5Pclose(lcpl);
  if (gid < 0)
    st = dtf_error(DTF_ERR_OUTPUT, "cannot create group '%s' in '%s'", spec->path, spec->file);
  else {
    st = out.fault;
    if (h5_attr_uint64_array(gid, "dims", c->dims, c->nmodes) && !st)
      st = dtf_error(DTF_ERR_OUTPUT, "writing '%s:%s' failed (disk full?)", spec->file, spec->path);
    st = h5_write_rows(gid, spec->file, "indices", H5T_STD_U64LE, H5T_NATIVE_INT64, total, c->nmodes, row0,
                       c->nnz, c->inds, st);
    st = h5_write_rows(gid, spec->file, "values", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, total, 0, row0, c->nnz,
                       c->vals, st);
    H5Gclose(gid);
  }
  return h5_finish(comm, fid, &out, st);
}
