/* Sparse COO tensors in HDF5: a group with attribute dims (uint64[N]) and datasets
 * indices (integer [nnz][N], 0-based) and values (float [nnz]). Each rank reads one
 * contiguous range of nonzeros; dtf_distribute_coo then sends them to their owners. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/comm.h"
#include "dtf/io.h"
#include "h5util.h"

/* Check the group's layout; fills nmodes, dims, nnz. */
static dtf_status check_group(hid_t fid, const dtf_spec_t *s, int *nmodes, int64_t *dims, int64_t *nnz) {
  const char *f = s->file, *p = s->path;
  hid_t gid = H5Gopen2(fid, p, H5P_DEFAULT);
  if (gid < 0) return dtf_error(DTF_ERR_INPUT, "cannot open group '%s:%s'", f, p);
  dtf_status st = DTF_OK;
  hid_t a = H5Aexists(gid, "dims") > 0 ? H5Aopen(gid, "dims", H5P_DEFAULT) : -1;
  if (a < 0)
    st = dtf_error(DTF_ERR_INPUT,
                   "'%s:%s' is a group without attribute 'dims': not a sparse tensor (a dense tensor is a "
                   "dataset; a sparse one a group with attribute dims and datasets indices and values)",
                   f, p);
  if (!st) {
    hid_t sp = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    uint64_t u[DTF_MAX_MODES];
    if (n < 2 || n > DTF_MAX_MODES)
      st = dtf_error(DTF_ERR_INPUT, "'%s:%s': attribute 'dims' has %lld entries; a tensor needs 2 to %d", f,
                     p, (long long)n, DTF_MAX_MODES);
    else if (H5Aread(a, H5T_NATIVE_UINT64, u) < 0)
      st = dtf_error(DTF_ERR_INPUT, "'%s:%s': attribute 'dims' is not a list of integers", f, p);
    int64_t total = 1;
    for (int k = 0; !st && k < n; k++) {
      if (u[k] == 0 || u[k] > (uint64_t)INT64_MAX / (uint64_t)total)
        st = dtf_error(DTF_ERR_INPUT,
                       u[k] ? "'%s:%s': dims overflow a 64-bit index" : "'%s:%s': mode %d has size 0", f, p,
                       k + 1);
      else {
        dims[k] = (int64_t)u[k];
        total *= dims[k];
      }
    }
    *nmodes = (int)n;
  }
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

dtf_status dtf_h5_sparse_info(MPI_Comm comm, const dtf_spec_t *spec, int *nmodes, int64_t *dims,
                              int64_t *nnz) {
  hid_t fid;
  dtf_status st = h5_open_read(comm, spec->file, &fid);
  if (st) return st;
  if (!h5_path_exists(fid, spec->path))
    st = dtf_error(DTF_ERR_INPUT, "'%s' has no group '%s'", spec->file, spec->path);
  else
    st = check_group(fid, spec, nmodes, dims, nnz);
  H5Fclose(fid);
  return dtf_agree(comm, st);
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

dtf_status dtf_h5_sparse_read(MPI_Comm comm, const dtf_spec_t *spec, int nmodes, const int64_t *dims,
                              int64_t nnz, int64_t *my_nnz, int64_t **inds, double **vals) {
  int me, P;
  MPI_Comm_rank(comm, &me);
  MPI_Comm_size(comm, &P);
  int64_t k0, n;
  dtf_block_range(nnz, P, me, &k0, &n);
  *my_nnz = 0;
  *inds = NULL;
  *vals = NULL;
  int64_t *I = malloc((size_t)(n ? n : 1) * nmodes * sizeof(int64_t));
  double *V = malloc((size_t)(n ? n : 1) * sizeof(double));
  dtf_status st =
      (I && V) ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory reading %lld nonzeros", (long long)n);
  hid_t fid;
  dtf_status ost = h5_open_read(comm, spec->file, &fid);
  if (ost) {
    free(I);
    free(V);
    return ost;
  }
  st = dtf_agree(comm, st);
  if (!st) {
    char name[1100];
    snprintf(name, sizeof name, "%s/indices", spec->path);
    hid_t di = H5Dopen2(fid, name, H5P_DEFAULT);
    snprintf(name, sizeof name, "%s/values", spec->path);
    hid_t dv = H5Dopen2(fid, name, H5P_DEFAULT);
    if (read_range(di, H5T_NATIVE_INT64, k0, n, nmodes, I) || read_range(dv, H5T_NATIVE_DOUBLE, k0, n, 0, V))
      st = dtf_error(DTF_ERR_INPUT, "reading '%s:%s' failed (file truncated or damaged?)", spec->file,
                     spec->path);
    H5Dclose(di);
    H5Dclose(dv);
    for (int64_t k = 0; !st && k < n; k++) {
      for (int m = 0; !st && m < nmodes; m++)
        if (I[k * nmodes + m] < 0 || I[k * nmodes + m] >= dims[m])
          st = dtf_error(DTF_ERR_INPUT, "'%s:%s': nonzero %lld has index %lld in mode %d, outside 0..%lld",
                         spec->file, spec->path, (long long)(k0 + k), (long long)I[k * nmodes + m], m + 1,
                         (long long)dims[m] - 1);
      if (!st && !isfinite(V[k]))
        st = dtf_error(DTF_ERR_INPUT, "'%s:%s': nonzero %lld has the value %g; dtf needs finite values",
                       spec->file, spec->path, (long long)(k0 + k), V[k]);
    }
  }
  H5Fclose(fid);
  st = dtf_agree(comm, st);
  if (st) {
    free(I);
    free(V);
    return st;
  }
  *my_nnz = n;
  *inds = I;
  *vals = V;
  return DTF_OK;
}
