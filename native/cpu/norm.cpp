// Batch normalisation, dropout, element-wise product, maxout and channel copies.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "common.h"

namespace cnn4j {
namespace {

// Batch norm in two sweeps over memory each way, sized for tensors larger than the caches:
// per-channel statistics, then the element-wise pass, both image by image over all channels
// at once, as streams (channel by channel, each image's rows lie a whole image apart: short
// runs the hardware prefetchers restart on, which made the statistics sweep latency-bound).
// The statistics split the images into fixed slots, each summed in order into its own
// per-channel partials and the slots added in order, so that the sums do not depend on the
// thread count. Sums are in double; the statistics sum x - K for a sample K of the channel
// (its first value), so that one sweep yields both moments without cancellation.

// Statistics slots: enough for any thread count's balance, few enough that their partials
// (2 x slots x channels doubles) stay small and adding them costs nothing: 64, down to 8
// for 1024 channels and more. A function of the shape only.
inline i64 stat_slots(i64 outer, i64 channels) {
  return std::min(outer, std::max<i64>(8, std::min<i64>(64, 8192 / std::max<i64>(1, channels))));
}

// Four floats: the baseline instruction set's vector, for the statistics' sums.
typedef float v4f __attribute__((vector_size(16)));
inline v4f ld4(const float *p) {
  v4f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// (s1, s2) += the sums over i < n of (u_i, v_i): vec(i, u, v) gives them for i .. i + 3 as
// vectors, one(i, u, v) for one i. In float, 16 lanes (four vectors, so that the additions
// do not wait on each other), the lanes folded and added into 4 double sums every 8 vectors
// (32 terms), the rest one by one in double. Float lanes run the loop at 2-4 times the speed
// of double ones (this file is built for the baseline instruction set), and float sums of 32
// terms lose nothing that matters against the float inputs' own rounding.
template <class Vec, class One>
inline void lane_sums(i64 n, Vec vec, One one, double &s1, double &s2) {
  constexpr int kFlush = 8 * 16;
  double d1[4] = {}, d2[4] = {};
  i64 i = 0;
  while (i + 16 <= n) {
    v4f a0 = {}, a1 = {}, a2 = {}, a3 = {}, b0 = {}, b1 = {}, b2 = {}, b3 = {};
    const i64 end = std::min(n, i + kFlush);
    for (; i + 16 <= end; i += 16) {
      v4f u, v;
      vec(i, u, v), a0 += u, b0 += v;
      vec(i + 4, u, v), a1 += u, b1 += v;
      vec(i + 8, u, v), a2 += u, b2 += v;
      vec(i + 12, u, v), a3 += u, b3 += v;
    }
    const v4f a = (a0 + a1) + (a2 + a3), b = (b0 + b1) + (b2 + b3);
    for (int l = 0; l < 4; l++) {
      d1[l] += double(a[l]);
      d2[l] += double(b[l]);
    }
  }
  double t1 = (d1[0] + d1[2]) + (d1[1] + d1[3]), t2 = (d2[0] + d2[2]) + (d2[1] + d2[3]);
  for (; i < n; i++) {
    float u, v;
    one(i, u, v);
    t1 += u;
    t2 += v;
  }
  s1 += t1;
  s2 += t2;
}

// For every channel c: (sa[c], sb[c]) = the sums over the images, in slot order, of what
// row(o, c, a, b) adds for image o's row of channel c. Called inside a parallel region;
// parts holds 2 * slots * channels doubles.
template <class Row>
void slot_sums(i64 outer, i64 channels, double *parts, double *sa, double *sb, Row row) {
  const i64 slots = stat_slots(outer, channels);
#pragma omp for schedule(static)
  for (i64 s = 0; s < slots; s++) {
    double *pa = parts + 2 * s * channels, *pb = pa + channels;
    for (i64 c = 0; c < channels; c++) pa[c] = pb[c] = 0;
    for (i64 o = s * outer / slots; o < (s + 1) * outer / slots; o++) {
      for (i64 c = 0; c < channels; c++) row(o, c, pa[c], pb[c]);
    }
  }
#pragma omp for schedule(static)
  for (i64 c = 0; c < channels; c++) {
    double a = 0, b = 0;
    for (i64 s = 0; s < slots; s++) {
      a += parts[2 * s * channels + c];
      b += parts[(2 * s + 1) * channels + c];
    }
    sa[c] = a;
    sb[c] = b;
  }
}

template <class T>
void bn_forward(const T *x, const T *gamma, const T *beta, T *rmean, T *rvar, T *y, T *smean, T *sinv, i64 outer,
                i64 channels, i64 inner, bool batch_stats, double momentum, double eps, bool relu, const T *res) {
  const i64 m = outer * inner;
  const int nt = threads_for(double(m) * channels * 3);
  const size_t cs = static_cast<size_t>(channels);
  // y = a[c] x + b[c]
  std::vector<T> a(cs), b(cs);
  std::vector<double> k(cs), sum(cs), sq(cs), parts(batch_stats ? 2 * cs * size_t(stat_slots(outer, channels)) : 0);
#pragma omp parallel num_threads(nt)
  {
    if (batch_stats) {
#pragma omp for schedule(static)
      for (i64 c = 0; c < channels; c++) k[size_t(c)] = m > 0 ? double(x[c * inner]) : 0.0;  // empty: reads nothing
      slot_sums(outer, channels, parts.data(), sum.data(), sq.data(), [&](i64 o, i64 c, double &ps, double &pq) {
        const T *r = x + (o * channels + c) * inner;
        const double kc = k[size_t(c)];
        if constexpr (std::is_same_v<T, float>) {
          const float kf = float(kc);  // K is one of the floats
          lane_sums(
              inner,
              [&](i64 i, v4f &u, v4f &v) {
                u = ld4(r + i) - kf;
                v = u * u;
              },
              [&](i64 i, float &u, float &v) {
                u = r[i] - kf;
                v = u * u;
              },
              ps, pq);
        } else {
          double s = 0, q = 0;
#pragma omp simd reduction(+ : s, q)
          for (i64 i = 0; i < inner; i++) {
            const double d = double(r[i]) - kc;
            s += d;
            q += d * d;
          }
          ps += s;
          pq += q;
        }
      });
    }
#pragma omp for schedule(static)
    for (i64 c = 0; c < channels; c++) {
      double mean, inv_std;
      if (batch_stats) {
        const double s = sum[size_t(c)];
        mean = k[size_t(c)] + s / double(m);
        const double ss = std::max(0.0, sq[size_t(c)] - s * s / double(m));  // sum of (x - mean)^2
        const double var = ss / double(m);
        inv_std = 1 / std::sqrt(var + eps);
        const double unbiased = m > 1 ? ss / double(m - 1) : var;
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
        if (res != nullptr) {
          // The residual added to the rounded normalised value, as the add op would.
          const T *s = res + (o * channels + c) * inner;
          for (i64 i = 0; i < inner; i++) {
            const T v = ac * r[i] + bc;
            const T w = v + s[i];
            d[i] = !relu || w > T(0) ? w : T(0);
          }
        } else if (relu) {
          for (i64 i = 0; i < inner; i++) {
            const T v = ac * r[i] + bc;
            d[i] = v > T(0) ? v : T(0);  // as the ReLU op
          }
        } else {
          for (i64 i = 0; i < inner; i++) d[i] = ac * r[i] + bc;
        }
      }
    }
  }
}

template <class T>
void bn_backward(const T *x, const T *dy, const T *gamma, const T *smean, const T *sinv, T *dx, T *dgamma, T *dbeta,
                 i64 outer, i64 channels, i64 inner, bool batch_stats, const T *ry) {
  const i64 m = outer * inner;
  const int nt = threads_for(double(m) * channels * 4);
  const size_t cs = static_cast<size_t>(channels);
  // dx = p[c] dy + q[c] x + r[c]
  std::vector<T> p(cs), q(cs), r(cs);
  std::vector<double> sdy(cs), sdyx(cs), parts(2 * cs * size_t(stat_slots(outer, channels)));
#pragma omp parallel num_threads(nt)
  {
    // g = dy, or dy where the fused ReLU's output is positive
    slot_sums(outer, channels, parts.data(), sdy.data(), sdyx.data(), [&](i64 o, i64 c, double &pa, double &pb) {
      const T *xr = x + (o * channels + c) * inner;
      const T *g = dy + (o * channels + c) * inner;
      const T *yr = ry ? ry + (o * channels + c) * inner : nullptr;
      const double mean = smean[c], inv_std = sinv[c];
      if constexpr (std::is_same_v<T, float>) {
        // sum g (x - mean), times inv_std once per row; the mean is one of the floats
        double a = 0, b = 0;
        const float mf = smean[c];
        if (yr) {
          const v4f zero = {};
          lane_sums(
              inner,
              [&](i64 i, v4f &u, v4f &v) {
                u = ld4(yr + i) > zero ? ld4(g + i) : zero;
                v = u * (ld4(xr + i) - mf);
              },
              [&](i64 i, float &u, float &v) {
                u = yr[i] > 0.0f ? g[i] : 0.0f;
                v = u * (xr[i] - mf);
              },
              a, b);
        } else {
          lane_sums(
              inner,
              [&](i64 i, v4f &u, v4f &v) {
                u = ld4(g + i);
                v = u * (ld4(xr + i) - mf);
              },
              [&](i64 i, float &u, float &v) {
                u = g[i];
                v = u * (xr[i] - mf);
              },
              a, b);
        }
        pa += a;
        pb += b * inv_std;
      } else {
        double a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
        for (i64 i = 0; i < inner; i++) {
          const double gi = yr && !(yr[i] > T(0)) ? 0.0 : g[i];
          a += gi;
          b += gi * ((xr[i] - mean) * inv_std);
        }
        pa += a;
        pb += b;
      }
    });
#pragma omp for schedule(static)
    for (i64 c = 0; c < channels; c++) {
      const double mean = smean[c], inv_std = sinv[c];
      const double sum_dy = sdy[size_t(c)], sum_dy_xhat = sdyx[size_t(c)];
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
          if (ry) {
            const T *yr = ry + (o * channels + c) * inner;
            for (i64 i = 0; i < inner; i++) {
              const T gi = g[i], yi = yr[i];  // both loaded: a select, no branch
              d[i] = pc * (yi > T(0) ? gi : T(0)) + (qc * xr[i] + rc);
            }
          } else {
            for (i64 i = 0; i < inner; i++) d[i] = pc * g[i] + (qc * xr[i] + rc);
          }
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

CNN4J_CUDA_TWIN(batch_norm_forward)
int32_t cnn4j_batch_norm_forward(cnn4j_context *ctx, int32_t dtype, const void *x, const void *gamma, const void *beta,
                                 void *running_mean, void *running_var, void *y, void *save_mean, void *save_inv_std,
                                 int64_t outer, int64_t channels, int64_t inner, int32_t batch_stats, double momentum,
                                 double eps, int32_t relu, const void *residual) {
  CNN4J_ROUTE(batch_norm_forward, dtype, x, gamma, beta, running_mean, running_var, y, save_mean, save_inv_std, outer,
    channels, inner, batch_stats, momentum, eps, relu, residual)
  if (!sizes_ok({outer, channels, inner}) || !x || !gamma || !beta || !running_mean || !running_var || !y ||
      !save_mean || !save_inv_std || !(eps > 0)) {
    return CNN4J_INVALID_ARGUMENT;
  }
  CNN4J_DISPATCH_FLOAT(dtype, bn_forward<T>(static_cast<const T *>(x), static_cast<const T *>(gamma),
                                            static_cast<const T *>(beta), static_cast<T *>(running_mean),
                                            static_cast<T *>(running_var), static_cast<T *>(y),
                                            static_cast<T *>(save_mean), static_cast<T *>(save_inv_std), outer,
                                            channels, inner, batch_stats != 0, momentum, eps, relu != 0,
                                            static_cast<const T *>(residual)));
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(batch_norm_backward)
int32_t cnn4j_batch_norm_backward(cnn4j_context *ctx, int32_t dtype, const void *x, const void *dy, const void *gamma,
                                  const void *save_mean, const void *save_inv_std, void *dx, void *dgamma, void *dbeta,
                                  int64_t outer, int64_t channels, int64_t inner, int32_t batch_stats,
                                  const void *relu_y) {
  CNN4J_ROUTE(batch_norm_backward, dtype, x, dy, gamma, save_mean, save_inv_std, dx, dgamma, dbeta, outer, channels,
    inner, batch_stats, relu_y)
  if (!sizes_ok({outer, channels, inner}) || !x || !dy || !gamma || !save_mean || !save_inv_std || !dgamma ||
      !dbeta) {
    return CNN4J_INVALID_ARGUMENT;
  }
  CNN4J_DISPATCH_FLOAT(dtype, bn_backward<T>(static_cast<const T *>(x), static_cast<const T *>(dy),
                                             static_cast<const T *>(gamma), static_cast<const T *>(save_mean),
                                             static_cast<const T *>(save_inv_std), static_cast<T *>(dx),
                                             static_cast<T *>(dgamma), static_cast<T *>(dbeta), outer, channels,
                                             inner, batch_stats != 0, static_cast<const T *>(relu_y)));
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(dropout_forward)
int32_t cnn4j_dropout_forward(cnn4j_context *ctx, int32_t dtype, const void *x, void *y, void *mask, int64_t n,
                              double p, int64_t seed) {
  CNN4J_ROUTE(dropout_forward, dtype, x, y, mask, n, p, seed)
  if (n < 0 || !x || !y || !mask || !(p >= 0 && p < 1)) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, dropout<T>(static_cast<const T *>(x), static_cast<T *>(y), static_cast<T *>(mask), n, p,
                                         seed));
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(multiply)
int32_t cnn4j_multiply(cnn4j_context *ctx, int32_t dtype, const void *a, const void *b, void *out, int64_t n) {
  CNN4J_ROUTE(multiply, dtype, a, b, out, n)
  if (n < 0 || !a || !b || !out) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, {
    const T *pa = static_cast<const T *>(a);
    const T *pb = static_cast<const T *>(b);
    T *po = static_cast<T *>(out);
    for (int64_t i = 0; i < n; i++) po[i] = pa[i] * pb[i];
  });
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(maxout_forward)
int32_t cnn4j_maxout_forward(cnn4j_context *ctx, int32_t dtype, const void *x, void *y, int32_t *argmax, int64_t outer,
                             int64_t channels, int64_t inner, int64_t pieces) {
  CNN4J_ROUTE(maxout_forward, dtype, x, y, argmax, outer, channels, inner, pieces)
  if (!sizes_ok({outer, channels, inner}) || pieces < 1 || !x || !y || !argmax) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, maxout_forward<T>(static_cast<const T *>(x), static_cast<T *>(y), argmax, outer,
                                                channels, inner, pieces));
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(maxout_backward)
int32_t cnn4j_maxout_backward(cnn4j_context *ctx, int32_t dtype, const void *dy, const int32_t *argmax, void *dx,
                              int64_t outer, int64_t channels, int64_t inner, int64_t pieces) {
  CNN4J_ROUTE(maxout_backward, dtype, dy, argmax, dx, outer, channels, inner, pieces)
  if (!sizes_ok({outer, channels, inner}) || pieces < 1 || !dy || !argmax || !dx) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, return maxout_backward<T>(static_cast<const T *>(dy), argmax, static_cast<T *>(dx),
                                                        outer, channels, inner, pieces));
}

CNN4J_CUDA_TWIN(copy_channels)
int32_t cnn4j_copy_channels(cnn4j_context *ctx, const void *src, int64_t src_channels, int64_t src_off, void *dst,
                            int64_t dst_channels, int64_t dst_off, int64_t count, int64_t outer, int64_t inner,
                            int64_t elem_bytes) {
  CNN4J_ROUTE(copy_channels, src, src_channels, src_off, dst, dst_channels, dst_off, count, outer, inner, elem_bytes)
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
