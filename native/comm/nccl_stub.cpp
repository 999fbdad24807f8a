// The NCCL collective layer (cnn4j/nccl.h) in a build without NCCL: every function refuses
// with CNN4J_UNSUPPORTED and says why.
#include "cnn4j/nccl.h"

namespace {
const char *const kReason =
    "this build of cnn4j has no NCCL collective layer (libcnn4j_nccl is built with NCCL when the CUDA kernels are "
    "built and NCCL's header and library are found: CMake NCCL_ROOT)";
thread_local const char *g_error = "";

int32_t refuse() {
  g_error = kReason;
  return CNN4J_UNSUPPORTED;
}
}  // namespace

extern "C" {

int32_t cnn4j_nccl_abi_version(void) { return 1; }

int32_t cnn4j_nccl_unique_id(void *, int64_t, int64_t *len) {
  if (len != nullptr) *len = 0;
  return refuse();
}

int32_t cnn4j_nccl_create(int32_t, int32_t, const void *, int64_t, int64_t, cnn4j_nccl **out) {
  if (out != nullptr) *out = nullptr;
  return refuse();
}

int32_t cnn4j_nccl_allreduce_sum_f32(cnn4j_nccl *, float *const *, const int64_t *, int32_t, void *) { return refuse(); }

int32_t cnn4j_nccl_broadcast_f32(cnn4j_nccl *, float *const *, const int64_t *, int32_t, int32_t, void *) {
  return refuse();
}

int32_t cnn4j_nccl_destroy(cnn4j_nccl *) { return CNN4J_OK; }

const char *cnn4j_nccl_last_error(void) { return g_error; }

}  // extern "C"
