/* Counter-based random numbers: a value is a pure function of its key, so every rank
 * draws the same number for the same (seed, stream, a, b) whatever the distribution. */
#ifndef DTF_RNG_H
#define DTF_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Streams keep the draws of different purposes independent. */
enum {
  DTF_STREAM_INIT = 1,       /* initial factors: a = mode, b = row * R + col */
  DTF_STREAM_TRUTH = 2,      /* planted factors of `dtf generate` */
  DTF_STREAM_NOISE = 3,      /* additive noise of `dtf generate`: a = linear index */
  DTF_STREAM_PATTERN = 4,    /* nonzero positions of a sparse `dtf generate`: a = stratum */
  DTF_STREAM_PERMUTE = 5,    /* relabelling of indices: a = mode, b = position */
  DTF_STREAM_CHECKSUM = 6,   /* input fingerprints: seed = linear index, a = the value's bits */
  DTF_STREAM_HOLDOUT = 7,    /* test entries of --holdout: a = entry key */
  DTF_STREAM_BATCH = 8,      /* mini-batch of an entry in online EM: a = entry key, b = epoch */
  DTF_STREAM_LIKELIHOOD = 9, /* binary and count draws of `dtf generate`: a = linear index */
  DTF_STREAM_MISSING = 10,   /* missing cells of `dtf generate --missing`: a = linear index */
  DTF_STREAM_TR_SAMPLE = 11, /* sampled TR-ALS draws: a = iteration * N + core, b = draw * N + mode */
  DTF_STREAM_COMPRESS = 12,  /* compressed collectives: directions, rounding, PowerSGD's first Q */
  DTF_STREAM_GCP = 13,       /* gcp's samples: a = step, b = draw (or the entry key) */
  DTF_STREAM_SKETCH =
      14, /* tucker's randomized sketches: a = sketched mode * N + mode, b = row * 2^20 + col */
  DTF_STREAM_VALIDATION = 15 /* validation entries of complete's --rank/--reg auto: a = entry key */
};

/* 64 random bits for the key (seed, stream, a, b). */
uint64_t dtf_rng_u64(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b);

/* Uniform double in [0, 1) with 53 random bits. */
double dtf_rng_uniform(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b);

/* Standard normal draw (Box-Muller on two keyed uniforms). */
double dtf_rng_normal(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b);

#ifdef __cplusplus
}
#endif
#endif
