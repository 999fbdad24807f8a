// Max and average pooling, forward and backward: the CUDA twins of native/cpu/pool.cpp, one thread per output element
// (grid-stride loops) unless a reduction needs a block.
#include <cmath>

#include "common.cuh"

namespace cnn4j_cuda {
namespace {

struct PoolGeo {
  int planes, h, w, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw;
};

template <class T>
__global__ void max_fwd_k(const T *x, T *y, int32_t *am, PoolGeo g) {
  i64 total = (i64)g.planes * g.oh * g.ow;
  GRID_STRIDE(idx, total) {
    int j = idx % g.ow, i = (idx / g.ow) % g.oh;
    i64 p = idx / ((i64)g.oh * g.ow);
    const T *xp = x + p * g.h * g.w;
    T best = -INFINITY;
    int bi = -1;
    for (int a = 0; a < g.kh; a++) {
      int ih = i * g.sh - g.pt + a * g.dh;
      if (ih < 0 || ih >= g.h) continue;
      for (int b = 0; b < g.kw; b++) {
        int iw = j * g.sw - g.pl + b * g.dw;
        if (iw < 0 || iw >= g.w) continue;
        T v = xp[ih * g.w + iw];
        bool take = v > best || (v != v && best == best) || bi < 0;
        best = take ? v : best;
        bi = take ? ih * g.w + iw : bi;
      }
    }
    y[idx] = best;
    if (am) am[idx] = bi;
  }
}

// dx = 0 first (a fill), then every output adds its gradient to its winner with an atomic add.
// Where windows do not overlap each input has at most one winner, so the result is exact and
// reproducible; where they overlap (say 3x3 windows at stride 2), the gradients of one input
// are added in the order the threads run.
template <class T>
__global__ void max_bwd_k(const T *dy, const int32_t *am, T *dx, i64 planes, i64 hw, i64 ohw) {
  GRID_STRIDE(idx, planes * ohw) {
    int a = am[idx];
    if (a >= 0 && a < hw) atomicAdd(&dx[(idx / ohw) * hw + a], dy[idx]);
  }
}

__device__ inline int avg_div(const PoolGeo &g, int i, int j, int include_pad) {
  if (include_pad) return g.kh * g.kw;
  int rows = 0, cols = 0;
  for (int a = 0; a < g.kh; a++) {
    int ih = i * g.sh - g.pt + a * g.dh;
    rows += (ih >= 0 && ih < g.h);
  }
  for (int b = 0; b < g.kw; b++) {
    int iw = j * g.sw - g.pl + b * g.dw;
    cols += (iw >= 0 && iw < g.w);
  }
  return max(rows * cols, 1);
}

template <class T>
__global__ void avg_fwd_k(const T *x, T *y, PoolGeo g, int include_pad) {
  i64 total = (i64)g.planes * g.oh * g.ow;
  GRID_STRIDE(idx, total) {
    int j = idx % g.ow, i = (idx / g.ow) % g.oh;
    const T *xp = x + (idx / ((i64)g.oh * g.ow)) * g.h * g.w;
    T s = T(0);
    for (int a = 0; a < g.kh; a++) {
      int ih = i * g.sh - g.pt + a * g.dh;
      if (ih < 0 || ih >= g.h) continue;
      for (int b = 0; b < g.kw; b++) {
        int iw = j * g.sw - g.pl + b * g.dw;
        if (iw >= 0 && iw < g.w) s += xp[ih * g.w + iw];
      }
    }
    y[idx] = s / T(avg_div(g, i, j, include_pad));
  }
}

// One thread per input pixel, summing the outputs whose windows hold it in a fixed order: no
// atomics, so results do not depend on scheduling even where windows overlap; writes dx.
template <class T>
__global__ void avg_bwd_k(const T *dy, T *dx, PoolGeo g, int include_pad) {
  i64 total = (i64)g.planes * g.h * g.w;
  GRID_STRIDE(idx, total) {
    int x = idx % g.w, y = (idx / g.w) % g.h;
    const T *dp = dy + (idx / ((i64)g.h * g.w)) * g.oh * g.ow;
    T s = T(0);
    for (int a = 0; a < g.kh; a++) {
      int t = y + g.pt - a * g.dh;
      if (t < 0 || t % g.sh != 0 || t / g.sh >= g.oh) continue;
      int i = t / g.sh;
      for (int b = 0; b < g.kw; b++) {
        int u = x + g.pl - b * g.dw;
        if (u < 0 || u % g.sw != 0 || u / g.sw >= g.ow) continue;
        int j = u / g.sw;
        s += dp[i * g.ow + j] / T(avg_div(g, i, j, include_pad));
      }
    }
    dx[idx] = s;
  }
}

// The device's 32-bit copy of a geometry that its one validator (cnn4j/geometry.h) accepts;
// UNSUPPORTED when the planes' pixels do not fit 32-bit indexing.
int32_t narrow(const cnn4j_pool_geometry *geometry, PoolGeo *g) {
  if (int32_t st = cnn4j_pool_geometry_check(geometry); st != CNN4J_OK) return st;
  const cnn4j_pool_geometry &q = *geometry;
  const cnn4j_window &v = q.win;
  if (!fits32(q.planes * q.h * q.w) || !fits32(q.planes * q.oh * q.ow)) {
    return fail_msg(CNN4J_UNSUPPORTED, "pooling too large");
  }
  *g = PoolGeo{int(q.planes), int(q.h),  int(q.w),  int(q.oh), int(q.ow), int(v.kh), int(v.kw),
               int(v.sh),     int(v.sw), int(v.pt), int(v.pl), int(v.dh), int(v.dw)};
  return CNN4J_OK;
}

}  // namespace
}  // namespace cnn4j_cuda

using namespace cnn4j_cuda;

CNN4J_CUDA_TWIN(max_pool2d_forward)
int32_t cnn4j::cuda::max_pool2d_forward(cnn4j_context *, int32_t dtype, const cnn4j_pool_geometry *geometry,
                                        const void *x, void *y, int32_t *argmax) {
  PoolGeo g{};
  if (int32_t st = narrow(geometry, &g); st != CNN4J_OK) return st;
  if (!x || !y) return CNN4J_INVALID_ARGUMENT;
  i64 n = i64(g.planes) * g.oh * g.ow;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("max_pool2d_forward", n, CNN4J_LAUNCH(max_fwd_k<T>, blocks_for(n), 256, 0, stream())(
                                                                  static_cast<const T *>(x), static_cast<T *>(y),
                                                                  argmax, g)));
}

CNN4J_CUDA_TWIN(fill)  // dx = 0 first
CNN4J_CUDA_TWIN(max_pool2d_backward)
int32_t cnn4j::cuda::max_pool2d_backward(cnn4j_context *ctx, int32_t dtype, const void *dy, const int32_t *argmax,
                                         void *dx, int64_t planes, int64_t hw, int64_t ohw) {
  if (planes < 0 || hw < 0 || ohw < 0 || !dy || !argmax || !dx) return CNN4J_INVALID_ARGUMENT;
  if (int32_t st = cnn4j::cuda::fill(ctx, dtype, dx, planes * hw, 0); st != CNN4J_OK) return st;
  i64 n = planes * ohw;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("max_pool2d_backward", n, CNN4J_LAUNCH(max_bwd_k<T>, blocks_for(n), 256, 0, stream())(
                                                                   static_cast<const T *>(dy), argmax,
                                                                   static_cast<T *>(dx), planes, hw, ohw)));
}

CNN4J_CUDA_TWIN(avg_pool2d_forward)
int32_t cnn4j::cuda::avg_pool2d_forward(cnn4j_context *, int32_t dtype, const cnn4j_pool_geometry *geometry,
                                        const void *x, void *y, int32_t count_include_pad) {
  PoolGeo g{};
  if (int32_t st = narrow(geometry, &g); st != CNN4J_OK) return st;
  if (!x || !y) return CNN4J_INVALID_ARGUMENT;
  i64 n = i64(g.planes) * g.oh * g.ow;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("avg_pool2d_forward", n, CNN4J_LAUNCH(avg_fwd_k<T>, blocks_for(n), 256, 0, stream())(
                                                                  static_cast<const T *>(x), static_cast<T *>(y), g,
                                                                  count_include_pad)));
}

CNN4J_CUDA_TWIN(avg_pool2d_backward)
int32_t cnn4j::cuda::avg_pool2d_backward(cnn4j_context *, int32_t dtype, const cnn4j_pool_geometry *geometry,
                                         const void *dy, void *dx, int32_t count_include_pad) {
  PoolGeo g{};
  if (int32_t st = narrow(geometry, &g); st != CNN4J_OK) return st;
  if (!dy || !dx) return CNN4J_INVALID_ARGUMENT;
  i64 n = i64(g.planes) * g.h * g.w;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("avg_pool2d_backward", n, CNN4J_LAUNCH(avg_bwd_k<T>, blocks_for(n), 256, 0, stream())(
                                                                   static_cast<const T *>(dy), static_cast<T *>(dx), g,
                                                                   count_include_pad)));
}
