// GEMM kernels for AVX2 + FMA (compiled with -mavx2 -mfma; used only when the CPU reports both).
#include <immintrin.h>

#include "gemm.h"

namespace {
struct Avx2F32 {
  static constexpr bool kPartial = false;
  using T = float;
  using V = __m256;
  static constexpr int L = 8, MR = 6, NV = 2;
  static constexpr cnn4j::i64 KC = 256, MC = 120, NC = 512;
  static inline V zero() { return _mm256_setzero_ps(); }
  static inline V load(const T *p) { return _mm256_loadu_ps(p); }
  static inline void store(T *p, V v) { _mm256_storeu_ps(p, v); }
  static inline V bcast(T x) { return _mm256_set1_ps(x); }
  static inline V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static inline V load_part(const T *, int) { return zero(); }  // unused (kPartial = false)
  static inline V add(V a, V b) { return _mm256_add_ps(a, b); }
  static inline T reduce(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
};
struct Avx2F64 {
  static constexpr bool kPartial = false;
  using T = double;
  using V = __m256d;
  static constexpr int L = 4, MR = 6, NV = 2;
  static constexpr cnn4j::i64 KC = 256, MC = 120, NC = 512;
  static inline V zero() { return _mm256_setzero_pd(); }
  static inline V load(const T *p) { return _mm256_loadu_pd(p); }
  static inline void store(T *p, V v) { _mm256_storeu_pd(p, v); }
  static inline V bcast(T x) { return _mm256_set1_pd(x); }
  static inline V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static inline V load_part(const T *, int) { return zero(); }  // unused (kPartial = false)
  static inline V add(V a, V b) { return _mm256_add_pd(a, b); }
  static inline T reduce(V v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
};
}  // namespace

#include "gemm_kernel.inc"
CNN4J_DEFINE_GEMM_ISA(avx2, Avx2F32, Avx2F64)
