/* Counted collectives and collective error agreement. */
#include "dtf/comm.h"

#include "dtf/fault.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void count(dtf_comm_stats_t *stats, uint64_t bytes) {
  if (stats) {
    stats->bytes_sent += bytes;
    stats->bytes_uncompressed += bytes;
    stats->collectives += 1;
  }
}

static dtf_status mpi_fail(int rc, const char *what) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  return dtf_error(DTF_ERR_MPI, "MPI_%s failed: %s", what, text);
}

/* DTF_FAULT=RANK:N:mpi: the N-th counted collective of that rank fails as MPI would. A
 * stranded rank (dtf_error_stranded) enters no collective: its peers may sit in another. */
static int injected(const char *what, dtf_status *st) {
  if ((*st = dtf_error_is_stranded())) return 1;
  if (!dtf_fault("mpi", 0)) return 0;
  *st = dtf_error(DTF_ERR_MPI, "MPI_%s failed (fault injected by DTF_FAULT)", what);
  return 1;
}

dtf_status dtf_allreduce_sum(MPI_Comm comm, double *buf, int64_t n, dtf_comm_stats_t *stats) {
  int p;
  MPI_Comm_size(comm, &p);
  if (p == 1 || n == 0) return DTF_OK;
  if (n > INT32_MAX) return dtf_error(DTF_ERR_INPUT, "allreduce of %lld doubles is too large", (long long)n);
  dtf_status st;
  if (injected("Allreduce", &st)) return st;
  int rc = MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, comm);
  if (rc != MPI_SUCCESS) return mpi_fail(rc, "Allreduce");
  /* reduce-scatter + allgather: 2 (p-1)/p n doubles */
  count(stats, (uint64_t)(2.0 * (double)(p - 1) / p * (double)n * sizeof(double)));
  return DTF_OK;
}

dtf_status dtf_allgather_bytes(MPI_Comm comm, const void *send, int n, void *recv, dtf_comm_stats_t *stats) {
  int p, me;
  MPI_Comm_size(comm, &p);
  MPI_Comm_rank(comm, &me);
  if (p == 1) {
    memcpy(recv, send, (size_t)n);
    return DTF_OK;
  }
  dtf_status st;
  if (injected("Allgather", &st)) return st;
  int rc = MPI_Allgather(send, n, MPI_BYTE, recv, n, MPI_BYTE, comm);
  if (rc != MPI_SUCCESS) return mpi_fail(rc, "Allgather");
  /* ring: every rank forwards p - 1 parts */
  count(stats, (uint64_t)(p - 1) * (uint64_t)n);
  return DTF_OK;
}

dtf_status dtf_allreduce(MPI_Comm comm, void *buf, int n, MPI_Datatype type, MPI_Op op,
                         dtf_comm_stats_t *stats) {
  int p, size;
  MPI_Comm_size(comm, &p);
  if (p == 1 || n == 0) return DTF_OK;
  if (dtf_error_is_stranded()) return dtf_error_is_stranded();
  int rc = MPI_Allreduce(MPI_IN_PLACE, buf, n, type, op, comm);
  if (rc != MPI_SUCCESS) return mpi_fail(rc, "Allreduce");
  MPI_Type_size(type, &size);
  count(stats, (uint64_t)(2.0 * (double)(p - 1) / p * (double)n * size));
  return DTF_OK;
}

dtf_status dtf_reduce_scatter_sum(MPI_Comm comm, const double *in, double *out, const int *counts,
                                  dtf_comm_stats_t *stats) {
  int p, me;
  MPI_Comm_size(comm, &p);
  MPI_Comm_rank(comm, &me);
  if (p == 1) {
    if (out != in) memcpy(out, in, (size_t)counts[0] * sizeof(double));
    return DTF_OK;
  }
  dtf_status st;
  if (injected("Reduce_scatter", &st)) return st;
  int rc = MPI_Reduce_scatter(in, out, counts, MPI_DOUBLE, MPI_SUM, comm);
  if (rc != MPI_SUCCESS) return mpi_fail(rc, "Reduce_scatter");
  int64_t total = 0;
  for (int q = 0; q < p; q++) total += counts[q];
  /* every rank sends everything but its own part once */
  count(stats, (uint64_t)(total - counts[me]) * sizeof(double));
  return DTF_OK;
}

dtf_status dtf_sendrecv_doubles(MPI_Comm comm, const double *send, int nsend, int dest, double *recv,
                                int nrecv, int source, dtf_comm_stats_t *stats) {
  dtf_status st;
  if (injected("Sendrecv", &st)) return st;
  int rc = MPI_Sendrecv(send, nsend, MPI_DOUBLE, dest, 71, recv, nrecv, MPI_DOUBLE, source, 71, comm,
                        MPI_STATUS_IGNORE);
  if (rc != MPI_SUCCESS) return mpi_fail(rc, "Sendrecv");
  count(stats, (uint64_t)nsend * sizeof(double));
  return DTF_OK;
}

dtf_status dtf_gatherv_doubles(MPI_Comm comm, const double *in, int n, int root, double *out,
                               const int *counts, const int *displs, dtf_comm_stats_t *stats) {
  dtf_status st;
  if (injected("Gatherv", &st)) return st;
  int me, rc = MPI_Comm_rank(comm, &me);
  rc = MPI_Gatherv(in, n, MPI_DOUBLE, out, counts, displs, MPI_DOUBLE, root, comm);
  if (rc != MPI_SUCCESS) return mpi_fail(rc, "Gatherv");
  if (me != root) count(stats, (uint64_t)n * sizeof(double));
  return DTF_OK;
}

dtf_status dtf_allgatherv_inplace(MPI_Comm comm, double *buf, const int *counts, const int *displs,
                                  dtf_comm_stats_t *stats) {
  int p, me;
  MPI_Comm_size(comm, &p);
  MPI_Comm_rank(comm, &me);
  if (p == 1) return DTF_OK;
  int rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, MPI_DOUBLE, comm);
  if (rc != MPI_SUCCESS) return mpi_fail(rc, "Allgatherv");
  int64_t total = 0;
  for (int q = 0; q < p; q++) total += counts[q];
  /* ring: every rank forwards all parts but one */
  count(stats, (uint64_t)(total - counts[(me + 1) % p]) * sizeof(double));
  return DTF_OK;
}

dtf_status dtf_allreduce_norm(MPI_Comm comm, double local, double *global, dtf_comm_stats_t *stats) {
  /* the largest norm first, then the sum of squares relative to it: neither step can
   * overflow or underflow where the norms themselves do not */
  double big = local;
  dtf_status st = dtf_allreduce(comm, &big, 1, MPI_DOUBLE, MPI_MAX, stats);
  double rel = big > 0 ? (local / big) * (local / big) : 0.0;
  if (!st) st = dtf_allreduce_sum(comm, &rel, 1, stats);
  *global = big > 0 ? big * sqrt(rel) : 0.0;
  return st;
}

dtf_status dtf_bcast(MPI_Comm comm, void *buf, int bytes, int root) {
  if (dtf_error_is_stranded()) return dtf_error_is_stranded();
  int rc = MPI_Bcast(buf, bytes, MPI_BYTE, root, comm);
  return rc == MPI_SUCCESS ? DTF_OK : mpi_fail(rc, "Bcast");
}

dtf_status dtf_allgather_int64(MPI_Comm comm, int64_t *buf, int n) {
  if (dtf_error_is_stranded()) return dtf_error_is_stranded();
  int rc = MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, n, MPI_INT64_T, comm);
  return rc == MPI_SUCCESS ? DTF_OK : mpi_fail(rc, "Allgather");
}

int dtf_ranks_on_node(MPI_Comm comm) {
  MPI_Comm node;
  int n = 1;
  if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
    MPI_Comm_size(node, &n);
    MPI_Comm_free(&node);
  }
  return n;
}

dtf_status dtf_agree(MPI_Comm comm, dtf_status local) {
  /* a stranded rank's peers may sit in another collective: entering this one would hang */
  if (dtf_error_is_stranded()) return dtf_error_is_stranded();
  int p, me;
  MPI_Comm_size(comm, &p);
  MPI_Comm_rank(comm, &me);
  int in[2] = {local != DTF_OK ? me : p, (int)local}, first;
  MPI_Allreduce(&in[0], &first, 1, MPI_INT, MPI_MIN, comm);
  if (first == p) return DTF_OK;
  char msg[2048];
  int code = (int)local;
  if (me == first) {
    strncpy(msg, dtf_error_message(), sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
  }
  MPI_Bcast(&code, 1, MPI_INT, first, comm);
  MPI_Bcast(msg, sizeof msg, MPI_CHAR, first, comm);
  if (me != first) dtf_error_set_message(msg);
  return (dtf_status)code;
}

dtf_status dtf_gather_doubles(MPI_Comm comm, const double *in, int n, int root, double **out, int64_t *total,
                              dtf_comm_stats_t *stats) {
  int p, me;
  MPI_Comm_size(comm, &p);
  MPI_Comm_rank(comm, &me);
  *out = NULL;
  *total = 0;
  int *counts = me == root ? malloc((size_t)p * sizeof(int)) : NULL,
      *displs = me == root ? malloc((size_t)p * sizeof(int)) : NULL;
  int rc = MPI_Gather(&n, 1, MPI_INT, counts, 1, MPI_INT, root, comm);
  if (rc != MPI_SUCCESS) {
    free(counts);
    free(displs);
    return mpi_fail(rc, "Gather");
  }
  int ok = 1;
  if (me == root) {
    int64_t sum = 0;
    ok = counts && displs;
    for (int q = 0; ok && q < p; q++) {
      displs[q] = (int)sum;
      sum += counts[q];
    }
    if (sum > INT32_MAX) ok = 0;
    *total = sum;
    if (ok && !(*out = malloc((size_t)(sum ? sum : 1) * sizeof(double)))) ok = 0;
  }
  MPI_Bcast(&ok, 1, MPI_INT, root, comm);
  if (!ok) {
    free(counts);
    free(displs);
    return dtf_error(DTF_ERR_INPUT, "gathering %lld values on one rank failed (out of memory or too many)",
                     (long long)*total);
  }
  rc = MPI_Gatherv(in, n, MPI_DOUBLE, *out, counts, displs, MPI_DOUBLE, root, comm);
  free(counts);
  free(displs);
  if (rc != MPI_SUCCESS) return mpi_fail(rc, "Gatherv");
  if (me != root) count(stats, (uint64_t)n * sizeof(double));
  return DTF_OK;
}

dtf_status dtf_alltoallv_records(MPI_Comm comm, const int64_t *send, const int64_t *counts, int width,
                                 int64_t **recv, int64_t *nrecv, dtf_comm_stats_t *stats) {
  int p, me;
  MPI_Comm_size(comm, &p);
  MPI_Comm_rank(comm, &me);
  *recv = NULL;
  *nrecv = 0;
  int64_t *rcount = calloc((size_t)p, sizeof(int64_t));
  int *sc = malloc((size_t)p * 4 * sizeof(int));
  dtf_status st = rcount && sc ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory for an exchange");
  if (!st) injected("Alltoall", &st);
  st = dtf_agree(comm, st);
  if (!st) {
    int rc = MPI_Alltoall(counts, 1, MPI_INT64_T, rcount, 1, MPI_INT64_T, comm);
    if (rc != MPI_SUCCESS) st = mpi_fail(rc, "Alltoall");
  }
  int *sd = sc + p, *rc = sc + 2 * p, *rd = sc + 3 * p;
  int64_t sent = 0, total = 0, away = 0;
  for (int q = 0; !st && q < p; q++) {
    sc[q] = (int)counts[q];
    rc[q] = (int)rcount[q];
    sd[q] = (int)sent;
    rd[q] = (int)total;
    sent += counts[q];
    total += rcount[q];
    if (q != me) away += counts[q];
    if (sent > INT32_MAX || total > INT32_MAX)
      st = dtf_error(DTF_ERR_INPUT, "more than 2^31 records a rank in one exchange; use more ranks");
  }
  if (!st && !(*recv = malloc((size_t)(total ? total : 1) * (size_t)width * sizeof(int64_t))))
    st =
        dtf_error(DTF_ERR_INPUT, "out of memory receiving %lld records of %d words", (long long)total, width);
  st = dtf_agree(comm, st);
  if (!st) {
    MPI_Datatype rec;
    MPI_Type_contiguous(width, MPI_INT64_T, &rec);
    MPI_Type_commit(&rec);
    int r = MPI_Alltoallv(send, sc, sd, rec, *recv, rc, rd, rec, comm);
    MPI_Type_free(&rec);
    if (r != MPI_SUCCESS) st = mpi_fail(r, "Alltoallv");
    count(stats, (uint64_t)away * (uint64_t)width * sizeof(int64_t));
  }
  st = dtf_agree(comm, st);
  if (st) {
    free(*recv);
    *recv = NULL;
  } else
    *nrecv = total;
  free(rcount);
  free(sc);
  return st;
}
