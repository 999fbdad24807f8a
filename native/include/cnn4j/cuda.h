/* What only a CUDA GPU has: device selection, page-locked memory, uploads on a second
 * stream, deferred reads and CUDA graphs. The ops themselves are cnn4j.h's, called with a
 * CUDA context (cnn4j_context_create(CNN4J_DEVICE_CUDA, ordinal)): the same shapes, layouts
 * and accumulation rule as on the CPU. Kernels are ours (no cuBLAS, no cuDNN).
 *
 * - Every function returns a cnn4j_status. On CNN4J_DEVICE_ERROR (or CNN4J_UNSUPPORTED),
 *   cnn4j_cuda_last_error() tells what failed on this thread: the CUDA call or kernel name
 *   and CUDA's message.
 * - A build without CUDA has the same functions (generated from this header); they return
 *   CNN4J_UNSUPPORTED and say so, and it refuses to create CUDA contexts.
 * - Ops are queued, in call order, on one stream that cnn4j_cuda_set_device creates (not the
 *   legacy default stream, so a step can be captured as a CUDA graph); the copies to the host
 *   and the functions that return scalars to the host (sum, softmax_cross_entropy) wait for it.
 *   The device is the process's: every CUDA context runs on the current device, the one that
 *   the last cnn4j_context_create or cnn4j_cuda_set_device chose.
 * - Device memory (cnn4j_alloc on a CUDA context, and the temporaries of reductions and split
 *   convolutions) comes from CUDA's stream-ordered pool, which keeps freed blocks for reuse:
 *   a steady-state training step calls no allocator of the driver.
 * - Global state: the current device and its two streams (compute, uploads), the precision
 *   (cnn4j_cuda_set_precision), a small page-locked buffer for the scalars that come back
 *   (shared, under a lock), and per thread the last error. A thread other than the one that set the device is switched
 *   to it on its first call.
 * - Results are reproducible run to run (fixed-order reductions, split convolution sums added
 *   in order), except max-pooling backward with overlapping windows, which adds an input's
 *   gradients in thread order.
 */
#ifndef CNN4J_CUDA_H
#define CNN4J_CUDA_H

#include <stdint.h>

#include "cnn4j/geometry.h"
#include "cnn4j/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Runtime ------------------------------------------------------------------------- */

/* *count = usable devices. CNN4J_UNSUPPORTED when built without CUDA; CNN4J_DEVICE_ERROR
 * (with the reason in last_error) when the driver is missing or too old or there is no device. */
CNN4J_API int32_t cnn4j_cuda_device_count(int32_t *count);
/* The message of this thread's last failure ("" if none). */
CNN4J_API const char *cnn4j_cuda_last_error(void);
/* Makes `device` current and checks that it works (a small allocation and a kernel launch). */
CNN4J_API int32_t cnn4j_cuda_set_device(int32_t device);
/* A one-line description of the current device (name, compute capability, memory), valid
 * until the next call on this thread. */
CNN4J_API const char *cnn4j_cuda_describe(void);
/* cnn4j's compute stream on the current device (a cudaStream_t) in *out: the collective layer
 * over NCCL (cnn4j/nccl.h) queues its sums on it, after the kernels that made the data. */
CNN4J_API int32_t cnn4j_cuda_stream(void **out);
/* Page-locked host memory, for batches that go up asynchronously. */
CNN4J_API int32_t cnn4j_cuda_host_alloc(int64_t bytes, void **out);
CNN4J_API int32_t cnn4j_cuda_host_free(void *p);
/* Host (page-locked) to device, queued on the stream: returns before the copy is done. */
CNN4J_API int32_t cnn4j_cuda_memcpy_async_h2d(void *dst, const void *src, int64_t bytes);
/* Waits for the device, then gives the pool's cached free memory, and the page-locked buffer
 * that small results come back through, back to the driver. */
CNN4J_API int32_t cnn4j_cuda_release_cached(void);
/* Bytes the pool holds from the driver (*reserved) and of those handed out (*used). */
CNN4J_API int32_t cnn4j_cuda_pool_stats(int64_t *reserved, int64_t *used);

/* ---- The simulated device ---------------------------------------------------------------- */
/* A build with CNN4J_CUDA=SIM runs these functions on cnn4j's simulated device: the same kernel
 * sources compiled for the host, every block's threads run as fibers with real barriers,
 * poisoned shared memory and emulated tensor-core instructions (native/cuda/sim). It is device 0
 * and describes itself as "cnn4j simulated device". */
/* 1 on the simulated device, 0 on a GPU build or a build without CUDA. */
CNN4J_API int32_t cnn4j_cuda_is_simulated(void);
/* seed 0: a block's threads start and resume after each barrier in index order; another seed:
 * in an order drawn from it, anew for every block and barrier, and blocks in a drawn order.
 * workers: host threads that run blocks (0 leaves it; fixed once the first kernel ran).
 * CNN4J_UNSUPPORTED where the device is not simulated. */
CNN4J_API int32_t cnn4j_cuda_sim_configure(int64_t seed, int32_t workers);
/* out[0..4]: live device and page-locked allocations, their bytes, and the kernels, blocks and
 * threads run so far. CNN4J_UNSUPPORTED where the device is not simulated. */
CNN4J_API int32_t cnn4j_cuda_sim_stats(int64_t *out);

/* ---- Precision of float32 convolutions and matmuls -------------------------------------- */
#define CNN4J_CUDA_FP32 0 /* FP32 FMA, the default: the same arithmetic as the CPU backend */
#define CNN4J_CUDA_TF32 1 /* tensor cores (mma.sync m16n8k8): inputs rounded to TF32 (10-bit mantissa), FP32 sums */
/* Applies to the calls that follow (float64 always runs in FP64); a recorded graph keeps the
 * precision it was recorded with. Without fast-math: FP32 division, square roots and
 * exponentials are IEEE-rounded as on the CPU. */
CNN4J_API int32_t cnn4j_cuda_set_precision(int32_t precision);
CNN4J_API int32_t cnn4j_cuda_get_precision(void);

/* ---- Batch uploads through page-locked memory ------------------------------------------- */
/* An uploader for up to `bytes` per put: two page-locked host slots, two device slots. */
CNN4J_API int32_t cnn4j_cuda_uploader_create(int64_t bytes, void **out);
/* Copies src (any host memory) into a page-locked slot and returns; the copy to the device
 * runs on a second stream beside the kernels already queued, and the ops queued after this
 * call see its data in dst. Waits only when both slots are still in flight. */
/* Waits until the next put will not have to (its page-locked slot is free): lets a caller
 * that holds the source pinned, such as a JNI critical region, do its waiting first. */
CNN4J_API int32_t cnn4j_cuda_uploader_reserve(void *uploader);
CNN4J_API int32_t cnn4j_cuda_uploader_put(void *uploader, void *dst, const void *src, int64_t bytes);
CNN4J_API int32_t cnn4j_cuda_uploader_destroy(void *uploader);

/* ---- Deferred reads --------------------------------------------------------------------- */
/* A page-locked buffer of `bytes` and an event, for reading small results a step later. */
CNN4J_API int32_t cnn4j_cuda_fetch_create(int64_t bytes, void **out);
/* Queues a copy of src (device) after the ops queued so far; returns at once. */
CNN4J_API int32_t cnn4j_cuda_fetch_start(void *fetch, const void *src, int64_t bytes);
/* Waits for the copy started last. */
CNN4J_API int32_t cnn4j_cuda_fetch_wait(void *fetch);
/* Copies the waited-for data to dst (host memory); never waits. */
CNN4J_API int32_t cnn4j_cuda_fetch_read(void *fetch, void *dst, int64_t bytes);
CNN4J_API int32_t cnn4j_cuda_fetch_destroy(void *fetch);

/* ---- CUDA graphs ------------------------------------------------------------------------ */
/* Starts recording: the ops called on this thread until graph_end are recorded, not run.
 * Calls that wait for the device (copies to or from the host, sum, softmax_cross_entropy)
 * and cnn4j_alloc/cnn4j_free fail while recording; softmax_cross_entropy_device does not
 * wait, and the temporaries of ops become memory nodes of the graph. */
CNN4J_API int32_t cnn4j_cuda_graph_begin(void);
/* Ends recording and makes the recorded ops launchable as one graph (*exec). If an op could
 * not be recorded, ends the recording, returns an error and *exec is NULL. */
CNN4J_API int32_t cnn4j_cuda_graph_end(void **exec);
/* Queues the recorded ops again, with the same arguments (addresses and scalars). */
CNN4J_API int32_t cnn4j_cuda_graph_launch(void *exec);
CNN4J_API int32_t cnn4j_cuda_graph_destroy(void *exec);

/* ---- Loss without waiting ---------------------------------------------------------------- */
/* cnn4j_softmax_cross_entropy on a CUDA context, leaving the result on the device (3 doubles: loss sum, correct count, the first
 * row whose label is out of range or -1); does not wait, and can be recorded in a graph. */
CNN4J_API int32_t cnn4j_cuda_softmax_cross_entropy_device(int32_t dtype, const void *logits, const int32_t *labels,
                                                          void *dlogits, int64_t rows, int64_t classes,
                                                          double grad_scale, double *result);

#ifdef __cplusplus
}
#endif

#endif
