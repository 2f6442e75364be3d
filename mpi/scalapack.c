/* The BLACS/ScaLAPACK bridge (include/dtf/scalapack.h). ScaLAPACK has no C header on
 * Debian: the Fortran and BLACS entry points are declared here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtf/scalapack.h"

int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
void Cblacs_gridinit(int *ctx, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int ctx, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int ctx);
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb, const int *irsrc,
               const int *icsrc, const int *ictxt, const int *lld, int *info);
void pdsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia, const int *ja,
              const int *desca, double *w, double *z, const int *iz, const int *jz, const int *descz,
              double *work, const int *lwork, int *iwork, const int *liwork, int *info);

#define NB 64

/* a near-square grid: the largest divisor of P not above sqrt(P) rows */
static void grid_shape(int P, int *pr, int *pc) {
  int r = (int)floor(sqrt((double)P));
  while (r > 1 && P % r) r--;
  *pr = r;
  *pc = P / r;
}

static int nb_for(int64_t I, int pr, int pc) {
  int most = pr > pc ? pr : pc;
  int64_t b = (I + most - 1) / most;
  return (int)(b < NB ? (b < 1 ? 1 : b) : NB);
}

double dtf_scalapack_eigen_bytes(int64_t I, int P) {
  int pr, pc;
  grid_shape(P, &pr, &pc);
  double local = ceil((double)I / pr + NB) * ceil((double)I / pc + NB);
  /* the peak: A, Z and pdsyevd's work (about 1 + 6 I + 2 local); before it, the send and
   * receive buffers and A (the rows are freed once packed) */
  return 8.0 * (4 * local + 1 + 8.0 * I) + 4.0 * (7.0 * I + 8 * P + 2);
}

/* block-cyclic owner and local index of global index i */
static int owner(int64_t i, int nb, int p) { return (int)((i / nb) % p); }
static int64_t local_index(int64_t i, int nb, int p) { return (i / ((int64_t)nb * p)) * nb + i % nb; }

dtf_status dtf_scalapack_eigen(MPI_Comm comm, int64_t I, int holder, int64_t row0, int64_t nrows,
                               double *rows, int (*choose)(const double *w, void *ctx), void *ctx, double *w,
                               double **Uout, int *Rout, dtf_comm_stats_t *stats) {
  *Uout = NULL;
  *Rout = 0;
  int P, me;
  MPI_Comm_size(comm, &P);
  MPI_Comm_rank(comm, &me);
  if (I > 2000000000)
    return dtf_error(DTF_ERR_INPUT, "a %lld x %lld eigenproblem is beyond ScaLAPACK's int", (long long)I,
                     (long long)I);
  int pr, pc, n = (int)I;
  grid_shape(P, &pr, &pc);
  int nb = nb_for(I, pr, pc);
  int sys = Csys2blacs_handle(comm), bctx = sys, myr, myc, zero = 0, one = 1, info = 0;
  Cblacs_gridinit(&bctx, "Row", pr, pc);
  Cblacs_gridinfo(bctx, &pr, &pc, &myr, &myc);
  int mloc = numroc_(&n, &nb, &myr, &zero, &pr), nloc = numroc_(&n, &nb, &myc, &zero, &pc);
  int lld = mloc > 1 ? mloc : 1;
  /* every rank's rows (holders only), so receivers know what arrives in which order */
  int64_t mine[3] = {holder ? row0 : 0, holder ? nrows : 0, 0},
          *all = malloc((size_t)P * 3 * sizeof(int64_t));
  int *scount = calloc((size_t)P * 4, sizeof(int)), *sdisp = scount + P, *rcount = sdisp + P,
      *rdisp = rcount + P;
  int64_t *colcount = malloc((size_t)pc * sizeof(int64_t));
  size_t aloc = (size_t)lld * (size_t)(nloc > 0 ? nloc : 1);
  double *A = malloc(aloc * sizeof(double)), *Z = NULL;
  dtf_status st =
      all && scount && colcount && A ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for ScaLAPACK");
  /* agreed before the first collective: a rank that failed to allocate must not leave the
   * others waiting in it */
  st = dtf_agree(comm, st);
  if (!st) st = dtf_allgather(comm, mine, 3, MPI_INT64_T, all);
  double *send = NULL, *recv = NULL;
  int64_t nsend = 0, nrecv = 0;
  if (!st) {
    for (int q = 0; q < pc; q++) colcount[q] = numroc_(&n, &nb, &q, &zero, &pc);
    for (int64_t i = 0; i < mine[1]; i++) {
      int pi = owner(row0 + i, nb, pr);
      for (int q = 0; q < pc; q++) scount[pi * pc + q] += (int)colcount[q];
    }
    for (int s = 0; s < P; s++)
      for (int64_t i = all[3 * s]; i < all[3 * s] + all[3 * s + 1]; i++)
        if (owner(i, nb, pr) == myr) rcount[s] += (int)colcount[myc];
    for (int q = 0; q < P; q++) {
      sdisp[q] = (int)nsend;
      rdisp[q] = (int)nrecv;
      nsend += scount[q];
      nrecv += rcount[q];
    }
    if (nsend > 2147483647 || nrecv > 2147483647)
      st = dtf_error(DTF_ERR_INPUT, "the Gram is too large to redistribute in one alltoallv; use more ranks");
  }
  if (!st) {
    send = malloc((size_t)(nsend + 1) * sizeof(double));
    recv = malloc((size_t)(nrecv + 1) * sizeof(double));
    if (!send || !recv) st = dtf_error(DTF_ERR_INPUT, "out of memory for ScaLAPACK");
  }
  st = dtf_agree(comm, st);
  if (!st) { /* pack: for each destination, my rows ascending, their columns in the destination's columns
                ascending */
    int *fill = malloc((size_t)P * sizeof(int));
    memcpy(fill, sdisp, (size_t)P * sizeof(int));
    for (int64_t i = 0; i < mine[1]; i++) {
      int pi = owner(row0 + i, nb, pr);
      const double *r = rows + i * I;
      for (int64_t j = 0; j < I; j++) send[fill[pi * pc + owner(j, nb, pc)]++] = r[j];
    }
    free(fill);
    free(rows); /* packed: the caller's rows are not needed any more */
    rows = NULL;
    st = dtf_alltoallv(comm, send, scount, sdisp, recv, rcount, rdisp, MPI_DOUBLE, stats);
    int64_t k = 0;
    for (int s = 0; !st && s < P; s++)
      for (int64_t i = all[3 * s]; i < all[3 * s] + all[3 * s + 1]; i++) {
        if (owner(i, nb, pr) != myr) continue;
        int64_t li = local_index(i, nb, pr);
        for (int64_t j = 0; j < I; j++)
          if (owner(j, nb, pc) == myc) A[li + local_index(j, nb, pc) * lld] = recv[k++];
      }
  }
  free(send);
  free(recv);
  free(rows);
  if (!st && !(Z = malloc(aloc * sizeof(double))))
    st = dtf_error(DTF_ERR_INPUT, "out of memory for ScaLAPACK");
  st = dtf_agree(comm, st);
  int desc[9];
  if (!st) {
    descinit_(desc, &n, &n, &nb, &nb, &zero, &zero, &bctx, &lld, &info);
    if (info) st = dtf_error(DTF_ERR_NUMERIC, "ScaLAPACK descinit failed (info %d)", info);
  }
  double *work = NULL;
  int *iwork = NULL, lwork = -1, liwork = -1;
  if (!st) {
    double wq = 0;
    int iq = 0;
    pdsyevd_("V", "U", &n, A, &one, &one, desc, w, Z, &one, &one, desc, &wq, &lwork, &iq, &liwork, &info);
    /* the documented minimum (the workspace query of some ScaLAPACK builds answers less than
     * PDORMTR then needs): max(1 + 6N + 2 NP NQ, TRILWMIN) + 2N, TRILWMIN = 3N + max(NB (NP + 1), 3 NB) */
    double np0 = mloc, nq0 = nloc, tril = 3.0 * n + fmax(nb * (np0 + 1), 3.0 * nb);
    double need = fmax(1 + 6.0 * n + 2 * np0 * nq0, tril) + 2.0 * n + (double)nb * nb;
    if (need > 2147483647.0)
      st = dtf_error(DTF_ERR_INPUT, "pdsyevd's workspace exceeds an int: use more ranks");
    lwork = (int)fmax(wq, need) + 1;
    liwork = iq > 0 ? iq : 1;
    if (!st &&
        (!(work = malloc((size_t)lwork * sizeof(double))) || !(iwork = malloc((size_t)liwork * sizeof(int)))))
      st = dtf_error(DTF_ERR_INPUT, "out of memory for pdsyevd's workspace");
  }
  /* pdsyevd is collective: every rank has its workspace, or none goes in */
  st = dtf_agree(comm, st);
  if (!st) {
    pdsyevd_("V", "U", &n, A, &one, &one, desc, w, Z, &one, &one, desc, work, &lwork, iwork, &liwork, &info);
    if (info) st = dtf_error(DTF_ERR_NUMERIC, "ScaLAPACK pdsyevd failed (info %d)", info);
  }
  free(work);
  free(iwork);
  st = dtf_agree(comm, st);
  int R = st ? 0 : choose(w, ctx);
  double *U = NULL;
  if (!st && (R < 1 || R > I))
    st = dtf_error(DTF_ERR_INPUT, "rank %d chosen for a %lld x %lld matrix", R, (long long)I, (long long)I);
  if (!st && !(U = calloc((size_t)(I * R), sizeof(double))))
    st = dtf_error(DTF_ERR_INPUT, "out of memory for a factor");
  st = dtf_agree(comm, st);
  if (!st) { /* the R leading columns, gathered */
    for (int lj = 0; lj < nloc; lj++) {
      int64_t j = ((int64_t)(lj / nb) * pc + myc) * nb + lj % nb, r = I - 1 - j;
      if (r < 0 || r >= R) continue;
      for (int li = 0; li < mloc; li++) {
        int64_t i = ((int64_t)(li / nb) * pr + myr) * nb + li % nb;
        U[i * R + r] = Z[li + (int64_t)lj * lld];
      }
    }
    st = dtf_allreduce_sum(comm, U, I * R, stats);
  }
  if (st)
    free(U);
  else {
    *Uout = U;
    *Rout = R;
  }
  free(all);
  free(scount);
  free(colcount);
  free(A);
  free(Z);
  Cblacs_gridexit(bctx);
  Cfree_blacs_system_handle(sys);
  return st;
}
