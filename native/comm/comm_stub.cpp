// The collective layer of a build without Gloo: every call but the version, destroy and the
// last error refuses with CNN4J_UNSUPPORTED, so that the JNI glue links and Java can say what
// is missing.
#include "cnn4j/comm.h"

namespace {
const char *const kMissing =
    "cnn4j was built without its collective layer: Gloo was not found when it was built (Debian: apt-get install "
    "libgloo-dev, then rebuild)";
thread_local const char *g_error = "";

int32_t unsupported() {
  g_error = kMissing;
  return CNN4J_UNSUPPORTED;
}
}  // namespace

extern "C" {
CNN4J_API int32_t cnn4j_comm_abi_version(void) { return 1; }
CNN4J_API int32_t cnn4j_comm_create(int32_t, int32_t, const char *, int64_t, cnn4j_comm **out) {
  if (out != nullptr) *out = nullptr;
  return unsupported();
}
CNN4J_API int32_t cnn4j_comm_address(cnn4j_comm *, void *, int64_t, int64_t *) { return unsupported(); }
CNN4J_API int32_t cnn4j_comm_peer(cnn4j_comm *, int32_t, const void *, int64_t) { return unsupported(); }
CNN4J_API int32_t cnn4j_comm_connect(cnn4j_comm *) { return unsupported(); }
CNN4J_API int32_t cnn4j_comm_allreduce_sum_f32(cnn4j_comm *, float *, int64_t) { return unsupported(); }
CNN4J_API int32_t cnn4j_comm_broadcast_f32(cnn4j_comm *, float *, int64_t, int32_t) { return unsupported(); }
CNN4J_API int32_t cnn4j_comm_barrier(cnn4j_comm *) { return unsupported(); }
CNN4J_API int32_t cnn4j_comm_destroy(cnn4j_comm *) { return CNN4J_OK; }
CNN4J_API const char *cnn4j_comm_last_error(void) { return g_error; }
}
