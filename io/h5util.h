/* Shared parallel-HDF5 plumbing for io/: collective open/create, atomic commit. */
#ifndef DTF_IO_H5UTIL_H
#define DTF_IO_H5UTIL_H

#include <hdf5.h>
#include <mpi.h>

#include "dtf/status.h"

/* Open `file` read-only with the MPI-IO driver. Names the file in every error. */
dtf_status h5_open_read(MPI_Comm comm, const char *file, hid_t *fid);

/* Create `file`'s temporary sibling (name in tmp, 4200 bytes) for writing. */
dtf_status h5_create_tmp(MPI_Comm comm, const char *file, char *tmp, hid_t *fid);

/* Close fid; if st is DTF_OK rename tmp to file, else remove tmp. Returns the agreed
 * status (DTF_ERR_OUTPUT if closing or renaming failed). */
dtf_status h5_commit(MPI_Comm comm, hid_t fid, const char *tmp, const char *file, dtf_status st);

/* Collective-transfer property list (close with H5Pclose). */
hid_t h5_dxpl_collective(void);

/* Select rows [row0, row0 + nrows) of fspace, the space of a 1-D (cols == 0) or
 * rows x cols dataset (nrows == 0 selects nothing), and return the matching memory space
 * (close with H5Sclose). */
hid_t h5_select_rows(hid_t fspace, int64_t row0, int64_t nrows, int cols);

/* Create dataset `name` (file type ftype) of rows x cols (cols 0: 1-D of rows) under loc
 * and write this rank's rows [row0, row0 + n) from data (memory type mtype), collectively
 * (n may be 0); 0 on success. */
int h5_write_rows(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int64_t rows, int cols, int64_t row0,
                  int64_t n, const void *data);

/* The same for float64 data. */
int h5_write_doubles(hid_t loc, const char *name, int64_t rows, int cols, int64_t row0, int64_t n,
                     const double *data);

/* Does the object path (like /a/b/c) exist in fid? Every component is checked. */
int h5_path_exists(hid_t fid, const char *path);

/* Write a scalar or 1-D attribute on loc; 0 on success. */
int h5_attr_string(hid_t loc, const char *name, const char *value);
int h5_attr_double(hid_t loc, const char *name, double value);
int h5_attr_int64(hid_t loc, const char *name, int64_t value);
int h5_attr_uint64_array(hid_t loc, const char *name, const int64_t *v, int n);

#endif
