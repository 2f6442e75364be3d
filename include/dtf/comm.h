/* Counted collectives and collective error agreement. Every byte a solver sends goes
 * through these wrappers, so the solver can report its communication volume. */
#ifndef DTF_COMM_H
#define DTF_COMM_H

#include <mpi.h>
#include <stdint.h>

#include "dtf/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes this rank sent, counted with the bandwidth-optimal volume of each collective
 * (ring / recursive halving): what an ideal MPI implementation moves, documented in
 * docs/algorithms.md. */
typedef struct {
  uint64_t bytes_sent;
  uint64_t bytes_uncompressed; /* what the plain collectives would have sent (compress.h) */
  uint64_t collectives;
} dtf_comm_stats_t;

/* A modelled network (--net-model; docs/algorithms.md, "Network model"): off by default.
 * With bytes_per_second > 0, every wrapper below, after its MPI call, makes this rank wait
 * the time the collective would take on a network of that bandwidth per rank and that
 * latency per message: latency x messages + bytes / bandwidth, the bytes as counted
 * (control collectives without counts, dtf_agree and dtf_bcast among them: their
 * messages, and a broadcast's bytes), the messages ceil(log2 p) for a tree (allgather,
 * reduce-scatter, broadcast), twice that for an allreduce, p - 1 for an all-to-all, 1 for
 * a point-to-point or gather. The waiting is slept off once 200 us are owed, so the total
 * is accurate and the cores are free meanwhile. 0 turns it off (after settling what is
 * owed). ScaLAPACK's own messages (BLACS) are not modelled. */
void dtf_comm_net_model(double bytes_per_second, double latency_seconds);
/* Sleep off the waiting still owed. */
void dtf_comm_net_flush(void);
/* Seconds this process has waited for the model so far (owed included). */
double dtf_comm_net_seconds(void);

/* Every wrapper below checks its MPI call: a failure (or one injected by DTF_FAULT's mpi
 * stage, fault.h) records "MPI_<call> failed: ..." and returns DTF_ERR_MPI after calling
 * the failure handler. An MPI failure cannot be agreed on, since the peers may be waiting
 * in a collective this rank will never enter: the dtf CLI's handler prints the message and
 * aborts the job (exit 5); a library user without a handler gets the status back. */
typedef void (*dtf_mpi_failure_fn)(void *ctx);

/* Install the handler called on the rank where an MPI call fails (NULL: none). */
void dtf_comm_on_failure(dtf_mpi_failure_fn fn, void *ctx);

/* DTF_OK if rc is MPI_SUCCESS, else DTF_ERR_MPI naming MPI_<call> (after the handler). */
dtf_status dtf_mpi_check(int rc, const char *call);

/* Sum n doubles over comm in place. */
dtf_status dtf_allreduce_sum(MPI_Comm comm, double *buf, int64_t n, dtf_comm_stats_t *stats);

/* Sum the rows of `in` (counts[q] doubles go to slice rank q) and scatter: this rank
 * receives counts[rank] doubles in `out`. */
dtf_status dtf_reduce_scatter_sum(MPI_Comm comm, const double *in, double *out, const int *counts,
                                  dtf_comm_stats_t *stats);

/* Send nsend doubles to dest and receive nrecv from source (a ring shift). */
dtf_status dtf_sendrecv_doubles(MPI_Comm comm, const double *send, int nsend, int dest, double *recv,
                                int nrecv, int source, dtf_comm_stats_t *stats);

/* Rank root receives rank q's n doubles at out + displs[q] (counts[q] of them). */
dtf_status dtf_gatherv_doubles(MPI_Comm comm, const double *in, int n, int root, double *out,
                               const int *counts, const int *displs, dtf_comm_stats_t *stats);

/* In-place allgatherv of doubles: rank q contributes buf[displs[q] .. +counts[q]). */
dtf_status dtf_allgatherv_inplace(MPI_Comm comm, double *buf, const int *counts, const int *displs,
                                  dtf_comm_stats_t *stats);

/* Counted in-place allreduce of n items of any type and operation (max, min, ...). */
dtf_status dtf_allreduce(MPI_Comm comm, void *buf, int n, MPI_Datatype type, MPI_Op op,
                         dtf_comm_stats_t *stats);

/* The 2-norm of a vector split over the ranks, from each rank's norm of its part:
 * sqrt(sum local^2) without overflow or underflow. Collective. */
dtf_status dtf_allreduce_norm(MPI_Comm comm, double local, double *global, dtf_comm_stats_t *stats);

/* Every rank's n bytes of send, in rank order, into recv (size x n bytes). */
dtf_status dtf_allgather_bytes(MPI_Comm comm, const void *send, int n, void *recv, dtf_comm_stats_t *stats);

/* Rank root's first `bytes` bytes of buf to every rank of comm. Collective. */
dtf_status dtf_bcast(MPI_Comm comm, void *buf, int bytes, int root);

/* In place: rank q's n values at buf + q n reach every rank (buf holds size x n). */
dtf_status dtf_allgather_int64(MPI_Comm comm, int64_t *buf, int n);

/* Rank root receives every rank's n doubles, in rank order, in *out (malloc'd; NULL on
 * the other ranks), *total of them. Collective. */
dtf_status dtf_gather_doubles(MPI_Comm comm, const double *in, int n, int root, double **out, int64_t *total,
                              dtf_comm_stats_t *stats);

/* All-to-all of records of `width` int64 words: send holds counts[q] records for rank q,
 * rank after rank; *recv (malloc'd, freed by the caller) receives every rank's records
 * for this one, in rank order, *nrecv of them. Fails collectively (out of memory, more than
 * 2^31 records a rank). Collective. */
dtf_status dtf_alltoallv_records(MPI_Comm comm, const int64_t *send, const int64_t *counts, int width,
                                 int64_t **recv, int64_t *nrecv, dtf_comm_stats_t *stats);

/* n items of `type` to and from every rank (send and recv hold size x n). Collective. */
dtf_status dtf_alltoall(MPI_Comm comm, const void *send, void *recv, int n, MPI_Datatype type);

/* MPI_Alltoallv of items of `type`; counts the items sent to other ranks. Collective. */
dtf_status dtf_alltoallv(MPI_Comm comm, const void *send, const int *scounts, const int *sdispls, void *recv,
                         const int *rcounts, const int *rdispls, MPI_Datatype type, dtf_comm_stats_t *stats);

/* Every rank's n items of send, in rank order, into recv (size x n items). Collective. */
dtf_status dtf_allgather(MPI_Comm comm, const void *send, int n, MPI_Datatype type, void *recv);

/* The sum of `in` over the ranks before this one (0 on rank 0). Collective. */
dtf_status dtf_exscan_sum_int64(MPI_Comm comm, int64_t in, int64_t *out);

/* The ranks of comm that share this rank's node (MPI_COMM_TYPE_SHARED). Collective. */
int dtf_ranks_on_node(MPI_Comm comm);

/* Agree on a status across comm: if any rank failed, every rank returns the status of
 * the lowest failing rank and takes over its error message. Collective. A local
 * DTF_ERR_MPI calls the failure handler first (it cannot be agreed on). */
dtf_status dtf_agree(MPI_Comm comm, dtf_status local);

#ifdef __cplusplus
}
#endif
#endif
