// cnn4j's collective layer over NCCL (cnn4j/nccl.h). The communicator is nonblocking
// (ncclConfig_t.blocking = 0): every call returns at once, and this layer polls NCCL's
// asynchronous error and the stream, so that a wait is bounded by the group's timeout and a
// failed peer surfaces as CNN4J_PEER_ERROR (the communicator then aborted) instead of a hang.
#include "cnn4j/nccl.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

struct cnn4j_nccl {
  ncclComm_t comm = nullptr;
  int32_t rank = 0, size = 0;
  int64_t timeout_ms = 0;
  bool broken = false;  // aborted after a failure: every later call refuses
};

namespace {

thread_local std::string g_error;

int32_t fail(int32_t status, std::string message) {
  g_error = std::move(message);
  return status;
}

std::string describe(const char *what, ncclResult_t r, ncclComm_t comm) {
  std::string m = std::string(what) + ": " + ncclGetErrorString(r);
  const char *last = ncclGetLastError(comm);
  if (last != nullptr && *last != '\0') m += " (" + std::string(last) + ")";
  return m;
}

std::string where(const cnn4j_nccl *c) {
  return " on rank " + std::to_string(c->rank) + " of " + std::to_string(c->size);
}

// Gives up on the group: NCCL's abort returns without waiting for the peers.
int32_t abort_with(cnn4j_nccl *c, int32_t status, std::string message) {
  if (c->comm != nullptr) ncclCommAbort(c->comm);
  c->comm = nullptr;
  c->broken = true;
  return fail(status, std::move(message));
}

// Waits until the communicator's pending work is issued (and, with a stream, until the stream
// has run it), at most the timeout; NCCL's asynchronous error ends the wait at once.
int32_t settle(cnn4j_nccl *c, const char *what, cudaStream_t stream, bool with_stream) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(c->timeout_ms);
  for (;;) {
    ncclResult_t state = ncclSuccess;
    const ncclResult_t r = ncclCommGetAsyncError(c->comm, &state);
    if (r != ncclSuccess) return abort_with(c, CNN4J_PEER_ERROR, describe(what, r, c->comm) + where(c));
    if (state != ncclSuccess && state != ncclInProgress) {
      return abort_with(c, CNN4J_PEER_ERROR, describe(what, state, c->comm) + where(c));
    }
    if (state == ncclSuccess) {
      if (!with_stream) return CNN4J_OK;
      const cudaError_t q = cudaStreamQuery(stream);
      if (q == cudaSuccess) return CNN4J_OK;
      if (q != cudaErrorNotReady) {
        (void)cudaGetLastError();
        return abort_with(c, CNN4J_DEVICE_ERROR, std::string(what) + ": " + cudaGetErrorString(q) + where(c));
      }
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return abort_with(c, CNN4J_PEER_ERROR,
                        std::string(what) + ": no answer from the group within " + std::to_string(c->timeout_ms) +
                            " ms" + where(c));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

int32_t usable(const cnn4j_nccl *c, float *const *data, const int64_t *n, int32_t count) {
  if (c == nullptr || count < 0 || (count > 0 && (data == nullptr || n == nullptr))) {
    return fail(CNN4J_INVALID_ARGUMENT, "a null group or arrays, or a negative count");
  }
  for (int32_t i = 0; i < count; i++) {
    if (n[i] < 0 || (data[i] == nullptr && n[i] > 0)) {
      return fail(CNN4J_INVALID_ARGUMENT, "array " + std::to_string(i) + ": null, or a negative length");
    }
  }
  if (c->broken) return fail(CNN4J_PEER_ERROR, "the group failed before" + where(c) + ": destroy it");
  return CNN4J_OK;
}

// The arrays as one NCCL group call: root < 0 sums, otherwise broadcasts from root.
int32_t grouped(cnn4j_nccl *c, float *const *data, const int64_t *n, int32_t count, int32_t root, void *stream) {
  if (const int32_t s = usable(c, data, n, count); s != CNN4J_OK) return s;
  if (root >= c->size) return fail(CNN4J_INVALID_ARGUMENT, "root " + std::to_string(root) + where(c));
  const char *what = root < 0 ? "all-reduce" : "broadcast";
  auto *st = static_cast<cudaStream_t>(stream);
  ncclResult_t r = ncclGroupStart();
  for (int32_t i = 0; i < count && (r == ncclSuccess || r == ncclInProgress); i++) {
    const size_t len = static_cast<size_t>(n[i]);
    r = root < 0 ? ncclAllReduce(data[i], data[i], len, ncclFloat32, ncclSum, c->comm, st)
                 : ncclBroadcast(data[i], data[i], len, ncclFloat32, root, c->comm, st);
  }
  const ncclResult_t end = ncclGroupEnd();
  if (r == ncclSuccess || r == ncclInProgress) r = end;
  if (r != ncclSuccess && r != ncclInProgress) return abort_with(c, CNN4J_PEER_ERROR, describe(what, r, c->comm) + where(c));
  return settle(c, what, st, true);
}

}  // namespace

extern "C" {

int32_t cnn4j_nccl_abi_version(void) { return 1; }

int32_t cnn4j_nccl_unique_id(void *buf, int64_t cap, int64_t *len) {
  if (len == nullptr || cap < 0 || (buf == nullptr && cap > 0)) return fail(CNN4J_INVALID_ARGUMENT, "a null length");
  *len = NCCL_UNIQUE_ID_BYTES;
  if (cap == 0) return CNN4J_OK;
  if (cap < NCCL_UNIQUE_ID_BYTES) {
    return fail(CNN4J_INVALID_ARGUMENT, "an id takes " + std::to_string(NCCL_UNIQUE_ID_BYTES) + " bytes");
  }
  ncclUniqueId id;
  const ncclResult_t r = ncclGetUniqueId(&id);
  if (r != ncclSuccess) return fail(CNN4J_DEVICE_ERROR, std::string("ncclGetUniqueId: ") + ncclGetErrorString(r));
  std::memcpy(buf, id.internal, NCCL_UNIQUE_ID_BYTES);
  return CNN4J_OK;
}

int32_t cnn4j_nccl_create(int32_t rank, int32_t size, const void *id, int64_t len, int64_t timeout_ms,
                          cnn4j_nccl **out) {
  if (out == nullptr) return fail(CNN4J_INVALID_ARGUMENT, "a null result pointer");
  *out = nullptr;
  if (size < 1 || rank < 0 || rank >= size || id == nullptr || len != NCCL_UNIQUE_ID_BYTES || timeout_ms <= 0) {
    return fail(CNN4J_INVALID_ARGUMENT, "rank " + std::to_string(rank) + " of " + std::to_string(size) +
                                            ", an id of " + std::to_string(len) + " bytes (" +
                                            std::to_string(NCCL_UNIQUE_ID_BYTES) + " needed), timeout " +
                                            std::to_string(timeout_ms) + " ms");
  }
  auto *c = new (std::nothrow) cnn4j_nccl;
  if (c == nullptr) return fail(CNN4J_OUT_OF_MEMORY, "no memory for a group");
  c->rank = rank;
  c->size = size;
  c->timeout_ms = timeout_ms;
  ncclUniqueId uid;
  std::memcpy(uid.internal, id, NCCL_UNIQUE_ID_BYTES);
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  const ncclResult_t r = ncclCommInitRankConfig(&c->comm, size, uid, rank, &config);
  if (r != ncclSuccess && r != ncclInProgress) {
    const int32_t s = abort_with(c, CNN4J_PEER_ERROR, describe("ncclCommInitRankConfig", r, c->comm) + where(c));
    delete c;
    return s;
  }
  const int32_t s = settle(c, "joining the group", nullptr, false);
  if (s != CNN4J_OK) {
    delete c;
    return s;
  }
  *out = c;
  return CNN4J_OK;
}

int32_t cnn4j_nccl_allreduce_sum_f32(cnn4j_nccl *c, float *const *data, const int64_t *n, int32_t count,
                                     void *stream) {
  return grouped(c, data, n, count, -1, stream);
}

int32_t cnn4j_nccl_broadcast_f32(cnn4j_nccl *c, float *const *data, const int64_t *n, int32_t count, int32_t root,
                                 void *stream) {
  if (root < 0) return fail(CNN4J_INVALID_ARGUMENT, "root " + std::to_string(root));
  return grouped(c, data, n, count, root, stream);
}

int32_t cnn4j_nccl_destroy(cnn4j_nccl *c) {
  if (c == nullptr) return CNN4J_OK;
  if (c->comm != nullptr && !c->broken) {
    // A healthy group finishes its work first (bounded by the timeout; aborted past it).
    const ncclResult_t r = ncclCommFinalize(c->comm);
    if (r == ncclSuccess || r == ncclInProgress) {
      if (settle(c, "leaving the group", nullptr, false) == CNN4J_OK) {
        ncclCommDestroy(c->comm);
        c->comm = nullptr;
      }
    }
  }
  if (c->comm != nullptr) ncclCommAbort(c->comm);
  delete c;
  return CNN4J_OK;
}

const char *cnn4j_nccl_last_error(void) { return g_error.c_str(); }

}  // extern "C"
