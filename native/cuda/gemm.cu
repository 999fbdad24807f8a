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

// ---- dense ----
template <class T>
struct MatA {
  const T *a;
  int M, K;
  bool t;
  __device__ T operator()(int m, int k, int) const { return t ? a[(size_t)k * M + m] : a[(size_t)m * K + k]; }
};
template <class T>
struct MatB {
  const T *b;
  int K, N;
  bool t;
  __device__ T operator()(int k, int n, int) const { return t ? b[(size_t)n * K + k] : b[(size_t)k * N + n]; }
};
template <class T>
struct MatStore {
  T *c;
  int N;
  bool acc;
  __device__ void operator()(int m, int n, int, T v) const {
    size_t i = (size_t)m * N + n;
    c[i] = acc ? c[i] + v : v;
  }
};

// ---- convolution geometry ----
struct Geo {
  int n, c, h, w, k, kh, kw, sh, sw, pt, pl, dh, dw, groups, oh, ow;
  __host__ __device__ int cg() const { return c / groups; }
  __host__ __device__ int kg() const { return k / groups; }
  __host__ __device__ int ckk() const { return cg() * kh * kw; }
};

// forward: A = W_g [kg, ckk], B = im2col(x_g) [ckk, n*oh*ow] (implicit), y[n, g*kg+m, oy, ox]
template <class T>
struct FwdA {
  const T *wt;
  Geo g;
  __device__ T operator()(int m, int kk, int z) const { return wt[(size_t)(z * g.kg() + m) * g.ckk() + kk]; }
};
template <class T>
struct FwdB {
  const T *x;
  Geo g;
  __device__ T operator()(int kk, int col, int z) const {
    int khw = g.kh * g.kw;
    int c = kk / khw, r = kk % khw, a = r / g.kw, b = r % g.kw;
    int ohw = g.oh * g.ow;
    int img = col / ohw, p = col % ohw, oy = p / g.ow, ox = p % g.ow;
    int iy = oy * g.sh - g.pt + a * g.dh, ix = ox * g.sw - g.pl + b * g.dw;
    if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) return T(0);
    return x[(((size_t)img * g.c + z * g.cg() + c) * g.h + iy) * g.w + ix];
  }
};
template <class T>
struct FwdStore {
  T *y;
  const T *bias;
  Geo g;
  __device__ void operator()(int m, int col, int z, T v) const {
    int ohw = g.oh * g.ow;
    int img = col / ohw, p = col % ohw;
    int ch = z * g.kg() + m;
    y[((size_t)img * g.k + ch) * ohw + p] = v + (bias ? bias[ch] : T(0));
  }
};

// backward-data: dx[n, g*cg + m, iy, ix] = sum over (k, a, b) W[g*kg+k, m, a, b] * dy[n, g*kg+k, oy, ox]
template <class T>
struct BwdDataA {
  const T *wt;
  Geo g;
  __device__ T operator()(int m, int kk, int z) const {
    int khw = g.kh * g.kw;
    int k = kk / khw, r = kk % khw;
    return wt[((size_t)(z * g.kg() + k) * g.cg() + m) * khw + r];
  }
};
template <class T>
struct BwdDataB {
  const T *dy;
  Geo g;
  __device__ T operator()(int kk, int col, int z) const {
    int khw = g.kh * g.kw;
    int k = kk / khw, r = kk % khw, a = r / g.kw, b = r % g.kw;
    int hw = g.h * g.w;
    int img = col / hw, p = col % hw, iy = p / g.w, ix = p % g.w;
    int ty = iy + g.pt - a * g.dh, tx = ix + g.pl - b * g.dw;
    if (ty < 0 || tx < 0 || ty % g.sh != 0 || tx % g.sw != 0) return T(0);
    int oy = ty / g.sh, ox = tx / g.sw;
    if (oy >= g.oh || ox >= g.ow) return T(0);
    return dy[(((size_t)img * g.k + z * g.kg() + k) * g.oh + oy) * g.ow + ox];
  }
};
template <class T>
struct BwdDataStore {
  T *dx;
  Geo g;
  __device__ void operator()(int m, int col, int z, T v) const {
    int hw = g.h * g.w;
    int img = col / hw, p = col % hw;
    dx[((size_t)img * g.c + z * g.cg() + m) * hw + p] = v;
  }
};

// backward-filter: dW[g*kg + m, kk] += sum over pixels dy[n, g*kg+m, oy, ox] * x-patch(kk, pixel)
template <class T>
struct BwdFilterA {
  const T *dy;
  Geo g;
  int splits;
  __device__ T operator()(int m, int col, int z) const {
    int grp = z / splits;
    int ohw = g.oh * g.ow;
    int img = col / ohw, p = col % ohw;
    return dy[((size_t)img * g.k + grp * g.kg() + m) * ohw + p];
  }
};
template <class T>
struct BwdFilterB {
  FwdB<T> patch;
  int splits;
  __device__ T operator()(int col, int kk, int z) const { return patch(kk, col, z / splits); }
};
// With one split, adds into dW; with several, writes split z's partial sums to
// part[z][m][kk] for split_sum_kernel.
template <class T>
struct BwdFilterStore {
  T *dw;
  T *part;
  Geo g;
  int splits;
  __device__ void operator()(int m, int kk, int z, T v) const {
    if (part != nullptr) {
      part[((size_t)z * g.kg() + m) * g.ckk() + kk] = v;
    } else {
      dw[(size_t)(z * g.kg() + m) * g.ckk() + kk] += v;
    }
  }
};

// dW[grp*kg + m][kk] += sum over s in order of part[grp*splits + s][m][kk].
template <class T>
__global__ void split_sum_kernel(const T *part, T *dw, int groups, int splits, int per_group) {
  int n = groups * per_group;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    int grp = i / per_group, r = i % per_group;
    T s = T(0);
    for (int k = 0; k < splits; k++) s += part[((size_t)grp * splits + k) * per_group + r];
    dw[i] += s;
  }
}

template <class T>
__global__ void bias_grad_kernel(const T *dy, T *db, int n, int k, int ohw) {
  int ch = blockIdx.x;
  T s = T(0);
  for (int i = threadIdx.x; i < n * ohw; i += blockDim.x) {
    int img = i / ohw, p = i % ohw;
    s += dy[((size_t)img * k + ch) * ohw + p];
  }
  CNN4J_SHARED(T, red, [256]);
  red[threadIdx.x] = s;
  __syncthreads();
  for (int o = blockDim.x / 2; o > 0; o >>= 1) {
    if (threadIdx.x < o) red[threadIdx.x] += red[threadIdx.x + o];
    __syncthreads();
  }
  if (threadIdx.x == 0) db[ch] += red[0];
}

int32_t check_geo(i64 n, i64 c, i64 h, i64 w, i64 k, i64 kh, i64 kw, i64 sh, i64 sw, i64 pt, i64 pl, i64 dh, i64 dw,
                  i64 groups, i64 oh, i64 ow, Geo *g) {
  for (i64 v : {n, c, h, w, k, oh, ow, pt, pl}) {
    if (v < 0) return CNN4J_INVALID_ARGUMENT;
  }
  if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1 || groups < 1 || c % groups || k % groups) {
    return CNN4J_INVALID_ARGUMENT;
  }
  if (!fits32(n * c * h * w) || !fits32(n * k * oh * ow) || !fits32(k * c * kh * kw)) {
    return fail_msg(CNN4J_UNSUPPORTED, "convolution too large for 32-bit indexing");
  }
  *g = Geo{int(n), int(c), int(h), int(w), int(k), int(kh), int(kw), int(sh), int(sw), int(pt), int(pl), int(dh),
           int(dw), int(groups), int(oh), int(ow)};
  return CNN4J_OK;
}

}  // namespace
}  // namespace cnn4j_cuda

using namespace cnn4j_cuda;

#define CNN4J_CUDA_GEO                                                                             \
  Geo g{};                                                                                         \
  if (int32_t st = check_geo(n, c, h, w, k, kh, kw, sh, sw, pt, pl, dh, dw, groups, oh, ow, &g);   \
      st != CNN4J_OK)                                                                              \
    return st;

extern "C" {

int32_t cnn4j_cuda_matmul(int32_t dtype, int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k,
                          const void *a, const void *b, void *c, int32_t accumulate) {
  if (!fits32(m) || !fits32(n) || !fits32(k) || !a || !b || !c) return CNN4J_INVALID_ARGUMENT;
  int M = int(m), N = int(n), K = int(k);
  CNN4J_DISPATCH_FLOAT(dtype, return run_gemm<T>("matmul", M, N, K, 1, 1, 0,
                                                MatA<T>{static_cast<const T *>(a), M, K, trans_a != 0},
                                                MatB<T>{static_cast<const T *>(b), K, N, trans_b != 0},
                                                MatStore<T>{static_cast<T *>(c), N, accumulate != 0}));
}

int32_t cnn4j_cuda_conv2d_forward(int32_t dtype, const void *x, const void *weight, const void *bias, void *y,
                                  int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t kh, int64_t kw,
                                  int64_t sh, int64_t sw, int64_t pt, int64_t pl, int64_t dh, int64_t dw,
                                  int64_t groups, int64_t oh, int64_t ow) {
  CNN4J_CUDA_GEO
  if (!x || !weight || !y) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, return run_gemm<T>("conv2d_forward", g.kg(), g.n * g.oh * g.ow, g.ckk(), g.groups, 1, 0,
                                                FwdA<T>{static_cast<const T *>(weight), g},
                                                FwdB<T>{static_cast<const T *>(x), g},
                                                FwdStore<T>{static_cast<T *>(y), static_cast<const T *>(bias), g}));
}

int32_t cnn4j_cuda_conv2d_backward_data(int32_t dtype, const void *dy, const void *weight, void *dx, int64_t n,
                                        int64_t c, int64_t h, int64_t w, int64_t k, int64_t kh, int64_t kw, int64_t sh,
                                        int64_t sw, int64_t pt, int64_t pl, int64_t dh, int64_t dw, int64_t groups,
                                        int64_t oh, int64_t ow) {
  CNN4J_CUDA_GEO
  if (!dy || !weight || !dx) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, return run_gemm<T>("conv2d_backward_data", g.cg(), g.n * g.h * g.w,
                                                g.kg() * g.kh * g.kw, g.groups, 1, 0,
                                                BwdDataA<T>{static_cast<const T *>(weight), g},
                                                BwdDataB<T>{static_cast<const T *>(dy), g},
                                                BwdDataStore<T>{static_cast<T *>(dx), g}));
}

int32_t cnn4j_cuda_conv2d_backward_filter(int32_t dtype, const void *x, const void *dy, void *dweight, void *dbias,
                                          int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t kh,
                                          int64_t kw, int64_t sh, int64_t sw, int64_t pt, int64_t pl, int64_t dh,
                                          int64_t dw, int64_t groups, int64_t oh, int64_t ow) {
  CNN4J_CUDA_GEO
  if (!x || !dy || !dweight) return CNN4J_INVALID_ARGUMENT;
  if (g.k == 0) return CNN4J_OK;
  const int K = g.n * g.oh * g.ow;
  const int tiles = ((g.kg() + BM - 1) / BM) * ((g.ckk() + BN - 1) / BN) * g.groups;
  // Split the long pixel axis so that there are at least two blocks per SM.
  const int want = 2 * sm_count();
  int splits = 1;
  while (tiles * splits < want && K / (splits * 2) >= 4 * BK) splits *= 2;
  const int per = ((K + splits - 1) / splits + BK - 1) / BK * BK;
  splits = (K + per - 1) / per;  // rounding `per` up can leave the last splits empty: drop them
  int32_t st = CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, {
    FwdB<T> patch{static_cast<const T *>(x), g};
    const int per_group = g.kg() * g.ckk();
    void *part = nullptr;
    if (splits > 1) st = temp_alloc(i64(g.groups) * splits * per_group * sizeof(T), &part);
    if (st == CNN4J_OK) {
      st = run_gemm<T>("conv2d_backward_filter", g.kg(), g.ckk(), K, g.groups, splits, per,
                       BwdFilterA<T>{static_cast<const T *>(dy), g, splits}, BwdFilterB<T>{patch, splits},
                       BwdFilterStore<T>{static_cast<T *>(dweight), static_cast<T *>(part), g, splits});
    }
    if (st == CNN4J_OK && part != nullptr) {
      CNN4J_LAUNCH(split_sum_kernel<T>, blocks_for(i64(g.groups) * per_group), 256, 0, stream())(
          static_cast<const T *>(part), static_cast<T *>(dweight), g.groups, splits, per_group);
      st = launched("conv2d_backward_filter (split sums)");
    }
    temp_free(part);
    if (st == CNN4J_OK && dbias != nullptr) {
      CNN4J_LAUNCH(bias_grad_kernel<T>, g.k, 256, 0, stream())(static_cast<const T *>(dy), static_cast<T *>(dbias), g.n, g.k,
                                         g.oh * g.ow);
      st = launched("conv2d_backward_filter bias_grad");
    }
  });
  return st;
}

}  // extern "C"
