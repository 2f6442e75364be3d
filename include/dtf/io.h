/* Files: parallel HDF5 dense and sparse tensors, FROSTT text, solver states and models,
 * JSON summaries, and the rules every output follows. Every function is
 * collective over the communicator or grid it takes, and returns an agreed status.
 * With Open MPI 4.1, select the ROMIO MPI-IO component (OMPI_MCA_io=romio321 before
 * MPI_Init, as the dtf executable does): OMPIO was seen to corrupt collective writes. */
#ifndef DTF_IO_H
#define DTF_IO_H

#include <mpi.h>
#include <stdint.h>

#include "dtf/coo.h"
#include "dtf/grid.h"
#include "dtf/state.h"

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

/* This rank's block of a missing-entry mask (uint8 dataset of the grid's shape; 1 =
 * observed), malloc'd. DTF_ERR_INPUT if it is of another type or shape (the message
 * names `tensor`, the tensor it belongs to). Collective. */
dtf_status dtf_h5_mask_read(const dtf_grid_t *grid, const dtf_spec_t *spec, const char *tensor,
                            uint8_t **local);

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

/* ---- solver states and models (io/h5_state.c, layout in docs/formats.md) ---- */

/* Write the manifest s (model or checkpoint) into a new file, atomically (dtf_output_*):
 * every rank writes its rows, rank 0 the replicated fields, each rank its per-rank
 * fields. Collective. */
dtf_status dtf_h5_state_write(const dtf_grid_t *grid, const char *file, const dtf_state_t *s);

/* Read the header and every root attribute of a state or model file into out, and list
 * its datasets as fields (shape only, no data). Files without the manifest header (a
 * model written by hand with h5py) have an empty solver and checkpoint 0. Refuses
 * (DTF_ERR_INPUT, out filled as far as read) a format_version newer than this dtf's and,
 * in a file with the attribute `model`, a missing or unusable `dims`: every reader of
 * models and checkpoints (eval, predict, info, reconstruct, --resume) comes here.
 * Collective. */
dtf_status dtf_h5_state_peek(MPI_Comm comm, const char *file, dtf_state_t *out);

/* Read every field of s from the file into its data (rows fields: this rank's
 * read_start.. rows; per-rank fields: this rank's part, which needs the same ranks and
 * grid). A missing field or one of another shape fails naming it. Collective. */
dtf_status dtf_h5_state_read(const dtf_grid_t *grid, const char *file, dtf_state_t *s);

/* ---- outputs (io/output.c) ---- */

#define DTF_MAX_INPUT_FILES 8
#define DTF_MAX_OUTPUTS 8

/* The files a run reads for one input: the file named and, for HDF5, the files that
 * external links on the way to its object lead to (dev/ino identify them). */
typedef struct {
  int n;
  char file[DTF_MAX_INPUT_FILES][4096];
  char via[DTF_MAX_INPUT_FILES][1200]; /* how the file is reached ("" for the file named) */
  uint64_t dev[DTF_MAX_INPUT_FILES], ino[DTF_MAX_INPUT_FILES];
} dtf_input_files_t;

/* Add the files of input spec to in (zero it first). Collective. */
dtf_status dtf_input_files(MPI_Comm comm, const dtf_spec_t *spec, dtf_input_files_t *in);

typedef enum {
  DTF_OUT_TENSOR,  /* an HDF5 file holding one tensor at `path` */
  DTF_OUT_MODEL,   /* an HDF5 model or checkpoint file */
  DTF_OUT_RESUMED, /* a checkpoint resumed from (--resume): its reader refuses any file that is
                    * not a dtf checkpoint of this run before anything replaces it */
  DTF_OUT_TNS,     /* FROSTT .tns text */
  DTF_OUT_JSON     /* a JSON summary */
} dtf_output_kind_t;

/* The first characters of every .tns file dtf writes (its mark: an existing .tns without
 * it is not replaced without --force). */
#define DTF_TNS_MARK "# FROSTT tensor written by dtf "

typedef struct {
  const char *name; /* the file as given */
  const char *path; /* DTF_OUT_TENSOR: the object written ("/X") */
  dtf_output_kind_t kind;
  const char *role; /* how the user named it, for messages: "--output", "--json" */
  double bytes;     /* its expected size, checked against the free space (0: unknown) */
} dtf_output_spec_t;

/* Check every output before any work, so that nothing fails after hours of computing:
 * an empty name or a directory name, a missing, unwritable, append-only or immutable
 * directory (a temporary is created and removed there), a name too long for its
 * temporary, too little space (none at all included), an existing file that is not a
 * regular file (FIFO, device, directory), that is immutable or append-only, that is one
 * of the input files (also through a symbolic, hard or HDF5 external link), and two
 * outputs naming the same file. Unless force, an existing non-empty file is replaced only
 * if dtf wrote it as this kind of output (its mark: the root attribute dtf_version of an
 * HDF5 file, DTF_TNS_MARK, a JSON summary's "dtf_version" key) and, for a tensor, it holds
 * nothing else. Temporaries left by killed runs are reported through log. DTF_ERR_USAGE
 * or DTF_ERR_OUTPUT with the reason. Collective. */
dtf_status dtf_outputs_check(MPI_Comm comm, const dtf_output_spec_t *outs, int nouts,
                             const dtf_input_files_t *inputs, int ninputs, int force, dtf_log_fn log,
                             void *ctx);

/* An output being written: `final` is where (an existing symbolic link's target), `tmp`
 * the temporary name unique to this run in the same directory, which the writer creates
 * exclusively (never through a link). */
typedef struct {
  char name[4096];
  char final[4096];
  char tmp[4200];
  dtf_status fault; /* DTF_FAULT=RANK:N:write: this rank's part of its N-th output fails */
} dtf_output_t;

/* Choose the temporary name for writing `name`. Collective. */
dtf_status dtf_output_begin(MPI_Comm comm, const char *name, dtf_output_t *out);

/* Create the temporary (rank 0, exclusively, empty) and reserve `bytes` for it (Linux
 * fallocate, size unchanged), so that a full disk or quota fails here, agreed by all
 * ranks and with nothing left, before a writer opens it and writes a byte. Collective. */
dtf_status dtf_output_create(MPI_Comm comm, const dtf_output_t *out, double bytes);

/* Agree on st; if every rank succeeded, make the temporary durable and rename it over
 * the final name, else remove it. Returns the agreed status. Collective. */
dtf_status dtf_output_end(MPI_Comm comm, const dtf_output_t *out, dtf_status st);

/* Remove the temporaries of the outputs being written now (between dtf_output_begin and
 * dtf_output_end): for a signal handler that ends the process (async-signal-safe; call it
 * on one rank). */
void dtf_output_abandon(void);

/* Release the HDF5 library's resources (call before MPI_Finalize). */
void dtf_io_finalize(void);

/* A flat JSON object, built in order and written atomically by one rank. */
typedef struct dtf_json dtf_json_t;
dtf_json_t *dtf_json_new(void);
void dtf_json_string(dtf_json_t *j, const char *key, const char *value);
void dtf_json_number(dtf_json_t *j, const char *key, double value);
void dtf_json_int(dtf_json_t *j, const char *key, int64_t value);
void dtf_json_bool(dtf_json_t *j, const char *key, int value);
void dtf_json_int_array(dtf_json_t *j, const char *key, const int64_t *v, int n);
void dtf_json_number_array(dtf_json_t *j, const char *key, const double *v, int n);
/* Write to file: rank 0 writes an exclusive temporary, renamed when complete (the
 * other ranks' j may be NULL). Collective. */
dtf_status dtf_json_write(MPI_Comm comm, const dtf_json_t *j, const char *file);
void dtf_json_free(dtf_json_t *j);

#ifdef __cplusplus
}
#endif
#endif
