// Runtime state (thread count, instruction set), host allocation, and the GEMM dispatcher.
#include <omp.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "chunks.h"
#include "common.h"
#include "gemm.h"

namespace cnn4j {
namespace {

int detect_isa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma")) {
    return CNN4J_ISA_AVX512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CNN4J_ISA_AVX2;
  return CNN4J_ISA_BASELINE;
}

// The two documented globals of the ABI.
std::atomic<int> g_threads{1};
std::atomic<int> g_isa{-1};
std::atomic<int> g_conv_algorithm{CNN4J_CONV_AUTO};

}  // namespace

int threads() { return g_threads.load(std::memory_order_relaxed); }

int threads_for(double work) {
  // Below ~256K operations a second thread costs more to wake than it saves.
  int t = threads();
  if (t <= 1 || work < 262144.0) return 1;
  return t;
}

int conv_algorithm() { return g_conv_algorithm.load(std::memory_order_relaxed); }

int isa() {
  int v = g_isa.load(std::memory_order_relaxed);
  if (v < 0) {
    v = detect_isa();
    g_isa.store(v, std::memory_order_relaxed);
  }
  return v;
}

template <>
i64 gemm_scratch_elems<float>() {
  switch (isa()) {
    case CNN4J_ISA_AVX512: return gemm_avx512_scratch_f32();
    case CNN4J_ISA_AVX2: return gemm_avx2_scratch_f32();
    default: return gemm_baseline_scratch_f32();
  }
}

template <>
i64 gemm_scratch_elems<double>() {
  switch (isa()) {
    case CNN4J_ISA_AVX512: return gemm_avx512_scratch_f64();
    case CNN4J_ISA_AVX2: return gemm_avx2_scratch_f64();
    default: return gemm_baseline_scratch_f64();
  }
}

template <>
void gemm_serial<float>(const GemmOperands<float> &g, float *s) {
  switch (isa()) {
    case CNN4J_ISA_AVX512: gemm_avx512_f32(g, s); break;
    case CNN4J_ISA_AVX2: gemm_avx2_f32(g, s); break;
    default: gemm_baseline_f32(g, s); break;
  }
}

template <>
void gemm_serial<double>(const GemmOperands<double> &g, double *s) {
  switch (isa()) {
    case CNN4J_ISA_AVX512: gemm_avx512_f64(g, s); break;
    case CNN4J_ISA_AVX2: gemm_avx2_f64(g, s); break;
    default: gemm_baseline_f64(g, s); break;
  }
}

void transpose_scatter(i64 m, i64 n, const float *src, i64 lds, float *dst, const i64 *dcol) {
  switch (isa()) {
    case CNN4J_ISA_AVX512: transpose_scatter_avx512(m, n, src, lds, dst, dcol); break;
    case CNN4J_ISA_AVX2: transpose_scatter_avx2(m, n, src, lds, dst, dcol); break;
    default: transpose_scatter_baseline(m, n, src, lds, dst, dcol); break;
  }
}

template <>
void dot_nt<float>(i64 m, i64 n, i64 k, const float *a, i64 lda, const float *const *b, float *c, i64 ldc) {
  switch (isa()) {
    case CNN4J_ISA_AVX512: dot_nt_avx512_f32(m, n, k, a, lda, b, c, ldc); break;
    case CNN4J_ISA_AVX2: dot_nt_avx2_f32(m, n, k, a, lda, b, c, ldc); break;
    default: dot_nt_baseline_f32(m, n, k, a, lda, b, c, ldc); break;
  }
}

template <>
void dot_nt<double>(i64 m, i64 n, i64 k, const double *a, i64 lda, const double *const *b, double *c, i64 ldc) {
  switch (isa()) {
    case CNN4J_ISA_AVX512: dot_nt_avx512_f64(m, n, k, a, lda, b, c, ldc); break;
    case CNN4J_ISA_AVX2: dot_nt_avx2_f64(m, n, k, a, lda, b, c, ldc); break;
    default: dot_nt_baseline_f64(m, n, k, a, lda, b, c, ldc); break;
  }
}

template <class T>
void gemm_parallel(const GemmOperands<T> &g, T *scratch, int nt) {
  if (nt <= 1 || (g.m < 32 && g.n < 64)) {
    gemm_serial(g, scratch);
    return;
  }
  const i64 per = gemm_scratch_elems<T>();
  // Row-pointer B operands are split by rows only (the pointers are shared).
  const bool split_rows = g.m >= g.n || g.brows != nullptr;
  if (split_rows && g.m < 32) {
    gemm_serial(g, scratch);
    return;
  }
  const i64 extent = split_rows ? g.m : g.n;
  const i64 quantum = split_rows ? 16 : 64;
  const i64 chunk = round_up(ceil_div(extent, nt), quantum);
  const int parts = static_cast<int>(ceil_div(extent, chunk));
#pragma omp parallel for num_threads(parts) schedule(static, 1)
  for (int t = 0; t < parts; t++) {
    GemmOperands<T> s = g;
    i64 lo = t * chunk, len = imin(chunk, extent - lo);
    if (split_rows) {
      s.m = len;
      s.a = g.a + lo * g.ars;
      s.c = g.c + lo * g.ldc;
    } else {
      s.n = len;
      s.b = g.b + lo * g.bcs;
      s.c = g.c + lo;
    }
    gemm_serial(s, scratch + t * per);
  }
}

template void gemm_parallel<float>(const GemmOperands<float> &, float *, int);
template void gemm_parallel<double>(const GemmOperands<double> &, double *, int);

}  // namespace cnn4j

using namespace cnn4j;

int32_t cnn4j_abi_version(void) { return 3; }

int32_t cnn4j_isa_supported(void) {
  static const int supported = detect_isa();
  return supported;
}

int32_t cnn4j_set_isa(int32_t v) {
  if (v < CNN4J_ISA_BASELINE || v > CNN4J_ISA_AVX512) return CNN4J_INVALID_ARGUMENT;
  if (v > cnn4j_isa_supported()) return CNN4J_UNSUPPORTED;
  g_isa.store(v, std::memory_order_relaxed);
  return CNN4J_OK;
}

int32_t cnn4j_get_isa(void) { return isa(); }

int32_t cnn4j_set_conv_algorithm(int32_t v) {
  if (v != CNN4J_CONV_AUTO && v != CNN4J_CONV_DIRECT && v != CNN4J_CONV_GEMM) return CNN4J_INVALID_ARGUMENT;
  g_conv_algorithm.store(v, std::memory_order_relaxed);
  return CNN4J_OK;
}

int32_t cnn4j_get_conv_algorithm(void) { return conv_algorithm(); }

int32_t cnn4j_set_threads(int32_t n) {
  if (n < 1 || n > 1024) return CNN4J_INVALID_ARGUMENT;
  g_threads.store(n, std::memory_order_relaxed);
  return CNN4J_OK;
}

int32_t cnn4j_get_threads(void) { return threads(); }

CNN4J_CUDA_TWIN(alloc)
int32_t cnn4j_alloc(cnn4j_context *ctx, int64_t bytes, void **out) {
  CNN4J_ROUTE(alloc, bytes, out)
  if (out == nullptr) return CNN4J_INVALID_ARGUMENT;
  *out = nullptr;
  if (bytes < 0) return CNN4J_INVALID_ARGUMENT;
  size_t size = static_cast<size_t>(round_up(bytes == 0 ? 64 : bytes, 64));
  void *p = std::aligned_alloc(64, size);
  if (p == nullptr) return CNN4J_OUT_OF_MEMORY;
  *out = p;
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(free)
int32_t cnn4j_free(cnn4j_context *ctx, void *p) {
  CNN4J_ROUTE(free, p)
  std::free(p);
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(copy)
int32_t cnn4j_copy(cnn4j_context *ctx, void *dst, const void *src, int64_t bytes, int32_t kind) {
  CNN4J_ROUTE(copy, dst, src, bytes, kind)
  if (bytes < 0 || kind < CNN4J_COPY_TO_DEVICE || kind > CNN4J_COPY_ON_DEVICE ||
      (bytes > 0 && (src == nullptr || dst == nullptr))) {
    return CNN4J_INVALID_ARGUMENT;
  }
  if (bytes == 0) return CNN4J_OK;
  // Large copies in one contiguous chunk per thread (a single stream does not fill the
  // memory bandwidth of two cores).
  chunks(bytes, double(bytes) / 4, [&](i64 lo, i64 hi) {
    std::memcpy(static_cast<char *>(dst) + lo, static_cast<const char *>(src) + lo, size_t(hi - lo));
  });
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(synchronize)
int32_t cnn4j_synchronize(cnn4j_context *ctx) {
  CNN4J_ROUTE(synchronize)
  return CNN4J_OK;  // CPU ops are done when they return
}
