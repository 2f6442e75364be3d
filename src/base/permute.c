/* Random relabelling of a mode's indices, identical on every rank (counter-based RNG). */
#include "dtf/permute.h"

#include "dtf/rng.h"

void dtf_permutation(int64_t n, uint64_t seed, int mode, int64_t *perm) {
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates, one keyed draw per position */
    int64_t j =
        (int64_t)(dtf_rng_u64(seed, DTF_STREAM_PERMUTE, (uint64_t)mode, (uint64_t)i) % (uint64_t)(i + 1));
    int64_t t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
}

void dtf_permutation_inverse(int64_t n, const int64_t *perm, int64_t *inverse) {
  for (int64_t i = 0; i < n; i++) inverse[perm[i]] = i;
}
