/* Synthetic tensors with planted low-rank structure. */
#ifndef DTF_GENERATE_H
#define DTF_GENERATE_H

#include <stdint.h>

#include "dtf/coo.h"
#include "dtf/cp.h"
#include "dtf/grid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* This rank's dense block (malloc'd, C order) of X = [[A_1..A_N]] + noise, where the A_n
 * are standard normal draws (stream DTF_STREAM_TRUTH) and the noise is Gaussian with
 * standard deviation noise x RMS(clean X), keyed by global linear index. If truth is
 * not NULL it receives the planted model, normalised like a fitted one (unit-norm
 * columns, weights in lambda); its fit is left for the caller. Collective. */
dtf_status dtf_generate_dense(const dtf_grid_t *grid, int R, double noise, uint64_t seed, double **local,
                              dtf_cp_model_t *truth);

/* This rank's share of a sparse tensor with exactly nnz distinct nonzeros: the linear
 * index space is cut into nnz equal strata and each holds one nonzero at a keyed random
 * position; rank r makes a contiguous range of strata. Values are the planted model of
 * dtf_generate_dense (the same keyed normal factors) at those coordinates, plus noise of
 * standard deviation noise x RMS over the nonzeros. out gets global indices. Collective. */
dtf_status dtf_generate_sparse(MPI_Comm comm, int nmodes, const int64_t *dims, int R, int64_t nnz,
                               double noise, uint64_t seed, dtf_coo_t *out);

/* Estimated bytes per rank (the largest over ranks) that dtf_generate_dense (nnz 0) or
 * dtf_generate_sparse (nnz entries) needs on grid for rank R. Collective. */
double dtf_generate_memory(const dtf_grid_t *grid, int R, int64_t nnz);

/* The planted model of dtf_generate_dense / dtf_generate_sparse on grid, normalised like a
 * fitted model (its fit is left for the caller). Collective. */
dtf_status dtf_generate_truth(const dtf_grid_t *grid, int R, uint64_t seed, dtf_cp_model_t *truth);

/* Turn planted values into observations: likelihood "bernoulli" draws 0/1 with
 * probability sigmoid(x), "poisson" counts of mean exp(x), where x is the planted value
 * times dtf_generate_link_scale(likelihood, R) (x of variance 1; 1/4 for counts), "gaussian" keeps the
 * values; then the fraction `missing` of the cells becomes NaN. Each draw is keyed by the
 * cell's global linear index: entries with global indices inds (n x nmodes), or, with
 * inds NULL, the dense block of shape len at start in C order. Node-local. */
void dtf_generate_observe(int nmodes, const int64_t *dims, int64_t n, const int64_t *inds,
                          const int64_t *start, const int64_t *len, const char *likelihood, int R,
                          double missing, uint64_t seed, double *vals);
double dtf_generate_link_scale(const char *likelihood, int R);

#ifdef __cplusplus
}
#endif
#endif
