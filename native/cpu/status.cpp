#include "cnn4j/status.h"

extern "C" const char *cnn4j_status_string(int32_t status) {
  switch (status) {
    case CNN4J_OK: return "ok";
    case CNN4J_INVALID_ARGUMENT: return "invalid argument";
    case CNN4J_OUT_OF_MEMORY: return "out of memory";
    case CNN4J_UNSUPPORTED: return "unsupported";
    case CNN4J_DEVICE_ERROR: return "device error";
    case CNN4J_INTERNAL: return "internal error";
    case CNN4J_PEER_ERROR: return "peer error";
    default: return "unknown status";
  }
}
