// The dtype dispatch of the C ABI's entry points, shared by the CPU and CUDA sources
// (internal; not part of the ABI).
#ifndef CNN4J_COMMON_DISPATCH_H
#define CNN4J_COMMON_DISPATCH_H

#include "cnn4j/cnn4j.h"

// Runs `body` with T = float or double according to dtype; unknown dtypes are an error.
#define CNN4J_DISPATCH_FLOAT(dtype, ...)                 \
  do {                                                    \
    if ((dtype) == CNN4J_F32) {                           \
      using T = float;                                    \
      __VA_ARGS__;                                        \
    } else if ((dtype) == CNN4J_F64) {                    \
      using T = double;                                   \
      __VA_ARGS__;                                        \
    } else {                                              \
      return CNN4J_INVALID_ARGUMENT;                      \
    }                                                     \
  } while (0)

#endif
