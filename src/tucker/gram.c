/* Tucker's Gram of mode n (docs/algorithms.md, "Tucker", step 1): this rank's rows (L x I)
 * of it, from its row block of the unfolding against the blocks of its fibre passed around
 * a ring, summed over the mode's slice; and the check of the rows before they are summed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/fault.h"
#include "dtf/kernels.h"
#include "timer.h"
#include "tucker_impl.h"

/* this rank's count values of mode n's Gram, before they are summed, are finite (the faults
 * injected: mttkrp, the contraction failing; nan, a NaN in them) */
dtf_status tucker_gram_check(const dtf_tucker_t *s, int n, double *rows, int64_t count) {
  dtf_status st = dtf_fault_status("mttkrp", tucker_iteration(s), DTF_ERR_INPUT);
  if (!st && count > 0 && dtf_fault("nan", tucker_iteration(s))) rows[0] = NAN;
  if (!st && dtf_first_nonfinite(count, rows) >= 0)
    st = dtf_error(DTF_ERR_NUMERIC, "the Gram of mode %d became non-finite at iteration %d", n + 1,
                   tucker_iteration(s));
  return st;
}

dtf_status tucker_gram(dtf_tucker_t *s, const block_t *b, int n, double scale, double *rows) {
  const dtf_grid_t *g = s->g;
  int N = s->N, P = g->pdims[n], me = g->coords[n];
  int64_t I = b->dims[n], L = b->len[n], M = tucker_prod_except(N, b->len, n), maxL = (I + P - 1) / P;
  int64_t chunk = M < RING_CHUNK_DOUBLES / (maxL ? maxL : 1) ? M : RING_CHUNK_DOUBLES / (maxL ? maxL : 1);
  if (chunk < 1) chunk = 1;
  double *mine = malloc((size_t)(maxL * chunk + 1) * sizeof(double));
  double *buf[2] = {malloc((size_t)(maxL * chunk + 1) * sizeof(double)),
                    malloc((size_t)(maxL * chunk + 1) * sizeof(double))};
  dtf_status st = mine && buf[0] && buf[1] ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for a Gram");
  st = dtf_agree(g->comm, st);
  /* a mode not split over the fibre, entries in a safe range: SYRKs straight on the block
   * (no packing), the scale applied to the products */
  int direct = P == 1 && s->norm > 1e-140 && s->norm < 1e140;
  if (!st && direct) {
    dtf_unfold_gram(N, b->len, n, b->data, scale * scale, rows);
    M = 0; /* done */
  }
  for (int64_t j0 = 0; !st && j0 < M; j0 += chunk) { /* the same column chunks on every rank of the fibre */
    int64_t c = M - j0 < chunk ? M - j0 : chunk;
    dtf_unfold_columns(N, b->len, n, b->data, j0, j0 + c, scale, mine);
    memcpy(buf[0], mine, (size_t)(L * c) * sizeof(double));
    int have = me, cb = 0;
    for (int k = 0; !st && k < P; k++) { /* buf[cb] holds the chunk of fibre rank `have` */
      int64_t off, len;
      dtf_block_range(I, P, have, &off, &len);
      if (k == 0) /* the diagonal block: half the flops */
        dtf_syrk_acc(L, c, mine, rows + off, I);
      else
        dtf_gemm_acc(0, 1, L, len, c, 1.0, mine, c, buf[cb], c, rows + off, I);
      if (k == P - 1) break;
      int from = (have - 1 + P) % P;
      int64_t off2, len2;
      dtf_block_range(I, P, from, &off2, &len2);
      st = dtf_sendrecv_doubles(s->fibre[n], buf[cb], (int)(len * c), (me + 1) % P, buf[!cb], (int)(len2 * c),
                                (me - 1 + P) % P, &s->comm);
      cb = !cb;
      have = from;
    }
  }
  dtf_symmetrize_upper(L, rows + b->start[n], I);
  if (!st) st = tucker_gram_check(s, n, rows, L * I);
  st = dtf_agree(g->comm, st);
  double t0 = dtf_now();
  if (!st) st = dtf_allreduce_sum(g->slice[n], rows, L * I, &s->comm);
  s->t_comm += dtf_now() - t0;
  free(mine);
  free(buf[0]);
  free(buf[1]);
  return st;
}
