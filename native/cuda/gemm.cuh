// The GEMM engine of the CUDA backend (internal; included by dense.cu and conv.cu).
// Shared-memory tiled GEMM kernels that read their operands through "loader" functors:
// plain matrices for the dense matmul, and the implicit im2col views of a convolution, so no
// patch matrix is ever written to memory. Convolution forward, backward-data (as a GEMM over
// input pixels) and backward-filter (split over the pixel axis into partial sums that a
// second kernel adds in a fixed order, so results do not depend on block scheduling) are the
// three loader/store combinations.
//
// Two kernels take the same loaders: gemm_kernel (FP32 or FP64 FMA, a 4x4 register tile per
// thread) and, for float32 under CNN4J_CUDA_TF32, gemm_tf32_kernel (tensor cores through
// mma.sync.m16n8k8 with TF32 inputs and FP32 accumulators).
#ifndef CNN4J_CUDA_GEMM_CUH
#define CNN4J_CUDA_GEMM_CUH

#include <type_traits>

#include "common.cuh"

namespace cnn4j_cuda {
namespace {

constexpr int BM = 64, BN = 64, BK = 16, TM = 4, TN = 4;
constexpr int THREADS = (BM / TM) * (BN / TN);  // 256

// C[m][n] = sum_k A(m, k) * B(k, n), handed to store(m, n, value); rows/cols outside skipped.
// blockIdx.z selects a (group, k-split) pair: loaders and store take it as `z`.
CNN4J_KERNEL_BOUNDS(gemm_kernel, THREADS);
template <class T, class LA, class LB, class ST>
__global__ void __launch_bounds__(THREADS) gemm_kernel(int M, int N, int K, int splits, int k_per_split, LA la, LB lb,
                                                       ST st) {
  CNN4J_SHARED(T, As, [BK][BM]);
  CNN4J_SHARED(T, Bs, [BK][BN]);
  const int z = blockIdx.z;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  // blockIdx.z = group * splits + split: this block sums depth [k_begin, k_end)
  const int k_begin = splits > 1 ? (z % splits) * k_per_split : 0;
  const int k_end = splits > 1 ? min(K, k_begin + k_per_split) : K;
  const int tid = threadIdx.x;
  const int tr = tid / (BN / TN), tc = tid % (BN / TN);
  T acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; i++)
#pragma unroll
    for (int j = 0; j < TN; j++) acc[i][j] = T(0);
  for (int k0 = k_begin; k0 < k_end; k0 += BK) {
    // 64x16 slices of A and 16x64 of B: 4 elements per thread each
#pragma unroll
    for (int r = 0; r < (BM * BK) / THREADS; r++) {
      int e = tid + r * THREADS;
      int mm = e / BK, kk = e % BK;
      int gm = m0 + mm, gk = k0 + kk;
      As[kk][mm] = (gm < M && gk < k_end) ? la(gm, gk, z) : T(0);
      int kb = e / BN, nn = e % BN;
      int gn = n0 + nn, gkb = k0 + kb;
      Bs[kb][nn] = (gn < N && gkb < k_end) ? lb(gkb, gn, z) : T(0);
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < BK; kk++) {
      T a[TM], b[TN];
#pragma unroll
      for (int i = 0; i < TM; i++) a[i] = As[kk][tr * TM + i];
#pragma unroll
      for (int j = 0; j < TN; j++) b[j] = Bs[kk][tc * TN + j];
#pragma unroll
      for (int i = 0; i < TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < TM; i++) {
    int gm = m0 + tr * TM + i;
    if (gm >= M) continue;
#pragma unroll
    for (int j = 0; j < TN; j++) {
      int gn = n0 + tc * TN + j;
      if (gn < N) st(gm, gn, z, acc[i][j]);
    }
  }
}

// ---- tensor cores (TF32) ----
// A 64x64 block tile, 16-deep slices in two shared-memory stages (the next slice is loaded
// into registers while the current one is multiplied), four warps each owning a 32x32 piece
// as 2x4 mma tiles of 16x8. Shared rows are padded by 8 floats so that the fragment reads of
// a warp hit 32 different banks.
constexpr int TC_THREADS = 128, TC_PAD = 8;
constexpr int TC_A_PER_THREAD = BM * BK / TC_THREADS, TC_B_PER_THREAD = BK * BN / TC_THREADS;  // 8 and 8

// The two inline-assembly sites of the kernels; the simulated device emulates each (sim.cpp).
__device__ __forceinline__ uint32_t to_tf32(float v) {
#ifdef CNN4J_CUDA_SIM
  return ::cnn4j_sim::cvt_rna_tf32(v);
#else
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(v));
  return r;
#endif
}

__device__ __forceinline__ void mma_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#ifdef CNN4J_CUDA_SIM
  ::cnn4j_sim::mma_m16n8k8_tf32(d, a, b);
#else
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

CNN4J_KERNEL_BOUNDS(gemm_tf32_kernel, TC_THREADS);
template <class LA, class LB, class ST>
__global__ void __launch_bounds__(TC_THREADS) gemm_tf32_kernel(int M, int N, int K, int splits, int k_per_split,
                                                                LA la, LB lb, ST st) {
  CNN4J_SHARED(uint32_t, As, [2][BK][BM + TC_PAD]);
  CNN4J_SHARED(uint32_t, Bs, [2][BK][BN + TC_PAD]);
  const int z = blockIdx.z;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  const int k_begin = splits > 1 ? (z % splits) * k_per_split : 0;
  const int k_end = splits > 1 ? min(K, k_begin + k_per_split) : K;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = warp >> 1, wn = warp & 1;  // the warp's 32x32 piece
  const int g = lane >> 2, t4 = lane & 3;   // mma fragment coordinates
  float acc[2][4][4];
#pragma unroll
  for (int i = 0; i < 2; i++)
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
      for (int q = 0; q < 4; q++) acc[i][j][q] = 0.f;
  float ra[TC_A_PER_THREAD], rb[TC_B_PER_THREAD];
  auto load = [&](int k0) {
#pragma unroll
    for (int r = 0; r < TC_A_PER_THREAD; r++) {
      int e = tid + r * TC_THREADS;
      int gm = m0 + e / BK, gk = k0 + e % BK;
      ra[r] = (gm < M && gk < k_end) ? la(gm, gk, z) : 0.f;
    }
#pragma unroll
    for (int r = 0; r < TC_B_PER_THREAD; r++) {
      int e = tid + r * TC_THREADS;
      int gk = k0 + e / BN, gn = n0 + e % BN;
      rb[r] = (gn < N && gk < k_end) ? lb(gk, gn, z) : 0.f;
    }
  };
  auto stash = [&](int stage) {
#pragma unroll
    for (int r = 0; r < TC_A_PER_THREAD; r++) {
      int e = tid + r * TC_THREADS;
      As[stage][e % BK][e / BK] = to_tf32(ra[r]);
    }
#pragma unroll
    for (int r = 0; r < TC_B_PER_THREAD; r++) {
      int e = tid + r * TC_THREADS;
      Bs[stage][e / BN][e % BN] = to_tf32(rb[r]);
    }
  };
  int stage = 0;
  if (k_begin < k_end) {
    load(k_begin);
    stash(0);
  }
  __syncthreads();
  for (int k0 = k_begin; k0 < k_end; k0 += BK) {
    const bool more = k0 + BK < k_end;
    if (more) load(k0 + BK);  // global reads in flight while the tensor cores work
#pragma unroll
    for (int ks = 0; ks < BK; ks += 8) {
      uint32_t a[2][4], b[4][2];
#pragma unroll
      for (int mi = 0; mi < 2; mi++) {
        int row = wm * 32 + mi * 16 + g;
        a[mi][0] = As[stage][ks + t4][row];
        a[mi][1] = As[stage][ks + t4][row + 8];
        a[mi][2] = As[stage][ks + t4 + 4][row];
        a[mi][3] = As[stage][ks + t4 + 4][row + 8];
      }
#pragma unroll
      for (int ni = 0; ni < 4; ni++) {
        int col = wn * 32 + ni * 8 + g;
        b[ni][0] = Bs[stage][ks + t4][col];
        b[ni][1] = Bs[stage][ks + t4 + 4][col];
      }
#pragma unroll
      for (int mi = 0; mi < 2; mi++)
#pragma unroll
        for (int ni = 0; ni < 4; ni++) mma_tf32(acc[mi][ni], a[mi], b[ni]);
    }
    if (more) stash(stage ^ 1);
    __syncthreads();
    stage ^= 1;
  }
#pragma unroll
  for (int mi = 0; mi < 2; mi++)
#pragma unroll
    for (int ni = 0; ni < 4; ni++)
#pragma unroll
      for (int q = 0; q < 4; q++) {
        int gm = m0 + wm * 32 + mi * 16 + g + (q >> 1) * 8;
        int gn = n0 + wn * 32 + ni * 8 + t4 * 2 + (q & 1);
        if (gm < M && gn < N) st(gm, gn, z, acc[mi][ni][q]);
      }
}

template <class T, class LA, class LB, class ST>
int32_t run_gemm(const char *name, int M, int N, int K, int groups, int splits, int k_per_split, LA la, LB lb, ST st) {
  if (M == 0 || N == 0 || groups == 0) return CNN4J_OK;
  dim3 grid((N + BN - 1) / BN, (M + BM - 1) / BM, groups * splits);
  if constexpr (std::is_same_v<T, float>) {
    if (precision() == CNN4J_CUDA_TF32) {
      CNN4J_LAUNCH(gemm_tf32_kernel, grid, TC_THREADS, 0, stream())(M, N, K, splits, k_per_split, la, lb, st);
      return launched(name);
    }
  }
  CNN4J_LAUNCH(gemm_kernel<T>, grid, THREADS, 0, stream())(M, N, K, splits, k_per_split, la, lb, st);
  return launched(name);
}

}  // namespace
}  // namespace cnn4j_cuda

#endif
