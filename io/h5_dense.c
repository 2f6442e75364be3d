/* Dense tensors in HDF5: an N-dimensional float64 (or float32) dataset, C order. Each
 * rank reads or writes its own hyperslab with collective transfers. */
#include <hdf5.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/comm.h"
#include "dtf/io.h"
#include "dtf/memory.h"
#include "dtf/format.h"
#include "h5util.h"

static const char *class_name(H5T_class_t c) {
  switch (c) {
  case H5T_INTEGER: return "integer";
  case H5T_STRING: return "string";
  case H5T_COMPOUND: return "compound";
  case H5T_ENUM: return "enum";
  case H5T_BITFIELD: return "bitfield";
  case H5T_OPAQUE: return "opaque";
  case H5T_REFERENCE: return "reference";
  case H5T_VLEN: return "variable-length";
  case H5T_ARRAY: return "array";
  case H5T_TIME: return "time";
  default: return "non-numeric";
  }
}

/* Open spec's dataset and check it (type, rank, shape); on success *did is open. */
static dtf_status open_dense(hid_t fid, const dtf_spec_t *spec, hid_t *did, int *nmodes, int64_t *dims,
                             int *elem_bytes) {
  *did = -1;
  if (!h5_path_exists(fid, spec->path)) return h5_missing(fid, spec->file, spec->path, "dataset");
  H5O_info_t oi;
  /* the link exists: an object whose header cannot be read is damaged, not of another kind */
  if (H5Oget_info_by_name(fid, spec->path, &oi, H5P_DEFAULT) < 0)
    return dtf_error(DTF_ERR_INPUT,
                     "'%s:%s' cannot be read: its object header is damaged (the file is corrupt or was "
                     "written in part)",
                     spec->file, spec->path);
  if (oi.type != H5O_TYPE_DATASET)
    return dtf_error(DTF_ERR_INPUT, "'%s:%s' is a %s, not a dataset (a dense tensor is a dataset)",
                     spec->file, spec->path, oi.type == H5O_TYPE_GROUP ? "group" : "named datatype");
  *did = H5Dopen2(fid, spec->path, H5P_DEFAULT);
  if (*did < 0) return dtf_error(DTF_ERR_INPUT, "cannot open dataset '%s:%s'", spec->file, spec->path);
  hid_t t = H5Dget_type(*did);
  H5T_class_t c = H5Tget_class(t);
  size_t sz = H5Tget_size(t);
  H5Tclose(t);
  if (c != H5T_FLOAT || (sz != 4 && sz != 8))
    return dtf_error(
        DTF_ERR_INPUT, "dataset '%s:%s' holds %s values (%zu byte%s each); dtf needs float64 or float32",
        spec->file, spec->path, c == H5T_FLOAT ? "floating-point" : class_name(c), sz, sz == 1 ? "" : "s");
  *elem_bytes = (int)sz;
  dtf_status st = h5_check_filters(*did, spec->file, spec->path);
  if (st) return st;
  hid_t sp = H5Dget_space(*did);
  int rank = H5Sget_simple_extent_ndims(sp);
  hsize_t h[H5S_MAX_RANK];
  if (rank > 0) H5Sget_simple_extent_dims(sp, h, NULL);
  H5Sclose(sp);
  if (rank < 2 || rank > DTF_MAX_MODES)
    return dtf_error(DTF_ERR_INPUT, "dataset '%s:%s' has %d dimension%s; a tensor needs 2 to %d", spec->file,
                     spec->path, rank, rank == 1 ? "" : "s", DTF_MAX_MODES);
  int64_t total = 1;
  for (int k = 0; k < rank; k++) {
    if (h[k] == 0)
      return dtf_error(DTF_ERR_INPUT, "dataset '%s:%s' has size 0 in mode %d: the tensor is empty",
                       spec->file, spec->path, k + 1);
    if (h[k] > (hsize_t)INT64_MAX / (hsize_t)total)
      return dtf_error(DTF_ERR_INPUT, "dataset '%s:%s' has more entries than a 64-bit index can count",
                       spec->file, spec->path);
    dims[k] = (int64_t)h[k];
    total *= dims[k];
  }
  *nmodes = rank;
  return DTF_OK;
}

dtf_status dtf_h5_dense_info(MPI_Comm comm, const dtf_spec_t *spec, int *nmodes, int64_t *dims,
                             int *elem_bytes) {
  hid_t fid, did = -1;
  dtf_status st = h5_open_read(comm, spec->file, &fid);
  if (st) return st;
  st = dtf_agree(comm, open_dense(fid, spec, &did, nmodes, dims, elem_bytes));
  if (did >= 0) H5Dclose(did);
  H5Fclose(fid);
  return st;
}

static void block_space(const dtf_grid_t *g, hid_t *fspace, hid_t *mspace, hid_t did) {
  hsize_t start[DTF_MAX_MODES], count[DTF_MAX_MODES];
  for (int k = 0; k < g->nmodes; k++) {
    start[k] = (hsize_t)g->start[k];
    count[k] = (hsize_t)g->len[k];
  }
  *fspace = H5Dget_space(did);
  H5Sselect_hyperslab(*fspace, H5S_SELECT_SET, start, NULL, count, NULL);
  *mspace = H5Screate_simple(g->nmodes, count, NULL);
}

/* This rank's block of the open dataset did into buf, collectively; agreed. */
static dtf_status read_block(const dtf_grid_t *g, const dtf_spec_t *spec, hid_t did, hid_t type, void *buf) {
  hid_t fs, ms, dxpl = h5_dxpl_collective();
  block_space(g, &fs, &ms, did);
  dtf_status st = DTF_OK;
  if (H5Dread(did, type, ms, fs, dxpl, buf) < 0)
    st = dtf_error(DTF_ERR_INPUT, "reading '%s:%s' failed (file truncated or damaged?)", spec->file,
                   spec->path);
  H5Sclose(fs);
  H5Sclose(ms);
  H5Pclose(dxpl);
  return dtf_agree(g->comm, st);
}

/* Close the dataset and file; hand buf to *local, or free it on failure. */
static dtf_status finish_read(hid_t fid, hid_t did, dtf_status st, void *buf, void **local) {
  if (did >= 0) H5Dclose(did);
  H5Fclose(fid);
  if (st) {
    free(buf);
    return st;
  }
  *local = buf;
  return DTF_OK;
}

/* The mask's block of this rank. */
dtf_status dtf_h5_mask_read(const dtf_grid_t *g, const dtf_spec_t *spec, const char *tensor,
                            uint8_t **local) {
  *local = NULL;
  hid_t fid, did = -1;
  dtf_status st = h5_open_read(g->comm, spec->file, &fid);
  if (st) return st;
  if (!h5_path_exists(fid, spec->path))
    st = h5_missing(fid, spec->file, spec->path, "dataset");
  else if ((did = H5Dopen2(fid, spec->path, H5P_DEFAULT)) < 0)
    st = dtf_error(DTF_ERR_INPUT, "cannot open the mask '%s:%s' (a group, not a dataset?)", spec->file,
                   spec->path);
  if (!st) {
    hid_t t = H5Dget_type(did);
    H5T_class_t c = H5Tget_class(t);
    size_t sz = H5Tget_size(t);
    H5Tclose(t);
    if (c != H5T_INTEGER || sz != 1)
      st = dtf_error(DTF_ERR_INPUT,
                     "the mask '%s:%s' holds %s values of %zu bytes; a mask is uint8 (1 = observed)",
                     spec->file, spec->path, c == H5T_FLOAT ? "floating-point" : class_name(c), sz);
  }
  if (!st) st = h5_check_filters(did, spec->file, spec->path);
  if (!st) {
    hid_t sp = H5Dget_space(did);
    int rank = H5Sget_simple_extent_ndims(sp);
    hsize_t h[H5S_MAX_RANK];
    if (rank > 0 && rank <= H5S_MAX_RANK) H5Sget_simple_extent_dims(sp, h, NULL);
    H5Sclose(sp);
    int same = rank == g->nmodes;
    for (int k = 0; same && k < rank; k++) same = h[k] == (hsize_t)g->dims[k];
    if (!same) {
      char a[128] = "", b[128];
      size_t used = 0;
      for (int k = 0; k < rank && k < H5S_MAX_RANK && used < sizeof a; k++)
        used += (size_t)snprintf(a + used, sizeof a - used, "%s%llu", k ? "x" : "", (unsigned long long)h[k]);
      if (rank <= 0) snprintf(a, sizeof a, "a scalar");
      dtf_format_dims(g->nmodes, g->dims, b, sizeof b);
      st = dtf_error(DTF_ERR_INPUT,
                     "the mask '%s:%s' is %s but the tensor %s is %s: a mask has the tensor's shape",
                     spec->file, spec->path, a, tensor, b);
    }
  }
  int64_t n = 1;
  for (int k = 0; k < g->nmodes; k++) n *= g->len[k];
  uint8_t *buf = NULL;
  if (!st && !(buf = dtf_alloc_large((size_t)(n ? n : 1))))
    st = dtf_error(DTF_ERR_INPUT, "out of memory reading the mask '%s:%s'", spec->file, spec->path);
  st = dtf_agree(g->comm, st);
  if (!st) st = read_block(g, spec, did, H5T_NATIVE_UINT8, buf);
  return finish_read(fid, did, st, buf, (void **)local);
}

dtf_status dtf_h5_dense_read(const dtf_grid_t *g, const dtf_spec_t *spec, double **local) {
  *local = NULL;
  hid_t fid, did = -1;
  int nmodes, eb;
  int64_t dims[DTF_MAX_MODES];
  dtf_status st = h5_open_read(g->comm, spec->file, &fid);
  if (st) return st;
  st = open_dense(fid, spec, &did, &nmodes, dims, &eb);
  if (!st && (nmodes != g->nmodes || memcmp(dims, g->dims, (size_t)nmodes * sizeof(int64_t))))
    st = dtf_error(DTF_ERR_INPUT, "dataset '%s:%s' changed shape while being read", spec->file, spec->path);
  int64_t n = 1;
  for (int k = 0; k < g->nmodes; k++) n *= g->len[k];
  double *buf = NULL;
  if (!st && !(buf = dtf_alloc_large((size_t)n * sizeof(double))))
    st = dtf_error(DTF_ERR_INPUT, "out of memory reading a %.1f MiB block of '%s:%s'",
                   (double)n * 8 / 1048576.0, spec->file, spec->path);
  st = dtf_agree(g->comm, st);
  if (!st) st = read_block(g, spec, did, H5T_NATIVE_DOUBLE, buf);
  return finish_read(fid, did, st, buf, (void **)local);
}

dtf_status dtf_h5_dense_write(const dtf_grid_t *g, const dtf_spec_t *spec, const double *local) {
  hsize_t dims[DTF_MAX_MODES];
  double bytes = 8;
  for (int k = 0; k < g->nmodes; k++) {
    dims[k] = (hsize_t)g->dims[k];
    bytes *= (double)g->dims[k];
  }
  dtf_output_t out;
  hid_t fid;
  dtf_status st = h5_create(g->comm, spec->file, h5_file_bytes(bytes, 1), &out, &fid);
  if (st) return st;
  hid_t sp = H5Screate_simple(g->nmodes, dims, NULL);
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t did = H5Dcreate2(fid, spec->path, H5T_IEEE_F64LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Pclose(lcpl);
  H5Sclose(sp);
  if (did < 0)
    st = dtf_error(DTF_ERR_OUTPUT, "cannot create dataset '%s' in '%s'", spec->path, spec->file);
  else {
    /* every rank takes part in the collective write; one that failed selects nothing */
    st = out.fault;
    hid_t fs, ms, dxpl = h5_dxpl_collective();
    block_space(g, &fs, &ms, did);
    if (st) {
      H5Sselect_none(fs);
      H5Sselect_none(ms);
    }
    if (H5Dwrite(did, H5T_NATIVE_DOUBLE, ms, fs, dxpl, local) < 0)
      st = h5_write_failed("writing '%s:%s' failed (disk full?)", spec->file, spec->path);
    H5Sclose(fs);
    H5Sclose(ms);
    H5Pclose(dxpl);
    H5Dclose(did);
  }
  return h5_finish(g->comm, fid, &out, st);
}
