// Max and average pooling, forward and backward; planes (batch x channels) split across threads.
#include <omp.h>

#include <cstring>
#include <limits>

#include "common.h"

namespace cnn4j {
namespace {

struct PoolGeom {
  i64 planes, h, w, oh, ow;
  Window v;
};

int pool_threads(const PoolGeom &g) { return threads_for(double(g.planes) * g.oh * g.ow * g.v.kh * g.v.kw); }

// Windows entirely inside the input (no padding): no bounds checks, selects instead of
// branches (random data would mispredict half of them), int32 index arithmetic.
template <class T>
void max_forward_inside(const PoolGeom &g, const T *x, T *y, int32_t *argmax) {
  const int kh = int(g.v.kh), kw = int(g.v.kw), sh = int(g.v.sh), sw = int(g.v.sw);
  const int dh = int(g.v.dh), dw = int(g.v.dw), w = int(g.w), oh = int(g.oh), ow = int(g.ow);
  const i64 hw = g.h * g.w, ohw = g.oh * g.ow;
#pragma omp parallel for num_threads(pool_threads(g)) schedule(dynamic, 16)
  for (i64 p = 0; p < g.planes; p++) {
    const T *xp = x + p * hw;
    T *yp = y + p * ohw;
    int32_t *ap = argmax ? argmax + p * ohw : nullptr;
    for (int i = 0; i < oh; i++) {
      for (int j = 0; j < ow; j++) {
        int first = i * sh * w + j * sw;
        T best = xp[first];
        int bi = first;
        for (int a = 0; a < kh; a++) {
          int r = (i * sh + a * dh) * w + j * sw;
          for (int b = 0; b < kw; b++) {
            int idx = r + b * dw;
            T val = xp[idx];
            // Told to expect either outcome equally, the compiler prefers conditional moves.
            bool take = __builtin_expect_with_probability(val > best || (val != val && best == best), 1, 0.5);
            best = take ? val : best;
            bi = take ? idx : bi;
          }
        }
        yp[i * ow + j] = best;
        if (ap) ap[i * ow + j] = bi;
      }
    }
  }
}

template <class T>
void max_forward(const PoolGeom &g, const T *x, T *y, int32_t *argmax) {
  const Window v = g.v;
  const i64 hw = g.h * g.w, ohw = g.oh * g.ow;
  const bool inside = v.pt == 0 && v.pl == 0 && (g.oh - 1) * v.sh + (v.kh - 1) * v.dh < g.h &&
                      (g.ow - 1) * v.sw + (v.kw - 1) * v.dw < g.w;
  if (inside) {
    max_forward_inside(g, x, y, argmax);
    return;
  }
#pragma omp parallel for num_threads(pool_threads(g)) schedule(dynamic, 16)
  for (i64 p = 0; p < g.planes; p++) {
    const T *xp = x + p * hw;
    T *yp = y + p * ohw;
    int32_t *ap = argmax ? argmax + p * ohw : nullptr;
    for (i64 i = 0; i < g.oh; i++) {
      for (i64 j = 0; j < g.ow; j++) {
        // The first maximum wins ties; a NaN wins over numbers (it propagates, as in PyTorch).
        T best = -std::numeric_limits<T>::infinity();
        i64 bi = -1;
        for (i64 a = 0; a < v.kh; a++) {
          i64 ih = i * v.sh - v.pt + a * v.dh;
          if (ih < 0 || ih >= g.h) continue;
          for (i64 b = 0; b < v.kw; b++) {
            i64 iw = j * v.sw - v.pl + b * v.dw;
            if (iw < 0 || iw >= g.w) continue;
            T val = xp[ih * g.w + iw];
            bool take = val > best || (val != val && best == best) || bi < 0;
            best = take ? val : best;
            bi = take ? ih * g.w + iw : bi;
          }
        }
        yp[i * g.ow + j] = best;
        if (ap) ap[i * g.ow + j] = static_cast<int32_t>(bi);
      }
    }
  }
}

template <class T>
void max_backward(i64 planes, i64 hw, i64 ohw, const T *dy, const int32_t *argmax, T *dx) {
#pragma omp parallel for num_threads(threads_for(double(planes) * (hw + ohw))) schedule(dynamic, 16)
  for (i64 p = 0; p < planes; p++) {
    T *dxp = dx + p * hw;
    const T *dyp = dy + p * ohw;
    const int32_t *ap = argmax + p * ohw;
    std::memset(dxp, 0, sizeof(T) * hw);
    for (i64 q = 0; q < ohw; q++) {
      int32_t idx = ap[q];
      if (idx >= 0 && idx < hw) dxp[idx] += dyp[q];
    }
  }
}

inline i64 avg_divisor(const PoolGeom &g, i64 i, i64 j, bool include_pad) {
  const Window &v = g.v;
  if (include_pad) return v.kh * v.kw;
  i64 rows = 0, cols = 0;
  for (i64 a = 0; a < v.kh; a++) {
    i64 ih = i * v.sh - v.pt + a * v.dh;
    rows += (ih >= 0 && ih < g.h);
  }
  for (i64 b = 0; b < v.kw; b++) {
    i64 iw = j * v.sw - v.pl + b * v.dw;
    cols += (iw >= 0 && iw < g.w);
  }
  return imax(rows * cols, 1);
}

template <class T>
void avg_forward(const PoolGeom &g, const T *x, T *y, bool include_pad) {
  const Window v = g.v;
  const i64 hw = g.h * g.w, ohw = g.oh * g.ow;
#pragma omp parallel for num_threads(pool_threads(g)) schedule(dynamic, 16)
  for (i64 p = 0; p < g.planes; p++) {
    const T *xp = x + p * hw;
    T *yp = y + p * ohw;
    for (i64 i = 0; i < g.oh; i++) {
      for (i64 j = 0; j < g.ow; j++) {
        T acc = 0;
        for (i64 a = 0; a < v.kh; a++) {
          i64 ih = i * v.sh - v.pt + a * v.dh;
          if (ih < 0 || ih >= g.h) continue;
          for (i64 b = 0; b < v.kw; b++) {
            i64 iw = j * v.sw - v.pl + b * v.dw;
            if (iw >= 0 && iw < g.w) acc += xp[ih * g.w + iw];
          }
        }
        yp[i * g.ow + j] = acc / T(avg_divisor(g, i, j, include_pad));
      }
    }
  }
}

template <class T>
void avg_backward(const PoolGeom &g, const T *dy, T *dx, bool include_pad) {
  const Window v = g.v;
  const i64 hw = g.h * g.w, ohw = g.oh * g.ow;
#pragma omp parallel for num_threads(pool_threads(g)) schedule(dynamic, 16)
  for (i64 p = 0; p < g.planes; p++) {
    T *dxp = dx + p * hw;
    const T *dyp = dy + p * ohw;
    std::memset(dxp, 0, sizeof(T) * hw);
    for (i64 i = 0; i < g.oh; i++) {
      for (i64 j = 0; j < g.ow; j++) {
        T gv = dyp[i * g.ow + j] / T(avg_divisor(g, i, j, include_pad));
        for (i64 a = 0; a < v.kh; a++) {
          i64 ih = i * v.sh - v.pt + a * v.dh;
          if (ih < 0 || ih >= g.h) continue;
          for (i64 b = 0; b < v.kw; b++) {
            i64 iw = j * v.sw - v.pl + b * v.dw;
            if (iw >= 0 && iw < g.w) dxp[ih * g.w + iw] += gv;
          }
        }
      }
    }
  }
}

int32_t check(const PoolGeom &g) {
  const Window &v = g.v;
  if (!sizes_ok({g.planes, g.h, g.w, g.oh, g.ow, v.pt, v.pl})) return CNN4J_INVALID_ARGUMENT;
  if (v.kh < 1 || v.kw < 1 || v.sh < 1 || v.sw < 1 || v.dh < 1 || v.dw < 1) return CNN4J_INVALID_ARGUMENT;
  if (g.h * g.w > INT32_MAX) return CNN4J_INVALID_ARGUMENT;  // arg-max indices are int32
  return CNN4J_OK;
}

}  // namespace
}  // namespace cnn4j

using namespace cnn4j;

#define CNN4J_POOL_GEOM                                                      \
  PoolGeom g{planes, h, w, oh, ow, Window{kh, kw, sh, sw, pt, pl, dh, dw}}; \
  if (int32_t st = check(g); st != CNN4J_OK) return st;

extern "C" {

int32_t cnn4j_max_pool2d_forward(int32_t dtype, const void *x, void *y, int32_t *argmax, int64_t planes, int64_t h,
                                 int64_t w, int64_t oh, int64_t ow, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                 int64_t pt, int64_t pl, int64_t dh, int64_t dw) {
  CNN4J_POOL_GEOM
  if (x == nullptr || y == nullptr) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, max_forward<T>(g, static_cast<const T *>(x), static_cast<T *>(y), argmax));
  return CNN4J_OK;
}

int32_t cnn4j_max_pool2d_backward(int32_t dtype, const void *dy, const int32_t *argmax, void *dx, int64_t planes,
                                  int64_t hw, int64_t ohw) {
  if (!sizes_ok({planes, hw, ohw}) || dy == nullptr || argmax == nullptr || dx == nullptr) {
    return CNN4J_INVALID_ARGUMENT;
  }
  CNN4J_DISPATCH_FLOAT(dtype, max_backward<T>(planes, hw, ohw, static_cast<const T *>(dy), argmax,
                                               static_cast<T *>(dx)));
  return CNN4J_OK;
}

int32_t cnn4j_avg_pool2d_forward(int32_t dtype, const void *x, void *y, int64_t planes, int64_t h, int64_t w,
                                 int64_t oh, int64_t ow, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t pt,
                                 int64_t pl, int64_t dh, int64_t dw, int32_t count_include_pad) {
  CNN4J_POOL_GEOM
  if (x == nullptr || y == nullptr) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, avg_forward<T>(g, static_cast<const T *>(x), static_cast<T *>(y), count_include_pad != 0));
  return CNN4J_OK;
}

int32_t cnn4j_avg_pool2d_backward(int32_t dtype, const void *dy, void *dx, int64_t planes, int64_t h, int64_t w,
                                  int64_t oh, int64_t ow, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t pt,
                                  int64_t pl, int64_t dh, int64_t dw, int32_t count_include_pad) {
  CNN4J_POOL_GEOM
  if (dy == nullptr || dx == nullptr) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, avg_backward<T>(g, static_cast<const T *>(dy), static_cast<T *>(dx), count_include_pad != 0));
  return CNN4J_OK;
}

}  // extern "C"
