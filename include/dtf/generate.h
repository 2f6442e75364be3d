/* Synthetic tensors with planted low-rank structure. */
#ifndef DTF_GENERATE_H
#define DTF_GENERATE_H

#include <stdint.h>

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

#ifdef __cplusplus
}
#endif
#endif
