// GEMM kernels for AVX2 + FMA (compiled with -mavx2 -mfma; used only when the CPU reports both).
#include <immintrin.h>

#include "gemm.h"

namespace {
struct Avx2F32 {
  using T = float;
  using V = __m256;
  static constexpr int L = 8, MR = 6, NV = 2;
  static constexpr cnn4j::i64 KC = 256, MC = 120, NC = 512;
  static inline V zero() { return _mm256_setzero_ps(); }
  static inline V load(const T *p) { return _mm256_loadu_ps(p); }
  static inline void store(T *p, V v) { _mm256_storeu_ps(p, v); }
  static inline V bcast(T x) { return _mm256_set1_ps(x); }
  static inline V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static inline V add(V a, V b) { return _mm256_add_ps(a, b); }
};
struct Avx2F64 {
  using T = double;
  using V = __m256d;
  static constexpr int L = 4, MR = 6, NV = 2;
  static constexpr cnn4j::i64 KC = 256, MC = 120, NC = 512;
  static inline V zero() { return _mm256_setzero_pd(); }
  static inline V load(const T *p) { return _mm256_loadu_pd(p); }
  static inline void store(T *p, V v) { _mm256_storeu_pd(p, v); }
  static inline V bcast(T x) { return _mm256_set1_pd(x); }
  static inline V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static inline V add(V a, V b) { return _mm256_add_pd(a, b); }
};
}  // namespace

#include "gemm_kernel.inc"
CNN4J_DEFINE_GEMM_ISA(avx2, Avx2F32, Avx2F64)
