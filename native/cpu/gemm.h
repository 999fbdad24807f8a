// The serial GEMM core used by dense layers and convolutions (internal).
#ifndef CNN4J_CPU_GEMM_H
#define CNN4J_CPU_GEMM_H

#include "common.h"

namespace cnn4j {

// Strided views: element (i, p) of A is a[i*ars + p*acs]; element (p, j) of B is
// b[p*brs + j*bcs]; C is row-major with leading dimension ldc.
template <class T>
struct GemmOperands {
  i64 m, n, k;
  const T *a;
  i64 ars, acs;
  const T *b;
  i64 brs, bcs;
  T *c;
  i64 ldc;
  bool accumulate;  // C += A*B; otherwise C = A*B
  // Optional: B's rows given by pointers (row p starts at brows[p]; bcs must be 1), for
  // convolutions whose B rows are shifted views of the input ("implicit im2col").
  const T *const *brows = nullptr;
};

// Elements of packing scratch one serial GEMM call needs (for the current ISA).
template <class T>
i64 gemm_scratch_elems();

// Serial C (+)= A*B with the kernels of the current ISA; scratch holds gemm_scratch_elems<T>().
template <class T>
void gemm_serial(const GemmOperands<T> &g, T *scratch);

// The same split across `threads` threads (rows or columns, whichever is larger);
// scratch holds threads * gemm_scratch_elems<T>().
template <class T>
void gemm_parallel(const GemmOperands<T> &g, T *scratch, int threads);

// Serial C[i][j] += sum_p a[i*lda + p] * b[j][p] (m x n dot products of length k).
template <class T>
void dot_nt(i64 m, i64 n, i64 k, const T *a, i64 lda, const T *const *b, T *c, i64 ldc);

// dst[dcol[j] + i] = src[i * lds + j] for i < m, j < n: the m x n matrix at src (rows lds
// apart) transposed, its column j stored as m contiguous floats at dst + dcol[j].
void transpose_scatter(i64 m, i64 n, const float *src, i64 lds, float *dst, const i64 *dcol);

// Per-ISA entry points (gemm_<isa>.cpp), each compiled for its instruction set.
#define CNN4J_DECLARE_GEMM_ISA(isa)                                            \
  void gemm_##isa##_f32(const GemmOperands<float> &g, float *scratch);        \
  void gemm_##isa##_f64(const GemmOperands<double> &g, double *scratch);      \
  i64 gemm_##isa##_scratch_f32();                                              \
  i64 gemm_##isa##_scratch_f64();                                              \
  void transpose_scatter_##isa(i64, i64, const float *, i64, float *, const i64 *); \
  void dot_nt_##isa##_f32(i64, i64, i64, const float *, i64, const float *const *, float *, i64); \
  void dot_nt_##isa##_f64(i64, i64, i64, const double *, i64, const double *const *, double *, i64);
CNN4J_DECLARE_GEMM_ISA(baseline)
CNN4J_DECLARE_GEMM_ISA(avx2)
CNN4J_DECLARE_GEMM_ISA(avx512)
#undef CNN4J_DECLARE_GEMM_ISA

}  // namespace cnn4j

#endif
