/* Shared plumbing for io/: collective HDF5 open and create, atomic outputs, row-wise
 * dataset transfers, attributes, object checks, MPI-IO names. */
#ifndef DTF_IO_H5UTIL_H
#define DTF_IO_H5UTIL_H

#include <hdf5.h>
#include <mpi.h>

#include "dtf/io.h"
#include "dtf/status.h"

/* Open `file` read-only with the MPI-IO driver. Names the file in every error. */
dtf_status h5_open_read(MPI_Comm comm, const char *file, hid_t *fid);

/* Start writing output `file`: choose its temporary (out), create it exclusively with
 * the MPI-IO driver (*fid) and reserve `bytes` of space. Collective. */
dtf_status h5_create(MPI_Comm comm, const char *file, double bytes, dtf_output_t *out, hid_t *fid);

/* HDF5 returned a failure from a write (H5Dwrite, H5Fflush) of the output h5_create
 * began. HDF5 does not agree on errors: the other ranks may now be inside a collective this
 * one left, so nothing can be agreed any more. Removes the temporary and strands this rank
 * (dtf_error_stranded): the caller returns at once and the CLI ends the job (exit 4). */
dtf_status h5_write_failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* st is a stranded failure: make no further HDF5 or MPI call, return st. */
int h5_stranded(dtf_status st);

/* Flush and close fid, then finish the output (dtf_output_end) with st: renamed when
 * every rank succeeded, removed otherwise. Returns the agreed status (a stranded one at
 * once, with no call). */
dtf_status h5_finish(MPI_Comm comm, hid_t fid, const dtf_output_t *out, dtf_status st);

/* MPI_File_open that also works for names with a colon (ROMIO reads "x:" as a file
 * system prefix; such names are retried as "ufs:name"). */
int mpiio_open(MPI_Comm comm, const char *name, int amode, MPI_File *fh);

/* Collective-transfer property list (close with H5Pclose). */
hid_t h5_dxpl_collective(void);

/* Select rows [row0, row0 + nrows) of fspace, the space of a 1-D (cols == 0) or
 * rows x cols dataset (nrows == 0 selects nothing), and return the matching memory space
 * (close with H5Sclose). */
hid_t h5_select_rows(hid_t fspace, int64_t row0, int64_t nrows, int cols);

/* Select rows [row0, row0 + nrows) of the middle index of a lead x rows x cols file space,
 * and return a memory space lead x mrows x cols with rows [mrow0, mrow0 + nrows) selected.
 * nrows 0 selects nothing in either. */
hid_t h5_select_rows3(hid_t fspace, int64_t lead, int64_t row0, int64_t nrows, int64_t cols, int64_t mrows,
                      int64_t mrow0);

/* Create dataset `name` (file type ftype) of rows x cols (cols 0: 1-D of rows) under loc
 * and write this rank's rows [row0, row0 + n) from data (memory type mtype),
 * collectively. Every rank makes the same calls whatever happened before; a rank with
 * st set takes part with an empty selection. Returns st,
 * or the failure of this write (DTF_ERR_OUTPUT naming the dataset of `file`). */
dtf_status h5_write_rows(hid_t loc, const char *file, const char *name, hid_t ftype, hid_t mtype,
                         int64_t rows, int cols, int64_t row0, int64_t n, const void *data, dtf_status st);

/* Bytes an HDF5 file holding `data_bytes` of raw data in `objects` objects takes at most. */
double h5_file_bytes(double data_bytes, int objects);

/* Does the object path (like /a/b/c) exist in fid? Every component is checked. */
int h5_path_exists(hid_t fid, const char *path);

/* Why `path` names no object of `file`: a missing link, or a soft or external link
 * whose target is missing (named); `what` is "dataset" or "group". DTF_ERR_INPUT. */
dtf_status h5_missing(hid_t fid, const char *file, const char *path, const char *what);

/* If the dataset uses a filter this HDF5 library cannot decode (a compression plugin
 * that is not installed), DTF_ERR_INPUT naming it; else DTF_OK. */
dtf_status h5_check_filters(hid_t did, const char *file, const char *path);

/* Write a scalar or 1-D attribute on loc; 0 on success. */
int h5_attr_string(hid_t loc, const char *name, const char *value);
int h5_attr_double(hid_t loc, const char *name, double value);
int h5_attr_int64(hid_t loc, const char *name, int64_t value);
int h5_attr_uint64(hid_t loc, const char *name, uint64_t value);
int h5_attr_uint64_array(hid_t loc, const char *name, const int64_t *v, int n);
int h5_attr_int64_array(hid_t loc, const char *name, const int64_t *v, int n);

/* Read a string attribute (fixed or variable length) into buf; 0 on success. */
int h5_attr_read_string(hid_t loc, const char *name, char *buf, size_t size);

#endif
