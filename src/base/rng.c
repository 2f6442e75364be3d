/* Counter-based RNG: splitmix64 finalisers chained over the key. Each draw is a pure
 * function of (seed, stream, a, b), so the values do not depend on the distribution. */
#include "dtf/rng.h"

#include <math.h>

static uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t dtf_rng_u64(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b) {
  return mix(mix(mix(mix(seed) ^ stream) ^ a) ^ b);
}

double dtf_rng_uniform(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b) {
  return (double)(dtf_rng_u64(seed, stream, a, b) >> 11) * 0x1.0p-53;
}

double dtf_rng_normal(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b) {
  /* u1 in (0, 1] keeps the logarithm finite. */
  double u1 = 1.0 - dtf_rng_uniform(seed, stream, a, 2 * b);
  double u2 = dtf_rng_uniform(seed, stream, a, 2 * b + 1);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
