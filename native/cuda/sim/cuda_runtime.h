// cnn4j's simulated CUDA device: the part of the CUDA runtime API and of the CUDA C++ kernel
// language that cnn4j's kernels (native/cuda) use, implemented on the host processor. A build
// with CNN4J_CUDA=SIM puts this directory first on the include path, so the kernel sources
// compile unchanged in their arithmetic with the host C++ compiler (see sim.cpp and
// bench/gpu/README.md for what it checks and what only a GPU can show).
//
// - Kernel launches go through CNN4J_LAUNCH (common.cuh), which nvcc turns into <<<...>>> and
//   this build into cnn4j_sim::launch: the launch limits are checked as on the hardware, then
//   every block runs with each of its threads a fiber of its own and the built-ins set per
//   thread.
// - __syncthreads is a real barrier that fails loudly when the block's threads diverge at it;
//   __shared__ variables (CNN4J_SHARED) live in a per-block arena filled with a poison pattern
//   before every block; mma.sync and cvt.rna are emulated lane by lane (gemm.cuh).
// - Streams run their work in order, lazily: queued work runs when something waits for it, so
//   a host read that does not wait sees stale data, as on a GPU. Graph capture records, launch
//   replays. Device and page-locked memory are host allocations that the runtime tracks: use
//   of freed or foreign memory in copies, double frees and leaks are reported.
#ifndef CNN4J_SIM_CUDA_RUNTIME_H
#define CNN4J_SIM_CUDA_RUNTIME_H

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#define CUDART_VERSION 13000

// ---- types of the runtime API ----------------------------------------------------------------
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNotReady = 600,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorLaunchFailure = 719,
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorStreamCaptureInvalidated = 901,
  cudaErrorStreamCaptureWrongThread = 908,
};
typedef cudaError_t cudaError;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
enum cudaStreamCaptureStatus {
  cudaStreamCaptureStatusNone = 0,
  cudaStreamCaptureStatusActive = 1,
  cudaStreamCaptureStatusInvalidated = 2,
};
enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal = 0,
  cudaStreamCaptureModeThreadLocal = 1,
  cudaStreamCaptureModeRelaxed = 2,
};
enum cudaMemPoolAttr {
  cudaMemPoolAttrReleaseThreshold = 4,
  cudaMemPoolAttrReservedMemCurrent = 5,
  cudaMemPoolAttrUsedMemCurrent = 7,
};
enum cudaDeviceAttr {
  cudaDevAttrMaxThreadsPerBlock = 1,
  cudaDevAttrMaxSharedMemoryPerBlock = 8,
  cudaDevAttrMultiProcessorCount = 16,
};
#define cudaStreamNonBlocking 0x01
#define cudaEventDisableTiming 0x02

typedef struct CUstream_st *cudaStream_t;
typedef struct CUevent_st *cudaEvent_t;
typedef struct CUgraph_st *cudaGraph_t;
typedef struct CUgraphExec_st *cudaGraphExec_t;
typedef struct CUmemPoolHandle_st *cudaMemPool_t;

struct uint3 {
  unsigned int x, y, z;
};
struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
};

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  int maxThreadsPerBlock;
  int major, minor;
  int multiProcessorCount;
};

// ---- the runtime API calls cnn4j makes (sim.cpp) ---------------------------------------------
const char *cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
cudaError_t cudaDriverGetVersion(int *v);
cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaSetDevice(int d);
cudaError_t cudaGetDevice(int *d);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d);
cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr a, int d);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaMalloc(void **p, size_t bytes);
template <class T>
inline cudaError_t cudaMalloc(T **p, size_t bytes) {
  return cudaMalloc(reinterpret_cast<void **>(p), bytes);
}
cudaError_t cudaFree(void *p);
cudaError_t cudaMallocAsync(void **p, size_t bytes, cudaStream_t s);
cudaError_t cudaFreeAsync(void *p, cudaStream_t s);
cudaError_t cudaMallocHost(void **p, size_t bytes);
cudaError_t cudaFreeHost(void *p);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s = nullptr);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind kind, cudaStream_t s = nullptr);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned int flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned int flags = 0);
cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus *status);
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned int flags);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventQuery(cudaEvent_t e);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t g, unsigned long long flags = 0);
cudaError_t cudaGraphDestroy(cudaGraph_t g);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);
cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t *pool, int d);
cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t pool, cudaMemPoolAttr a, void *v);
cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t pool, cudaMemPoolAttr a, void *v);
cudaError_t cudaMemPoolTrimTo(cudaMemPool_t pool, size_t keep);
cudaError_t cudaDeviceGraphMemTrim(int d);

// ---- the simulator's own interface -----------------------------------------------------------
namespace cnn4j_sim {

// The body of one launch, called once per simulated thread.
using KernelBody = std::function<void()>;

// Checks the launch configuration (the error is this thread's last error, as on a GPU) and
// queues the grid on stream s.
void launch(const char *name, dim3 grid, dim3 block, size_t dynamic_smem, cudaStream_t s, KernelBody body);

// Registers a kernel's __launch_bounds__ (CNN4J_KERNEL_BOUNDS): launches with more threads fail.
bool register_bounds(const char *kernel, int max_threads);

// The block's barrier; `file`/`line` name the call site, so divergence can name both sides.
void syncthreads(const char *file, int line);

// Shared memory: a per-block slice of `bytes` for declaration site `site`, the same for every
// thread of the block; filled with the poison pattern before the block starts.
void *shared(const void *site, size_t bytes, size_t align);

// Built-ins of the thread that runs now (set by the scheduler before it resumes a thread).
struct Builtins {
  uint3 thread_idx, block_idx;
  dim3 block_dim, grid_dim;
};
extern thread_local Builtins tl_builtins __attribute__((tls_model("initial-exec")));

// cvt.rna.tf32.f32: round to nearest, ties away from zero, to 10 mantissa bits; the low 13 bits
// of the result are zero. NaN stays NaN, infinities stay infinite.
uint32_t cvt_rna_tf32(float v);
// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32, d = a * b + d, called by all 32 lanes of
// a warp, each with its fragments as the PTX ISA lays them out (see sim.cpp).
void mma_m16n8k8_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]);
// The fragment tables themselves: for lane `lane`, the (row, column) of its i-th element.
void mma_m16n8k8_tf32_a_coord(int lane, int i, int *row, int *col);
void mma_m16n8k8_tf32_b_coord(int lane, int i, int *row, int *col);
void mma_m16n8k8_tf32_c_coord(int lane, int i, int *row, int *col);
// The whole warp's operation on full matrices (A 16x8 row-major, B 8x8 with B[k][n] at k*8+n,
// C and D 16x8 row-major), in the arithmetic the simulated mma uses.
void mma_m16n8k8_tf32_reference(const float *a, const float *b, const float *c, float *d);

// Atomics (real ones: blocks run on several host threads at once).
float atomic_add(float *p, float v);
double atomic_add(double *p, double v);
int atomic_add(int *p, int v);
unsigned atomic_add(unsigned *p, unsigned v);

// Settings (also read from the environment at start: CNN4J_SIM_SEED, CNN4J_SIM_WORKERS).
// seed 0: threads start and resume in index order; otherwise in an order drawn from the seed,
// anew for every block and every barrier, and blocks are dealt to workers in a drawn order.
void configure(uint64_t seed, int workers);
uint64_t seed();
// Live device and page-locked allocations (graph memory included).
void live_allocations(int64_t *count, int64_t *bytes);
// Kernels launched, blocks and threads run since start.
void counters(int64_t *kernels, int64_t *blocks, int64_t *threads);

template <class F>
struct Launcher {
  const char *name;
  dim3 grid, block;
  size_t smem;
  cudaStream_t stream;
  F kernel;
  template <class... A>
  void operator()(A &&...args) const {
    // Arguments are copied at the launch, as CUDA copies them to the parameter space.
    launch(name, grid, block, smem, stream,
           [k = kernel, pack = std::make_tuple(std::decay_t<A>(std::forward<A>(args))...)]() { std::apply(k, pack); });
  }
};

template <class F>
Launcher<F> launcher(const char *name, dim3 grid, dim3 block, size_t smem, cudaStream_t s, F kernel) {
  return Launcher<F>{name, grid, block, smem, s, kernel};
}

}  // namespace cnn4j_sim

// ---- the kernel language -----------------------------------------------------------------------
#ifndef CNN4J_SIM_IMPLEMENTATION
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __syncthreads() ::cnn4j_sim::syncthreads(__FILE__, __LINE__)
#define threadIdx (::cnn4j_sim::tl_builtins.thread_idx)
#define blockIdx (::cnn4j_sim::tl_builtins.block_idx)
#define blockDim (::cnn4j_sim::tl_builtins.block_dim)
#define gridDim (::cnn4j_sim::tl_builtins.grid_dim)

using std::exp;
using std::log;
using std::sqrt;
using std::tanh;

// CUDA's device min/max overloads.
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline long min(long a, long b) { return a < b ? a : b; }
inline long max(long a, long b) { return a > b ? a : b; }
inline float min(float a, float b) { return std::fmin(a, b); }
inline float max(float a, float b) { return std::fmax(a, b); }
inline double min(double a, double b) { return std::fmin(a, b); }
inline double max(double a, double b) { return std::fmax(a, b); }

template <class T>
inline T atomicAdd(T *p, T v) {
  return ::cnn4j_sim::atomic_add(p, v);
}
#endif

#endif
