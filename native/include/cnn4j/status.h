/* Status codes of the cnn4j C ABI. Every function of the ABI returns one of these; none
 * exits the process or keeps global state beyond what its comment documents. */
#ifndef CNN4J_STATUS_H
#define CNN4J_STATUS_H

#include <stdint.h>

#if defined(CNN4J_BUILDING)
#define CNN4J_API __attribute__((visibility("default")))
#else
#define CNN4J_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cnn4j_status {
  CNN4J_OK = 0,
  CNN4J_INVALID_ARGUMENT = 1, /* a null pointer, a negative size, sizes that do not fit */
  CNN4J_OUT_OF_MEMORY = 2,    /* a host or device allocation failed */
  CNN4J_UNSUPPORTED = 3,      /* not built in, or not supported by this CPU or device */
  CNN4J_DEVICE_ERROR = 4,     /* a CUDA call failed */
  CNN4J_INTERNAL = 5,         /* a bug: please report it */
  CNN4J_PEER_ERROR = 6        /* a collective group failed: a peer left, or none answered in time */
} cnn4j_status;

/* A static, human-readable message for a status code (never null). */
CNN4J_API const char *cnn4j_status_string(int32_t status);

#ifdef __cplusplus
}
#endif

#endif
