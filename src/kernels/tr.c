/* Tensor-ring contractions. Core k is stored by rows: row i is the R_k x R_{k+1} matrix
 * G_k[i], row-major, and x(i) = trace(G_0[i_0] ... G_{N-1}[i_{N-1}]) with R_N = R_0.
 * Chains of cores over a block of indices and the dense contraction are GEMMs; the
 * per-entry products of sparse tensors are R x R products too small for a BLAS call to
 * pay for itself (a call costs about as much as an 8 x 8 product). */
#include <string.h>

#include "blas.h"
#include "dtf/kernels.h"
#include "dtf/types.h"
#include "multiversion.h"

static int64_t prod(const int64_t *d, int from, int to) {
  int64_t p = 1;
  for (int k = from; k < to; k++) p *= d[k];
  return p;
}

int64_t dtf_tr_chain_size(int k, const int64_t *dims, const int *ranks) {
  int64_t most = 0, P = 1;
  for (int j = 0; j < k; j++) {
    P *= dims[j];
    int64_t s = P * ranks[0] * ranks[j + 1];
    if (s > most) most = s;
  }
  return most;
}

int64_t dtf_tr_chain_work(int k, const int64_t *dims, const int *ranks) {
  int64_t core = 0;
  for (int j = 0; j < k; j++)
    if (dims[j] * ranks[j] * ranks[j + 1] > core) core = dims[j] * ranks[j] * ranks[j + 1];
  return dtf_tr_chain_size(k, dims, ranks) + core;
}

void dtf_tr_chain(int k, const int64_t *dims, const int *ranks, const double *const *cores, double *out,
                  double *work) {
  int R0 = ranks[0];
  int64_t P = dims[0];
  memcpy(out, cores[0], (size_t)(P * R0 * ranks[1]) * sizeof(double));
  double *tmp = work, *Gt = work + dtf_tr_chain_size(k, dims, ranks);
  for (int j = 1; j < k; j++) {
    int64_t I = dims[j];
    int Rc = ranks[j], Rb = ranks[j + 1];
    /* the core as Rc x (I Rb): [c][i][b] */
    for (int64_t i = 0; i < I; i++)
      for (int c = 0; c < Rc; c++)
        memcpy(Gt + ((int64_t)c * I + i) * Rb, cores[j] + (i * Rc + c) * Rb, (size_t)Rb * sizeof(double));
    /* tmp [(t, a)][(i, b)] = cur [(t, a)][c] . Gt [c][(i, b)] */
    blas_gemm(0, 0, P * R0, I * Rb, Rc, 1.0, out, Rc, Gt, I * Rb, 0.0, tmp, I * Rb);
    /* out [t][i][a][b] */
    for (int64_t t = 0; t < P; t++)
      for (int a = 0; a < R0; a++)
        for (int64_t i = 0; i < I; i++)
          memcpy(out + ((t * I + i) * R0 + a) * Rb, tmp + ((t * R0 + a) * I + i) * Rb,
                 (size_t)Rb * sizeof(double));
    P *= I;
  }
}

/* the ranks of the chain of modes from..N-1 closing on mode 0: (R_from, ..., R_{N-1}, R_0) */
static void right_ranks(int N, int from, const int *ranks, int *out) {
  for (int j = from; j < N; j++) out[j - from] = ranks[j];
  out[N - from] = ranks[0];
}

/* The first and the last core have all other modes on one side. Those are split in two
 * groups at mode m, so that no chain spans all of them:
 *   core 0:     X [i0][tA][tB] (A = modes 1..m-1, B = m..N-1); Y = X . chain_B, then for
 *               each i0 the contraction of Y[i0] with chain_A;
 *   core N-1:   X [tA][tB][i] (A = modes 0..m-1, B = m..N-2); T = chain_A^T X, then for
 *               each closing-bond value the contraction of T with chain_B.
 * edge_split picks m so that the chains and the intermediate are smallest. */
static int edge_split(int N, const int64_t *dims, int n) {
  int best = -1;
  double best_size = 0;
  if (n == 0)
    for (int m = 2; m < N; m++) {
      double PA = (double)prod(dims, 1, m), PB = (double)prod(dims, m, N),
             size = PA * (double)dims[0] + PA + PB;
      if (best < 0 || size < best_size) best = m, best_size = size;
    }
  else
    for (int m = 1; m < N - 1; m++) {
      double PA = (double)prod(dims, 0, m), PB = (double)prod(dims, m, N - 1),
             size = PB * (double)dims[N - 1] + PA + PB;
      if (best < 0 || size < best_size) best = m, best_size = size;
    }
  return best;
}

/* sizes (doubles) of an edge core's chains (with their work), the intermediate, the
 * transposed chain and the per-value product */
static int64_t edge_work(int N, const int64_t *dims, const int *ranks, int n) {
  int m = edge_split(N, dims, n), rr[DTF_MAX_MODES + 1];
  int64_t In = dims[n];
  if (n == 0) {
    int64_t PA = prod(dims, 1, m);
    right_ranks(N, m, ranks, rr);
    int64_t cb = dtf_tr_chain_size(N - m, dims + m, rr) + dtf_tr_chain_work(N - m, dims + m, rr);
    int64_t ca =
        dtf_tr_chain_size(m - 1, dims + 1, ranks + 1) + dtf_tr_chain_work(m - 1, dims + 1, ranks + 1);
    int64_t Y = In * PA * ranks[m] * ranks[0], AT = PA * ranks[m] * ranks[1];
    return Y + AT + (cb > ca ? cb : ca);
  }
  int64_t PB = prod(dims, m, N - 1);
  int64_t ca = dtf_tr_chain_size(m, dims, ranks) + dtf_tr_chain_work(m, dims, ranks);
  int64_t cb =
      dtf_tr_chain_size(N - 1 - m, dims + m, ranks + m) + dtf_tr_chain_work(N - 1 - m, dims + m, ranks + m);
  int64_t T = (int64_t)ranks[0] * ranks[m] * PB * In, BT = PB * ranks[m] * ranks[n], C = In * ranks[n];
  return T + BT + C + (cb > ca ? cb : ca);
}

static void edge_contract(int N, const int64_t *dims, const double *X, int n, const double *const *cores,
                          const int *ranks, double *out, double *work) {
  int m = edge_split(N, dims, n), rr[DTF_MAX_MODES + 1], R0 = ranks[0];
  int64_t In = dims[n];
  if (n == 0) {
    int R1 = ranks[1], Rm = ranks[m];
    int64_t PA = prod(dims, 1, m), PB = prod(dims, m, N), K = PA * Rm;
    double *Y = work, *AT = Y + In * PA * Rm * R0, *chain = AT + PA * Rm * R1;
    /* chain_B [tB][am][a0]; Y [(i0, tA)][(am, a0)] = X (I0 PA x PB) . chain_B (PB x Rm R0) */
    right_ranks(N, m, ranks, rr);
    dtf_tr_chain(N - m, dims + m, rr, cores + m, chain, chain + dtf_tr_chain_size(N - m, dims + m, rr));
    blas_gemm(0, 0, In * PA, (int64_t)Rm * R0, PB, 1.0, X, PB, chain, (int64_t)Rm * R0, 0.0, Y,
              (int64_t)Rm * R0);
    /* chain_A [tA][a1][am], kept as AT [(tA, am)][a1] */
    dtf_tr_chain(m - 1, dims + 1, ranks + 1, cores + 1, chain,
                 chain + dtf_tr_chain_size(m - 1, dims + 1, ranks + 1));
    for (int64_t t = 0; t < PA; t++)
      for (int a = 0; a < R1; a++)
        for (int b = 0; b < Rm; b++) AT[(t * Rm + b) * R1 + a] = chain[(t * R1 + a) * Rm + b];
    /* out[i0] [a0][a1] = Y[i0]^T (R0 x K) . AT (K x R1) */
    for (int64_t i = 0; i < In; i++)
      blas_gemm(1, 0, R0, R1, K, 1.0, Y + i * K * R0, R0, AT, R1, 0.0, out + i * R0 * R1, R1);
    return;
  }
  int Rm = ranks[m], Rn = ranks[n];
  int64_t PA = prod(dims, 0, m), PB = prod(dims, m, N - 1), K = (int64_t)Rm * PB;
  double *T = work, *BT = T + (int64_t)R0 * Rm * PB * In, *C = BT + PB * Rm * Rn, *chain = C + In * Rn;
  /* chain_A [tA][a0][am]; T [(a0, am)][(tB, i)] = chain_A^T (R0 Rm x PA) . X (PA x PB In) */
  dtf_tr_chain(m, dims, ranks, cores, chain, chain + dtf_tr_chain_size(m, dims, ranks));
  blas_gemm(1, 0, (int64_t)R0 * Rm, PB * In, PA, 1.0, chain, (int64_t)R0 * Rm, X, PB * In, 0.0, T, PB * In);
  /* chain_B [tB][am][an], kept as BT [(am, tB)][an] */
  dtf_tr_chain(N - 1 - m, dims + m, ranks + m, cores + m, chain,
               chain + dtf_tr_chain_size(N - 1 - m, dims + m, ranks + m));
  for (int64_t t = 0; t < PB; t++)
    for (int a = 0; a < Rm; a++)
      memcpy(BT + ((int64_t)a * PB + t) * Rn, chain + (t * Rm + a) * Rn, (size_t)Rn * sizeof(double));
  /* for each a0: C (In x Rn) = T[a0]^T (In x K) . BT (K x Rn); out [i][an][a0] */
  for (int a = 0; a < R0; a++) {
    blas_gemm(1, 0, In, Rn, K, 1.0, T + (int64_t)a * K * In, In, BT, Rn, 0.0, C, Rn);
    for (int64_t i = 0; i < In; i++)
      for (int b = 0; b < Rn; b++) out[(i * Rn + b) * R0 + a] = C[i * Rn + b];
  }
}

int64_t dtf_tr_dense_work(int N, const int64_t *dims, const int *ranks, int n) {
  if (N >= 3 && (n == 0 || n == N - 1)) return edge_work(N, dims, ranks, n);
  int rr[DTF_MAX_MODES + 1], R0 = ranks[0], Rn = ranks[n], Rn1 = n + 1 < N ? ranks[n + 1] : R0;
  int64_t In = dims[n], Pr = prod(dims, n + 1, N), right = 0, chain = 0, left = 0;
  if (n + 1 < N) { /* Right transposed, beside the room its chain is built in */
    right_ranks(N, n + 1, ranks, rr);
    right = Pr * Rn1 * R0;
    chain = dtf_tr_chain_size(N - n - 1, dims + n + 1, rr) + dtf_tr_chain_work(N - n - 1, dims + n + 1, rr);
  }
  if (n > 0) /* Left and its work, Left^T X, the per-a0 products: in the chain's room */
    left = dtf_tr_chain_size(n, dims, ranks) + dtf_tr_chain_work(n, dims, ranks) +
           (int64_t)R0 * Rn * In * Pr + (int64_t)Rn * In * Rn1;
  return right + (chain > left ? chain : left);
}

void dtf_tr_dense_contract(int N, const int64_t *dims, const double *X, int n, const double *const *cores,
                           const int *ranks, double *out, double *work) {
  if (N >= 3 && (n == 0 || n == N - 1)) {
    edge_contract(N, dims, X, n, cores, ranks, out, work);
    return;
  }
  int rr[DTF_MAX_MODES + 1], R0 = ranks[0], Rn = ranks[n], Rn1 = n + 1 < N ? ranks[n + 1] : R0;
  int64_t In = dims[n], Pl = prod(dims, 0, n), Pr = prod(dims, n + 1, N);
  double *right = NULL, *w = work;
  if (n + 1 < N) { /* Right [t][a_{n+1}][a0] over modes n+1..N-1, kept as [t][a0][a_{n+1}] */
    right_ranks(N, n + 1, ranks, rr);
    int64_t cs = dtf_tr_chain_size(N - n - 1, dims + n + 1, rr);
    right = w;
    double *chain = w + Pr * Rn1 * R0;
    dtf_tr_chain(N - n - 1, dims + n + 1, rr, cores + n + 1, chain, chain + cs);
    for (int64_t t = 0; t < Pr; t++)
      for (int a = 0; a < Rn1; a++)
        for (int b = 0; b < R0; b++) right[(t * R0 + b) * Rn1 + a] = chain[(t * Rn1 + a) * R0 + b];
    w = chain; /* the chain's room is free again */
  }
  if (n == 0) { /* tmp [i][(a0, a1)] = X (I0 x Pr) . Right (Pr x R0 R1) */
    blas_gemm(0, 0, In, (int64_t)R0 * Rn1, Pr, 1.0, X, Pr, right, (int64_t)R0 * Rn1, 0.0, out,
              (int64_t)R0 * Rn1);
    return;
  }
  double *left = w, *lw = w + dtf_tr_chain_size(n, dims, ranks);
  dtf_tr_chain(n, dims, ranks, cores, left, lw); /* [t][a0][an] */
  double *T1 = lw + dtf_tr_chain_work(n, dims, ranks);
  /* T1 [(a0, an)][(i, t)] = Left^T (R0 Rn x Pl) . X (Pl x In Pr) */
  blas_gemm(1, 0, (int64_t)R0 * Rn, In * Pr, Pl, 1.0, left, (int64_t)R0 * Rn, X, In * Pr, 0.0, T1, In * Pr);
  if (n + 1 == N) { /* out [i][an][a0] = T1 [(a0, an)][i] */
    for (int a = 0; a < R0; a++)
      for (int b = 0; b < Rn; b++)
        for (int64_t i = 0; i < In; i++) out[(i * Rn + b) * R0 + a] = T1[((int64_t)a * Rn + b) * In + i];
    return;
  }
  /* C [(an, i)][a_{n+1}] = sum_a0 T1[a0] ((Rn In) x Pr) . Right[:, a0, :] (Pr x R_{n+1}) */
  double *C = T1 + (int64_t)R0 * Rn * In * Pr;
  for (int a = 0; a < R0; a++)
    blas_gemm(0, 0, (int64_t)Rn * In, Rn1, Pr, 1.0, T1 + (int64_t)a * Rn * In * Pr, Pr,
              right + (int64_t)a * Rn1, (int64_t)R0 * Rn1, a ? 1.0 : 0.0, C, Rn1);
  for (int b = 0; b < Rn; b++)
    for (int64_t i = 0; i < In; i++)
      memcpy(out + (i * Rn + b) * Rn1, C + ((int64_t)b * In + i) * Rn1, (size_t)Rn1 * sizeof(double));
}

/* c (m x p) = a (m x q) . b (q x p), all row-major and small */
static void small_product(int m, int q, int p, const double *restrict a, const double *restrict b,
                          double *restrict c) {
  for (int i = 0; i < m; i++) {
    double *ci = c + i * p;
    for (int j = 0; j < p; j++) ci[j] = 0;
    for (int l = 0; l < q; l++) {
      double v = a[i * q + l];
      const double *bl = b + l * p;
      for (int j = 0; j < p; j++) ci[j] += v * bl[j];
    }
  }
}

DTF_KERNEL void dtf_tr_design(int N, int n, const int *ranks, const double *const *cores, const int64_t *ix,
                              double *h, double *work) {
  int Rn = ranks[n], Rn1 = ranks[(n + 1) % N], Rmax = 1;
  for (int k = 0; k < N; k++)
    if (ranks[k] > Rmax) Rmax = ranks[k];
  double *z = work, *t = work + (int64_t)Rmax * Rmax;
  /* Z = G_{n+1} ... G_{n-1} (R_{n+1} x R_n), cyclic */
  int k = (n + 1) % N, rows = Rn1, cols = ranks[(k + 1) % N];
  memcpy(z, cores[k] + ix[k] * rows * cols, (size_t)rows * cols * sizeof(double));
  for (int s = 2; s < N; s++) {
    k = (k + 1) % N;
    int next = ranks[(k + 1) % N];
    small_product(rows, cols, next, z, cores[k] + ix[k] * cols * next, t);
    double *sw = z;
    z = t;
    t = sw;
    cols = next;
  }
  /* h [an][a_{n+1}] = Z [a_{n+1}][an] */
  for (int a = 0; a < Rn; a++)
    for (int b = 0; b < Rn1; b++) h[a * Rn1 + b] = z[b * Rn + a];
}

void dtf_tr_entries_contract(int N, int n, const int *ranks, const double *const *cores, int64_t count,
                             const int64_t *inds, const double *vals, double *out, double *work) {
  int64_t D = (int64_t)ranks[n] * ranks[(n + 1) % N];
  double *h = work, *w = work + D;
  for (int64_t e = 0; e < count; e++) {
    const int64_t *ix = inds + e * N;
    dtf_tr_design(N, n, ranks, cores, ix, h, w);
    double *o = out + ix[n] * D, v = vals[e];
    for (int64_t j = 0; j < D; j++) o[j] += v * h[j];
  }
}

void dtf_tr_transfer(int64_t rows, int Ra, int Rb, const double *G, double *Gamma, double *work) {
  int D = Ra * Rb;
  blas_gram(rows, D, G, work); /* [(a, b)][(a', b')] */
  for (int a = 0; a < Ra; a++)
    for (int a2 = 0; a2 < Ra; a2++)
      for (int b = 0; b < Rb; b++)
        for (int b2 = 0; b2 < Rb; b2++)
          Gamma[((int64_t)(a * Ra + a2)) * Rb * Rb + b * Rb + b2] =
              work[(int64_t)(a * Rb + b) * D + a2 * Rb + b2];
}

/* out (R_from^2 x R_to^2) = Gamma_from ... Gamma_{to - 1}, cyclic over N, `count` factors */
static void transfer_chain(int N, int from, int count, const int *ranks, const double *const *Gamma,
                           double *out, double *work) {
  int k = from % N;
  int64_t rows = (int64_t)ranks[k] * ranks[k], cols = (int64_t)ranks[(k + 1) % N] * ranks[(k + 1) % N];
  memcpy(out, Gamma[k], (size_t)(rows * cols) * sizeof(double));
  for (int s = 1; s < count; s++) {
    k = (k + 1) % N;
    int64_t next = (int64_t)ranks[(k + 1) % N] * ranks[(k + 1) % N];
    blas_gemm(0, 0, rows, next, cols, 1.0, out, cols, Gamma[k], next, 0.0, work, next);
    memcpy(out, work, (size_t)(rows * next) * sizeof(double));
    cols = next;
  }
}

int64_t dtf_tr_gram_work(int N, const int *ranks) {
  int64_t m = 1;
  for (int k = 0; k < N; k++)
    if ((int64_t)ranks[k] * ranks[k] > m) m = (int64_t)ranks[k] * ranks[k];
  return 2 * m * m;
}

void dtf_tr_gram(int N, int n, const int *ranks, const double *const *Gamma, double *V, double *work) {
  int Rn = ranks[n], Rn1 = ranks[(n + 1) % N];
  int64_t D = (int64_t)Rn * Rn1;
  double *phi = work, *w2 = work + dtf_tr_gram_work(N, ranks) / 2;
  if (N == 1) return;
  transfer_chain(N, n + 1, N - 1, ranks, Gamma, phi, w2); /* [(a1, b1)][(a, b)] */
  for (int a = 0; a < Rn; a++)
    for (int a1 = 0; a1 < Rn1; a1++)
      for (int b = 0; b < Rn; b++)
        for (int b1 = 0; b1 < Rn1; b1++)
          V[(a * Rn1 + a1) * D + b * Rn1 + b1] = phi[((int64_t)a1 * Rn1 + b1) * Rn * Rn + a * Rn + b];
}

double dtf_tr_norm2(int N, const int *ranks, const double *const *Gamma, double *work) {
  int64_t R2 = (int64_t)ranks[0] * ranks[0];
  double *phi = work, *w2 = work + dtf_tr_gram_work(N, ranks) / 2, t = 0;
  transfer_chain(N, 0, N, ranks, Gamma, phi, w2);
  for (int64_t i = 0; i < R2; i++) t += phi[i * R2 + i];
  return t;
}

/* Sizes TR-SVD works with: the largest unfolding it decomposes (rows), the largest
 * unfolding or product it holds (big), the largest block of eigenvectors it keeps (ut). */
static void svd_sizes(int N, const int64_t *dims, const int *ranks, int64_t *rows, int64_t *big,
                      int64_t *ut) {
  int64_t total = prod(dims, 0, N);
  *rows = dims[0];
  *big = (int64_t)ranks[0] * ranks[1] * (total / dims[0]);
  *ut = (int64_t)ranks[0] * ranks[1] * dims[0];
  for (int k = 1; k < N; k++) {
    int64_t m = (int64_t)ranks[k] * dims[k], size = (int64_t)ranks[k] * ranks[0] * prod(dims, k, N);
    if (size > *big) *big = size;
    if (k == N - 1) break;
    if (m > *rows) *rows = m;
    if (m * ranks[k + 1] > *ut) *ut = m * ranks[k + 1];
  }
}

int64_t dtf_tr_svd_work(int N, const int64_t *dims, const int *ranks) {
  int64_t rows, big, ut;
  svd_sizes(N, dims, ranks, &rows, &big, &ut);
  return 2 * big + ut + rows * rows + rows + dtf_sym_eigen_work((int)rows);
}

dtf_status dtf_tr_svd(int N, const int64_t *dims, const double *X, const int *ranks, double *const *cores,
                      double *work) {
  int64_t rows, big, ut;
  svd_sizes(N, dims, ranks, &rows, &big, &ut);
  double *buf[2] = {work, work + big}, *Ut = work + 2 * big, *U = Ut + ut, *w = U + rows * rows,
         *ew = w + rows;
  int R0 = ranks[0], R1 = ranks[1];
  /* the current unfolding M (m x cols): rows (a_k, i_k), columns (i_{k+1} .. i_{N-1}, a_0);
   * step 0 has rows i_0 and columns i_1 .. i_{N-1} */
  const double *M = X;
  int free_buf = 0; /* the buffer M is not in */
  int64_t m = dims[0], cols = prod(dims, 1, N);
  for (int k = 0; k < N - 1; k++) {
    int Ra = k ? ranks[k] : 1, keep = k ? ranks[k + 1] : R0 * R1;
    blas_gemm(0, 1, m, m, cols, 1.0, M, cols, M, cols, 0.0, U, m); /* M M^T */
    dtf_status st = dtf_sym_eigen((int)m, U, w, ew);
    if (st) return st;
    /* Ut (keep x m): the leading eigenvectors, zero rows beyond the unfolding's rank */
    for (int j = 0; j < keep; j++) {
      if (j < m)
        memcpy(Ut + (int64_t)j * m, U + (m - 1 - j) * m, (size_t)m * sizeof(double));
      else
        memset(Ut + (int64_t)j * m, 0, (size_t)m * sizeof(double));
    }
    /* core k: G_k[i][a][b] = U[(a, i)][b] (step 0: G_0[i][(a0, a1)] = U[i][(a0, a1)]) */
    int64_t I = dims[k];
    for (int a = 0; a < Ra; a++)
      for (int64_t i = 0; i < I; i++)
        for (int b = 0; b < keep; b++) cores[k][(i * Ra + a) * keep + b] = Ut[(int64_t)b * m + a * I + i];
    /* the next unfolding: Ut M (keep x cols) */
    double *next = buf[free_buf];
    blas_gemm(0, 0, keep, m > 0 ? cols : 0, m, 1.0, Ut, m, M, cols, 0.0, next, cols);
    free_buf ^= 1;
    if (k == 0) { /* [(a0, a1)][rest] -> [(a1, rest)][a0]: a0 moves last */
      double *moved = buf[free_buf];
      for (int a = 0; a < R0; a++)
        for (int b = 0; b < R1; b++)
          for (int64_t c = 0; c < cols; c++)
            moved[((int64_t)b * cols + c) * R0 + a] = next[((int64_t)a * R1 + b) * cols + c];
      next = moved;
      free_buf ^= 1;
      cols *= R0;
      keep = R1;
    }
    /* rows (a_{k+1}, i_{k+1}): the columns' first index joins the rows */
    M = next;
    m = (int64_t)keep * dims[k + 1];
    cols /= dims[k + 1];
  }
  /* the last core: G_{N-1}[i][a][a0] = M[(a, i)][a0] */
  int Ra = ranks[N - 1];
  int64_t I = dims[N - 1];
  for (int a = 0; a < Ra; a++)
    for (int64_t i = 0; i < I; i++)
      memcpy(cores[N - 1] + (i * Ra + a) * R0, M + ((int64_t)a * I + i) * R0, (size_t)R0 * sizeof(double));
  return DTF_OK;
}
