// GEMM kernels for AVX-512 (compiled with -mavx512f -mavx512vl -mfma; used only when the
// CPU reports AVX-512F).
#include <immintrin.h>

#include "gemm.h"

namespace {
struct Avx512F32 {
  using T = float;
  using V = __m512;
  static constexpr int L = 16, MR = 8, NV = 2;
  static constexpr cnn4j::i64 KC = 192, MC = 128, NC = 512;
  static inline V zero() { return _mm512_setzero_ps(); }
  static inline V load(const T *p) { return _mm512_loadu_ps(p); }
  static inline void store(T *p, V v) { _mm512_storeu_ps(p, v); }
  static inline V bcast(T x) { return _mm512_set1_ps(x); }
  static inline V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static inline V add(V a, V b) { return _mm512_add_ps(a, b); }
  static inline T reduce(V v) { return _mm512_reduce_add_ps(v); }
  // Loads the first n < L elements (the rest zero); masked lanes never fault.
  static inline V load_part(const T *p, int n) { return _mm512_maskz_loadu_ps(__mmask16((1u << n) - 1), p); }
  static constexpr bool kPartial = true;
};
struct Avx512F64 {
  using T = double;
  using V = __m512d;
  static constexpr int L = 8, MR = 8, NV = 2;
  static constexpr cnn4j::i64 KC = 128, MC = 128, NC = 512;
  static inline V zero() { return _mm512_setzero_pd(); }
  static inline V load(const T *p) { return _mm512_loadu_pd(p); }
  static inline void store(T *p, V v) { _mm512_storeu_pd(p, v); }
  static inline V bcast(T x) { return _mm512_set1_pd(x); }
  static inline V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static inline V add(V a, V b) { return _mm512_add_pd(a, b); }
  static inline T reduce(V v) { return _mm512_reduce_add_pd(v); }
  static inline V load_part(const T *p, int n) { return _mm512_maskz_loadu_pd(__mmask8((1u << n) - 1), p); }
  static constexpr bool kPartial = true;
};
}  // namespace

#include "gemm_kernel.inc"
CNN4J_DEFINE_GEMM_ISA(avx512, Avx512F32, Avx512F64)
