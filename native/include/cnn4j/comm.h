/* cnn4j's collective layer: a group of processes (ranks) that sum arrays across the group, for
 * data-parallel training. The transport is Gloo's TCP one (github.com/facebookincubator/gloo,
 * Debian's libgloo-dev): cnn4j writes no transport of its own. It lives in its own library,
 * libcnn4j_comm, built when Gloo is found, so that libcnn4j never depends on Gloo.
 *
 * Joining a group: the rendezvous (who the others are) is the caller's, so that any launcher
 * can provide it (a coordinator socket on one machine, Spark's barrier allGather on a
 * cluster), one all-gather of opaque addresses:
 *   1. cnn4j_comm_create(rank, size, host, timeout_ms, &comm) starts listening on `host` (an
 *      address of this machine that the others can reach) for every other rank;
 *   2. cnn4j_comm_address gives this rank's address, which the caller sends to every other
 *      rank;
 *   3. cnn4j_comm_peer hands over each other rank's address;
 *   4. cnn4j_comm_connect connects to every other rank (every rank calls it; each waits up to
 *      the timeout for the others).
 * A group is used by one thread at a time; its operations are collective: every rank calls
 * the same ones in the same order. A failed operation (a peer that left, or none within the
 * timeout) returns CNN4J_PEER_ERROR with the reason in cnn4j_comm_last_error, and the group
 * is then unusable: destroy it. Every function returns a cnn4j_status. */
#ifndef CNN4J_COMM_H
#define CNN4J_COMM_H

#include <stdint.h>

#include "cnn4j/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cnn4j_comm cnn4j_comm;

/* Version of this ABI, bumped on every incompatible change. */
CNN4J_API int32_t cnn4j_comm_abi_version(void);

/* Starts joining a group of `size` ranks (1 <= size <= 65536) as `rank` in [0, size),
 * listening on `host`; operations wait at most timeout_ms (> 0) for a peer. */
CNN4J_API int32_t cnn4j_comm_create(int32_t rank, int32_t size, const char *host, int64_t timeout_ms,
                                    cnn4j_comm **out);

/* This rank's address: its length in *len (0 in a group of one), and the bytes in buf when
 * cap >= *len (call with cap 0 for the length). */
CNN4J_API int32_t cnn4j_comm_address(cnn4j_comm *comm, void *buf, int64_t cap, int64_t *len);

/* The address that rank `rank` (not this one) got from its cnn4j_comm_address. */
CNN4J_API int32_t cnn4j_comm_peer(cnn4j_comm *comm, int32_t rank, const void *address, int64_t len);

/* Connects to every other rank, once each has been given (cnn4j_comm_peer). */
CNN4J_API int32_t cnn4j_comm_connect(cnn4j_comm *comm);

/* data[0, n) <- the sum over the ranks of their data[0, n) (float; every rank passes the
 * same n). The ranks' arrays are added in ring order: the result is the same on every rank
 * and for every run of the same group size and n. */
CNN4J_API int32_t cnn4j_comm_allreduce_sum_f32(cnn4j_comm *comm, float *data, int64_t n);

/* data[0, n) <- rank root's data[0, n) on every rank. */
CNN4J_API int32_t cnn4j_comm_broadcast_f32(cnn4j_comm *comm, float *data, int64_t n, int32_t root);

/* Returns when every rank has called it. */
CNN4J_API int32_t cnn4j_comm_barrier(cnn4j_comm *comm);

/* Leaves the group and frees everything (null: nothing). Never fails on a group whose peers
 * are gone. */
CNN4J_API int32_t cnn4j_comm_destroy(cnn4j_comm *comm);

/* The message of this thread's last failed call of this library (empty when none). */
CNN4J_API const char *cnn4j_comm_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
