// GEMM kernels for any x86-64 (SSE2, no FMA): the fallback when AVX2 is missing.
#include <emmintrin.h>

#include "gemm.h"

namespace {
struct SseF32 {
  static constexpr bool kPartial = false;
  using T = float;
  using V = __m128;
  static constexpr int L = 4, MR = 4, NV = 2;
  static constexpr cnn4j::i64 KC = 256, MC = 128, NC = 512;
  static inline V zero() { return _mm_setzero_ps(); }
  static inline V load(const T *p) { return _mm_loadu_ps(p); }
  static inline void store(T *p, V v) { _mm_storeu_ps(p, v); }
  static inline V bcast(T x) { return _mm_set1_ps(x); }
  static inline V fma(V a, V b, V c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
  static inline V load_part(const T *, int) { return zero(); }  // unused (kPartial = false)
  static inline V add(V a, V b) { return _mm_add_ps(a, b); }
  static inline T reduce(V v) {
    __m128 s = _mm_add_ps(v, _mm_movehl_ps(v, v));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
};
struct SseF64 {
  static constexpr bool kPartial = false;
  using T = double;
  using V = __m128d;
  static constexpr int L = 2, MR = 4, NV = 2;
  static constexpr cnn4j::i64 KC = 256, MC = 128, NC = 512;
  static inline V zero() { return _mm_setzero_pd(); }
  static inline V load(const T *p) { return _mm_loadu_pd(p); }
  static inline void store(T *p, V v) { _mm_storeu_pd(p, v); }
  static inline V bcast(T x) { return _mm_set1_pd(x); }
  static inline V fma(V a, V b, V c) { return _mm_add_pd(_mm_mul_pd(a, b), c); }
  static inline V load_part(const T *, int) { return zero(); }  // unused (kPartial = false)
  static inline V add(V a, V b) { return _mm_add_pd(a, b); }
  static inline T reduce(V v) { return _mm_cvtsd_f64(_mm_add_sd(v, _mm_unpackhi_pd(v, v))); }
};
}  // namespace

#include "gemm_kernel.inc"
CNN4J_DEFINE_GEMM_ISA(baseline, SseF32, SseF64)
