// Internal helpers of the CUDA kernels: error reporting, dtype dispatch, launch shapes.
#ifndef CNN4J_CUDA_COMMON_CUH
#define CNN4J_CUDA_COMMON_CUH

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "cnn4j/cnn4j.h"
#include "cnn4j/cuda.h"

namespace cnn4j_cuda {

using i64 = int64_t;

// Records "<what>: <CUDA's message>" as this thread's last error; returns DEVICE_ERROR.
int32_t fail(const char *what, cudaError_t e);
// Records a message that is not a CUDA error; returns `status`.
int32_t fail_msg(int32_t status, const std::string &msg);
// Checks the launch of kernel `name` (launch errors only; execution errors surface at the
// next synchronising call, named by that call).
int32_t launched(const char *name);
// A device scratch buffer of at least `bytes`, reused across calls (grown as needed).
int32_t scratch(i64 bytes, void **out);

inline unsigned blocks_for(i64 n, int threads = 256) {
  i64 b = (n + threads - 1) / threads;
  if (b > 65535 * 32) b = 65535 * 32;
  return static_cast<unsigned>(b < 1 ? 1 : b);
}

// Sizes the kernels index with 32-bit integers.
inline bool fits32(i64 v) { return v >= 0 && v < (i64(1) << 31); }

}  // namespace cnn4j_cuda

#define CNN4J_CUDA_TRY(what, call)                                 \
  do {                                                             \
    cudaError_t e_ = (call);                                       \
    if (e_ != cudaSuccess) return ::cnn4j_cuda::fail((what), e_);  \
  } while (0)

// CNN4J_DISPATCH_FLOAT, the CPU kernels' dtype dispatch, serves the CUDA entry points too.
#include "../cpu/common.h"

#endif
