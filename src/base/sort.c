/* Stable LSD radix sort of fixed-width int64 tuples by their leading key columns: 11-bit
 * digits, only as many passes as the largest key needs (a mode of 200000 indices takes
 * two). Whole tuples move between the input and a scratch buffer. */
#include <stdlib.h>
#include <string.h>

#include "dtf/sort.h"
#include "dtf/memory.h"

#define DIGIT_BITS 11
#define BUCKETS (1 << DIGIT_BITS)

dtf_status dtf_sort_tuples(int64_t *t, int64_t n, int width, int keys) {
  if (n < 2) return DTF_OK;
  size_t bytes = (size_t)width * sizeof(int64_t);
  int64_t *scratch = dtf_alloc_large((size_t)n * bytes), *count = malloc(BUCKETS * sizeof(int64_t));
  if (!scratch || !count) {
    free(scratch);
    free(count);
    return dtf_error(DTF_ERR_INPUT, "out of memory sorting %lld entries", (long long)n);
  }
  int64_t *src = t, *dst = scratch;
  for (int col = keys - 1; col >= 0; col--) {
    int64_t most = 0;
    for (int64_t k = 0; k < n; k++)
      if (src[k * width + col] > most) most = src[k * width + col];
    for (int shift = 0; shift < 63 && (most >> shift) > 0; shift += DIGIT_BITS) {
      memset(count, 0, BUCKETS * sizeof(int64_t));
      for (int64_t k = 0; k < n; k++) count[(src[k * width + col] >> shift) & (BUCKETS - 1)]++;
      int64_t at = 0;
      for (int b = 0; b < BUCKETS; b++) {
        int64_t c = count[b];
        count[b] = at;
        at += c;
      }
      for (int64_t k = 0; k < n; k++) {
        const int64_t *s = src + k * width;
        int64_t *d = dst + count[(s[col] >> shift) & (BUCKETS - 1)]++ * width;
        for (int w = 0; w < width; w++) d[w] = s[w]; /* a few words: no memcpy call */
      }
      int64_t *swap = src;
      src = dst;
      dst = swap;
    }
  }
  if (src != t) memcpy(t, src, (size_t)n * bytes);
  free(scratch);
  free(count);
  return DTF_OK;
}
