// Batch normalisation, dropout, element-wise product, maxout and channel copies.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "common.h"

namespace cnn4j {
namespace {

// Batch norm in two sweeps over memory each way, sized for tensors larger than the caches:
// per-channel statistics (each channel's rows of every image, in order, so the sums do not
// depend on the thread count), then the element-wise pass image by image, all channels at
// once, as a stream. Sums are in double; the statistics sum x - K for a sample K of the
// channel (its first value), so that one sweep yields both moments without cancellation.

template <class T>
void bn_forward(const T *x, const T *gamma, const T *beta, T *rmean, T *rvar, T *y, T *smean, T *sinv, i64 outer,
                i64 channels, i64 inner, bool batch_stats, double momentum, double eps) {
  const i64 m = outer * inner;
  const int nt = threads_for(double(m) * channels * 3);
  // y = a[c] x + b[c]
  std::vector<T> a(static_cast<size_t>(channels)), b(static_cast<size_t>(channels));
#pragma omp parallel num_threads(nt)
  {
#pragma omp for schedule(static)
    for (i64 c = 0; c < channels; c++) {
      double mean, inv_std;
      if (batch_stats) {
        const double k = m > 0 ? double(x[c * inner]) : 0.0;  // an empty batch reads nothing
        double s = 0, q = 0;
        for (i64 o = 0; o < outer; o++) {
          const T *r = x + (o * channels + c) * inner;
#pragma omp simd reduction(+ : s, q)
          for (i64 i = 0; i < inner; i++) {
            const double d = double(r[i]) - k;
            s += d;
            q += d * d;
          }
        }
        mean = k + s / double(m);
        const double sq = std::max(0.0, q - s * s / double(m));  // sum of (x - mean)^2
        const double var = sq / double(m);
        inv_std = 1 / std::sqrt(var + eps);
        const double unbiased = m > 1 ? sq / double(m - 1) : var;
        rmean[c] = T((1 - momentum) * rmean[c] + momentum * mean);
        rvar[c] = T((1 - momentum) * rvar[c] + momentum * unbiased);
      } else {
        mean = rmean[c];
        inv_std = 1 / std::sqrt(double(rvar[c]) + eps);
      }
      smean[c] = T(mean);
      sinv[c] = T(inv_std);
      a[size_t(c)] = T(gamma[c] * inv_std);
      b[size_t(c)] = T(beta[c] - gamma[c] * inv_std * mean);
    }
#pragma omp for schedule(static)
    for (i64 o = 0; o < outer; o++) {
      for (i64 c = 0; c < channels; c++) {
        const T *r = x + (o * channels + c) * inner;
        T *d = y + (o * channels + c) * inner;
        const T ac = a[size_t(c)], bc = b[size_t(c)];
        for (i64 i = 0; i < inner; i++) d[i] = ac * r[i] + bc;
      }
    }
  }
}

template <class T>
void bn_backward(const T *x, const T *dy, const T *gamma, const T *smean, const T *sinv, T *dx, T *dgamma, T *dbeta,
                 i64 outer, i64 channels, i64 inner, bool batch_stats) {
  const i64 m = outer * inner;
  const int nt = threads_for(double(m) * channels * 4);
  // dx = p[c] dy + q[c] x + r[c]
  std::vector<T> p(static_cast<size_t>(channels)), q(static_cast<size_t>(channels)), r(static_cast<size_t>(channels));
#pragma omp parallel num_threads(nt)
  {
#pragma omp for schedule(static)
    for (i64 c = 0; c < channels; c++) {
      const double mean = smean[c], inv_std = sinv[c];
      double sum_dy = 0, sum_dy_xhat = 0;
      for (i64 o = 0; o < outer; o++) {
        const T *xr = x + (o * channels + c) * inner;
        const T *g = dy + (o * channels + c) * inner;
#pragma omp simd reduction(+ : sum_dy, sum_dy_xhat)
        for (i64 i = 0; i < inner; i++) {
          sum_dy += g[i];
          sum_dy_xhat += g[i] * ((xr[i] - mean) * inv_std);
        }
      }
      dgamma[c] += T(sum_dy_xhat);
      dbeta[c] += T(sum_dy);
      // k (dy - sum_dy / m - (x - mean) inv_std sum_dy_xhat / m), k = gamma inv_std
      const double k = gamma[c] * inv_std;
      const double a = batch_stats ? sum_dy / double(m) : 0, b = batch_stats ? sum_dy_xhat / double(m) : 0;
      p[size_t(c)] = T(k);
      q[size_t(c)] = T(-k * inv_std * b);
      r[size_t(c)] = T(k * (mean * inv_std * b - a));
    }
    if (dx != nullptr) {
#pragma omp for schedule(static)
      for (i64 o = 0; o < outer; o++) {
        for (i64 c = 0; c < channels; c++) {
          const T *xr = x + (o * channels + c) * inner;
          const T *g = dy + (o * channels + c) * inner;
          T *d = dx + (o * channels + c) * inner;
          const T pc = p[size_t(c)], qc = q[size_t(c)], rc = r[size_t(c)];
          for (i64 i = 0; i < inner; i++) d[i] = pc * g[i] + (qc * xr[i] + rc);
        }
      }
    }
  }
}

inline uint64_t drop_hash(int64_t seed, int64_t i) {
  uint64_t z = uint64_t(seed) + uint64_t(i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z = z ^ (z >> 31);
  return z >> 40;
}

template <class T>
void dropout(const T *x, T *y, T *mask, i64 n, double p, int64_t seed) {
  const uint64_t threshold = uint64_t(std::llround(p * 16777216.0));
  const T keep = T(1 / (1 - p));
  for (i64 i = 0; i < n; i++) {
    T mk = drop_hash(seed, i) >= threshold ? keep : T(0);
    mask[i] = mk;
    y[i] = x[i] * mk;
  }
}

template <class T>
void maxout_forward(const T *x, T *y, int32_t *argmax, i64 outer, i64 channels, i64 inner, i64 pieces) {
  for (i64 o = 0; o < outer; o++) {
    for (i64 c = 0; c < channels; c++) {
      T *yr = y + (o * channels + c) * inner;
      int32_t *ar = argmax + (o * channels + c) * inner;
      const T *xr = x + (o * channels * pieces + c * pieces) * inner;
      for (i64 i = 0; i < inner; i++) {
        yr[i] = xr[i];
        ar[i] = 0;
      }
      for (i64 j = 1; j < pieces; j++) {
        const T *xj = xr + j * inner;
        for (i64 i = 0; i < inner; i++) {
          T v = xj[i], cur = yr[i];
          bool take = (v > cur) | ((v != v) & (cur == cur));
          yr[i] = take ? v : cur;
          ar[i] = take ? int32_t(j) : ar[i];
        }
      }
    }
  }
}

template <class T>
int32_t maxout_backward(const T *dy, const int32_t *argmax, T *dx, i64 outer, i64 channels, i64 inner, i64 pieces) {
  std::memset(dx, 0, sizeof(T) * size_t(outer * channels * pieces * inner));
  for (i64 o = 0; o < outer; o++) {
    for (i64 c = 0; c < channels; c++) {
      const T *g = dy + (o * channels + c) * inner;
      const int32_t *ar = argmax + (o * channels + c) * inner;
      T *d = dx + (o * channels * pieces + c * pieces) * inner;
      for (i64 i = 0; i < inner; i++) {
        int32_t j = ar[i];
        if (j < 0 || j >= pieces) return CNN4J_INVALID_ARGUMENT;
        d[j * inner + i] = g[i];
      }
    }
  }
  return CNN4J_OK;
}

}  // namespace
}  // namespace cnn4j

using namespace cnn4j;

extern "C" {

int32_t cnn4j_batch_norm_forward(int32_t dtype, const void *x, const void *gamma, const void *beta,
                                 void *running_mean, void *running_var, void *y, void *save_mean, void *save_inv_std,
                                 int64_t outer, int64_t channels, int64_t inner, int32_t batch_stats, double momentum,
                                 double eps) {
  if (!sizes_ok({outer, channels, inner}) || !x || !gamma || !beta || !running_mean || !running_var || !y ||
      !save_mean || !save_inv_std || !(eps > 0)) {
    return CNN4J_INVALID_ARGUMENT;
  }
  CNN4J_DISPATCH_FLOAT(dtype, bn_forward<T>(static_cast<const T *>(x), static_cast<const T *>(gamma),
                                            static_cast<const T *>(beta), static_cast<T *>(running_mean),
                                            static_cast<T *>(running_var), static_cast<T *>(y),
                                            static_cast<T *>(save_mean), static_cast<T *>(save_inv_std), outer,
                                            channels, inner, batch_stats != 0, momentum, eps));
  return CNN4J_OK;
}

int32_t cnn4j_batch_norm_backward(int32_t dtype, const void *x, const void *dy, const void *gamma,
                                  const void *save_mean, const void *save_inv_std, void *dx, void *dgamma, void *dbeta,
                                  int64_t outer, int64_t channels, int64_t inner, int32_t batch_stats) {
  if (!sizes_ok({outer, channels, inner}) || !x || !dy || !gamma || !save_mean || !save_inv_std || !dgamma ||
      !dbeta) {
    return CNN4J_INVALID_ARGUMENT;
  }
  CNN4J_DISPATCH_FLOAT(dtype, bn_backward<T>(static_cast<const T *>(x), static_cast<const T *>(dy),
                                             static_cast<const T *>(gamma), static_cast<const T *>(save_mean),
                                             static_cast<const T *>(save_inv_std), static_cast<T *>(dx),
                                             static_cast<T *>(dgamma), static_cast<T *>(dbeta), outer, channels,
                                             inner, batch_stats != 0));
  return CNN4J_OK;
}

int32_t cnn4j_dropout_forward(int32_t dtype, const void *x, void *y, void *mask, int64_t n, double p, int64_t seed) {
  if (n < 0 || !x || !y || !mask || !(p >= 0 && p < 1)) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, dropout<T>(static_cast<const T *>(x), static_cast<T *>(y), static_cast<T *>(mask), n, p,
                                         seed));
  return CNN4J_OK;
}

int32_t cnn4j_multiply(int32_t dtype, const void *a, const void *b, void *out, int64_t n) {
  if (n < 0 || !a || !b || !out) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, {
    const T *pa = static_cast<const T *>(a);
    const T *pb = static_cast<const T *>(b);
    T *po = static_cast<T *>(out);
    for (int64_t i = 0; i < n; i++) po[i] = pa[i] * pb[i];
  });
  return CNN4J_OK;
}

int32_t cnn4j_maxout_forward(int32_t dtype, const void *x, void *y, int32_t *argmax, int64_t outer, int64_t channels,
                             int64_t inner, int64_t pieces) {
  if (!sizes_ok({outer, channels, inner}) || pieces < 1 || !x || !y || !argmax) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, maxout_forward<T>(static_cast<const T *>(x), static_cast<T *>(y), argmax, outer,
                                                channels, inner, pieces));
  return CNN4J_OK;
}

int32_t cnn4j_maxout_backward(int32_t dtype, const void *dy, const int32_t *argmax, void *dx, int64_t outer,
                              int64_t channels, int64_t inner, int64_t pieces) {
  if (!sizes_ok({outer, channels, inner}) || pieces < 1 || !dy || !argmax || !dx) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, return maxout_backward<T>(static_cast<const T *>(dy), argmax, static_cast<T *>(dx),
                                                        outer, channels, inner, pieces));
}

int32_t cnn4j_copy_channels(const void *src, int64_t src_channels, int64_t src_off, void *dst, int64_t dst_channels,
                            int64_t dst_off, int64_t count, int64_t outer, int64_t inner, int64_t elem_bytes) {
  if (!sizes_ok({src_channels, src_off, dst_channels, dst_off, count, outer, inner}) || elem_bytes < 1 || !src ||
      !dst || src_off + count > src_channels || dst_off + count > dst_channels) {
    return CNN4J_INVALID_ARGUMENT;
  }
  const char *s = static_cast<const char *>(src);
  char *d = static_cast<char *>(dst);
  const size_t run = size_t(count * inner * elem_bytes);
  for (int64_t o = 0; o < outer; o++) {
    std::memcpy(d + (o * dst_channels + dst_off) * inner * elem_bytes, s + (o * src_channels + src_off) * inner * elem_bytes,
                run);
  }
  return CNN4J_OK;
}

}  // extern "C"
