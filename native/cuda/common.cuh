// Internal helpers of the CUDA kernels: error reporting, dtype dispatch, launch shapes.
#ifndef CNN4J_CUDA_COMMON_CUH
#define CNN4J_CUDA_COMMON_CUH

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "cnn4j/cnn4j.h"
#include "cnn4j/cuda.h"
#include "../common/context.h"

namespace cnn4j_cuda {

using i64 = int64_t;

// Records "<what>: <CUDA's message>" as this thread's last error; returns DEVICE_ERROR.
int32_t fail(const char *what, cudaError_t e);
// Records a message that is not a CUDA error; returns `status`.
int32_t fail_msg(int32_t status, const std::string &msg);
// Checks the launch of kernel `name` (launch errors only; execution errors surface at the
// next synchronising call, named by that call).
int32_t launched(const char *name);
// The stream every op is queued on (created by cnn4j_cuda_set_device).
cudaStream_t stream();
// Streaming multiprocessors of the current device (132 if it cannot be asked).
int sm_count();
// CNN4J_CUDA_FP32 or CNN4J_CUDA_TF32: how float32 convolutions and matmuls multiply.
int precision();
// Temporary device memory, stream-ordered: valid for the ops queued after it until
// temp_free, which may be called right after the last of them is queued. Both come from
// the caching pool, so they cost no driver call in a steady state, and both may be
// recorded into a CUDA graph.
int32_t temp_alloc(i64 bytes, void **out);
void temp_free(void *p);
// Copies `bytes` of device memory to the host after the queued ops, and waits for it.
int32_t copy_back(void *dst, const void *src, i64 bytes, const char *what);

inline unsigned blocks_for(i64 n, int threads = 256) {
  i64 b = (n + threads - 1) / threads;
  if (b > 65535 * 32) b = 65535 * 32;
  return static_cast<unsigned>(b < 1 ? 1 : b);
}

// Sizes the kernels index with 32-bit integers.
inline bool fits32(i64 v) { return v >= 0 && v < (i64(1) << 31); }

}  // namespace cnn4j_cuda

// Kernel launches, shared memory and launch bounds, written once for both builds: nvcc's
// (<<<...>>>, __shared__, __launch_bounds__) and the simulated device's (sim/cuda_runtime.h),
// where a launch goes through the simulator's launcher, a shared variable is a slice of the
// block's poisoned arena, and the bounds are checked at every launch.
//   CNN4J_LAUNCH(kernel, grid, block, shared_bytes, stream)(args...);
//   CNN4J_SHARED(type, name, dims);                 e.g. CNN4J_SHARED(float, tile, [16][64]);
//   CNN4J_KERNEL_BOUNDS(kernel, max_threads);       beside a kernel declared __launch_bounds__(max_threads)
#ifdef CNN4J_CUDA_SIM
#define CNN4J_LAUNCH(kernel, grid, block, smem, strm) \
  ::cnn4j_sim::launcher(#kernel, (grid), (block), (smem), (strm), [](auto &&...a_) { kernel(a_...); })
#define CNN4J_SHARED(type, name, dims)                                                                  \
  using cnn4j_shared_##name##_t = type dims;                                                            \
  static char cnn4j_shared_##name##_site;                                                               \
  cnn4j_shared_##name##_t &name = *static_cast<cnn4j_shared_##name##_t *>(::cnn4j_sim::shared(          \
      &cnn4j_shared_##name##_site, sizeof(cnn4j_shared_##name##_t), alignof(cnn4j_shared_##name##_t)))
#define CNN4J_KERNEL_BOUNDS(kernel, max_threads) \
  [[maybe_unused]] const bool cnn4j_bounds_##kernel = ::cnn4j_sim::register_bounds(#kernel, (max_threads))
#else
#define CNN4J_LAUNCH(kernel, grid, block, smem, strm) kernel<<<(grid), (block), (smem), (strm)>>>
#define CNN4J_SHARED(type, name, dims) __shared__ type name dims
#define CNN4J_KERNEL_BOUNDS(kernel, max_threads) static_assert((max_threads) > 0, #kernel)
#endif

#define CNN4J_CUDA_TRY(what, call)                                 \
  do {                                                             \
    cudaError_t e_ = (call);                                       \
    if (e_ != cudaSuccess) return ::cnn4j_cuda::fail((what), e_);  \
  } while (0)

// A grid-stride loop over i < n: one thread per element whatever the grid.
#define GRID_STRIDE(i, n) for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < (n); i += (i64)blockDim.x * gridDim.x)

// In an entry point: runs the launch statement(s), then returns launched(name).
#define LAUNCH(name, n, ...)                  \
  do {                                        \
    __VA_ARGS__;                              \
    return ::cnn4j_cuda::launched(name);      \
  } while (0)

// CNN4J_DISPATCH_FLOAT: the dtype dispatch the CPU entry points use too.
#include "../common/dispatch.h"

#endif
