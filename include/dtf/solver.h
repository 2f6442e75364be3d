/* The interface every solver offers, so that one run loop (the CLI's, or a library
 * user's) drives any of them: iterate with a progress record, say when it is finished,
 * describe its state as a manifest (for model files and checkpoints), restore from one.
 * A solver never opens files or prints. */
#ifndef DTF_SOLVER_H
#define DTF_SOLVER_H

#include <stdint.h>

#include "dtf/state.h"
#include "dtf/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DTF_PROGRESS_EXTRA 10

/* What a solver reports after each iteration (or epoch). */
typedef struct {
  int iteration;               /* 1-based */
  const char *metric;          /* the value's name: "fit", "loss", "rmse" */
  double value;                /* the metric after this iteration (NaN: not computed this time) */
  double delta;                /* |value - previous value| */
  double seconds;              /* wall time of this iteration */
  uint64_t bytes_sent;         /* bytes this rank sent in this iteration */
  uint64_t bytes_uncompressed; /* what the uncompressed collectives would have sent */
  int nextra;                  /* further named values of this iteration (printed, summarised) */
  const char *extra_name[DTF_PROGRESS_EXTRA];
  double extra[DTF_PROGRESS_EXTRA];
  char note[64]; /* further text for the progress line ("bonds 3x4x2x3"), or empty */
} dtf_progress_t;

typedef struct {
  const char *name; /* "cp-als" */
  /* One iteration; fills p. Every rank returns the same status. Collective. */
  dtf_status (*iterate)(void *impl, dtf_progress_t *p);
  /* Converged, or at its iteration limit. */
  int (*finished)(const void *impl);
  int (*converged)(const void *impl);
  /* Describe the model (checkpoint 0) or the whole state (1) into out; the fields point
   * into the solver. May be collective (a model in other labels is gathered). */
  dtf_status (*state)(void *impl, int checkpoint, dtf_state_t *out);
  /* Continue from the checkpoint described by file (its attributes, already checked with
   * dtf_state_check_resume): the solver takes its iteration and scalars, then calls
   * read(manifest of its arrays, ctx) to fill them. Collective. */
  dtf_status (*restore)(void *impl, const dtf_state_t *file, dtf_state_read_fn read, void *ctx);
} dtf_solver_ops_t;

typedef struct {
  const dtf_solver_ops_t *ops;
  void *impl;
} dtf_solver_t;

/* Called on every rank after each iteration; a nonzero return stops the run. */
typedef int (*dtf_progress_fn)(const dtf_progress_t *p, void *ctx);

/* Iterate until the solver is finished, or progress (may be NULL) asks to stop
 * (DTF_INTERRUPTED). Collective. */
dtf_status dtf_solver_run(const dtf_solver_t *s, dtf_progress_fn progress, void *ctx);

/* For a solver's restore: the scalars an ALS solver checkpoints (attributes iterations,
 * converged, fit, delta), DTF_ERR_INPUT if one is missing (naming `what`, "CP-ALS") or the
 * iteration is outside 1..max_iters. */
dtf_status dtf_solver_restore_scalars(const dtf_state_t *file, const char *what, int max_iters,
                                      int *iteration, int *converged, double *fit, double *delta);

/* For a solver's restore: its arrays, read through the manifest its own state(impl, 1,
 * ...) describes (call it once the scalars the manifest depends on are set). */
dtf_status dtf_solver_restore_fields(dtf_status (*state)(void *impl, int checkpoint, dtf_state_t *out),
                                     void *impl, dtf_state_read_fn read, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
