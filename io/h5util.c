/* Parallel HDF5 helpers. HDF5's own error stack printing is switched off: dtf reports
 * errors itself, naming the file and dataset. */
#include "h5util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dtf/comm.h"
#include "dtf/fault.h"
#include "dtf/version.h"

static hid_t fapl_mpio(MPI_Comm comm) {
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
  /* metadata is read once and broadcast, not by every rank */
  H5Pset_all_coll_metadata_ops(fapl, 1);
  H5Pset_coll_metadata_write(fapl, 1);
  return fapl;
}

/* ROMIO takes "x:" at the start of a name as the file system "x" and refuses unknown
 * ones; "ufs:" (the generic POSIX driver) is stripped again. OMPIO takes names as they
 * are, so the plain name is tried first. */
static int prefixed(const char *name, char *buf, size_t size) {
  if (!strchr(name, ':')) return 0;
  snprintf(buf, size, "ufs:%s", name);
  return 1;
}

/* create: the (empty) temporary dtf_output_create made; HDF5 truncates nothing of an empty
 * file, so its reserved blocks stay */
static hid_t open_or_create(const char *name, int create, hid_t fapl) {
  hid_t fid =
      create ? H5Fcreate(name, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : H5Fopen(name, H5F_ACC_RDONLY, fapl);
  char alt[4200];
  if (fid < 0 && prefixed(name, alt, sizeof alt))
    fid = create ? H5Fcreate(alt, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : H5Fopen(alt, H5F_ACC_RDONLY, fapl);
  return fid;
}

int mpiio_open(MPI_Comm comm, const char *name, int amode, MPI_File *fh) {
  int rc = MPI_File_open(comm, name, amode, MPI_INFO_NULL, fh);
  char alt[4200];
  if (rc != MPI_SUCCESS && prefixed(name, alt, sizeof alt))
    rc = MPI_File_open(comm, alt, amode, MPI_INFO_NULL, fh);
  return rc;
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
  *fid = open_or_create(file, 0, fapl);
  H5Pclose(fapl);
  if (*fid < 0)
    st = dtf_error(DTF_ERR_INPUT, "'%s' is not a readable HDF5 file (truncated or another format?)", file);
  return dtf_agree(comm, st);
}

/* the output h5_create began and h5_finish ends: one at a time */
static const dtf_output_t *writing;

dtf_status h5_write_failed(const char *fmt, ...) {
  char what[1500];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (writing) unlink(writing->tmp);
  return dtf_error_stranded(DTF_ERR_OUTPUT, "%s; the unfinished file was removed", what);
}

int h5_stranded(dtf_status st) { return st != DTF_OK && dtf_error_is_stranded(); }

dtf_status h5_create(MPI_Comm comm, const char *file, double bytes, dtf_output_t *out, hid_t *fid) {
  *fid = -1;
  dtf_status st = dtf_output_begin(comm, file, out);
  if (st) return st;
  /* the space first, before HDF5 writes a byte: a full disk is then found where every rank
   * agrees, not inside HDF5's collective flush (see h5_finish) */
  st = dtf_output_create(comm, out, bytes);
  if (st) return st;
  writing = out;
  hid_t fapl = fapl_mpio(comm);
  *fid = open_or_create(out->tmp, 1, fapl);
  H5Pclose(fapl);
  if (*fid < 0) st = dtf_error(DTF_ERR_OUTPUT, "cannot create '%s' (for '%s')", out->tmp, file);
  /* dtf's mark: an existing file that lacks it is not replaced without --force */
  else if (h5_attr_string(*fid, "dtf_version", DTF_VERSION))
    st = dtf_error(DTF_ERR_OUTPUT, "writing the attributes of '%s' failed", file);
  st = dtf_agree(comm, st);
  if (st) return h5_finish(comm, *fid, out, st);
  return st;
}

dtf_status h5_finish(MPI_Comm comm, hid_t fid, const dtf_output_t *out, dtf_status st) {
  if (h5_stranded(st)) return st;
  /* agree first: the flush and close are collective and must see every rank */
  st = dtf_agree(comm, st);
  if (fid >= 0) {
    /* HDF5 writes its metadata at the flush, and would at the close even after a failure:
     * flush first, so that a failure there strands the rank before the close's collectives */
    int injected = dtf_fault("flush", 0);
    if (H5Fflush(fid, H5F_SCOPE_GLOBAL) < 0 || injected) {
      char why[2048] = "";
      if (st) snprintf(why, sizeof why, " after: %s", dtf_error_message());
      return h5_write_failed("writing '%s' failed inside HDF5 (%s)%s", out->name,
                             injected ? "fault injected by DTF_FAULT at flush" : "disk full?", why);
    }
    injected = dtf_fault("close", 0);
    if ((H5Fclose(fid) < 0 || injected) && !st)
      st = dtf_error(DTF_ERR_OUTPUT, "cannot finish writing '%s'%s", out->name,
                     injected ? " (fault injected by DTF_FAULT at close)" : "");
  }
  writing = NULL;
  return dtf_output_end(comm, out, st);
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

hid_t h5_select_rows3(hid_t fspace, int64_t lead, int64_t row0, int64_t nrows, int64_t cols, int64_t mrows,
                      int64_t mrow0) {
  hsize_t fstart[3] = {0, (hsize_t)row0, 0}, count[3] = {(hsize_t)lead, (hsize_t)nrows, (hsize_t)cols};
  hsize_t mdims[3] = {(hsize_t)lead, (hsize_t)(mrows > 0 ? mrows : 1), (hsize_t)cols},
          mstart[3] = {0, (hsize_t)mrow0, 0};
  hid_t ms = H5Screate_simple(3, mdims, NULL);
  if (nrows > 0) {
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, fstart, NULL, count, NULL);
    H5Sselect_hyperslab(ms, H5S_SELECT_SET, mstart, NULL, count, NULL);
  } else {
    H5Sselect_none(fspace);
    H5Sselect_none(ms);
  }
  return ms;
}

dtf_status h5_write_rows(hid_t loc, const char *file, const char *name, hid_t ftype, hid_t mtype,
                         int64_t rows, int cols, int64_t row0, int64_t n, const void *data, dtf_status st) {
  if (h5_stranded(st)) return st;
  hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
  hid_t sp = H5Screate_simple(cols ? 2 : 1, dims, NULL);
  hid_t did = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (did >= 0) {
    hid_t ms = h5_select_rows(sp, row0, st ? 0 : n, cols);
    hid_t dxpl = h5_dxpl_collective();
    if (H5Dwrite(did, mtype, ms, sp, dxpl, data) < 0)
      st = h5_write_failed("writing dataset '%s' of '%s' failed (disk full?)", name, file);
    H5Pclose(dxpl);
    H5Sclose(ms);
    H5Dclose(did);
  } else if (!st)
    st = dtf_error(DTF_ERR_OUTPUT, "cannot create dataset '%s' in '%s'", name, file);
  H5Sclose(sp);
  return st;
}

double h5_file_bytes(double data_bytes, int objects) { return data_bytes + 16384.0 + 2048.0 * objects; }

int h5_path_exists(hid_t fid, const char *path) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", path);
  size_t len = strlen(buf);
  if (len == 0 || strcmp(buf, "/") == 0) return 1;
  for (size_t i = 1; i <= len; i++) {
    if (buf[i] == '/' || buf[i] == '\0') {
      char c = buf[i];
      buf[i] = '\0';
      if (H5Lexists(fid, buf, H5P_DEFAULT) <= 0 || H5Oexists_by_name(fid, buf, H5P_DEFAULT) <= 0) return 0;
      buf[i] = c;
    }
  }
  return 1;
}

dtf_status h5_missing(hid_t fid, const char *file, const char *path, const char *what) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", path);
  size_t len = strlen(buf);
  for (size_t i = 1; i <= len; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char c = buf[i];
    buf[i] = '\0';
    if (H5Lexists(fid, buf, H5P_DEFAULT) <= 0) break;
    if (H5Oexists_by_name(fid, buf, H5P_DEFAULT) <= 0) {
      H5L_info_t li;
      char val[2048] = "";
      if (H5Lget_info(fid, buf, &li, H5P_DEFAULT) >= 0 && li.type == H5L_TYPE_SOFT &&
          li.u.val_size < sizeof val && H5Lget_val(fid, buf, val, sizeof val, H5P_DEFAULT) >= 0)
        return dtf_error(DTF_ERR_INPUT, "'%s:%s' is a soft link to '%s', which does not exist", file, buf,
                         val);
      if (H5Lget_info(fid, buf, &li, H5P_DEFAULT) >= 0 && li.type == H5L_TYPE_EXTERNAL &&
          li.u.val_size < sizeof val && H5Lget_val(fid, buf, val, sizeof val, H5P_DEFAULT) >= 0) {
        const char *efile = NULL, *epath = NULL;
        unsigned flags;
        if (H5Lunpack_elink_val(val, li.u.val_size, &flags, &efile, &epath) >= 0)
          return dtf_error(DTF_ERR_INPUT,
                           "'%s:%s' is an external link to '%s:%s', which cannot be opened (missing file or "
                           "object)",
                           file, buf, efile, epath);
      }
      return dtf_error(DTF_ERR_INPUT, "'%s:%s' is a link to an object that does not exist", file, buf);
    }
    buf[i] = c;
  }
  return dtf_error(DTF_ERR_INPUT, "'%s' has no %s '%s'", file, what, path);
}

dtf_status h5_check_filters(hid_t did, const char *file, const char *path) {
  hid_t dcpl = H5Dget_create_plist(did);
  int n = H5Pget_nfilters(dcpl);
  dtf_status st = DTF_OK;
  for (int k = 0; k < n && !st; k++) {
    unsigned flags = 0, cd[8];
    size_t ncd = 8;
    char name[64] = "";
    H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)k, &flags, &ncd, cd, sizeof name, name, NULL);
    if (id >= 0 && H5Zfilter_avail(id) <= 0)
      st = dtf_error(DTF_ERR_INPUT,
                     "dataset '%s:%s' is stored with HDF5 filter %d (%s), which this HDF5 library cannot "
                     "decode: install its plugin (HDF5_PLUGIN_PATH) or rewrite the dataset without it "
                     "(h5repack -f NONE)",
                     file, path, (int)id, name[0] ? name : "unknown name");
  }
  H5Pclose(dcpl);
  return st;
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

int h5_attr_uint64(hid_t loc, const char *name, uint64_t value) {
  return attr_write(loc, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &value, 0);
}

int h5_attr_uint64_array(hid_t loc, const char *name, const int64_t *v, int n) {
  uint64_t u[64];
  for (int i = 0; i < n && i < 64; i++) u[i] = (uint64_t)v[i];
  return attr_write(loc, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, u, (hsize_t)n);
}

int h5_attr_int64_array(hid_t loc, const char *name, const int64_t *v, int n) {
  return attr_write(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, v, (hsize_t)n);
}

int h5_attr_read_string(hid_t loc, const char *name, char *buf, size_t size) {
  buf[0] = '\0';
  if (H5Aexists(loc, name) <= 0) return -1;
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = H5Aget_type(a);
  int rc = -1;
  if (H5Tget_class(t) == H5T_STRING) {
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_cset(mt, H5Tget_cset(t));
    if (H5Tis_variable_str(t) > 0) {
      H5Tset_size(mt, H5T_VARIABLE);
      char *v = NULL;
      if (H5Aread(a, mt, &v) >= 0 && v) {
        snprintf(buf, size, "%s", v);
        rc = 0;
      }
      if (v) H5free_memory(v);
    } else if (H5Tget_size(t) < size) {
      H5Tset_size(mt, size);
      if (H5Aread(a, mt, buf) >= 0) rc = 0;
      buf[size - 1] = '\0';
    }
    H5Tclose(mt);
  }
  H5Tclose(t);
  H5Aclose(a);
  return rc;
}
void dtf_io_finalize(void) { H5close(); }
