/* What every tensor kind shares: versions, release, the global norm and the fingerprint,
 * all computed through the operations table. */
#include <stdlib.h>
#include <string.h>

#include "dtf/comm.h"
#include "dtf/rng.h"
#include "dtf/tensor.h"

uint64_t dtf_tensor_next_version(void) {
  static _Atomic uint64_t counter = 0;
  return ++counter;
}

void dtf_tensor_free(dtf_tensor_t *t) {
  if (!t) return;
  t->ops->destroy(t);
  free(t);
}

dtf_status dtf_tensor_norm(const dtf_grid_t *g, const dtf_tensor_t *t, double *norm) {
  return dtf_allreduce_norm(g->comm, t->ops->norm(t), norm, NULL);
}

dtf_status dtf_tensor_fingerprint(const dtf_grid_t *g, const dtf_tensor_t *t, const int64_t *const *labels,
                                  dtf_fingerprint_t *fp) {
  memset(fp, 0, sizeof *fp);
  int N = g->nmodes;
  fp->nmodes = N;
  memcpy(fp->dims, g->dims, (size_t)N * sizeof(int64_t));
  enum { CHUNK = 4096 };
  int64_t *inds = malloc((size_t)CHUNK * N * sizeof(int64_t)), n = t->ops->entries(t);
  double *vals = malloc(CHUNK * sizeof(double));
  dtf_status st = (inds && vals) ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory");
  uint64_t sums[2] = {(uint64_t)n, 0}; /* entries, checksum: sums modulo 2^64 are exact in any order */
  for (int64_t k0 = 0; !st && k0 < n; k0 += CHUNK) {
    int64_t c = n - k0 < CHUNK ? n - k0 : CHUNK;
    t->ops->entries_get(t, k0, c, inds, vals);
    for (int64_t j = 0; j < c; j++) {
      /* a stored zero is the zero that is not stored, unless zeros are observations */
      if (vals[j] == 0.0 && !t->ops->zeros_are_data) continue;
      uint64_t lin = 0, bits;
      for (int m = 0; m < N; m++) {
        int64_t i = inds[j * N + m];
        lin = lin * (uint64_t)g->dims[m] + (uint64_t)(labels && labels[m] ? labels[m][i] : i);
      }
      memcpy(&bits, &vals[j], sizeof bits);
      sums[1] += dtf_rng_u64(lin, DTF_STREAM_CHECKSUM, bits, 0);
    }
  }
  free(inds);
  free(vals);
  st = dtf_agree(g->comm, st);
  if (!st) st = dtf_allreduce(g->comm, sums, 2, MPI_UINT64_T, MPI_SUM, NULL);
  if (!st) st = dtf_tensor_norm(g, t, &fp->norm);
  fp->entries = (int64_t)sums[0];
  fp->checksum = sums[1];
  return st;
}
