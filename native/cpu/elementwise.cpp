// Storage fills, element-wise arithmetic, reductions, activations and bias: memory-bound
// loops the compiler vectorises; large ones are split across threads.
#include <omp.h>

#include <cmath>

#include "chunks.h"
#include "common.h"

namespace cnn4j {
namespace {

template <class T>
void activation_forward(int act, T alpha, const T *x, T *y, i64 n) {
#pragma omp parallel for num_threads(threads_for(double(n) * 4)) schedule(static)
  for (i64 i = 0; i < n; i++) {
    T v = x[i];
    switch (act) {
      case CNN4J_RELU: y[i] = v > T(0) ? v : T(0); break;
      case CNN4J_LEAKY_RELU: y[i] = v > T(0) ? v : alpha * v; break;
      case CNN4J_SIGMOID: y[i] = T(1) / (T(1) + std::exp(-v)); break;
      default: y[i] = std::tanh(v); break;
    }
  }
}

// The hot element-wise loops as leaf functions cloned per instruction set (the dynamic
// loader picks the widest the CPU has, through an ifunc); the rest of the library stays
// baseline x86-64. A conditional load cannot be if-converted, so both operands of a select
// are loaded unconditionally: the loops vectorise instead of branching (a branch would
// mispredict on half of real activations).
#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer instruments the clones' resolvers, which the dynamic loader runs before the
// sanitizer has started: one plain version in that build.
#define CNN4J_CLONED
#else
#define CNN4J_CLONED __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#define CNN4J_LEAVES(T, sfx)                                                                  \
  CNN4J_CLONED void relu_fwd_##sfx(const T *x, T *y, i64 n) {                                \
    for (i64 i = 0; i < n; i++) y[i] = x[i] > T(0) ? x[i] : T(0);                            \
  }                                                                                           \
  CNN4J_CLONED void relu_bwd_##sfx(const T *x, const T *dy, T *dx, i64 n) {                 \
    for (i64 i = 0; i < n; i++) {                                                             \
      T d = dy[i];                                                                            \
      dx[i] = x[i] > T(0) ? d : T(0);                                                         \
    }                                                                                         \
  }                                                                                           \
  CNN4J_CLONED void add_##sfx(const T *a, const T *b, T *out, i64 n) {                        \
    for (i64 i = 0; i < n; i++) out[i] = a[i] + b[i];                                         \
  }                                                                                           \
  CNN4J_CLONED void axpy_##sfx(T alpha, const T *x, T *y, i64 n) {                          \
    for (i64 i = 0; i < n; i++) y[i] += alpha * x[i];                                         \
  }                                                                                           \
  CNN4J_CLONED void scale_##sfx(T alpha, T *x, i64 n) {                                       \
    for (i64 i = 0; i < n; i++) x[i] *= alpha;                                                \
  }
CNN4J_LEAVES(float, f32)
CNN4J_LEAVES(double, f64)
#undef CNN4J_LEAVES

inline void relu_fwd(const float *x, float *y, i64 n) { relu_fwd_f32(x, y, n); }
inline void relu_fwd(const double *x, double *y, i64 n) { relu_fwd_f64(x, y, n); }
inline void relu_bwd(const float *x, const float *dy, float *dx, i64 n) { relu_bwd_f32(x, dy, dx, n); }
inline void relu_bwd(const double *x, const double *dy, double *dx, i64 n) { relu_bwd_f64(x, dy, dx, n); }
inline void add_(const float *a, const float *b, float *o, i64 n) { add_f32(a, b, o, n); }
inline void add_(const double *a, const double *b, double *o, i64 n) { add_f64(a, b, o, n); }
inline void axpy_(float al, const float *x, float *y, i64 n) { axpy_f32(al, x, y, n); }
inline void axpy_(double al, const double *x, double *y, i64 n) { axpy_f64(al, x, y, n); }
inline void scale_(float al, float *x, i64 n) { scale_f32(al, x, n); }
inline void scale_(double al, double *x, i64 n) { scale_f64(al, x, n); }

template <class T>
void relu_forward(const T *x, T *y, i64 n) {
  chunks(n, double(n) * 4, [&](i64 lo, i64 hi) { relu_fwd(x + lo, y + lo, hi - lo); });
}

template <class T>
void relu_backward(const T *x, const T *dy, T *dx, i64 n) {
  chunks(n, double(n) * 4, [&](i64 lo, i64 hi) { relu_bwd(x + lo, dy + lo, dx + lo, hi - lo); });
}

template <class T>
void activation_backward(int act, T alpha, const T *x, const T *y, const T *dy, T *dx, i64 n) {
#pragma omp parallel for num_threads(threads_for(double(n) * 4)) schedule(static)
  for (i64 i = 0; i < n; i++) {
    switch (act) {
      case CNN4J_LEAKY_RELU: {
        T d = dy[i];
        dx[i] = x[i] > T(0) ? d : alpha * d;
        break;
      }
      case CNN4J_SIGMOID: dx[i] = dy[i] * y[i] * (T(1) - y[i]); break;
      default: dx[i] = dy[i] * (T(1) - y[i] * y[i]); break;
    }
  }
}

template <class T>
void bias_add(T *y, const T *bias, i64 outer, i64 channels, i64 inner) {
  if (inner == 1) {
    for (i64 o = 0; o < outer; o++) {
      T *r = y + o * channels;
      for (i64 c = 0; c < channels; c++) r[c] += bias[c];
    }
    return;
  }
#pragma omp parallel for num_threads(threads_for(double(outer) * channels * inner)) schedule(static)
  for (i64 oc = 0; oc < outer * channels; oc++) {
    T bv = bias[oc % channels];
    T *r = y + oc * inner;
    for (i64 i = 0; i < inner; i++) r[i] += bv;
  }
}

template <class T>
void bias_grad(const T *dy, T *dbias, i64 outer, i64 channels, i64 inner) {
  if (inner == 1) {
    for (i64 o = 0; o < outer; o++) {
      const T *r = dy + o * channels;
      for (i64 c = 0; c < channels; c++) dbias[c] += r[c];
    }
    return;
  }
  for (i64 o = 0; o < outer; o++) {
    for (i64 c = 0; c < channels; c++) {
      const T *r = dy + (o * channels + c) * inner;
      T acc = 0;
#pragma omp simd reduction(+ : acc)
      for (i64 i = 0; i < inner; i++) acc += r[i];
      dbias[c] += acc;
    }
  }
}

}  // namespace
}  // namespace cnn4j

using namespace cnn4j;

CNN4J_CUDA_TWIN(fill)
int32_t cnn4j_fill(cnn4j_context *ctx, int32_t dtype, void *x, int64_t n, double value) {
  CNN4J_ROUTE(fill, dtype, x, n, value)
  if (n < 0 || (n > 0 && x == nullptr)) return CNN4J_INVALID_ARGUMENT;
  if (dtype == CNN4J_I32) {
    int32_t v = static_cast<int32_t>(value);
    int32_t *p = static_cast<int32_t *>(x);
    for (int64_t i = 0; i < n; i++) p[i] = v;
    return CNN4J_OK;
  }
  CNN4J_DISPATCH_FLOAT(dtype, {
    T v = static_cast<T>(value);
    T *p = static_cast<T *>(x);
    for (int64_t i = 0; i < n; i++) p[i] = v;
  });
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(add)
int32_t cnn4j_add(cnn4j_context *ctx, int32_t dtype, const void *a, const void *b, void *out, int64_t n) {
  CNN4J_ROUTE(add, dtype, a, b, out, n)
  if (n < 0 || (n > 0 && (a == nullptr || b == nullptr || out == nullptr))) return CNN4J_INVALID_ARGUMENT;
  // Threads take contiguous chunks (one stream each): element-wise, the same result on any count.
  CNN4J_DISPATCH_FLOAT(dtype, {
    const T *pa = static_cast<const T *>(a), *pb = static_cast<const T *>(b);
    T *po = static_cast<T *>(out);
    chunks(n, double(n), [&](i64 lo, i64 hi) { add_(pa + lo, pb + lo, po + lo, hi - lo); });
  });
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(axpy)
int32_t cnn4j_axpy(cnn4j_context *ctx, int32_t dtype, double alpha, const void *x, void *y, int64_t n) {
  CNN4J_ROUTE(axpy, dtype, alpha, x, y, n)
  if (n < 0 || (n > 0 && (x == nullptr || y == nullptr))) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, {
    const T al = static_cast<T>(alpha), *px = static_cast<const T *>(x);
    T *py = static_cast<T *>(y);
    chunks(n, double(n), [&](i64 lo, i64 hi) { axpy_(al, px + lo, py + lo, hi - lo); });
  });
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(scale)
int32_t cnn4j_scale(cnn4j_context *ctx, int32_t dtype, void *x, int64_t n, double alpha) {
  CNN4J_ROUTE(scale, dtype, x, n, alpha)
  if (n < 0 || (n > 0 && x == nullptr)) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, {
    const T al = static_cast<T>(alpha);
    T *px = static_cast<T *>(x);
    chunks(n, double(n) / 2, [&](i64 lo, i64 hi) { scale_(al, px + lo, hi - lo); });
  });
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(sum)
int32_t cnn4j_sum(cnn4j_context *ctx, int32_t dtype, const void *x, int64_t n, int32_t squares, double *out) {
  CNN4J_ROUTE(sum, dtype, x, n, squares, out)
  if (out == nullptr || n < 0 || (n > 0 && x == nullptr)) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, {
    const T *px = static_cast<const T *>(x);
    double acc = 0;
    if (squares) {
      for (int64_t i = 0; i < n; i++) acc += double(px[i]) * double(px[i]);
    } else {
      for (int64_t i = 0; i < n; i++) acc += double(px[i]);
    }
    *out = acc;
  });
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(bias_add)
int32_t cnn4j_bias_add(cnn4j_context *ctx, int32_t dtype, void *y, const void *bias, int64_t outer, int64_t channels,
                       int64_t inner) {
  CNN4J_ROUTE(bias_add, dtype, y, bias, outer, channels, inner)
  if (!sizes_ok({outer, channels, inner}) || y == nullptr || bias == nullptr) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, bias_add<T>(static_cast<T *>(y), static_cast<const T *>(bias), outer, channels, inner));
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(bias_grad)
int32_t cnn4j_bias_grad(cnn4j_context *ctx, int32_t dtype, const void *dy, void *dbias, int64_t outer, int64_t channels,
                        int64_t inner) {
  CNN4J_ROUTE(bias_grad, dtype, dy, dbias, outer, channels, inner)
  if (!sizes_ok({outer, channels, inner}) || dy == nullptr || dbias == nullptr) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, bias_grad<T>(static_cast<const T *>(dy), static_cast<T *>(dbias), outer, channels, inner));
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(activation_forward)
int32_t cnn4j_activation_forward(cnn4j_context *ctx, int32_t dtype, int32_t act, double alpha, const void *x, void *y,
                                 int64_t n) {
  CNN4J_ROUTE(activation_forward, dtype, act, alpha, x, y, n)
  if (act < CNN4J_RELU || act > CNN4J_TANH || n < 0 || x == nullptr || y == nullptr) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, {
    if (act == CNN4J_RELU) {
      relu_forward<T>(static_cast<const T *>(x), static_cast<T *>(y), n);
    } else {
      activation_forward<T>(act, static_cast<T>(alpha), static_cast<const T *>(x), static_cast<T *>(y), n);
    }
  });
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(activation_backward)
int32_t cnn4j_activation_backward(cnn4j_context *ctx, int32_t dtype, int32_t act, double alpha, const void *x,
                                  const void *y, const void *dy, void *dx, int64_t n) {
  CNN4J_ROUTE(activation_backward, dtype, act, alpha, x, y, dy, dx, n)
  if (act < CNN4J_RELU || act > CNN4J_TANH || n < 0 || dy == nullptr || dx == nullptr) return CNN4J_INVALID_ARGUMENT;
  bool reads_x = act == CNN4J_RELU || act == CNN4J_LEAKY_RELU;
  if ((reads_x && x == nullptr) || (!reads_x && y == nullptr)) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, {
    if (act == CNN4J_RELU) {
      relu_backward<T>(static_cast<const T *>(x), static_cast<const T *>(dy), static_cast<T *>(dx), n);
    } else {
      activation_backward<T>(act, static_cast<T>(alpha), static_cast<const T *>(x), static_cast<const T *>(y),
                             static_cast<const T *>(dy), static_cast<T *>(dx), n);
    }
  });
  return CNN4J_OK;
}
