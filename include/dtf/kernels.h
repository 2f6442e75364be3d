/* Node-local numerics: Khatri-Rao products, dense MTTKRP, Gram matrices and the small
 * R x R solves. No MPI, no files. Matrices are row-major; a Khatri-Rao product over
 * factors k..l has its rows in C order (factor k slowest). */
#ifndef DTF_KERNELS_H
#define DTF_KERNELS_H

#include <stdint.h>

#include "dtf/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out (prod rows x R) = Khatri-Rao product of nf factors (factor[k] is rows[k] x R).
 * nf == 0 gives a single row of ones. */
void dtf_khatri_rao(int nf, const double *const *factors, const int64_t *rows, int R, double *out);

/* Contract a dense tensor (C order, dims[0..nmodes)) with the Khatri-Rao product of the
 * factors of modes [split, nmodes) by one GEMM: out (prod dims[0..split) x R).
 * kr is workspace of prod dims[split..nmodes) x R doubles. */
void dtf_dense_contract_right(int nmodes, const int64_t *dims, const double *X, int split,
                              const double *const *factors, int R, double *kr, double *out);

/* Likewise contracting modes [0, split): out (prod dims[split..nmodes) x R). */
void dtf_dense_contract_left(int nmodes, const int64_t *dims, const double *X, int split,
                             const double *const *factors, int R, double *kr, double *out);

/* T holds a partial MTTKRP: a tensor of shape dims[0..k) with R columns per entry (R
 * fastest). Contract every mode except `mode` with its factor column-wise:
 * out (dims[mode] x R). factors[j] is the factor of partial mode j. work needs
 * (prod(dims) / dims[mode] + 2) * R doubles. */
void dtf_partial_mttv(int k, const int64_t *dims, const double *T, int mode, const double *const *factors,
                      int R, double *work, double *out);

/* The split m (1 <= m < nmodes) where the modes [0, m) and [m, nmodes) have the fewest
 * entries together; *left and *right receive those two products. */
int dtf_dense_split(int nmodes, const int64_t *dims, int64_t *left, int64_t *right);

/* Workspace (doubles) dtf_dense_mttkrp needs for this shape, mode and rank. */
int64_t dtf_dense_mttkrp_work(int nmodes, const int64_t *dims, int mode, int R);

/* out (dims[mode] x R) = MTTKRP of a dense tensor in mode `mode`, through one GEMM on the
 * larger side and a column-wise contraction of the rest. work: dtf_dense_mttkrp_work. */
void dtf_dense_mttkrp(int nmodes, const int64_t *dims, const double *X, int mode,
                      const double *const *factors, int R, double *work, double *out);

/* out (prod dims entries, C order) = the full tensor
 * sum_r prod_n A_n(i_n, r) of a CP model with unit weights. work: dtf_cp_full_work. */
int64_t dtf_cp_full_work(int nmodes, const int64_t *dims, int R);
void dtf_cp_full(int nmodes, const int64_t *dims, const double *const *factors, int R, double *work,
                 double *out);

/* Tucker (src/kernels/ttm.c). A C-order block of shape dims is viewed in mode n as
 * A x dims[n] x B (A over the modes before n, B after); its mode-n unfolding X_(n) is
 * dims[n] x (A B), column j = a B + b. */

/* out (dims[mode] x (j1 - j0), row-major) = scale * columns j0 .. j1-1 of X_(mode). */
void dtf_unfold_columns(int N, const int64_t *dims, int mode, const double *X, int64_t j0, int64_t j1,
                        double scale, double *out);

/* C (m x n, ld ldc) += alpha op(A) op(B), row-major with leading dimensions; nothing when
 * a size is 0. */
void dtf_gemm_acc(int ta, int tb, int64_t m, int64_t n, int64_t k, double alpha, const double *A, int64_t lda,
                  const double *B, int64_t ldb, double *C, int64_t ldc);

/* The upper triangle of C (n x n, leading dimension ldc) += A A^T for A (n x k, row-major):
 * half a GEMM's flops for a Gram's diagonal block. dtf_symmetrize_upper copies the upper
 * triangle to the lower. */
void dtf_syrk_acc(int64_t n, int64_t k, const double *A, double *C, int64_t ldc);
void dtf_symmetrize_upper(int64_t n, double *C, int64_t ldc);

/* G (dims[mode] x dims[mode]) += alpha X_(mode) X_(mode)^T, by SYRKs on the block as it is
 * (one per slab of the modes before `mode`; one for the last mode): the whole Gram of a
 * block, symmetric. */
void dtf_unfold_gram(int N, const int64_t *dims, int mode, const double *X, double alpha, double *G);

/* The n-mode product Y = alpha X x_mode op(M): Y is A x rows x B (C order), Y[a][r][b] =
 * alpha sum_i op(M)[r][i] X[a][i][b], with op(M) = M (rows x dims[mode]) or, trans set,
 * M^T (M dims[mode] x rows). */
void dtf_ttm(int N, const int64_t *dims, int mode, const double *X, int trans, const double *M, int64_t rows,
             double alpha, double *Y);

/* dtf_ttm with trans set (M: dims[mode] x rows, rows <= dims[mode]) written over X: Y takes
 * the first A rows B doubles of X's buffer. Column chunks of `chunk` (rows of A for the last
 * mode) pass through work (rows x chunk doubles); each chunk's result lands only where X
 * was read already. */
void dtf_ttm_inplace(int N, const int64_t *dims, int mode, double *X, const double *M, int64_t rows,
                     double alpha, double *work, int64_t chunk);

/* Z (dims[mode] x k, row-major) += alpha X_(mode) W_(mode)^T for a block X of shape dims and
 * a block W of the same shape but k in `mode` (C order both): a power iteration's product
 * Y Y^T Q from W = Q^T x_mode Y. */
void dtf_unfold_cross(int N, const int64_t *dims, int mode, const double *X, const double *W, int64_t k,
                      double alpha, double *Z);

/* The value of a Tucker model at one index: the core (ranks[0] x .. x ranks[N-1], C
 * order) contracted with rows[n] (R_n values: the factor rows of the index). work:
 * dtf_tucker_point_work doubles. */
int64_t dtf_tucker_point_work(int N, const int *ranks);
double dtf_tucker_point(int N, const int *ranks, const double *core, const double *const *rows, double *work);

/* ||M||^2 of a CP model from its weights and the R x R Grams of its factors. */
double dtf_cp_norm2(int nmodes, int R, const double *lambda, const double *const *grams);

/* G (R x R) = A^T A for A (rows x R). */
void dtf_gram(int64_t rows, int R, const double *A, double *G);

/* C (m x n) = op(A) op(B), op(X) = X^T when its flag is set (op(A) is m x k, op(B) k x n;
 * all row-major and dense). */
void dtf_matmul(int ta, int tb, int64_t m, int64_t n, int64_t k, const double *A, const double *B, double *C);

/* C (Ra x Rb) = A^T B for A (rows x Ra), B (rows x Rb). */
void dtf_cross(int64_t rows, int Ra, const double *A, int Rb, const double *B, double *C);

/* DTF_ERR_NUMERIC naming the first non-finite entry of the R x R normal equations V. */
dtf_status dtf_normal_check(int R, const double *V);

/* Workspace (doubles) of dtf_spd_solve for rank R. */
int64_t dtf_spd_solve_work(int R);

/* Solve X V = B in place for symmetric positive semi-definite V (R x R), B (rows x R).
 * Cholesky; if V is not positive definite, the pseudo-inverse (eigenvalues below
 * R * eps * max are dropped) and *used_pinv = 1. work: dtf_spd_solve_work(R) doubles.
 * DTF_ERR_NUMERIC if V has a non-finite entry. */
dtf_status dtf_spd_solve(int R, const double *V, int64_t rows, double *B, double *work, int *used_pinv);

/* One HALS pass over the columns of the rows A (rows x R, row-major), in place: for r = 1..R,
 * A(:, r) += (M(:, r) - A V(:, r)) / V(r, r), the exact minimiser in that column of
 * 1/2 tr(A V A^T) - tr(A^T M), the least-squares problem whose normal equations are A V = M
 * (M the MTTKRP rows, V the R x R Hadamard product of the other modes' Grams); then, if nonneg, at least
 * DTF_HALS_FLOOR (a column that reached 0 could never come back: Cichocki and Phan's floor). Columns with
 * V(r, r) <= 0 are left as they are. Each row is independent of the others. */
#define DTF_HALS_FLOOR 1e-16
void dtf_hals_rows(int R, const double *V, int64_t rows, const double *M, double *A, int nonneg);

/* Nonnegative least squares by block principal pivoting (Kim and Park), row by row: each
 * row of A (rows x R) becomes the exact minimiser of 1/2 x^T V x - m^T x over x >= 0, m the
 * row of M (the MTTKRP rows; V the R x R Hadamard product of the other Grams). A is not
 * read. work: dtf_bpp_work(R) doubles. DTF_ERR_NUMERIC if V has a non-finite entry, a
 * passive set's system cannot be factored even with a ridge of R eps, or the pivoting does
 * not settle. */
int64_t dtf_bpp_work(int R);
dtf_status dtf_bpp_rows(int R, const double *V, int64_t rows, const double *M, double *A, double *work);

/* Eigenvalues w (ascending) and eigenvectors of a symmetric n x n matrix A: on return row
 * j of A (n contiguous doubles) is the eigenvector of w[j]. LAPACK dsyev; work:
 * dtf_sym_eigen_work(n) doubles. DTF_ERR_NUMERIC if A is not finite or LAPACK fails. */
int64_t dtf_sym_eigen_work(int n);
dtf_status dtf_sym_eigen(int n, double *A, double *w, double *work);

/* dtf_sym_eigen by divide and conquer (LAPACK dsyevd), for a large matrix such as a Tucker
 * Gram (4.6x faster than dsyev at n = 2000): the workspace, dtf_sym_eigen_large_bytes(n), is
 * allocated here. */
double dtf_sym_eigen_large_bytes(int n);
dtf_status dtf_sym_eigen_large(int n, double *A, double *w);

/* out (rows of R) += w[k] * Hadamard_{n != mode} F[n](inds(k, n), :) added to row
 * inds(k, mode), over count entries in any order (inds: count x N block-local indices):
 * the MTTKRP of a list of weighted entries (a gradient sample). */
void dtf_coo_mttkrp(int N, int mode, int64_t count, const int64_t *inds, const double *w,
                    const double *const *F, int R, double *out);

/* Row statistics of the completion solvers. A symmetric D x D matrix is kept packed: its
 * upper triangle row by row, dtf_packed_size(D) = D (D + 1) / 2 doubles. */
int64_t dtf_packed_size(int D);

/* out row i (stride ldo, W columns) += sum of w[k] * Hadamard_{n != mode} F[n](inds(p, n), :)
 * over the listed observations p of row i: the positions pos[0..count) (increasing; NULL:
 * positions 0..count-1) of a mode-`mode` row order, where row i (of rows) holds positions
 * row_ptr[i] .. row_ptr[i + 1] and position p has the block-local indices inds[p N ..].
 * Observations that differ only in mode `fibre` (!= mode) share one product of the other
 * rows: sorted with that mode last, a fibre costs W multiply-adds per observation. w NULL:
 * weights of 1. touched (NULL or a byte per row) marks the rows that had one. work: W. */
void dtf_rows_mttkrp(int N, int mode, int fibre, int64_t rows, const int64_t *row_ptr, const int64_t *inds,
                     int64_t count, const int64_t *pos, const double *w, const double *const *F, int W,
                     double *out, int64_t ldo, unsigned char *touched, double *work);

/* Row i of out (stride ldo) += sum of w[k] h h^T (packed R x R) and then sum of c[k] h
 * (R) over the same listed observations of row i, h = Hadamard_{n != mode} F[n](inds(p,
 * n), :) (R columns; w NULL: 1, else w >= 0): the Gram of the design rows, a SYRK per 64
 * of them, and the right-hand side from the same rows. The cheaper way for short fibres
 * and no covariances. touched as above. work: dtf_rows_gram_work(R) doubles. */
int64_t dtf_rows_gram_work(int R);
void dtf_rows_gram(int N, int mode, int64_t rows, const int64_t *row_ptr, const int64_t *inds, int64_t count,
                   const int64_t *pos, const double *w, const double *c, const double *const *F, int R,
                   double *out, int64_t ldo, unsigned char *touched, double *work);

/* The same with tensor-ring design rows (dtf_tr_design of core `mode`, D = R_mode
 * R_{mode+1} coefficients): row i of out gains the packed D x D Gram and the D-vector
 * right-hand side. work: dtf_tr_rows_gram_work doubles. */
int64_t dtf_tr_rows_gram_work(int N, const int *ranks, int mode);
void dtf_tr_rows_gram(int N, int mode, int64_t rows, const int64_t *row_ptr, const int64_t *inds,
                      int64_t count, const int64_t *pos, const double *w, const double *c, const int *ranks,
                      const double *const *cores, double *out, int64_t ldo, unsigned char *touched,
                      double *work);

/* Tensor-ring contractions (src/kernels/tr.c). Core k (dims[k] rows of R_k x R_{k+1},
 * row-major, R_N = R_0) is cores[k]; x(i) = trace(G_0[i_0] ... G_{N-1}[i_{N-1}]).
 *
 * Chain: out[t] = G_0[i_0] ... G_{k-1}[i_{k-1}] (R_0 x R_k) for every index tuple t of the
 * k modes, in C order; ranks[0..k]. out needs dtf_tr_chain_size doubles (the largest
 * partial chain), work dtf_tr_chain_work. */
int64_t dtf_tr_chain_size(int k, const int64_t *dims, const int *ranks);
int64_t dtf_tr_chain_work(int k, const int64_t *dims, const int *ranks);
void dtf_tr_chain(int k, const int64_t *dims, const int *ranks, const double *const *cores, double *out,
                  double *work);

/* The design rows of core n: h(i) (R_n x R_{n+1}, row-major) = Z(i)^T for the subchain
 * Z = G_{n+1}[i_{n+1}] ... G_{n-1}[i_{n-1}] (cyclic), so that x(i) = <G_n[i_n], h(i)>.
 * Dense: out (dims[n] x R_n R_{n+1}) = sum over the block of X(i) h(i), by GEMMs against
 * the chains of the modes before and after n (never the subchain of every index at
 * once); work: dtf_tr_dense_work doubles. Per entry (ix: its N block-local indices):
 * h, work 2 max_k R_k^2 doubles. */
int64_t dtf_tr_dense_work(int N, const int64_t *dims, const int *ranks, int n);
void dtf_tr_dense_contract(int N, const int64_t *dims, const double *X, int n, const double *const *cores,
                           const int *ranks, double *out, double *work);
void dtf_tr_design(int N, int n, const int *ranks, const double *const *cores, const int64_t *ix, double *h,
                   double *work);
/* out (block rows of D = R_n R_{n+1}) += sum over count entries of vals[e] h(inds[e]);
 * work: D + 2 max_k R_k^2 doubles. */
void dtf_tr_entries_contract(int N, int n, const int *ranks, const double *const *cores, int64_t count,
                             const int64_t *inds, const double *vals, double *out, double *work);

/* Transfer matrix of a core: Gamma (Ra^2 x Rb^2, rows (a, a'), columns (b, b')) = sum over
 * its rows i of G[i] kron G[i]; work (Ra Rb)^2. The Gram of core n's design rows over
 * every index of the other modes, V (D x D, D = R_n R_{n+1}), is the cyclic product of
 * the other transfer matrices, and ||model||^2 the trace of the product of all of them;
 * work: dtf_tr_gram_work doubles. */
void dtf_tr_transfer(int64_t rows, int Ra, int Rb, const double *G, double *Gamma, double *work);

/* TR-SVD: cores (core k: dims[k] rows of R_k x R_{k+1}) of the whole tensor X (C order) by
 * sequential truncated SVDs of its unfoldings, each through the eigenvectors of the
 * unfolding's Gram (the smaller side is at most max_k R_k dims[k]); a bond larger than
 * its unfolding's rank gets zero columns. work: dtf_tr_svd_work doubles. */
int64_t dtf_tr_svd_work(int N, const int64_t *dims, const int *ranks);
dtf_status dtf_tr_svd(int N, const int64_t *dims, const double *X, const int *ranks, double *const *cores,
                      double *work);
int64_t dtf_tr_gram_work(int N, const int *ranks);
void dtf_tr_gram(int N, int n, const int *ranks, const double *const *Gamma, double *V, double *work);
double dtf_tr_norm2(int N, const int *ranks, const double *const *Gamma, double *work);

/* a = (scale S + diag(d))^-1 (bscale b) for packed S, through dtf_spd_solve (Cholesky,
 * pseudo-inverse fallback: *used_pinv). work: dtf_packed_solve_work(D) doubles. */
int64_t dtf_packed_solve_work(int D);
dtf_status dtf_packed_solve(int D, const double *S, double scale, const double *d, const double *b,
                            double bscale, double *a, double *work, int *used_pinv);

/* The 2-norm of n doubles without overflow or underflow on the way (BLAS dnrm2): entries
 * of 1e-170 or 1e155 give their true norm, not 0 or Inf. */
double dtf_norm(int64_t n, const double *x);

/* A power of two near 1 / norm: multiplying by it is exact, and brings the sums of
 * squares of a tensor whose entries are around 1e-170 or 1e155 into range. It is
 * 2^-dtf_pow2_exponent(norm): e with norm = f 2^e, f in [0.5, 1), clamped to [-1000, 1000]
 * (0 for a norm that is 0, negative or not finite). */
double dtf_pow2_scale(double norm);
int dtf_pow2_exponent(double norm);

/* The fit 1 - ||X - M|| / ||X|| from x2 = ||X'||^2, m2 = ||M'||^2 and ip = <X', M'> of a
 * tensor X' = a X and a model M' with a M = 2^K M' (a any scale): each part near 1 when
 * X' and M' are, the fit is right however far apart the tensor's and the model's scales
 * are (hugely negative for a model 1e170 times the tensor), -Inf beyond the doubles, NaN
 * if a part is. */
double dtf_fit_scaled(double x2, double m2, double ip, int K);

/* The first position of a NaN or Inf among n doubles, or -1. */
int64_t dtf_first_nonfinite(int64_t n, const double *x);

#ifdef __cplusplus
}
#endif
#endif
