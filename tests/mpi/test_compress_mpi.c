/* The compressed collectives' defining properties, at any number of ranks:
 *   none       the exact sum;
 *   core       the reduction of the projections is the projection of the sum (the result
 *              equals gamma = M / (d + M - 1) times a direct reconstruction from the sum);
 *   qsgd       unbiased, the same way; every code is one of the 2^BITS levels;
 *   powersgd   exact on a sum of rank <= R;
 *   topk, powersgd and core with error feedback: what was summed plus what stays in the
 *              residuals is exactly every rank's input (telescoping over steps);
 *   budgets    bare kinds parse as adaptive at their ladder's first rung; the rungs and tops;
 *              a new budget keeps the error-feedback residual;
 *   bytes      the counted bytes equal dtf_compress_bytes, and bytes_uncompressed the plain
 *              allreduce's (to the byte each collective's count rounds away);
 *   network    under dtf_comm_net_model an allreduce of n doubles waits latency x 2 ceil(log2 p)
 *              + 2 (p-1)/p 8n / bandwidth (the model's seconds to 1e-12, the wall time at least
 *              that once flushed), and nothing once the model is off. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dtf/dtf.h"

enum { ROWS = 13, COLS = 5, D = ROWS * COLS };

static int me, np;

/* this rank's input at a step: keyed normals, or the rank-<=2 matrices of powersgd */
static void input(uint64_t step, double *x) {
  for (int i = 0; i < D; i++) x[i] = dtf_rng_normal(7, 1, (uint64_t)me * 1000 + step, (uint64_t)i);
}

static dtf_compressor_t *make(const char *spec) {
  dtf_compress_spec_t s;
  CHECK(dtf_compress_parse(spec, &s) == DTF_OK, "on %d ranks", np);
  s.seed = 11;
  dtf_compressor_t *c;
  CHECK(dtf_compressor_create(&s, MPI_COMM_WORLD, ROWS, COLS, 3, &c) == DTF_OK, "on %d ranks", np);
  return c;
}

static void exact_sum(const double *x, double *sum) {
  memcpy(sum, x, D * sizeof(double));
  MPI_Allreduce(MPI_IN_PLACE, sum, D, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

static void bytes_match(const char *spec) {
  dtf_compressor_t *c = make(spec);
  dtf_compress_spec_t s;
  dtf_compress_parse(spec, &s);
  double x[D], out[D], plain;
  input(1, x);
  dtf_comm_stats_t st = {0};
  CHECK(dtf_compressed_sum(c, x, out, 1, &st) == DTF_OK, "on %d ranks", np);
  double want = dtf_compress_bytes(&s, np, ROWS, COLS, &plain);
  /* each collective counts whole bytes: up to one lost to rounding per collective */
  CHECK(fabs((double)st.bytes_sent - want) < 2.5, "%s on %d ranks: counted %llu, formula %.1f", spec, np,
        (unsigned long long)st.bytes_sent, want);
  CHECK(fabs((double)st.bytes_uncompressed - plain) < 2.5, "%s on %d ranks: uncompressed %llu, formula %.1f",
        spec, np, (unsigned long long)st.bytes_uncompressed, plain);
  dtf_compressor_free(c);
}

static void network_model(void) {
  double buf[1000];
  for (int i = 0; i < 1000; i++) buf[i] = i;
  int rounds = 0;
  while ((1 << rounds) < np) rounds++;
  /* the bytes as counted: whole ones */
  double want = np > 1 ? 1e-4 * 2 * rounds + floor(2.0 * (np - 1) / np * 8000) / 1e8 : 0.0;
  double s0 = dtf_comm_net_seconds(), t0 = MPI_Wtime();
  dtf_comm_net_model(1e8, 1e-4);
  CHECK(dtf_allreduce_sum(MPI_COMM_WORLD, buf, 1000, NULL) == DTF_OK, "on %d ranks", np);
  dtf_comm_net_flush();
  double modelled = dtf_comm_net_seconds() - s0, waited = MPI_Wtime() - t0;
  CHECK(fabs(modelled - want) <= 1e-12, "on %d ranks: modelled %.17g s, formula %.17g s", np, modelled, want);
  CHECK(waited >= want, "on %d ranks: waited %g s of the modelled %g s", np, waited, want);
  dtf_comm_net_model(0, 0);
  CHECK(dtf_allreduce_sum(MPI_COMM_WORLD, buf, 1000, NULL) == DTF_OK, "on %d ranks", np);
  CHECK(dtf_comm_net_seconds() - s0 == modelled, "on %d ranks: the model waited while off", np);
}

/* the mean over steps of the compressed sum of the same inputs: unbiased compressors */
static void unbiased(const char *spec, int steps) {
  dtf_compressor_t *c = make(spec);
  double x[D], sum[D], out[D], mean[D] = {0}, sq[D] = {0};
  input(0, x);
  exact_sum(x, sum);
  for (int t = 1; t <= steps; t++) {
    CHECK(dtf_compressed_sum(c, x, out, (uint64_t)t, NULL) == DTF_OK, "on %d ranks", np);
    for (int i = 0; i < D; i++) {
      mean[i] += out[i] / steps;
      sq[i] += out[i] * out[i] / steps;
    }
  }
  if (np > 1)
    for (int i = 0; i < D; i++) {
      double sd = sqrt(fmax(sq[i] - mean[i] * mean[i], 0) / steps);
      CHECK(fabs(mean[i] - sum[i]) <= 4 * sd + 1e-12, "on %d ranks", np);
    }
  dtf_compressor_free(c);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &me);
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  double x[D], sum[D], out[D];

  /* none: exact */
  {
    dtf_compressor_t *c = make("none");
    input(5, x);
    exact_sum(x, sum);
    CHECK(dtf_compressed_sum(c, x, out, 1, NULL) == DTF_OK, "on %d ranks", np);
    for (int i = 0; i < D; i++) CHECK(fabs(out[i] - sum[i]) <= 1e-12 * (1 + fabs(sum[i])), "on %d ranks", np);
    dtf_compressor_free(c);
  }

  /* core: the reconstruction from the sum's own projections (Rademacher directions of
   * the same key), so the reduction of projections is the projection of the sum */
  {
    enum { M = 7 };
    dtf_compressor_t *c = make("core:7");
    input(6, x);
    exact_sum(x, sum);
    CHECK(dtf_compressed_sum(c, x, out, 9, NULL) == DTF_OK, "on %d ranks", np);
    if (np > 1) {
      uint64_t key = 9 * 1000003ULL + 3;
      double ref[D] = {0};
      for (int j = 0; j < M; j++) {
        double p = 0;
        for (int i = 0; i < D; i++) {
          uint64_t bits = dtf_rng_u64(11, DTF_STREAM_COMPRESS, key * 65536 + (uint64_t)j, (uint64_t)(i / 64));
          p += (bits >> (i % 64) & 1 ? 1.0 : -1.0) * sum[i];
        }
        for (int i = 0; i < D; i++) {
          uint64_t bits = dtf_rng_u64(11, DTF_STREAM_COMPRESS, key * 65536 + (uint64_t)j, (uint64_t)(i / 64));
          ref[i] += (bits >> (i % 64) & 1 ? 1.0 : -1.0) * p / M * M / (D + M - 1.0); /* gamma */
        }
      }
      for (int i = 0; i < D; i++)
        CHECK(fabs(out[i] - ref[i]) <= 1e-10 * (1 + fabs(ref[i])), "on %d ranks", np);
    } else
      for (int i = 0; i < D; i++) CHECK(out[i] == x[i], "on %d ranks", np);
    dtf_compressor_free(c);
  }
  unbiased("qsgd:2", 4000);

  /* powersgd exact on a sum of rank <= 2: every rank adds a multiple of the same two rank-1 terms */
  {
    dtf_compressor_t *c = make("powersgd:2");
    for (int i = 0; i < ROWS; i++)
      for (int j = 0; j < COLS; j++)
        x[i * COLS + j] = (me + 1) * (sin(i + 1.0) * cos(j + 2.0)) + (2 - me) * ((i % 3) - 1.0) * (j + 0.5);
    exact_sum(x, sum);
    CHECK(dtf_compressed_sum(c, x, out, 1, NULL) == DTF_OK, "on %d ranks", np);
    for (int i = 0; i < D; i++) CHECK(fabs(out[i] - sum[i]) <= 1e-9 * (1 + fabs(sum[i])), "on %d ranks", np);
    dtf_compressor_free(c);
  }

  /* error feedback: sum over steps of the results + the residuals = the inputs */
  const char *fed[] = {"topk:0.1", "powersgd:1", "core:4"};
  for (int k = 0; k < 3; k++) {
    dtf_compressor_t *c = make(fed[k]);
    double total_out[D] = {0}, total_in[D] = {0};
    for (int t = 1; t <= 20; t++) {
      input((uint64_t)t, x);
      for (int i = 0; i < D; i++) total_in[i] += x[i];
      CHECK(dtf_compressed_sum(c, x, out, (uint64_t)t, NULL) == DTF_OK, "on %d ranks", np);
      for (int i = 0; i < D; i++) total_out[i] += out[i];
    }
    int64_t len;
    const double *res = dtf_compressor_state(c, &len);
    double left[D];
    for (int i = 0; i < D; i++) left[i] = np > 1 ? res[i] : 0.0; /* one rank compresses nothing */
    MPI_Allreduce(MPI_IN_PLACE, left, D, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, total_in, D, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    for (int i = 0; i < D; i++)
      CHECK(fabs(total_out[i] + left[i] - total_in[i]) <= 1e-9 * (1 + fabs(total_in[i])), "on %d ranks", np);
    dtf_compressor_free(c);
  }

  const char *all[] = {"none", "core:16", "powersgd:2", "topk:0.2", "qsgd:3", "qsgd:16"};
  for (int k = 0; k < 6; k++) bytes_match(all[k]);
  network_model();

  /* parse refusals */
  dtf_compress_spec_t s;
  const char *bad[] = {"zip",    "core:0",  "powersgd:0", "topk:0", "topk:1.5",
                       "qsgd:0", "qsgd:17", "core:",      "cores"};
  for (int k = 0; k < 9; k++) CHECK(dtf_compress_parse(bad[k], &s) == DTF_ERR_USAGE, "on %d ranks", np);
  CHECK(dtf_compress_parse("topk:1", &s) == DTF_OK && !s.adaptive, "on %d ranks", np);
  /* a bare kind: adaptive, at its ladder's first rung; the ladders and their tops */
  CHECK(dtf_compress_parse("core", &s) == DTF_OK && s.adaptive && s.kind == DTF_COMPRESS_CORE && s.m == 8,
        "on %d ranks", np);
  CHECK(dtf_compress_at_level(&s, 3, 5) == 0 && s.m == 64 && dtf_compress_at_level(&s, 17, 5) == -1 &&
            s.m == 64,
        "on %d ranks", np);
  CHECK(dtf_compress_parse("topk", &s) == DTF_OK && s.frac == 0.002 && dtf_compress_at_level(&s, 9, 5) == 0 &&
            s.frac == 1 && dtf_compress_at_level(&s, 10, 5) == -1,
        "on %d ranks", np);
  CHECK(dtf_compress_parse("powersgd", &s) == DTF_OK && s.m == 1 && dtf_compress_at_level(&s, 4, 5) == 0 &&
            s.m == 5 && dtf_compress_at_level(&s, 5, 5) == -1,
        "on %d ranks", np);
  CHECK(dtf_compress_parse("qsgd", &s) == DTF_OK && s.m == 2 && dtf_compress_at_level(&s, 14, 5) == 0 &&
            s.m == 16,
        "on %d ranks", np);
  /* a new budget keeps the error-feedback residual (topk) */
  {
    dtf_compressor_t *c = make("topk:0.1");
    for (int t = 1; t <= 3; t++) {
      input((uint64_t)t, x);
      CHECK(dtf_compressed_sum(c, x, out, (uint64_t)t, NULL) == DTF_OK, "on %d ranks", np);
    }
    int64_t len, len2;
    double before[D];
    memcpy(before, dtf_compressor_state(c, &len), D * sizeof(double));
    dtf_compress_parse("topk:0.2", &s);
    CHECK(dtf_compressor_rebudget(c, &s) == DTF_OK, "on %d ranks", np);
    const double *after = dtf_compressor_state(c, &len2);
    CHECK(len2 == len && !memcmp(before, after, D * sizeof(double)), "on %d ranks", np);
    dtf_compressor_free(c);
  }
  if (me == 0) printf("compressed collectives ok on %d ranks\n", np);
  MPI_Finalize();
  return 0;
}
