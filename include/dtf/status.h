/* Status codes and error messages shared by every dtf function. */
#ifndef DTF_STATUS_H
#define DTF_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Every dtf function returns a dtf_status; the values are the CLI's exit codes. */
typedef enum {
  DTF_OK = 0,
  DTF_ERR_USAGE = 1,   /* bad arguments or options */
  DTF_ERR_INPUT = 2,   /* bad input: file, dataset, values, or a problem too large */
  DTF_ERR_NUMERIC = 3, /* numerical failure (non-finite iterate, ...) */
  DTF_ERR_OUTPUT = 4,  /* an output could not be written */
  DTF_ERR_MPI = 5,     /* an MPI call failed (communication, not the numbers) */
  DTF_INTERRUPTED = 75 /* stopped by a signal after writing a checkpoint */
} dtf_status;

/* Record a printf-style message for status s (this thread) and return s. */
dtf_status dtf_error(dtf_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Record a failure that this rank cannot share with its peers, which may be waiting in a
 * collective it will not complete (HDF5 leaves the ranks in different collectives when a
 * write fails inside it). From then on no collective of mpi/ communicates on this rank (each
 * returns s at once); the caller must end the job (the CLI: MPI_Abort with s). Returns s. */
dtf_status dtf_error_stranded(dtf_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The status given to dtf_error_stranded on this thread, DTF_OK if it was not called. */
dtf_status dtf_error_is_stranded(void);

/* The message recorded by the last failing dtf call on this thread ("" if none). */
const char *dtf_error_message(void);

/* Replace the recorded message (used when ranks agree on one rank's error). */
void dtf_error_set_message(const char *msg);

/* Warnings and notes: called with the same text on every rank that has one; the caller
 * decides who prints. */
typedef void (*dtf_log_fn)(const char *msg, void *ctx);

/* Short name of a status ("bad input", ...). */
const char *dtf_status_name(dtf_status s);

#ifdef __cplusplus
}
#endif
#endif
