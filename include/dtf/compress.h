/* Compressed collectives: the sum of every rank's rows x cols matrix (a gradient block)
 * over a communicator, every rank receiving the same (approximate) sum, through one of
 *   none        the plain allreduce
 *   core:M      M common random directions (Rademacher, regenerated on every rank from the
 *               seed, the step and the site): the ranks sum the M projections of g + e and
 *               each rebuilds gamma (1/M) sum_j xi_j <xi_j, g + e> (Yue et al., CORE), with
 *               error feedback: gamma = M / (d + M - 1) makes it a contraction, and e keeps
 *               what this rank's part lost
 *   powersgd:R  one rank-R power iteration with warm start and error feedback (Vogels,
 *               Karimireddy, Jaggi): two allreduces, of rows x R and cols x R
 *   topk:FRAC   the ceil(FRAC rows cols) largest entries with error feedback: an allgather of
 *               (index, value) pairs
 *   qsgd:BITS   unbiased stochastic quantisation to 2^BITS - 1 levels of |g| / ||g|| plus a
 *               sign bit, packed codes and the norm allgathered (Alistarh et al., QSGD)
 * docs/algorithms.md gives each one's bytes. A communicator of one rank exchanges and
 * compresses nothing, and a compressor that would send at least the plain allreduce's
 * bytes (CORE with M at least the block's size) sends the exact sum. */
#ifndef DTF_COMPRESS_H
#define DTF_COMPRESS_H

#include <mpi.h>
#include <stdint.h>

#include "dtf/comm.h"
#include "dtf/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  DTF_COMPRESS_NONE,
  DTF_COMPRESS_CORE,
  DTF_COMPRESS_POWERSGD,
  DTF_COMPRESS_TOPK,
  DTF_COMPRESS_QSGD
} dtf_compress_kind_t;

typedef struct {
  dtf_compress_kind_t kind;
  int m;         /* core: directions M; powersgd: rank R; qsgd: BITS */
  double frac;   /* topk: the fraction kept */
  uint64_t seed; /* core's directions, qsgd's rounding, powersgd's first Q */
  /* no budget given: the budget is the ladder's rung `level` (dtf_compress_at_level),
   * which the caller may move (docs/algorithms.md, "Adaptive budgets") */
  int adaptive, level;
  int automatic; /* "auto": the solver picks the kind (dtf gcp: a probe, docs/algorithms.md) */
} dtf_compress_spec_t;

/* "none", "core:M" (M >= 1), "powersgd:R" (R >= 1), "topk:FRAC" (0 < FRAC <= 1),
 * "qsgd:BITS" (1..16), or a bare "core", "powersgd", "topk", "qsgd" (adaptive, at rung
 * 0), or "auto" (kind none until the solver picks one); DTF_ERR_USAGE naming the fault. */
dtf_status dtf_compress_parse(const char *text, dtf_compress_spec_t *spec);

/* The budget of rung `level` of an adaptive spec's ladder: core M = 8 x 2^level, topk
 * FRAC = 0.002 x 2^level (at most 1), qsgd BITS = 2 + level, powersgd R = 1 + level.
 * -1 (spec unchanged) past the ladder's top: core 2^19, topk 1, qsgd 16, powersgd
 * max_rank. */
int dtf_compress_at_level(dtf_compress_spec_t *spec, int level, int max_rank);
/* "core:64" and the like, into buf (an adaptive spec: its kind alone, "core"; "auto"). */
void dtf_compress_format(const dtf_compress_spec_t *spec, char *buf, int size);
/* The budget in force, "core:64", adaptive or not. */
void dtf_compress_format_budget(const dtf_compress_spec_t *spec, char *buf, int size);

/* Bytes one sum of a rows x cols matrix over p ranks sends per rank, and in *plain what
 * the plain allreduce sends. */
double dtf_compress_bytes(const dtf_compress_spec_t *spec, int p, int64_t rows, int cols, double *plain);

typedef struct dtf_compressor dtf_compressor_t;

/* An exchange site of rows x cols matrices over comm; site keys its random draws apart
 * from other sites'. */
dtf_status dtf_compressor_create(const dtf_compress_spec_t *spec, MPI_Comm comm, int64_t rows, int cols,
                                 uint64_t site, dtf_compressor_t **out);

/* out (rows x cols, the same on every rank) = the compressed sum over comm of every rank's
 * x; step keys this call's random draws. stats counts the bytes sent and, in
 * bytes_uncompressed, the plain allreduce's. Collective. */
dtf_status dtf_compressed_sum(dtf_compressor_t *c, const double *x, double *out, uint64_t step,
                              dtf_comm_stats_t *stats);

/* Change the budget (the same kind): the error-feedback residual is kept, PowerSGD's Q
 * keeps its columns and draws any new ones. Local. */
dtf_status dtf_compressor_rebudget(dtf_compressor_t *c, const dtf_compress_spec_t *spec);
/* The state that carries over between calls and a restart (the error-feedback residual,
 * PowerSGD's Q), this rank's own: *len doubles (0: none). */
double *dtf_compressor_state(dtf_compressor_t *c, int64_t *len);

void dtf_compressor_free(dtf_compressor_t *c);

#ifdef __cplusplus
}
#endif
#endif
