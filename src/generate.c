/* Synthetic dense tensors from planted normal factors plus Gaussian noise. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/comm.h"
#include "dtf/generate.h"
#include "dtf/kernels.h"
#include "dtf/memory.h"
#include "dtf/rng.h"

/* Unit-norm columns, the norms multiplied into lambda, as in a fitted model. */
static dtf_status normalise(const dtf_grid_t *g, dtf_cp_model_t *m) {
  int N = g->nmodes, R = m->R;
  double *norms = calloc((size_t)(N * R), sizeof(double));
  if (!norms) return dtf_error(DTF_ERR_INPUT, "out of memory");
  for (int k = 0; k < N; k++) {
    const dtf_factor_t *f = &m->factors[k];
    const double *A = dtf_factor_owned(f);
    for (int64_t i = 0; i < f->own_len; i++)
      for (int r = 0; r < R; r++) norms[k * R + r] += A[i * R + r] * A[i * R + r];
  }
  dtf_status st = dtf_allreduce_sum(g->comm, norms, N * R, NULL);
  for (int r = 0; r < R; r++) m->lambda[r] = 1.0;
  for (int k = 0; k < N; k++)
    for (int r = 0; r < R; r++) {
      double s = sqrt(norms[k * R + r]);
      m->lambda[r] *= s;
      for (int64_t i = 0; i < m->factors[k].block_len; i++)
        m->factors[k].block[i * R + r] = s > 0 ? m->factors[k].block[i * R + r] / s : 0.0;
    }
  free(norms);
  return st;
}

dtf_status dtf_generate_dense(const dtf_grid_t *g, int R, double noise, uint64_t seed, double **local,
                              dtf_cp_model_t *truth) {
  *local = NULL;
  if (R < 1) return dtf_error(DTF_ERR_USAGE, "--rank must be at least 1, not %d", R);
  if (!(noise >= 0) || !isfinite(noise))
    return dtf_error(DTF_ERR_USAGE, "--noise must be >= 0, not %g", noise);
  int N = g->nmodes;
  dtf_cp_model_t m;
  dtf_status st = dtf_cp_model_init(g, R, &m);
  int64_t n = 1;
  for (int k = 0; k < N; k++) n *= g->len[k];
  double *X = NULL, *work = NULL;
  if (!st) {
    X = dtf_alloc_large((size_t)n * sizeof(double));
    work = malloc((size_t)dtf_cp_full_work(N, g->len, R) * sizeof(double));
    if (!X || !work)
      st = dtf_error(DTF_ERR_INPUT, "out of memory for a %.1f MiB block", (double)n * 8 / 1048576.0);
  }
  st = dtf_agree(g->comm, st);
  if (st) {
    free(X);
    free(work);
    if (m.lambda) dtf_cp_model_free(&m);
    return st;
  }
  const double *F[DTF_MAX_MODES];
  for (int k = 0; k < N; k++) {
    dtf_factor_fill_normal(&m.factors[k], seed, DTF_STREAM_TRUTH, NULL);
    F[k] = m.factors[k].block;
  }
  dtf_cp_full(N, g->len, F, R, work, X);
  free(work);
  if (noise > 0) {
    double norm = 0, total = 1;
    st = dtf_allreduce_norm(g->comm, dtf_norm(n, X), &norm, NULL);
    for (int k = 0; k < N; k++) total *= (double)g->dims[k];
    double sd = noise * (norm / sqrt(total));
    /* a draw of 40 standard deviations would be the first overflow anyone could meet */
    if (!st && !(isfinite(sd) && isfinite(40.0 * sd)))
      st = dtf_error(DTF_ERR_USAGE,
                     "--noise %g is too large: the noise's standard deviation (%g times the tensor's RMS "
                     "%g) overflows float64",
                     noise, noise, norm / sqrt(total));
    /* walk the local block in C order, tracking the global linear index */
    int64_t sub[DTF_MAX_MODES] = {0}, stride[DTF_MAX_MODES];
    stride[N - 1] = 1;
    for (int k = N - 2; k >= 0; k--) stride[k] = stride[k + 1] * g->dims[k + 1];
    for (int64_t i = 0; !st && i < n; i++) {
      int64_t gi = 0;
      for (int k = 0; k < N; k++) gi += (g->start[k] + sub[k]) * stride[k];
      X[i] += sd * dtf_rng_normal(seed, DTF_STREAM_NOISE, (uint64_t)gi, 0);
      for (int k = N - 1; k >= 0 && ++sub[k] == g->len[k]; k--) sub[k] = 0;
    }
  }
  *local = X;
  if (!truth) {
    dtf_cp_model_free(&m);
    return st;
  }
  if (!st) st = normalise(g, &m);
  *truth = m;
  return st;
}

dtf_status dtf_generate_truth(const dtf_grid_t *g, int R, uint64_t seed, dtf_cp_model_t *truth) {
  dtf_status st = dtf_cp_model_init(g, R, truth);
  if (st) return st;
  for (int k = 0; k < g->nmodes; k++)
    dtf_factor_fill_normal(&truth->factors[k], seed, DTF_STREAM_TRUTH, NULL);
  st = normalise(g, truth);
  if (st) dtf_cp_model_free(truth);
  return st;
}

/* Planted factor entry (mode m, row i, column r): from the table F when every rank keeps
 * the factors whole, else drawn again (the same keyed value). */
static double planted(const double *F, const int64_t *off, uint64_t seed, int m, int64_t i, int R, int r) {
  return F ? F[(off[m] + i) * R + r]
           : dtf_rng_normal(seed, DTF_STREAM_TRUTH, (uint64_t)m, (uint64_t)(i * R + r));
}

dtf_status dtf_generate_sparse(MPI_Comm comm, int N, const int64_t *dims, int R, int64_t nnz, double noise,
                               uint64_t seed, dtf_coo_t *out) {
  memset(out, 0, sizeof *out);
  int me, P;
  MPI_Comm_rank(comm, &me);
  MPI_Comm_size(comm, &P);
  int64_t cells = 1, rows = 0, off[DTF_MAX_MODES];
  for (int m = 0; m < N; m++) {
    off[m] = rows;
    cells *= dims[m];
    rows += dims[m];
  }
  if (R < 1) return dtf_error(DTF_ERR_USAGE, "--rank must be at least 1, not %d", R);
  if (nnz < 1 || nnz > cells)
    return dtf_error(DTF_ERR_USAGE, "--nnz must be between 1 and the %lld cells of the tensor, not %lld",
                     (long long)cells, (long long)nnz);
  int64_t k0, n;
  dtf_block_range(nnz, P, me, &k0, &n);
  out->nmodes = N;
  memcpy(out->dims, dims, (size_t)N * sizeof(int64_t));
  size_t one = (size_t)(n ? n : 1);
  out->inds = malloc(one * N * sizeof(int64_t));
  out->vals = malloc(one * sizeof(double));
  /* keep the planted factors whole on every rank when they fit in 256 MiB */
  double *F = (double)rows * R * 8 <= 256.0 * 1048576 ? malloc((size_t)(rows * R) * sizeof(double)) : NULL;
  dtf_status st = (out->inds && out->vals)
                      ? DTF_OK
                      : dtf_error(DTF_ERR_INPUT, "out of memory for %lld entries", (long long)n);
  st = dtf_agree(comm, st);
  if (st) {
    free(F);
    dtf_coo_free(out);
    return st;
  }
  for (int m = 0; F && m < N; m++)
    for (int64_t i = 0; i < dims[m] * R; i++)
      F[off[m] * R + i] = dtf_rng_normal(seed, DTF_STREAM_TRUTH, (uint64_t)m, (uint64_t)i);
  double ss = 0;
  for (int64_t k = 0; k < n; k++) {
    /* stratum q of nnz equal parts of [0, cells), one keyed position inside it */
    int64_t q = k0 + k, base = cells / nnz, extra = cells % nnz;
    int64_t s = q * base + (q < extra ? q : extra), len = base + (q < extra ? 1 : 0);
    int64_t lin = s + (int64_t)(dtf_rng_u64(seed, DTF_STREAM_PATTERN, (uint64_t)q, 0) % (uint64_t)len);
    for (int m = N - 1; m >= 0; m--) {
      out->inds[k * N + m] = lin % dims[m];
      lin /= dims[m];
    }
    double v = 0;
    for (int r = 0; r < R; r++) {
      double p = 1;
      for (int m = 0; m < N; m++) p *= planted(F, off, seed, m, out->inds[k * N + m], R, r);
      v += p;
    }
    out->vals[k] = v;
    ss += v * v;
  }
  free(F);
  out->nnz = n;
  if (noise > 0) {
    double norm = 0;
    st = dtf_allreduce_norm(comm, dtf_norm(n, out->vals), &norm, NULL);
    double sd = noise * (norm / sqrt((double)nnz));
    if (!st && !(isfinite(sd) && isfinite(40.0 * sd)))
      st = dtf_error(DTF_ERR_USAGE,
                     "--noise %g is too large: the noise's standard deviation (%g times the RMS %g of the "
                     "entries) overflows float64",
                     noise, noise, norm / sqrt((double)nnz));
    for (int64_t k = 0; !st && k < n; k++) {
      int64_t lin = 0;
      for (int m = 0; m < N; m++) lin = lin * dims[m] + out->inds[k * N + m];
      out->vals[k] += sd * dtf_rng_normal(seed, DTF_STREAM_NOISE, (uint64_t)lin, 0);
    }
  }
  if (st) dtf_coo_free(out);
  return st;
}

double dtf_generate_memory(const dtf_grid_t *g, int R, int64_t nnz) {
  int N = g->nmodes;
  double bytes = 0, rows = 0;
  for (int k = 0; k < N; k++) rows += (double)g->dims[k];
  if (nnz > 0) {
    /* this rank's entries (indices, value, and the copy written), the planted factors kept whole */
    bytes = (double)(nnz / g->size + 1) * (8.0 * N + 8.0) * 2.0;
    if (rows * R * 8.0 <= 256.0 * 1048576) bytes += rows * R * 8.0;
  } else {
    double block = 1, factor_rows = 0;
    for (int k = 0; k < N; k++) {
      block *= (double)g->len[k];
      factor_rows += (double)g->len[k];
    }
    bytes = block * 8.0 + (double)dtf_cp_full_work(N, g->len, R) * 8.0 + factor_rows * R * 8.0;
  }
  dtf_allreduce(g->comm, &bytes, 1, MPI_DOUBLE, MPI_MAX, NULL);
  return bytes;
}

/* A Poisson draw of mean mu from one keyed uniform, by inversion (mu is at most e^50:
 * beyond a mean of 500 a normal approximation, rounded, takes over). */
static double poisson_draw(double mu, uint64_t seed, uint64_t key) {
  double u = dtf_rng_uniform(seed, DTF_STREAM_LIKELIHOOD, key, 0);
  if (mu > 500) {
    double z = dtf_rng_normal(seed, DTF_STREAM_LIKELIHOOD, key, 1);
    return fmax(0.0, floor(mu + sqrt(mu) * z + 0.5));
  }
  double p = exp(-mu), cdf = p;
  int k = 0;
  while (u > cdf && k < 100000) {
    k++;
    p *= mu / k;
    cdf += p;
  }
  return (double)k;
}

double dtf_generate_link_scale(const char *likelihood, int R) {
  /* log-rates of standard deviation 1/2: products of normals have heavy tails, and a
   * log-rate of 10 would be a mean of 22,000 */
  return (strcmp(likelihood, "poisson") ? 1.0 : 0.5) / sqrt((double)R);
}

void dtf_generate_observe(int nmodes, const int64_t *dims, int64_t n, const int64_t *inds,
                          const int64_t *start, const int64_t *len, const char *likelihood, int R,
                          double missing, uint64_t seed, double *vals) {
  int bern = !strcmp(likelihood, "bernoulli"), pois = !strcmp(likelihood, "poisson");
  double scale = dtf_generate_link_scale(likelihood, R);
  int64_t sub[DTF_MAX_MODES] = {0};
  for (int64_t k = 0; k < n; k++) {
    uint64_t lin = 0;
    for (int m = 0; m < nmodes; m++)
      lin = lin * (uint64_t)dims[m] + (uint64_t)(inds ? inds[k * nmodes + m] : start[m] + sub[m]);
    if (!inds)
      for (int m = nmodes - 1; m >= 0 && ++sub[m] == len[m]; m--) sub[m] = 0;
    double x = vals[k] * scale;
    if (bern)
      vals[k] = dtf_rng_uniform(seed, DTF_STREAM_LIKELIHOOD, lin, 0) < 1.0 / (1.0 + exp(-x)) ? 1.0 : 0.0;
    if (pois) vals[k] = poisson_draw(exp(fmin(x, 50.0)), seed, lin);
    if (missing > 0 && dtf_rng_uniform(seed, DTF_STREAM_MISSING, lin, 0) < missing) vals[k] = NAN;
  }
}
