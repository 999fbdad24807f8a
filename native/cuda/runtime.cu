// Device selection, memory, copies and error messages.
#include <cstdio>
#include <string>

#include "common.cuh"

namespace cnn4j_cuda {
namespace {
thread_local std::string g_last_error;
thread_local std::string g_description;
void *g_scratch = nullptr;  // documented global: the reduction scratch buffer of the current device
i64 g_scratch_bytes = 0;

__global__ void probe_kernel(int *p) { *p = 42; }
}  // namespace

int32_t fail(const char *what, cudaError_t e) {
  g_last_error = std::string(what) + ": " + cudaGetErrorString(e);
  return CNN4J_DEVICE_ERROR;
}

int32_t fail_msg(int32_t status, const std::string &msg) {
  g_last_error = msg;
  return status;
}

int32_t launched(const char *name) {
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? CNN4J_OK : fail(name, e);
}

int32_t scratch(i64 bytes, void **out) {
  if (bytes > g_scratch_bytes) {
    if (g_scratch != nullptr) cudaFree(g_scratch);
    g_scratch = nullptr;
    g_scratch_bytes = 0;
    CNN4J_CUDA_TRY("cudaMalloc(scratch)", cudaMalloc(&g_scratch, bytes));
    g_scratch_bytes = bytes;
  }
  *out = g_scratch;
  return CNN4J_OK;
}

}  // namespace cnn4j_cuda

using namespace cnn4j_cuda;

extern "C" {

int32_t cnn4j_cuda_device_count(int32_t *count) {
  if (count == nullptr) return CNN4J_INVALID_ARGUMENT;
  *count = 0;
  int driver = 0;
  cudaError_t e = cudaDriverGetVersion(&driver);
  if (e != cudaSuccess || driver == 0) {
    return fail_msg(CNN4J_DEVICE_ERROR, "no CUDA driver is installed (this build needs CUDA 13, driver R580 or newer)");
  }
  if (driver < CUDART_VERSION) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "the CUDA driver supports CUDA %d.%d, this build needs %d.%d (driver R580 or newer)",
                  driver / 1000, (driver % 100) / 10, CUDART_VERSION / 1000, (CUDART_VERSION % 100) / 10);
    return fail_msg(CNN4J_DEVICE_ERROR, buf);
  }
  int n = 0;
  e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) return fail("cudaGetDeviceCount", e);
  if (n == 0) return fail_msg(CNN4J_DEVICE_ERROR, "no CUDA device is visible");
  *count = n;
  return CNN4J_OK;
}

const char *cnn4j_cuda_last_error(void) { return g_last_error.c_str(); }

int32_t cnn4j_cuda_set_device(int32_t device) {
  CNN4J_CUDA_TRY("cudaSetDevice", cudaSetDevice(device));
  int *p = nullptr;
  CNN4J_CUDA_TRY("cudaMalloc(probe)", cudaMalloc(&p, sizeof(int)));
  probe_kernel<<<1, 1>>>(p);
  int v = 0;
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) e = cudaMemcpy(&v, p, sizeof v, cudaMemcpyDeviceToHost);
  cudaFree(p);
  if (e != cudaSuccess) {
    return fail("probe kernel (this build has code for compute capability 9.0 and PTX for newer)", e);
  }
  if (v != 42) return fail_msg(CNN4J_DEVICE_ERROR, "probe kernel did not run");
  return CNN4J_OK;
}

const char *cnn4j_cuda_describe(void) {
  int d = 0;
  cudaDeviceProp p{};
  if (cudaGetDevice(&d) != cudaSuccess || cudaGetDeviceProperties(&p, d) != cudaSuccess) {
    g_description = "unknown device";
  } else {
    char buf[300];
    std::snprintf(buf, sizeof buf, "%s (device %d, compute capability %d.%d, %.1f GiB, %d SMs)", p.name, d, p.major,
                  p.minor, p.totalGlobalMem / 1073741824.0, p.multiProcessorCount);
    g_description = buf;
  }
  return g_description.c_str();
}

int32_t cnn4j_cuda_malloc(int64_t bytes, void **out) {
  if (out == nullptr || bytes < 0) return CNN4J_INVALID_ARGUMENT;
  *out = nullptr;
  cudaError_t e = cudaMalloc(out, bytes == 0 ? 256 : static_cast<size_t>(bytes));
  if (e == cudaErrorMemoryAllocation) {
    fail("cudaMalloc", e);
    return CNN4J_OUT_OF_MEMORY;
  }
  if (e != cudaSuccess) return fail("cudaMalloc", e);
  return CNN4J_OK;
}

int32_t cnn4j_cuda_free(void *p) {
  if (p != nullptr) CNN4J_CUDA_TRY("cudaFree", cudaFree(p));
  return CNN4J_OK;
}

int32_t cnn4j_cuda_host_alloc(int64_t bytes, void **out) {
  if (out == nullptr || bytes < 0) return CNN4J_INVALID_ARGUMENT;
  *out = nullptr;
  CNN4J_CUDA_TRY("cudaMallocHost", cudaMallocHost(out, bytes == 0 ? 64 : static_cast<size_t>(bytes)));
  return CNN4J_OK;
}

int32_t cnn4j_cuda_host_free(void *p) {
  if (p != nullptr) CNN4J_CUDA_TRY("cudaFreeHost", cudaFreeHost(p));
  return CNN4J_OK;
}

int32_t cnn4j_cuda_memcpy(void *dst, const void *src, int64_t bytes, int32_t kind) {
  if (bytes < 0 || kind < 0 || kind > 2 || (bytes > 0 && (dst == nullptr || src == nullptr))) {
    return CNN4J_INVALID_ARGUMENT;
  }
  if (bytes == 0) return CNN4J_OK;
  const cudaMemcpyKind kinds[3] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice};
  CNN4J_CUDA_TRY("cudaMemcpy", cudaMemcpy(dst, src, static_cast<size_t>(bytes), kinds[kind]));
  return CNN4J_OK;
}

int32_t cnn4j_cuda_memcpy_async_h2d(void *dst, const void *src, int64_t bytes) {
  if (bytes < 0 || (bytes > 0 && (dst == nullptr || src == nullptr))) return CNN4J_INVALID_ARGUMENT;
  if (bytes == 0) return CNN4J_OK;
  CNN4J_CUDA_TRY("cudaMemcpyAsync", cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), cudaMemcpyHostToDevice, 0));
  return CNN4J_OK;
}

int32_t cnn4j_cuda_synchronize(void) {
  CNN4J_CUDA_TRY("cudaDeviceSynchronize (a queued kernel failed)", cudaDeviceSynchronize());
  return CNN4J_OK;
}

}  // extern "C"
