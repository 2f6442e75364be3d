/* Files: parallel HDF5 dense tensors, CP model files, JSON summaries. Every function is
 * collective over the communicator or grid it takes, and returns an agreed status.
 * With Open MPI 4.1, select the ROMIO MPI-IO component (OMPI_MCA_io=romio321 before
 * MPI_Init, as the dtf executable does): OMPIO was seen to corrupt collective writes. */
#ifndef DTF_IO_H
#define DTF_IO_H

#include <mpi.h>
#include <stdint.h>

#include "dtf/coo.h"
#include "dtf/cp.h"
#include "dtf/grid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "file.h5:/path" (or "file.h5", meaning default_path). */
typedef struct {
  char file[4096];
  char path[1024];
} dtf_spec_t;

/* Parse an input spec; DTF_ERR_USAGE if it is empty or too long. */
dtf_status dtf_spec_parse(const char *text, const char *default_path, dtf_spec_t *out);

/* Shape and element size of a dense dataset; DTF_ERR_INPUT (message names the file and
 * dataset) if it is missing, not float32/float64, has fewer than 2 or more than 8
 * dimensions, a dimension of 0, or more entries than int64 holds. */
dtf_status dtf_h5_dense_info(MPI_Comm comm, const dtf_spec_t *spec, int *nmodes, int64_t *dims,
                             int *elem_bytes);

/* Read this rank's block of the grid (malloc'd, C order, float64) with collective I/O. */
dtf_status dtf_h5_dense_read(const dtf_grid_t *grid, const dtf_spec_t *spec, double **local);

/* Write a float64 dataset spec->path of the grid's shape into a new file spec->file, each
 * rank its block; written under a temporary name and renamed when complete. */
dtf_status dtf_h5_dense_write(const dtf_grid_t *grid, const dtf_spec_t *spec, const double *local);

/* Is spec's path a group (a sparse tensor) rather than a dataset? Collective. */
int dtf_h5_is_group(MPI_Comm comm, const dtf_spec_t *spec);

/* Read a sparse COO group (docs/formats.md): out gets the shape and this rank's
 * contiguous share of the nonzeros (global indices; tags are the 0-based rows). A wrong
 * layout, an index outside dims or a non-finite value fails naming the file, group and
 * row. Collective. */
dtf_status dtf_h5_sparse_read(MPI_Comm comm, const dtf_spec_t *spec, dtf_coo_t *out);

/* Write the entries of c (global indices; the ranks' shares in rank order) as a COO group
 * spec->path of a new file spec->file, atomically. Collective. */
dtf_status dtf_h5_sparse_write(MPI_Comm comm, const dtf_spec_t *spec, const dtf_coo_t *c);

/* Does the name end in ".tns" (FROSTT text)? */
int dtf_is_tns(const char *name);

/* Parse a FROSTT .tns file in parallel, each rank a byte range of whole lines: 1-based
 * indices then a value per line, '#' comments and blank lines skipped. The number of
 * modes comes from the first data line; dims are inferred (the largest index per mode)
 * unless given (nmodes_given > 0). out gets global 0-based indices, tags = line numbers.
 * Errors name the line. Collective. */
dtf_status dtf_tns_read(MPI_Comm comm, const char *file, int nmodes_given, const int64_t *dims_given,
                        dtf_coo_t *out);

/* Write c (global indices; the ranks' shares in rank order) as a .tns file, values with
 * 17 significant digits (exact), atomically. Collective. */
dtf_status dtf_tns_write(MPI_Comm comm, const char *file, const dtf_coo_t *c);

/* Write model m as a CP model file (docs/formats.md), atomically. */
dtf_status dtf_h5_cp_write(const dtf_grid_t *grid, const char *file, const dtf_cp_model_t *m);

/* Model attributes of a CP model file: its number of modes, dims and rank. */
dtf_status dtf_h5_cp_info(MPI_Comm comm, const char *file, int *nmodes, int64_t *dims, int *R);

/* Read a CP model file into m (initialised with dtf_cp_model_init for the same dims). */
dtf_status dtf_h5_cp_read(const dtf_grid_t *grid, const char *file, dtf_cp_model_t *m);

/* Write the whole CP-ALS state (a model file plus Grams, fit history, delta, seed), so
 * that a run resumed from it with the same ranks ends bit for bit where the
 * uninterrupted one does. Atomic. Collective. */
dtf_status dtf_h5_checkpoint_write(const dtf_grid_t *grid, const char *file, const dtf_cp_als_t *s);

/* Restore s (made by dtf_cp_als_init for the same tensor shape, rank and seed) from a
 * checkpoint; DTF_ERR_INPUT if it does not match. Collective. */
dtf_status dtf_h5_checkpoint_read(const dtf_grid_t *grid, const char *file, dtf_cp_als_t *s);

/* Fail early (DTF_ERR_OUTPUT) if `file` could not be created: its directory is missing or
 * not writable, or it is a directory. Collective. */
dtf_status dtf_check_writable(MPI_Comm comm, const char *file);

/* Fail (DTF_ERR_USAGE) if `out` names the same file as `in` (a run would overwrite its
 * own input); `what` names the two roles ("the input and --output"). Collective. */
dtf_status dtf_check_distinct(MPI_Comm comm, const char *in, const char *out, const char *what);

/* A flat JSON object, built in order and written atomically by one rank. */
typedef struct dtf_json dtf_json_t;
dtf_json_t *dtf_json_new(void);
void dtf_json_string(dtf_json_t *j, const char *key, const char *value);
void dtf_json_number(dtf_json_t *j, const char *key, double value);
void dtf_json_int(dtf_json_t *j, const char *key, int64_t value);
void dtf_json_bool(dtf_json_t *j, const char *key, int value);
void dtf_json_int_array(dtf_json_t *j, const char *key, const int64_t *v, int n);
void dtf_json_number_array(dtf_json_t *j, const char *key, const double *v, int n);
/* Write to file (temporary name, then rename). */
dtf_status dtf_json_write(const dtf_json_t *j, const char *file);
void dtf_json_free(dtf_json_t *j);

#ifdef __cplusplus
}
#endif
#endif
