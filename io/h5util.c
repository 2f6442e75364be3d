/* Parallel HDF5 helpers. HDF5's own error stack printing is switched off: dtf reports
 * errors itself, naming the file and dataset. */
#include "h5util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dtf/comm.h"

static hid_t fapl_mpio(MPI_Comm comm) {
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
  /* metadata is read once and broadcast, not by every rank */
  H5Pset_all_coll_metadata_ops(fapl, 1);
  H5Pset_coll_metadata_write(fapl, 1);
  return fapl;
}

dtf_status h5_open_read(MPI_Comm comm, const char *file, hid_t *fid) {
  *fid = -1;
  int me;
  MPI_Comm_rank(comm, &me);
  dtf_status st = DTF_OK;
  if (me == 0) {
    struct stat sb;
    if (stat(file, &sb) != 0)
      st = dtf_error(DTF_ERR_INPUT, "cannot open '%s': %s", file, strerror(errno));
    else if (S_ISDIR(sb.st_mode))
      st = dtf_error(DTF_ERR_INPUT, "'%s' is a directory, not an HDF5 file", file);
    else if (access(file, R_OK) != 0)
      st = dtf_error(DTF_ERR_INPUT, "cannot read '%s': %s", file, strerror(errno));
  }
  st = dtf_agree(comm, st);
  if (st) return st;
  hid_t fapl = fapl_mpio(comm);
  *fid = H5Fopen(file, H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  if (*fid < 0)
    st = dtf_error(DTF_ERR_INPUT, "'%s' is not a readable HDF5 file (truncated or another format?)", file);
  return dtf_agree(comm, st);
}

dtf_status h5_create_tmp(MPI_Comm comm, const char *file, char *tmp, hid_t *fid) {
  snprintf(tmp, 4200, "%s.dtf-tmp", file);
  hid_t fapl = fapl_mpio(comm);
  *fid = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  dtf_status st = DTF_OK;
  if (*fid < 0) st = dtf_error(DTF_ERR_OUTPUT, "cannot create '%s' (for '%s')", tmp, file);
  return dtf_agree(comm, st);
}

dtf_status h5_commit(MPI_Comm comm, hid_t fid, const char *tmp, const char *file, dtf_status st) {
  if (fid >= 0 && H5Fclose(fid) < 0 && !st) st = dtf_error(DTF_ERR_OUTPUT, "cannot finish writing '%s'", tmp);
  st = dtf_agree(comm, st);
  int me;
  MPI_Comm_rank(comm, &me);
  dtf_status mine = DTF_OK;
  if (me == 0) {
    if (st)
      unlink(tmp);
    else if (rename(tmp, file) != 0) {
      mine = dtf_error(DTF_ERR_OUTPUT, "cannot rename '%s' to '%s': %s", tmp, file, strerror(errno));
      unlink(tmp);
    }
  }
  return st ? st : dtf_agree(comm, mine);
}

hid_t h5_dxpl_collective(void) {
  hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
  return dxpl;
}

hid_t h5_select_rows(hid_t fspace, int64_t row0, int64_t nrows, int cols) {
  hsize_t start[2] = {(hsize_t)row0, 0}, count[2] = {(hsize_t)nrows, (hsize_t)cols};
  hid_t ms = H5Screate_simple(cols ? 2 : 1, count, NULL);
  if (nrows > 0)
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
  else {
    H5Sselect_none(fspace);
    H5Sselect_none(ms);
  }
  return ms;
}

int h5_write_rows(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int64_t rows, int cols, int64_t row0,
                  int64_t n, const void *data) {
  hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
  hid_t sp = H5Screate_simple(cols ? 2 : 1, dims, NULL);
  hid_t did = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  int rc = -1;
  if (did >= 0) {
    hid_t ms = h5_select_rows(sp, row0, n, cols);
    hid_t dxpl = h5_dxpl_collective();
    rc = H5Dwrite(did, mtype, ms, sp, dxpl, data) < 0 ? -1 : 0;
    H5Pclose(dxpl);
    H5Sclose(ms);
    H5Dclose(did);
  }
  H5Sclose(sp);
  return rc;
}

int h5_write_doubles(hid_t loc, const char *name, int64_t rows, int cols, int64_t row0, int64_t n,
                     const double *data) {
  return h5_write_rows(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, rows, cols, row0, n, data);
}

int h5_path_exists(hid_t fid, const char *path) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", path);
  size_t len = strlen(buf);
  if (len == 0 || strcmp(buf, "/") == 0) return 1;
  for (size_t i = 1; i <= len; i++) {
    if (buf[i] == '/' || buf[i] == '\0') {
      char c = buf[i];
      buf[i] = '\0';
      if (H5Lexists(fid, buf, H5P_DEFAULT) <= 0) return 0;
      buf[i] = c;
    }
  }
  return 1;
}

int h5_attr_string(hid_t loc, const char *name, const char *value) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, strlen(value) + 1);
  H5Tset_strpad(t, H5T_STR_NULLTERM);
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  int rc = (a < 0 || H5Awrite(a, t, value) < 0) ? -1 : 0;
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(t);
  return rc;
}

static int attr_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *v, hsize_t n) {
  hid_t sp = n ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
  int rc = (a < 0 || H5Awrite(a, mtype, v) < 0) ? -1 : 0;
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  return rc;
}

int h5_attr_double(hid_t loc, const char *name, double value) {
  return attr_write(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, 0);
}

int h5_attr_int64(hid_t loc, const char *name, int64_t value) {
  return attr_write(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, 0);
}

int h5_attr_uint64_array(hid_t loc, const char *name, const int64_t *v, int n) {
  uint64_t u[64];
  for (int i = 0; i < n && i < 64; i++) u[i] = (uint64_t)v[i];
  return attr_write(loc, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, u, (hsize_t)n);
}
