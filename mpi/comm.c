/* Counted collectives and collective error agreement. */
#include "dtf/comm.h"

#include "dtf/fault.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --net-model (dtf_comm_net_model): the seconds per byte and per message of the modelled
 * network, the waiting owed (slept off in slices of at least 200 us: accurate in total,
 * and the cores free meanwhile) and the total modelled */
static double net_bw, net_lat, net_owed, net_total;

void dtf_comm_net_flush(void) {
  if (!(net_owed > 0)) return;
  double until = MPI_Wtime() + net_owed, left;
  while ((left = until - MPI_Wtime()) > 0) {
    struct timespec ts = {(time_t)left, (long)((left - floor(left)) * 1e9)};
    nanosleep(&ts, NULL);
  }
  net_owed = until - MPI_Wtime(); /* <= 0: what was overslept is credit */
}

void dtf_comm_net_model(double bytes_per_second, double latency_seconds) {
  dtf_comm_net_flush();
  net_bw = bytes_per_second > 0 && isfinite(bytes_per_second) ? bytes_per_second : 0;
  net_lat = net_bw > 0 && latency_seconds > 0 ? latency_seconds : 0;
  net_owed = 0;
}

double dtf_comm_net_seconds(void) { return net_total; }

/* the messages of a tree (recursive doubling or halving) over comm: ceil(log2 p) */
static int rounds(MPI_Comm comm) {
  int p, k = 0;
  MPI_Comm_size(comm, &p);
  while ((1 << k) < p) k++;
  return k;
}

static void net_wait(double bytes, int messages) {
  if (!(net_bw > 0)) return;
  double t = messages * net_lat + bytes / net_bw;
  net_total += t;
  net_owed += t;
  if (net_owed >= 2e-4) dtf_comm_net_flush();
}

/* the bytes a collective sent, and its messages for the network model */
static void count(dtf_comm_stats_t *stats, uint64_t bytes, int messages) {
  if (stats) {
    stats->bytes_sent += bytes;
    stats->bytes_uncompressed += bytes;
    stats->collectives += 1;
  }
  net_wait((double)bytes, messages);
}

static dtf_mpi_failure_fn on_failure;
static void *on_failure_ctx;

void dtf_comm_on_failure(dtf_mpi_failure_fn fn, void *ctx) {
  on_failure = fn;
  on_failure_ctx = ctx;
}

/* A failed call's status, after the handler (which, in the CLI, does not return): the
 * peers may be waiting in this or a later collective that will never complete. */
static dtf_status failed(void) {
  if (on_failure) on_failure(on_failure_ctx);
  return DTF_ERR_MPI;
}

dtf_status dtf_mpi_check(int rc, const char *call) {
  if (rc == MPI_SUCCESS) return DTF_OK;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "error code %d", rc);
  dtf_error(DTF_ERR_MPI, "MPI_%s failed: %s", call, text);
  return failed();
}

static dtf_status mpi_fail(int rc, const char *what) { return dtf_mpi_check(rc, what); }

/* DTF_FAULT=RANK:N:mpi: the N-th MPI call of that rank through these wrappers fails as a
 * broken MPI would (mpi:NAME: the N-th call of MPI_NAME). A stranded rank
 * (dtf_error_stranded) makes no call: its peers may sit in another collective. */
static int injected(const char *what, dtf_status *st) {
  if ((*st = dtf_error_is_stranded())) return 1;
  if (!dtf_fault_call("mpi", what)) return 0;
  dtf_error(DTF_ERR_MPI, "MPI_%s failed (fault injected by DTF_FAULT)", what);
  *st = failed();
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
  count(stats, (uint64_t)(2.0 * (double)(p - 1) / p * (double)n * sizeof(double)), 2 * rounds(comm));
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
  count(stats, (uint64_t)(p - 1) * (uint64_t)n, rounds(comm));
  return DTF_OK;
}

dtf_status dtf_allreduce(MPI_Comm comm, void *buf, int n, MPI_Datatype type, MPI_Op op,
                         dtf_comm_stats_t *stats) {
  int p, size;
  MPI_Comm_size(comm, &p);
  if (p == 1 || n == 0) return DTF_OK;
  dtf_status st;
  if (injected("Allreduce", &st)) return st;
  int rc = MPI_Allreduce(MPI_IN_PLACE, buf, n, type, op, comm);
  if (rc != MPI_SUCCESS) return mpi_fail(rc, "Allreduce");
  MPI_Type_size(type, &size);
  count(stats, (uint64_t)(2.0 * (double)(p - 1) / p * (double)n * size), 2 * rounds(comm));
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
  count(stats, (uint64_t)(total - counts[me]) * sizeof(double), rounds(comm));
  return DTF_OK;
}

dtf_status dtf_sendrecv_doubles(MPI_Comm comm, const double *send, int nsend, int dest, double *recv,
                                int nrecv, int source, dtf_comm_stats_t *stats) {
  dtf_status st;
  if (injected("Sendrecv", &st)) return st;
  int rc = MPI_Sendrecv(send, nsend, MPI_DOUBLE, dest, 71, recv, nrecv, MPI_DOUBLE, source, 71, comm,
                        MPI_STATUS_IGNORE);
  if (rc != MPI_SUCCESS) return mpi_fail(rc, "Sendrecv");
  count(stats, (uint64_t)nsend * sizeof(double), 1);
  return DTF_OK;
}

dtf_status dtf_gatherv_doubles(MPI_Comm comm, const double *in, int n, int root, double *out,
                               const int *counts, const int *displs, dtf_comm_stats_t *stats) {
  dtf_status st;
  if (injected("Gatherv", &st)) return st;
  int me, rc = MPI_Comm_rank(comm, &me);
  rc = MPI_Gatherv(in, n, MPI_DOUBLE, out, counts, displs, MPI_DOUBLE, root, comm);
  if (rc != MPI_SUCCESS) return mpi_fail(rc, "Gatherv");
  if (me != root) count(stats, (uint64_t)n * sizeof(double), 1);
  return DTF_OK;
}

dtf_status dtf_allgatherv_inplace(MPI_Comm comm, double *buf, const int *counts, const int *displs,
                                  dtf_comm_stats_t *stats) {
  int p, me;
  MPI_Comm_size(comm, &p);
  MPI_Comm_rank(comm, &me);
  if (p == 1) return DTF_OK;
  dtf_status st;
  if (injected("Allgatherv", &st)) return st;
  int rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, MPI_DOUBLE, comm);
  if (rc != MPI_SUCCESS) return mpi_fail(rc, "Allgatherv");
  int64_t total = 0;
  for (int q = 0; q < p; q++) total += counts[q];
  /* ring: every rank forwards all parts but one */
  count(stats, (uint64_t)(total - counts[(me + 1) % p]) * sizeof(double), rounds(comm));
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
  dtf_status st;
  if (injected("Bcast", &st)) return st;
  int rc = MPI_Bcast(buf, bytes, MPI_BYTE, root, comm);
  net_wait(bytes, rounds(comm));
  return rc == MPI_SUCCESS ? DTF_OK : mpi_fail(rc, "Bcast");
}

dtf_status dtf_allgather_int64(MPI_Comm comm, int64_t *buf, int n) {
  dtf_status st;
  if (injected("Allgather", &st)) return st;
  int rc = MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, n, MPI_INT64_T, comm);
  net_wait(0, rounds(comm));
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
  /* an MPI failure cannot be agreed on (the peers may be inside another collective): the
   * handler ends the job; without one, try anyway */
  if (local == DTF_ERR_MPI) (void)failed();
  dtf_status st;
  if (injected("Allreduce", &st)) return st;
  int in[2] = {local != DTF_OK ? me : p, (int)local}, first;
  if ((st = mpi_fail(MPI_Allreduce(&in[0], &first, 1, MPI_INT, MPI_MIN, comm), "Allreduce"))) return st;
  net_wait(0, 2 * rounds(comm));
  if (first == p) return DTF_OK;
  char msg[2048];
  int code = (int)local;
  if (me == first) {
    strncpy(msg, dtf_error_message(), sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
  }
  if ((st = mpi_fail(MPI_Bcast(&code, 1, MPI_INT, first, comm), "Bcast")) ||
      (st = mpi_fail(MPI_Bcast(msg, sizeof msg, MPI_CHAR, first, comm), "Bcast")))
    return st;
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
  int *counts = me == root ? malloc((size_t)p * 2 * sizeof(int)) : NULL, *displs = counts ? counts + p : NULL;
  /* the root's counts array first: a root without one must not enter the gather */
  dtf_status st = dtf_agree(
      comm, me != root || counts ? DTF_OK : dtf_error(DTF_ERR_INPUT, "out of memory gathering values"));
  if (!st && !injected("Gather", &st))
    st = mpi_fail(MPI_Gather(&n, 1, MPI_INT, counts, 1, MPI_INT, root, comm), "Gather");
  if (!st && me == root) {
    int64_t sum = 0;
    for (int q = 0; q < p; q++) {
      displs[q] = (int)sum;
      sum += counts[q];
    }
    *total = sum;
    if (sum > INT32_MAX || !(*out = malloc((size_t)(sum ? sum : 1) * sizeof(double))))
      st = dtf_error(DTF_ERR_INPUT, "gathering %lld values on one rank failed (out of memory or too many)",
                     (long long)sum);
  }
  st = dtf_agree(comm, st);
  if (!st && !injected("Gatherv", &st))
    st = mpi_fail(MPI_Gatherv(in, n, MPI_DOUBLE, *out, counts, displs, MPI_DOUBLE, root, comm), "Gatherv");
  free(counts);
  if (st) {
    free(*out);
    *out = NULL;
    return st;
  }
  if (me != root) count(stats, (uint64_t)n * sizeof(double), 1);
  return DTF_OK;
}

dtf_status dtf_alltoall(MPI_Comm comm, const void *send, void *recv, int n, MPI_Datatype type) {
  dtf_status st;
  if (injected("Alltoall", &st)) return st;
  st = mpi_fail(MPI_Alltoall(send, n, type, recv, n, type, comm), "Alltoall");
  int p;
  MPI_Comm_size(comm, &p);
  net_wait(0, p - 1);
  return st;
}

dtf_status dtf_alltoallv(MPI_Comm comm, const void *send, const int *scounts, const int *sdispls, void *recv,
                         const int *rcounts, const int *rdispls, MPI_Datatype type, dtf_comm_stats_t *stats) {
  dtf_status st;
  if (injected("Alltoallv", &st)) return st;
  st = mpi_fail(MPI_Alltoallv(send, scounts, sdispls, type, recv, rcounts, rdispls, type, comm), "Alltoallv");
  if (!st) {
    int p, me, size;
    MPI_Comm_size(comm, &p);
    MPI_Comm_rank(comm, &me);
    MPI_Type_size(type, &size);
    uint64_t away = 0;
    for (int q = 0; q < p; q++)
      if (q != me) away += (uint64_t)scounts[q];
    count(stats, away * (uint64_t)size, p - 1);
  }
  return st;
}

dtf_status dtf_allgather(MPI_Comm comm, const void *send, int n, MPI_Datatype type, void *recv) {
  dtf_status st;
  if (injected("Allgather", &st)) return st;
  st = mpi_fail(MPI_Allgather(send, n, type, recv, n, type, comm), "Allgather");
  net_wait(0, rounds(comm));
  return st;
}

dtf_status dtf_exscan_sum_int64(MPI_Comm comm, int64_t in, int64_t *out) {
  int me;
  MPI_Comm_rank(comm, &me);
  *out = 0;
  dtf_status st;
  if (injected("Exscan", &st)) return st;
  int64_t got = 0;
  st = mpi_fail(MPI_Exscan(&in, &got, 1, MPI_INT64_T, MPI_SUM, comm), "Exscan");
  net_wait(0, rounds(comm));
  if (me > 0) *out = got; /* rank 0's result is undefined */
  return st;
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
  st = dtf_agree(comm, st);
  if (!st) st = dtf_alltoall(comm, counts, rcount, 1, MPI_INT64_T);
  int *sd = sc + p, *rc = sc + 2 * p, *rd = sc + 3 * p;
  int64_t sent = 0, total = 0;
  for (int q = 0; !st && q < p; q++) {
    sc[q] = (int)counts[q];
    rc[q] = (int)rcount[q];
    sd[q] = (int)sent;
    rd[q] = (int)total;
    sent += counts[q];
    total += rcount[q];
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
    st = dtf_alltoallv(comm, send, sc, sd, *recv, rc, rd, rec, stats);
    MPI_Type_free(&rec);
  }
  if (st) {
    free(*recv);
    *recv = NULL;
  } else
    *nrecv = total;
  free(rcount);
  free(sc);
  return st;
}
