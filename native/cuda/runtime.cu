// Device selection, memory, copies and error messages.
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <string>

#include "common.cuh"

namespace cnn4j_cuda {
namespace {
thread_local std::string g_last_error;
thread_local std::string g_description;
// Documented globals: the stream every op is queued on, the copy stream of the uploaders,
// and the precision of float32 convolutions and matmuls.
cudaStream_t g_stream = nullptr;
cudaStream_t g_copy_stream = nullptr;
int g_device = -1;
int g_precision = CNN4J_CUDA_FP32;
// A page-locked landing area for the small results that synchronous calls copy back, shared by
// the threads (guarded by its mutex) and freed by cnn4j_cuda_release_cached.
std::mutex g_small_mu;
void *g_host_small = nullptr;
constexpr i64 HOST_SMALL_BYTES = 8192;

__global__ void probe_kernel(int *p) { *p = 42; }
}  // namespace

int32_t fail(const char *what, cudaError_t e) {
  g_last_error = std::string(what) + ": " + cudaGetErrorString(e);
  // The runtime keeps the last error for cudaGetLastError: clear it, so that the next
  // kernel launch is not blamed for a failure already reported.
  (void)cudaGetLastError();
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

// The current device is a per-thread setting of the CUDA runtime: a thread other than the one
// that called cnn4j_cuda_set_device is switched to cnn4j's device before it uses its stream.
static void ensure_device() {
  if (g_device < 0) return;
  int d = -1;
  if (cudaGetDevice(&d) == cudaSuccess && d != g_device) cudaSetDevice(g_device);
}

cudaStream_t stream() {
  ensure_device();
  return g_stream;
}

// Tensors must exist before a step is recorded: an allocation inside a recording would only
// exist while the graph runs.
static int32_t refuse_while_recording(const char *what) {
  if (g_stream == nullptr) return CNN4J_OK;
  cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(g_stream, &cs) == cudaSuccess && cs != cudaStreamCaptureStatusNone) {
    return fail_msg(CNN4J_INVALID_ARGUMENT, std::string(what) + " while a graph is being recorded (tensors must exist before recording)");
  }
  return CNN4J_OK;
}

int precision() { return g_precision; }

int sm_count() {
  static thread_local int device = -2, sms = 132;
  int d = -1;
  if (cudaGetDevice(&d) != cudaSuccess) {
    (void)cudaGetLastError();
    return sms;
  }
  if (d != device) {
    int v = 0;
    if (cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, d) == cudaSuccess && v > 0) {
      sms = v;
    } else {
      (void)cudaGetLastError();
    }
    device = d;
  }
  return sms;
}

int32_t temp_alloc(i64 bytes, void **out) {
  *out = nullptr;
  cudaError_t e = cudaMallocAsync(out, static_cast<size_t>(bytes < 256 ? 256 : bytes), stream());
  if (e == cudaErrorMemoryAllocation) {
    fail("cudaMallocAsync (temporary)", e);
    return CNN4J_OUT_OF_MEMORY;
  }
  return e == cudaSuccess ? CNN4J_OK : fail("cudaMallocAsync (temporary)", e);
}

void temp_free(void *p) {
  if (p != nullptr && cudaFreeAsync(p, stream()) != cudaSuccess) (void)cudaGetLastError();
}

int32_t copy_back(void *dst, const void *src, i64 bytes, const char *what) {
  std::lock_guard<std::mutex> lk(g_small_mu);
  if (g_host_small == nullptr && cudaMallocHost(&g_host_small, HOST_SMALL_BYTES) != cudaSuccess) {
    g_host_small = nullptr;
    (void)cudaGetLastError();
  }
  if (bytes <= HOST_SMALL_BYTES && g_host_small != nullptr) {
    CNN4J_CUDA_TRY(what, cudaMemcpyAsync(g_host_small, src, static_cast<size_t>(bytes), cudaMemcpyDeviceToHost,
                                         g_stream));
    CNN4J_CUDA_TRY(what, cudaStreamSynchronize(g_stream));
    std::memcpy(dst, g_host_small, static_cast<size_t>(bytes));
    return CNN4J_OK;
  }
  CNN4J_CUDA_TRY(what, cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), cudaMemcpyDeviceToHost, g_stream));
  CNN4J_CUDA_TRY(what, cudaStreamSynchronize(g_stream));
  return CNN4J_OK;
}

}  // namespace cnn4j_cuda

using namespace cnn4j_cuda;

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
  int current = -1;
  static int streams_device = -1;
  cudaGetDevice(&current);
  if (streams_device != current) {
    // Streams belong to a device: new ones for a newly selected device (the old ones are
    // left to the driver, as switching devices is rare).
    CNN4J_CUDA_TRY("cudaStreamCreate", cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking));
    CNN4J_CUDA_TRY("cudaStreamCreate (copies)", cudaStreamCreateWithFlags(&g_copy_stream, cudaStreamNonBlocking));
    // Freed device memory stays in the pool for the next allocation (a caching allocator):
    // a training step that frees and allocates the same sizes costs no driver call.
    cudaMemPool_t pool;
    CNN4J_CUDA_TRY("cudaDeviceGetDefaultMemPool", cudaDeviceGetDefaultMemPool(&pool, current));
    uint64_t keep = UINT64_MAX;
    CNN4J_CUDA_TRY("cudaMemPoolSetAttribute", cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep));
    streams_device = current;
  }
  g_device = current;
  int *p = nullptr;
  CNN4J_CUDA_TRY("cudaMalloc(probe)", cudaMalloc(&p, sizeof(int)));
  CNN4J_LAUNCH(probe_kernel, 1, 1, 0, g_stream)(p);
  int v = 0;
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) e = cudaMemcpyAsync(&v, p, sizeof v, cudaMemcpyDeviceToHost, g_stream);
  if (e == cudaSuccess) e = cudaStreamSynchronize(g_stream);
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

CNN4J_CUDA_TWIN(alloc)
int32_t cnn4j::cuda::alloc(cnn4j_context *, int64_t bytes, void **out) {
  if (out == nullptr || bytes < 0) return CNN4J_INVALID_ARGUMENT;
  *out = nullptr;
  if (int32_t st = refuse_while_recording("cnn4j_alloc"); st != CNN4J_OK) return st;
  cudaError_t e = cudaMallocAsync(out, bytes == 0 ? 256 : static_cast<size_t>(bytes), stream());
  if (e == cudaErrorMemoryAllocation) {
    fail("cudaMallocAsync", e);
    return CNN4J_OUT_OF_MEMORY;
  }
  if (e != cudaSuccess) return fail("cudaMallocAsync", e);
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(free)
int32_t cnn4j::cuda::free(cnn4j_context *, void *p) {
  if (p == nullptr) return CNN4J_OK;
  if (int32_t st = refuse_while_recording("cnn4j_free"); st != CNN4J_OK) return st;
  CNN4J_CUDA_TRY("cudaFreeAsync", cudaFreeAsync(p, stream()));
  return CNN4J_OK;
}

int32_t cnn4j_cuda_stream(void **out) {
  if (out == nullptr) return fail_msg(CNN4J_INVALID_ARGUMENT, "cnn4j_cuda_stream: a null result pointer");
  if (g_stream == nullptr) {
    *out = nullptr;
    return fail_msg(CNN4J_INVALID_ARGUMENT, "cnn4j_cuda_stream: no device chosen yet (cnn4j_cuda_set_device)");
  }
  *out = stream();
  return CNN4J_OK;
}

int32_t cnn4j_cuda_release_cached(void) {
  ensure_device();
  int d = 0;
  CNN4J_CUDA_TRY("cudaGetDevice", cudaGetDevice(&d));
  CNN4J_CUDA_TRY("cudaDeviceSynchronize", cudaDeviceSynchronize());
  cudaMemPool_t pool;
  CNN4J_CUDA_TRY("cudaDeviceGetDefaultMemPool", cudaDeviceGetDefaultMemPool(&pool, d));
  CNN4J_CUDA_TRY("cudaMemPoolTrimTo", cudaMemPoolTrimTo(pool, 0));
  CNN4J_CUDA_TRY("cudaDeviceGraphMemTrim", cudaDeviceGraphMemTrim(d));  // the graphs' own temporaries
  std::lock_guard<std::mutex> lk(g_small_mu);
  if (g_host_small != nullptr) {
    CNN4J_CUDA_TRY("cudaFreeHost", cudaFreeHost(g_host_small));
    g_host_small = nullptr;
  }
  return CNN4J_OK;
}

int32_t cnn4j_cuda_pool_stats(int64_t *reserved, int64_t *used) {
  if (reserved == nullptr || used == nullptr) return CNN4J_INVALID_ARGUMENT;
  ensure_device();
  int d = 0;
  CNN4J_CUDA_TRY("cudaGetDevice", cudaGetDevice(&d));
  cudaMemPool_t pool;
  CNN4J_CUDA_TRY("cudaDeviceGetDefaultMemPool", cudaDeviceGetDefaultMemPool(&pool, d));
  uint64_t r = 0, u = 0;
  CNN4J_CUDA_TRY("cudaMemPoolGetAttribute", cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemCurrent, &r));
  CNN4J_CUDA_TRY("cudaMemPoolGetAttribute", cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &u));
  *reserved = static_cast<int64_t>(r);
  *used = static_cast<int64_t>(u);
  return CNN4J_OK;
}

int32_t cnn4j_cuda_set_precision(int32_t precision) {
  if (precision != CNN4J_CUDA_FP32 && precision != CNN4J_CUDA_TF32) return CNN4J_INVALID_ARGUMENT;
  g_precision = precision;
  return CNN4J_OK;
}

int32_t cnn4j_cuda_get_precision(void) { return g_precision; }

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

CNN4J_CUDA_TWIN(copy)
int32_t cnn4j::cuda::copy(cnn4j_context *, void *dst, const void *src, int64_t bytes, int32_t kind) {
  if (bytes < 0 || kind < 0 || kind > 2 || (bytes > 0 && (dst == nullptr || src == nullptr))) {
    return CNN4J_INVALID_ARGUMENT;
  }
  if (bytes == 0) return CNN4J_OK;
  const cudaMemcpyKind kinds[3] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice};
  // Ordered after every op queued before it; the host waits only for copies that touch host memory.
  CNN4J_CUDA_TRY("cudaMemcpy", cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), kinds[kind], g_stream));
  if (kind != 2) CNN4J_CUDA_TRY("cudaMemcpy (waiting for the copy)", cudaStreamSynchronize(g_stream));
  return CNN4J_OK;
}

int32_t cnn4j_cuda_memcpy_async_h2d(void *dst, const void *src, int64_t bytes) {
  if (bytes < 0 || (bytes > 0 && (dst == nullptr || src == nullptr))) return CNN4J_INVALID_ARGUMENT;
  if (bytes == 0) return CNN4J_OK;
  CNN4J_CUDA_TRY("cudaMemcpyAsync", cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), cudaMemcpyHostToDevice, g_stream));
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(synchronize)
int32_t cnn4j::cuda::synchronize(cnn4j_context *) {
  CNN4J_CUDA_TRY("cudaDeviceSynchronize (a queued kernel failed)", cudaDeviceSynchronize());
  return CNN4J_OK;
}

// ---- Uploaders, deferred reads, graphs ------------------------------------------------------

namespace {

// A ring of page-locked host buffers and device staging buffers. put() copies the caller's
// data into a page-locked slot, queues its copy to the device slot on the copy stream (which
// runs beside the compute stream), and queues on the compute stream a wait for it followed by
// a device-to-device copy into the destination. The copy stream never writes a device slot
// that the compute stream has not finished reading.
struct Uploader {
  static constexpr int SLOTS = 2;
  i64 capacity = 0;
  int next = 0;
  void *host[SLOTS] = {};
  void *dev[SLOTS] = {};
  cudaEvent_t uploaded[SLOTS] = {};
  cudaEvent_t consumed[SLOTS] = {};
  bool used[SLOTS] = {};
};

void destroy_uploader(Uploader *u) {
  ensure_device();
  cudaStreamSynchronize(g_copy_stream);
  cudaStreamSynchronize(g_stream);
  for (int s = 0; s < Uploader::SLOTS; s++) {
    if (u->host[s]) cudaFreeHost(u->host[s]);
    if (u->dev[s]) cudaFree(u->dev[s]);
    if (u->uploaded[s]) cudaEventDestroy(u->uploaded[s]);
    if (u->consumed[s]) cudaEventDestroy(u->consumed[s]);
  }
  delete u;
  (void)cudaGetLastError();  // failures here are not the next kernel's
}

struct Fetch {
  i64 capacity = 0;
  void *host = nullptr;
  cudaEvent_t done = nullptr;
  bool started = false;
};

void destroy_fetch(Fetch *f) {
  if (f->done) {
    cudaEventSynchronize(f->done);
    cudaEventDestroy(f->done);
  }
  if (f->host) cudaFreeHost(f->host);
  delete f;
  (void)cudaGetLastError();
}

}  // namespace

int32_t cnn4j_cuda_uploader_create(int64_t bytes, void **out) {
  if (out == nullptr || bytes < 0) return CNN4J_INVALID_ARGUMENT;
  *out = nullptr;
  Uploader *u = new (std::nothrow) Uploader();
  if (u == nullptr) return CNN4J_OUT_OF_MEMORY;
  u->capacity = bytes;
  size_t b = static_cast<size_t>(bytes < 64 ? 64 : bytes);
  for (int s = 0; s < Uploader::SLOTS; s++) {
    cudaError_t e = cudaMallocHost(&u->host[s], b);
    if (e == cudaSuccess) e = cudaMalloc(&u->dev[s], b);
    if (e == cudaSuccess) e = cudaEventCreateWithFlags(&u->uploaded[s], cudaEventDisableTiming);
    if (e == cudaSuccess) e = cudaEventCreateWithFlags(&u->consumed[s], cudaEventDisableTiming);
    if (e != cudaSuccess) {
      destroy_uploader(u);
      return fail("uploader_create", e);
    }
  }
  *out = u;
  return CNN4J_OK;
}

int32_t cnn4j_cuda_uploader_reserve(void *uploader) {
  Uploader *u = static_cast<Uploader *>(uploader);
  if (u == nullptr) return CNN4J_INVALID_ARGUMENT;
  if (u->used[u->next]) CNN4J_CUDA_TRY("uploader (waiting for a slot)", cudaEventSynchronize(u->uploaded[u->next]));
  return CNN4J_OK;
}

int32_t cnn4j_cuda_uploader_put(void *uploader, void *dst, const void *src, int64_t bytes) {
  Uploader *u = static_cast<Uploader *>(uploader);
  if (u == nullptr || bytes < 0 || bytes > u->capacity || (bytes > 0 && (dst == nullptr || src == nullptr))) {
    return CNN4J_INVALID_ARGUMENT;
  }
  if (bytes == 0) return CNN4J_OK;
  const int s = u->next;
  u->next = (s + 1) % Uploader::SLOTS;
  size_t b = static_cast<size_t>(bytes);
  // The page-locked slot is free once its previous copy to the device is done.
  if (u->used[s]) CNN4J_CUDA_TRY("uploader (waiting for a slot)", cudaEventSynchronize(u->uploaded[s]));
  std::memcpy(u->host[s], src, b);
  // The device slot is free once the compute stream has read it.
  if (u->used[s]) CNN4J_CUDA_TRY("uploader", cudaStreamWaitEvent(g_copy_stream, u->consumed[s], 0));
  CNN4J_CUDA_TRY("uploader (host to device)",
                 cudaMemcpyAsync(u->dev[s], u->host[s], b, cudaMemcpyHostToDevice, g_copy_stream));
  CNN4J_CUDA_TRY("uploader", cudaEventRecord(u->uploaded[s], g_copy_stream));
  u->used[s] = true;  // from here on the slot is in flight, whatever fails below
  CNN4J_CUDA_TRY("uploader", cudaStreamWaitEvent(stream(), u->uploaded[s], 0));
  CNN4J_CUDA_TRY("uploader (device copy)", cudaMemcpyAsync(dst, u->dev[s], b, cudaMemcpyDeviceToDevice, g_stream));
  CNN4J_CUDA_TRY("uploader", cudaEventRecord(u->consumed[s], g_stream));
  return CNN4J_OK;
}

int32_t cnn4j_cuda_uploader_destroy(void *uploader) {
  if (uploader != nullptr) destroy_uploader(static_cast<Uploader *>(uploader));
  return CNN4J_OK;
}

int32_t cnn4j_cuda_fetch_create(int64_t bytes, void **out) {
  if (out == nullptr || bytes < 0) return CNN4J_INVALID_ARGUMENT;
  *out = nullptr;
  Fetch *f = new (std::nothrow) Fetch();
  if (f == nullptr) return CNN4J_OUT_OF_MEMORY;
  f->capacity = bytes;
  cudaError_t e = cudaMallocHost(&f->host, static_cast<size_t>(bytes < 64 ? 64 : bytes));
  if (e == cudaSuccess) e = cudaEventCreateWithFlags(&f->done, cudaEventDisableTiming);
  if (e != cudaSuccess) {
    destroy_fetch(f);
    return fail("fetch_create", e);
  }
  *out = f;
  return CNN4J_OK;
}

int32_t cnn4j_cuda_fetch_start(void *fetch, const void *src, int64_t bytes) {
  Fetch *f = static_cast<Fetch *>(fetch);
  if (f == nullptr || bytes < 0 || bytes > f->capacity || (bytes > 0 && src == nullptr)) return CNN4J_INVALID_ARGUMENT;
  if (f->started) CNN4J_CUDA_TRY("fetch (previous read)", cudaEventSynchronize(f->done));
  if (bytes > 0) {
    CNN4J_CUDA_TRY("fetch (device to host)",
                   cudaMemcpyAsync(f->host, src, static_cast<size_t>(bytes), cudaMemcpyDeviceToHost, g_stream));
  }
  CNN4J_CUDA_TRY("fetch", cudaEventRecord(f->done, g_stream));
  f->started = true;
  return CNN4J_OK;
}

int32_t cnn4j_cuda_fetch_wait(void *fetch) {
  Fetch *f = static_cast<Fetch *>(fetch);
  if (f == nullptr) return CNN4J_INVALID_ARGUMENT;
  if (!f->started) return fail_msg(CNN4J_INVALID_ARGUMENT, "fetch_wait without fetch_start");
  CNN4J_CUDA_TRY("fetch (waiting for the device; a queued kernel failed)", cudaEventSynchronize(f->done));
  f->started = false;
  return CNN4J_OK;
}

int32_t cnn4j_cuda_fetch_read(void *fetch, void *dst, int64_t bytes) {
  Fetch *f = static_cast<Fetch *>(fetch);
  if (f == nullptr || bytes < 0 || bytes > f->capacity || (bytes > 0 && dst == nullptr)) return CNN4J_INVALID_ARGUMENT;
  if (f->started) return fail_msg(CNN4J_INVALID_ARGUMENT, "fetch_read before fetch_wait");
  std::memcpy(dst, f->host, static_cast<size_t>(bytes));
  return CNN4J_OK;
}

int32_t cnn4j_cuda_fetch_destroy(void *fetch) {
  if (fetch != nullptr) destroy_fetch(static_cast<Fetch *>(fetch));
  return CNN4J_OK;
}

int32_t cnn4j_cuda_graph_begin(void) {
  if (g_stream == nullptr) return fail_msg(CNN4J_INVALID_ARGUMENT, "graph_begin before cnn4j_cuda_set_device");
  CNN4J_CUDA_TRY("cudaStreamBeginCapture",
                 cudaStreamBeginCapture(g_stream, cudaStreamCaptureModeThreadLocal));
  return CNN4J_OK;
}

int32_t cnn4j_cuda_graph_end(void **exec) {
  if (exec == nullptr) return CNN4J_INVALID_ARGUMENT;
  *exec = nullptr;
  cudaGraph_t graph = nullptr;
  cudaError_t e = cudaStreamEndCapture(g_stream, &graph);
  if (e != cudaSuccess) {
    if (graph != nullptr) cudaGraphDestroy(graph);
    cudaGetLastError();  // a failed capture leaves a sticky launch error behind: clear it
    return fail("cudaStreamEndCapture (an op of the step cannot be captured)", e);
  }
  cudaGraphExec_t ge = nullptr;
  e = cudaGraphInstantiate(&ge, graph, 0);
  cudaGraphDestroy(graph);
  if (e != cudaSuccess) return fail("cudaGraphInstantiate", e);
  *exec = ge;
  return CNN4J_OK;
}

int32_t cnn4j_cuda_graph_launch(void *exec) {
  if (exec == nullptr) return CNN4J_INVALID_ARGUMENT;
  CNN4J_CUDA_TRY("cudaGraphLaunch", cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec), g_stream));
  return CNN4J_OK;
}

int32_t cnn4j_cuda_graph_destroy(void *exec) {
  if (exec != nullptr) {
    if (cudaStreamSynchronize(stream()) != cudaSuccess) (void)cudaGetLastError();
    CNN4J_CUDA_TRY("cudaGraphExecDestroy", cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec)));
  }
  return CNN4J_OK;
}

int32_t cnn4j_cuda_is_simulated(void) {
#ifdef CNN4J_CUDA_SIM
  return 1;
#else
  return 0;
#endif
}

int32_t cnn4j_cuda_sim_configure(int64_t seed, int32_t workers) {
#ifdef CNN4J_CUDA_SIM
  if (workers < 0) return CNN4J_INVALID_ARGUMENT;
  cnn4j_sim::configure(static_cast<uint64_t>(seed), workers);
  return CNN4J_OK;
#else
  (void)seed;
  (void)workers;
  return fail_msg(CNN4J_UNSUPPORTED, "the CUDA device is not simulated");
#endif
}

int32_t cnn4j_cuda_sim_stats(int64_t *out) {
  if (out == nullptr) return CNN4J_INVALID_ARGUMENT;
#ifdef CNN4J_CUDA_SIM
  cnn4j_sim::live_allocations(&out[0], &out[1]);
  cnn4j_sim::counters(&out[2], &out[3], &out[4]);
  return CNN4J_OK;
#else
  return fail_msg(CNN4J_UNSUPPORTED, "the CUDA device is not simulated");
#endif
}
