// Convolutions, forward, backward-data and backward-filter: the CUDA twins of
// native/cpu/conv.cpp, on the GEMM engine of gemm.cuh with the implicit im2col views as its
// loaders (no patch matrix is written to memory).
#include "gemm.cuh"

namespace cnn4j_cuda {
namespace {

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

// The device's 32-bit copy of a geometry that its one validator (cnn4j/geometry.h) accepts;
// UNSUPPORTED when a tensor's elements do not fit 32-bit indexing.
int32_t narrow(const cnn4j_conv_geometry *geometry, Geo *g) {
  if (int32_t st = cnn4j_conv_geometry_check(geometry); st != CNN4J_OK) return st;
  const cnn4j_conv_geometry &q = *geometry;
  const cnn4j_window &v = q.win;
  if (!fits32(q.n * q.c * q.h * q.w) || !fits32(q.n * q.k * q.oh * q.ow) || !fits32(q.k * q.c * v.kh * v.kw)) {
    return fail_msg(CNN4J_UNSUPPORTED, "convolution too large for 32-bit indexing");
  }
  *g = Geo{int(q.n),  int(q.c),  int(q.h),  int(q.w),  int(q.k),  int(v.kh), int(v.kw),     int(v.sh),
           int(v.sw), int(v.pt), int(v.pl), int(v.dh), int(v.dw), int(q.groups), int(q.oh), int(q.ow)};
  return CNN4J_OK;
}

}  // namespace
}  // namespace cnn4j_cuda

using namespace cnn4j_cuda;

#define CNN4J_CUDA_GEO                                                       \
  Geo g{};                                                                   \
  if (int32_t st = narrow(geometry, &g); st != CNN4J_OK) return st;

CNN4J_CUDA_TWIN(conv2d_forward)
int32_t cnn4j::cuda::conv2d_forward(cnn4j_context *, int32_t dtype, const cnn4j_conv_geometry *geometry, const void *x,
                                    const void *weight, const void *bias, void *y) {
  CNN4J_CUDA_GEO
  if (!x || !weight || !y) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, return run_gemm<T>("conv2d_forward", g.kg(), g.n * g.oh * g.ow, g.ckk(), g.groups, 1, 0,
                                                FwdA<T>{static_cast<const T *>(weight), g},
                                                FwdB<T>{static_cast<const T *>(x), g},
                                                FwdStore<T>{static_cast<T *>(y), static_cast<const T *>(bias), g}));
}

CNN4J_CUDA_TWIN(conv2d_backward_data)
int32_t cnn4j::cuda::conv2d_backward_data(cnn4j_context *, int32_t dtype, const cnn4j_conv_geometry *geometry,
                                          const void *dy, const void *weight, void *dx) {
  CNN4J_CUDA_GEO
  if (!dy || !weight || !dx) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, return run_gemm<T>("conv2d_backward_data", g.cg(), g.n * g.h * g.w,
                                                g.kg() * g.kh * g.kw, g.groups, 1, 0,
                                                BwdDataA<T>{static_cast<const T *>(weight), g},
                                                BwdDataB<T>{static_cast<const T *>(dy), g},
                                                BwdDataStore<T>{static_cast<T *>(dx), g}));
}

CNN4J_CUDA_TWIN(conv2d_backward_filter)
int32_t cnn4j::cuda::conv2d_backward_filter(cnn4j_context *, int32_t dtype, const cnn4j_conv_geometry *geometry,
                                            const void *x, const void *dy, void *dweight, void *dbias) {
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
