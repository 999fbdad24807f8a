// Batch norm, dropout, element-wise product, maxout and channel copies: the CUDA twins of native/cpu/norm.cpp, one thread per output element
// (grid-stride loops) unless a reduction needs a block.
#include <cmath>

#include "common.cuh"

namespace cnn4j_cuda {
namespace {

template <class T> __global__ void mul_k(const T *a, const T *b, T *o, i64 n) { GRID_STRIDE(i, n) o[i] = a[i] * b[i]; }

// One block per channel: statistics (training), running-stat update, normalisation.
template <class T>
__global__ void bn_fwd_k(const T *x, const T *gamma, const T *beta, T *rm, T *rv, T *y, T *sm, T *si, i64 outer,
                         i64 channels, i64 inner, int batch_stats, double momentum, double eps, int relu,
                         const T *res) {
  i64 c = blockIdx.x, m = outer * inner;
  CNN4J_SHARED(double, red, [256]);
  CNN4J_SHARED(double, mean_s, );
  CNN4J_SHARED(double, inv_s, );
  if (batch_stats) {
    double s = 0;
    for (i64 i = threadIdx.x; i < m; i += blockDim.x) s += x[((i / inner) * channels + c) * inner + i % inner];
    red[threadIdx.x] = s;
    __syncthreads();
    for (int o = blockDim.x / 2; o > 0; o >>= 1) {
      if (threadIdx.x < o) red[threadIdx.x] += red[threadIdx.x + o];
      __syncthreads();
    }
    double mean = red[0] / double(m);
    __syncthreads();
    double q = 0;
    for (i64 i = threadIdx.x; i < m; i += blockDim.x) {
      double d = x[((i / inner) * channels + c) * inner + i % inner] - mean;
      q += d * d;
    }
    red[threadIdx.x] = q;
    __syncthreads();
    for (int o = blockDim.x / 2; o > 0; o >>= 1) {
      if (threadIdx.x < o) red[threadIdx.x] += red[threadIdx.x + o];
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      double var = red[0] / double(m);
      mean_s = mean;
      inv_s = 1 / sqrt(var + eps);
      double unbiased = m > 1 ? red[0] / double(m - 1) : var;
      rm[c] = T((1 - momentum) * rm[c] + momentum * mean);
      rv[c] = T((1 - momentum) * rv[c] + momentum * unbiased);
    }
  } else if (threadIdx.x == 0) {
    mean_s = rm[c];
    inv_s = 1 / sqrt(double(rv[c]) + eps);
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    sm[c] = T(mean_s);
    si[c] = T(inv_s);
  }
  T a = T(gamma[c] * inv_s), b = T(beta[c] - gamma[c] * inv_s * mean_s);
  for (i64 i = threadIdx.x; i < m; i += blockDim.x) {
    i64 at = ((i / inner) * channels + c) * inner + i % inner;
    const T v = a * x[at] + b;
    const T w = res != nullptr ? T(v + res[at]) : v;  // the shortcut added to the rounded value, as the add kernel
    y[at] = relu && !(w > T(0)) ? T(0) : w;           // ReLU fused: as the activation kernel
  }
}

template <class T>
__global__ void bn_bwd_k(const T *x, const T *dy, const T *gamma, const T *sm, const T *si, T *dx, T *dg, T *db,
                         i64 outer, i64 channels, i64 inner, int batch_stats, const T *ry) {
  i64 c = blockIdx.x, m = outer * inner;
  double mean = sm[c], inv = si[c];
  double s1 = 0, s2 = 0;
  for (i64 i = threadIdx.x; i < m; i += blockDim.x) {
    i64 at = ((i / inner) * channels + c) * inner + i % inner;
    const T g = ry && !(ry[at] > T(0)) ? T(0) : dy[at];  // dy where the fused ReLU passed it
    s1 += g;
    s2 += g * ((x[at] - mean) * inv);
  }
  CNN4J_SHARED(double, r1, [256]);
  CNN4J_SHARED(double, r2, [256]);
  r1[threadIdx.x] = s1;
  r2[threadIdx.x] = s2;
  __syncthreads();
  for (int o = blockDim.x / 2; o > 0; o >>= 1) {
    if (threadIdx.x < o) {
      r1[threadIdx.x] += r1[threadIdx.x + o];
      r2[threadIdx.x] += r2[threadIdx.x + o];
    }
    __syncthreads();
  }
  double sum_dy = r1[0], sum_dyx = r2[0];
  if (threadIdx.x == 0) {
    dg[c] += T(sum_dyx);
    db[c] += T(sum_dy);
  }
  if (dx == nullptr) return;
  double k = gamma[c] * inv;
  for (i64 i = threadIdx.x; i < m; i += blockDim.x) {
    i64 at = ((i / inner) * channels + c) * inner + i % inner;
    const T g = ry && !(ry[at] > T(0)) ? T(0) : dy[at];
    dx[at] = batch_stats ? T(k * (g - sum_dy / m - (x[at] - mean) * inv * sum_dyx / m)) : T(k * g);
  }
}

__device__ inline unsigned long long drop_hash(long long seed, long long i) {
  unsigned long long z = (unsigned long long)seed + (unsigned long long)(i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z = z ^ (z >> 31);
  return z >> 40;
}

template <class T>
__global__ void dropout_k(const T *x, T *y, T *mask, i64 n, unsigned long long threshold, T keep, long long seed) {
  GRID_STRIDE(i, n) {
    T mk = drop_hash(seed, i) >= threshold ? keep : T(0);
    mask[i] = mk;
    y[i] = x[i] * mk;
  }
}

template <class T>
__global__ void maxout_fwd_k(const T *x, T *y, int32_t *am, i64 outer, i64 channels, i64 inner, i64 pieces) {
  GRID_STRIDE(idx, outer * channels * inner) {
    i64 i = idx % inner, c = (idx / inner) % channels, o = idx / (inner * channels);
    const T *xr = x + (o * channels * pieces + c * pieces) * inner + i;
    T best = xr[0];
    int bj = 0;
    for (int j = 1; j < pieces; j++) {
      T v = xr[j * inner];
      bool take = v > best || (v != v && best == best);
      best = take ? v : best;
      bj = take ? j : bj;
    }
    y[idx] = best;
    am[idx] = bj;
  }
}

template <class T>
__global__ void maxout_bwd_k(const T *dy, const int32_t *am, T *dx, i64 outer, i64 channels, i64 inner, i64 pieces) {
  GRID_STRIDE(idx, outer * channels * inner) {
    i64 i = idx % inner, c = (idx / inner) % channels, o = idx / (inner * channels);
    T *d = dx + (o * channels * pieces + c * pieces) * inner + i;
    int j = am[idx];
    for (int q = 0; q < pieces; q++) d[q * inner] = q == j ? dy[idx] : T(0);
  }
}

}  // namespace
}  // namespace cnn4j_cuda

using namespace cnn4j_cuda;

CNN4J_CUDA_TWIN(multiply)
int32_t cnn4j::cuda::multiply(cnn4j_context *, int32_t dtype, const void *a, const void *b, void *out, int64_t n) {
  if (n < 0 || (n > 0 && (!a || !b || !out))) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("multiply", n, CNN4J_LAUNCH(mul_k<T>, blocks_for(n), 256, 0, stream())(static_cast<const T *>(a),
                                                                                  static_cast<const T *>(b),
                                                                                  static_cast<T *>(out), n)));
}

CNN4J_CUDA_TWIN(batch_norm_forward)
int32_t cnn4j::cuda::batch_norm_forward(cnn4j_context *, int32_t dtype, const void *x, const void *gamma,
                                        const void *beta, void *running_mean, void *running_var, void *y,
                                        void *save_mean, void *save_inv_std, int64_t outer, int64_t channels,
                                        int64_t inner, int32_t batch_stats, double momentum, double eps, int32_t relu,
                                        const void *residual) {
  if (outer < 0 || channels < 1 || inner < 0 || !x || !gamma || !beta || !running_mean || !running_var || !y ||
      !save_mean || !save_inv_std || !(eps > 0)) {
    return CNN4J_INVALID_ARGUMENT;
  }
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("batch_norm_forward", channels, CNN4J_LAUNCH(bn_fwd_k<T>, unsigned(channels), 256, 0, stream())(
                                                                       static_cast<const T *>(x),
                                                                       static_cast<const T *>(gamma),
                                                                       static_cast<const T *>(beta),
                                                                       static_cast<T *>(running_mean),
                                                                       static_cast<T *>(running_var),
                                                                       static_cast<T *>(y), static_cast<T *>(save_mean),
                                                                       static_cast<T *>(save_inv_std), outer, channels,
                                                                       inner, batch_stats, momentum, eps, relu,
                                                                       static_cast<const T *>(residual))));
}

CNN4J_CUDA_TWIN(batch_norm_backward)
int32_t cnn4j::cuda::batch_norm_backward(cnn4j_context *, int32_t dtype, const void *x, const void *dy,
                                         const void *gamma, const void *save_mean, const void *save_inv_std, void *dx,
                                         void *dgamma, void *dbeta, int64_t outer, int64_t channels, int64_t inner,
                                         int32_t batch_stats, const void *relu_y) {
  if (outer < 0 || channels < 1 || inner < 0 || !x || !dy || !gamma || !save_mean || !save_inv_std || !dgamma ||
      !dbeta) {
    return CNN4J_INVALID_ARGUMENT;
  }
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("batch_norm_backward", channels, CNN4J_LAUNCH(bn_bwd_k<T>, unsigned(channels), 256, 0, stream())(
                                                                        static_cast<const T *>(x),
                                                                        static_cast<const T *>(dy),
                                                                        static_cast<const T *>(gamma),
                                                                        static_cast<const T *>(save_mean),
                                                                        static_cast<const T *>(save_inv_std),
                                                                        static_cast<T *>(dx), static_cast<T *>(dgamma),
                                                                        static_cast<T *>(dbeta), outer, channels,
                                                                        inner, batch_stats,
                                                                        static_cast<const T *>(relu_y))));
}

CNN4J_CUDA_TWIN(dropout_forward)
int32_t cnn4j::cuda::dropout_forward(cnn4j_context *, int32_t dtype, const void *x, void *y, void *mask, int64_t n,
                                     double p, int64_t seed) {
  if (n < 0 || !x || !y || !mask || !(p >= 0 && p < 1)) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  const unsigned long long threshold = static_cast<unsigned long long>(std::llround(p * 16777216.0));
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("dropout_forward", n, CNN4J_LAUNCH(dropout_k<T>, blocks_for(n), 256, 0, stream())(
                                                             static_cast<const T *>(x), static_cast<T *>(y),
                                                             static_cast<T *>(mask), n, threshold, T(1 / (1 - p)),
                                                             static_cast<long long>(seed))));
}

CNN4J_CUDA_TWIN(maxout_forward)
int32_t cnn4j::cuda::maxout_forward(cnn4j_context *, int32_t dtype, const void *x, void *y, int32_t *argmax,
                                    int64_t outer, int64_t channels, int64_t inner, int64_t pieces) {
  if (outer < 0 || channels < 0 || inner < 0 || pieces < 1 || !x || !y || !argmax) return CNN4J_INVALID_ARGUMENT;
  i64 n = outer * channels * inner;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("maxout_forward", n, CNN4J_LAUNCH(maxout_fwd_k<T>, blocks_for(n), 256, 0, stream())(
                                                            static_cast<const T *>(x), static_cast<T *>(y), argmax,
                                                            outer, channels, inner, pieces)));
}

CNN4J_CUDA_TWIN(maxout_backward)
int32_t cnn4j::cuda::maxout_backward(cnn4j_context *, int32_t dtype, const void *dy, const int32_t *argmax, void *dx,
                                     int64_t outer, int64_t channels, int64_t inner, int64_t pieces) {
  if (outer < 0 || channels < 0 || inner < 0 || pieces < 1 || !dy || !argmax || !dx) return CNN4J_INVALID_ARGUMENT;
  i64 n = outer * channels * inner;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("maxout_backward", n, CNN4J_LAUNCH(maxout_bwd_k<T>, blocks_for(n), 256, 0, stream())(
                                                             static_cast<const T *>(dy), argmax, static_cast<T *>(dx),
                                                             outer, channels, inner, pieces)));
}

CNN4J_CUDA_TWIN(copy_channels)
int32_t cnn4j::cuda::copy_channels(cnn4j_context *, const void *src, int64_t src_channels, int64_t src_off, void *dst,
                                 int64_t dst_channels, int64_t dst_off, int64_t count, int64_t outer, int64_t inner,
                                 int64_t elem_bytes) {
  if (src_channels < 0 || dst_channels < 0 || src_off < 0 || dst_off < 0 || count < 0 || outer < 0 || inner < 0 ||
      elem_bytes < 1 || !src || !dst || src_off + count > src_channels || dst_off + count > dst_channels) {
    return CNN4J_INVALID_ARGUMENT;
  }
  if (count == 0 || outer == 0 || inner == 0) return CNN4J_OK;
  CNN4J_CUDA_TRY("copy_channels",
                 cudaMemcpy2DAsync(static_cast<char *>(dst) + dst_off * inner * elem_bytes,
                                   static_cast<size_t>(dst_channels * inner * elem_bytes),
                                   static_cast<const char *>(src) + src_off * inner * elem_bytes,
                                   static_cast<size_t>(src_channels * inner * elem_bytes),
                                   static_cast<size_t>(count * inner * elem_bytes), static_cast<size_t>(outer),
                                   cudaMemcpyDeviceToDevice, stream()));
  return CNN4J_OK;
}
