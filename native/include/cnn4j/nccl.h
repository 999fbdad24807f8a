/* cnn4j's collective layer on GPUs: a group of processes, one GPU each, that sum device
 * arrays across the group with NVIDIA's NCCL (github.com/NVIDIA/nccl), for data-parallel
 * training on the CUDA backend. cnn4j writes no transport of its own. It lives in its own
 * library, libcnn4j_nccl, built with NCCL when the CUDA kernels are built and NCCL's header and
 * library are found (CMake: CNN4J_NCCL, NCCL_ROOT), so that libcnn4j never depends on NCCL;
 * otherwise the same functions refuse with CNN4J_UNSUPPORTED and the reason.
 *
 * Joining a group: rank 0 makes an id (cnn4j_nccl_unique_id), the caller's rendezvous carries
 * it to every rank (as for cnn4j/comm.h), and every rank calls cnn4j_nccl_create with it on
 * its own device (the current one: cnn4j_cuda_set_device first).
 *
 * Operations are queued on a stream (cnn4j_cuda_stream: cnn4j's, so that they follow the
 * kernels that made the data) and return once the stream has run them, waiting at most the
 * group's timeout: a peer that left or never answered makes the call return CNN4J_PEER_ERROR
 * with the reason in cnn4j_nccl_last_error (the communicator is aborted, as PyTorch's watchdog
 * does, and the group is unusable: destroy it). A group is used by one thread at a time; its
 * operations are collective. Sums are reproducible for a given group size, length and NCCL
 * version (NCCL's ring, with NCCL_ALGO and NCCL_PROTO unchanged). */
#ifndef CNN4J_NCCL_H
#define CNN4J_NCCL_H

#include <stdint.h>

#include "cnn4j/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cnn4j_nccl cnn4j_nccl;

/* Version of this ABI, bumped on every incompatible change. */
CNN4J_API int32_t cnn4j_nccl_abi_version(void);

/* A new group id (rank 0): its length in *len, and the bytes in buf when cap >= *len (call
 * with cap 0 for the length). */
CNN4J_API int32_t cnn4j_nccl_unique_id(void *buf, int64_t cap, int64_t *len);

/* Joins the group of `size` ranks with the id that rank 0 made, as `rank` in [0, size), on
 * the current device; waits at most timeout_ms (> 0) for the others, here and in every
 * operation. */
CNN4J_API int32_t cnn4j_nccl_create(int32_t rank, int32_t size, const void *id, int64_t len, int64_t timeout_ms,
                                    cnn4j_nccl **out);

/* For every i < count: data[i][0, n[i]) (device memory) <- the sum over the ranks of their
 * data[i][0, n[i]), as one NCCL group call (NCCL fuses the small arrays), queued on `stream` (a
 * cudaStream_t; null: CUDA's default stream). */
CNN4J_API int32_t cnn4j_nccl_allreduce_sum_f32(cnn4j_nccl *comm, float *const *data, const int64_t *n, int32_t count,
                                               void *stream);

/* For every i < count: data[i][0, n[i]) (device memory) <- rank root's, on every rank. */
CNN4J_API int32_t cnn4j_nccl_broadcast_f32(cnn4j_nccl *comm, float *const *data, const int64_t *n, int32_t count,
                                           int32_t root, void *stream);

/* Leaves the group and frees it (null: nothing); never waits on peers that are gone. */
CNN4J_API int32_t cnn4j_nccl_destroy(cnn4j_nccl *comm);

/* The message of this thread's last failed call of this library (empty when none). */
CNN4J_API const char *cnn4j_nccl_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
