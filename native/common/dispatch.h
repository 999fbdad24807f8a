// The dtype dispatch of the C ABI's entry points, shared by the CPU and CUDA sources
// (internal; not part of the ABI).
#ifndef CNN4J_COMMON_DISPATCH_H
#define CNN4J_COMMON_DISPATCH_H

#include <new>
#include <stdexcept>

#include "cnn4j/cnn4j.h"

// Runs the body with T = float or double according to dtype; unknown dtypes are an error.
// No exception leaves the body (none may cross the C ABI): a failed allocation (std::bad_alloc,
// or std::length_error for a size past what a container can hold) returns
// CNN4J_OUT_OF_MEMORY, any other exception CNN4J_INTERNAL. Inside an OpenMP region nothing
// may throw at all (an exception cannot leave a region): allocate before it, or without
// throwing and agree on a failure before any work (Winograd's run_m).
#define CNN4J_DISPATCH_FLOAT(dtype, ...)                 \
  do {                                                    \
    try {                                                 \
      if ((dtype) == CNN4J_F32) {                         \
        using T = float;                                  \
        __VA_ARGS__;                                      \
      } else if ((dtype) == CNN4J_F64) {                  \
        using T = double;                                 \
        __VA_ARGS__;                                      \
      } else {                                            \
        return CNN4J_INVALID_ARGUMENT;                    \
      }                                                   \
    } catch (const std::bad_alloc &) {                    \
      return CNN4J_OUT_OF_MEMORY;                         \
    } catch (const std::length_error &) {                 \
      return CNN4J_OUT_OF_MEMORY;                         \
    } catch (...) {                                       \
      return CNN4J_INTERNAL;                              \
    }                                                     \
  } while (0)

#endif
