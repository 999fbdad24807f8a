// Max and average pooling, forward and backward; planes (batch x channels) split across threads.
#include <emmintrin.h>
#include <immintrin.h>
#include <omp.h>

#include <cstring>
#include <limits>

#include "common.h"

namespace cnn4j {
namespace {

using PoolGeom = cnn4j_pool_geometry;  // cnn4j/geometry.h

int pool_threads(const PoolGeom &g) { return threads_for(double(g.planes) * g.oh * g.ow * g.win.kh * g.win.kw); }

// Windows entirely inside the input (no padding): an output row at a time, taps outermost
// and output columns innermost, so that the running maximum and its index are updated with
// vector selects; a compare-and-branch would mispredict on half of real activations. Taps
// are visited in the same order as the generic path: the first maximum wins ties and a
// NaN wins over numbers.
template <class T>
void max_forward_inside(const PoolGeom &g, const T *x, T *y, int32_t *argmax) {
  const int kh = int(g.win.kh), kw = int(g.win.kw), sh = int(g.win.sh), sw = int(g.win.sw);
  const int dh = int(g.win.dh), dw = int(g.win.dw), w = int(g.w), oh = int(g.oh), ow = int(g.ow);
  const i64 hw = g.h * g.w, ohw = g.oh * g.ow;
#pragma omp parallel for num_threads(pool_threads(g)) schedule(dynamic, 16)
  for (i64 p = 0; p < g.planes; p++) {
    const T *xp = x + p * hw;
    T *yp = y + p * ohw;
    // Without an arg-max output the indices of one row are tracked on the stack (ow <= 1024).
    int32_t row_idx[1024];
    int32_t *ap = argmax ? argmax + p * ohw : row_idx;
    for (int i = 0; i < oh; i++) {
      T *__restrict best = yp + i * ow;
      int32_t *__restrict bi = argmax ? ap + i * ow : ap;
      const int r0 = i * sh * w;
      const T *__restrict first = xp + r0;
      for (int j = 0; j < ow; j++) {
        best[j] = first[j * sw];
        bi[j] = r0 + j * sw;
      }
      for (int a = 0; a < kh; a++) {
        for (int b = (a == 0 ? 1 : 0); b < kw; b++) {
          const int off = (i * sh + a * dh) * w + b * dw;
          const T *__restrict src = xp + off;
          if (sw == 1) {
            for (int j = 0; j < ow; j++) {
              T v = src[j], cur = best[j];
              bool take = (v > cur) | ((v != v) & (cur == cur));
              best[j] = take ? v : cur;
              bi[j] = take ? off + j : bi[j];
            }
          } else {
            for (int j = 0; j < ow; j++) {
              T v = src[j * sw], cur = best[j];
              bool take = (v > cur) | ((v != v) & (cur == cur));
              best[j] = take ? v : cur;
              bi[j] = take ? off + j * sw : bi[j];
            }
          }
        }
      }
    }
  }
}

// The common 2x2, stride-2 window in float: four outputs at a time with SSE2 (part of
// every x86-64), even and odd columns split by shuffles, selects as bit masks.
// (`end`: where the input ends, for the AVX-512 form's signature.)
inline void max_2x2s2_row(const float *r0, const float *r1, int base, int w, int ow, float *yrow, int32_t *arow,
                          const float *) {
  int j = 0;
  const __m128i step = _mm_set_epi32(6, 4, 2, 0);
  for (; j + 4 <= ow; j += 4) {
    __m128 t0 = _mm_loadu_ps(r0 + 2 * j), t1 = _mm_loadu_ps(r0 + 2 * j + 4);
    __m128 u0 = _mm_loadu_ps(r1 + 2 * j), u1 = _mm_loadu_ps(r1 + 2 * j + 4);
    __m128 taps[4] = {_mm_shuffle_ps(t0, t1, 0x88), _mm_shuffle_ps(t0, t1, 0xDD), _mm_shuffle_ps(u0, u1, 0x88),
                      _mm_shuffle_ps(u0, u1, 0xDD)};
    const __m128i idx0 = _mm_add_epi32(_mm_set1_epi32(base + 2 * j), step);
    const __m128i offs[4] = {_mm_setzero_si128(), _mm_set1_epi32(1), _mm_set1_epi32(w), _mm_set1_epi32(w + 1)};
    __m128 best = taps[0];
    __m128i bi = idx0;
    for (int t = 1; t < 4; t++) {
      __m128 v = taps[t];
      __m128 take = _mm_or_ps(_mm_cmpgt_ps(v, best), _mm_and_ps(_mm_cmpunord_ps(v, v), _mm_cmpord_ps(best, best)));
      best = _mm_or_ps(_mm_and_ps(take, v), _mm_andnot_ps(take, best));
      __m128i m = _mm_castps_si128(take);
      bi = _mm_or_si128(_mm_and_si128(m, _mm_add_epi32(idx0, offs[t])), _mm_andnot_si128(m, bi));
    }
    _mm_storeu_ps(yrow + j, best);
    if (arow) _mm_storeu_si128(reinterpret_cast<__m128i *>(arow + j), bi);
  }
  for (; j < ow; j++) {
    const int idx[4] = {base + 2 * j, base + 2 * j + 1, base + w + 2 * j, base + w + 2 * j + 1};
    const float val[4] = {r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1]};
    float best = val[0];
    int bi = idx[0];
    for (int t = 1; t < 4; t++) {
      bool take = val[t] > best || (val[t] != val[t] && best == best);
      best = take ? val[t] : best;
      bi = take ? idx[t] : bi;
    }
    yrow[j] = best;
    if (arow) arow[j] = bi;
  }
}

// The same row with AVX-512 (compiled for it here, run only where isa() says the CPU has
// it): sixteen outputs at a time, the last ones masked; the taps, their order and the
// selects are those above.
__attribute__((target("avx512f"))) void max_2x2s2_row_avx512(const float *r0, const float *r1, int base, int w,
                                                             int ow, float *yrow, int32_t *arow, const float *end) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512i offs[4] = {_mm512_setzero_si512(), _mm512_set1_epi32(1), _mm512_set1_epi32(w),
                           _mm512_set1_epi32(w + 1)};
  for (int j = 0; j < ow; j += 16) {
    const int n = ow - j < 16 ? ow - j : 16, in = 2 * n;
    const __mmask16 lo = __mmask16(in >= 16 ? 0xFFFF : (1u << in) - 1);
    const __mmask16 hi = __mmask16(in <= 16 ? 0 : in >= 32 ? 0xFFFF : (1u << (in - 16)) - 1);
    __m512 t0, t1, u0, u1;
    // Unmasked loads wherever the 32 floats lie inside the input (a short last vector then
    // reads into the next row and drops those lanes): masked loads that miss the cache
    // measured 2x slower (AMD Zen 5).
    if (r1 + 2 * j + 32 <= end) {
      t0 = _mm512_loadu_ps(r0 + 2 * j), t1 = _mm512_loadu_ps(r0 + 2 * j + 16);
      u0 = _mm512_loadu_ps(r1 + 2 * j), u1 = _mm512_loadu_ps(r1 + 2 * j + 16);
    } else {
      t0 = _mm512_maskz_loadu_ps(lo, r0 + 2 * j), t1 = _mm512_maskz_loadu_ps(hi, r0 + 2 * j + 16);
      u0 = _mm512_maskz_loadu_ps(lo, r1 + 2 * j), u1 = _mm512_maskz_loadu_ps(hi, r1 + 2 * j + 16);
    }
    const __m512 taps[4] = {_mm512_permutex2var_ps(t0, even, t1), _mm512_permutex2var_ps(t0, odd, t1),
                            _mm512_permutex2var_ps(u0, even, u1), _mm512_permutex2var_ps(u0, odd, u1)};
    const __m512i idx0 = _mm512_add_epi32(_mm512_set1_epi32(base + 2 * j), even);
    __m512 best = taps[0];
    __m512i bi = idx0;
    for (int t = 1; t < 4; t++) {
      const __m512 v = taps[t];
      const __mmask16 take = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) |
                             (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) & _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q));
      best = _mm512_mask_blend_ps(take, best, v);
      bi = _mm512_mask_blend_epi32(take, bi, _mm512_add_epi32(idx0, offs[t]));
    }
    if (n == 16) {  // whole vectors unmasked: masked stores are slow on some processors (AMD Zen 4, 5)
      _mm512_storeu_ps(yrow + j, best);
      if (arow) _mm512_storeu_si512(arow + j, bi);
    } else {
      const __mmask16 out = __mmask16((1u << n) - 1);
      _mm512_mask_storeu_ps(yrow + j, out, best);
      if (arow) _mm512_mask_storeu_epi32(arow + j, out, bi);
    }
  }
}

// Windows entirely inside the input (no padding).
inline bool windows_inside(const PoolGeom &g) {
  const Window &v = g.win;
  return v.pt == 0 && v.pl == 0 && (g.oh - 1) * v.sh + (v.kh - 1) * v.dh < g.h &&
         (g.ow - 1) * v.sw + (v.kw - 1) * v.dw < g.w;
}

// ... and, for the backward pass, windows that do not overlap (each input pixel in one
// window at most: the stride spans the window, or there is one window down or across, as
// in global pooling), so that scattering row by row adds nothing twice and keeps the order.
inline bool windows_apart(const PoolGeom &g) {
  const Window &v = g.win;
  return windows_inside(g) && (g.oh == 1 || v.sh >= (v.kh - 1) * v.dh + 1) &&
         (g.ow == 1 || v.sw >= (v.kw - 1) * v.dw + 1);
}

template <class T>
bool max_forward_2x2s2(const PoolGeom &, const T *, T *, int32_t *) {
  return false;
}

template <>
bool max_forward_2x2s2<float>(const PoolGeom &g, const float *x, float *y, int32_t *argmax) {
  const Window &v = g.win;
  if (v.kh != 2 || v.kw != 2 || v.sh != 2 || v.sw != 2 || v.dh != 1 || v.dw != 1 || v.pt != 0 || v.pl != 0 ||
      2 * g.oh > g.h || 2 * g.ow > g.w) {
    return false;
  }
  const i64 hw = g.h * g.w, ohw = g.oh * g.ow;
  const int w = int(g.w), ow = int(g.ow), oh = int(g.oh);
  const auto row = isa() == CNN4J_ISA_AVX512 ? &max_2x2s2_row_avx512 : &max_2x2s2_row;
#pragma omp parallel for num_threads(pool_threads(g)) schedule(dynamic, 16)
  for (i64 p = 0; p < g.planes; p++) {
    const float *xp = x + p * hw;
    for (int i = 0; i < oh; i++) {
      int base = 2 * i * w;
      row(xp + base, xp + base + w, base, w, ow, y + p * ohw + i * ow, argmax ? argmax + p * ohw + i * ow : nullptr,
          x + g.planes * hw);
    }
  }
  return true;
}

template <class T>
void max_forward(const PoolGeom &g, const T *x, T *y, int32_t *argmax) {
  if (max_forward_2x2s2<T>(g, x, y, argmax)) return;
  const Window v = g.win;
  const i64 hw = g.h * g.w, ohw = g.oh * g.ow;
  if (windows_inside(g) && (argmax != nullptr || g.ow <= 1024)) {
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
  const Window &v = g.win;
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

// Average pooling of windows inside the input (every divisor kh * kw) for outputs too
// narrow for vector loops over columns (global pooling: one output per plane): kPlanes
// planes at a time, each output's sum in the generic path's order, the planes' sums
// independent, so that their additions overlap instead of waiting on each other.
constexpr i64 kPlanes = 8;

template <class T>
void avg_forward_narrow(const PoolGeom &g, const T *x, T *y) {
  const Window v = g.win;
  const i64 hw = g.h * g.w, ohw = g.oh * g.ow;
  const T div = T(v.kh * v.kw);
  const i64 groups = ceil_div(g.planes, kPlanes);
#pragma omp parallel for num_threads(pool_threads(g)) schedule(dynamic, 16)
  for (i64 q = 0; q < groups; q++) {
    const i64 p0 = q * kPlanes, np = imin(kPlanes, g.planes - p0);
    for (i64 i = 0; i < g.oh; i++) {
      for (i64 j = 0; j < g.ow; j++) {
        T acc[kPlanes] = {};
        for (i64 a = 0; a < v.kh; a++) {
          const T *row = x + p0 * hw + (i * v.sh + a * v.dh) * g.w + j * v.sw;
          for (i64 b = 0; b < v.kw; b++) {
            const T *src = row + b * v.dw;
            if (np == kPlanes) {
              for (i64 l = 0; l < kPlanes; l++) acc[l] += src[l * hw];
            } else {
              for (i64 l = 0; l < np; l++) acc[l] += src[l * hw];
            }
          }
        }
        for (i64 l = 0; l < np; l++) y[(p0 + l) * ohw + i * g.ow + j] = acc[l] / div;
      }
    }
  }
}

// Average pooling of windows inside the input, where every divisor is kh * kw: an output
// row at a time, taps outermost and output columns innermost (vector loops, no per-pixel
// divisor). The taps add in the generic path's order, so the sums are the same.
template <class T>
void avg_forward_inside(const PoolGeom &g, const T *x, T *y) {
  const Window v = g.win;
  if (g.ow < 8) {
    avg_forward_narrow(g, x, y);
    return;
  }
  const i64 hw = g.h * g.w, ohw = g.oh * g.ow, ow = g.ow, sw = v.sw;
  const T div = T(v.kh * v.kw);
#pragma omp parallel for num_threads(pool_threads(g)) schedule(dynamic, 16)
  for (i64 p = 0; p < g.planes; p++) {
    const T *xp = x + p * hw;
    for (i64 i = 0; i < g.oh; i++) {
      T *__restrict yr = y + p * ohw + i * ow;
      if (v.kh == 1 && v.kw == 1) {
        // a subsampling (ResNet's shortcut): 0 + x / 1 is 0 + x
        const T *__restrict src = xp + i * v.sh * g.w;
        for (i64 j = 0; j < ow; j++) yr[j] = T(0) + src[j * sw];
        continue;
      }
      for (i64 j = 0; j < ow; j++) yr[j] = 0;
      for (i64 a = 0; a < v.kh; a++) {
        for (i64 b = 0; b < v.kw; b++) {
          const T *__restrict src = xp + (i * v.sh + a * v.dh) * g.w + b * v.dw;
          if (sw == 1) {
            for (i64 j = 0; j < ow; j++) yr[j] += src[j];
          } else {
            for (i64 j = 0; j < ow; j++) yr[j] += src[j * sw];
          }
        }
      }
      for (i64 j = 0; j < ow; j++) yr[j] = yr[j] / div;
    }
  }
}

template <class T>
void avg_backward_apart(const PoolGeom &g, const T *dy, T *dx) {
  const Window v = g.win;
  const i64 hw = g.h * g.w, ohw = g.oh * g.ow, ow = g.ow, sw = v.sw;
  const T div = T(v.kh * v.kw);
#pragma omp parallel for num_threads(pool_threads(g)) schedule(dynamic, 16)
  for (i64 p = 0; p < g.planes; p++) {
    T *dxp = dx + p * hw;
    std::memset(dxp, 0, sizeof(T) * hw);
    for (i64 i = 0; i < g.oh; i++) {
      const T *__restrict gr = dy + p * ohw + i * ow;
      if (ow < 8) {
        // narrow outputs (global pooling): each window's taps innermost
        for (i64 j = 0; j < ow; j++) {
          const T gv = gr[j] / div;
          for (i64 a = 0; a < v.kh; a++) {
            T *__restrict dst = dxp + (i * v.sh + a * v.dh) * g.w + j * sw;
            for (i64 b = 0; b < v.kw; b++) dst[b * v.dw] += gv;  // onto the zeros, as the generic path
          }
        }
        continue;
      }
      for (i64 a = 0; a < v.kh; a++) {
        for (i64 b = 0; b < v.kw; b++) {
          T *__restrict dst = dxp + (i * v.sh + a * v.dh) * g.w + b * v.dw;
          for (i64 j = 0; j < ow; j++) dst[j * sw] += gr[j] / div;  // onto the zeros, as the generic path
        }
      }
    }
  }
}

template <class T>
void avg_forward(const PoolGeom &g, const T *x, T *y, bool include_pad) {
  if (windows_inside(g)) {
    avg_forward_inside(g, x, y);
    return;
  }
  const Window v = g.win;
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
  if (windows_apart(g)) {
    avg_backward_apart(g, dy, dx);
    return;
  }
  const Window v = g.win;
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

}  // namespace
}  // namespace cnn4j

using namespace cnn4j;

// The geometry, checked by its one validator (cnn4j/geometry.h).
#define CNN4J_POOL_GEOM                                                    \
  if (int32_t st = cnn4j_pool_geometry_check(geometry); st != CNN4J_OK) return st; \
  const PoolGeom &g = *geometry;

CNN4J_CUDA_TWIN(max_pool2d_forward)
int32_t cnn4j_max_pool2d_forward(cnn4j_context *ctx, int32_t dtype, const cnn4j_pool_geometry *geometry, const void *x,
                                 void *y, int32_t *argmax) {
  CNN4J_ROUTE(max_pool2d_forward, dtype, geometry, x, y, argmax)
  CNN4J_POOL_GEOM
  if (x == nullptr || y == nullptr) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, max_forward<T>(g, static_cast<const T *>(x), static_cast<T *>(y), argmax));
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(max_pool2d_backward)
int32_t cnn4j_max_pool2d_backward(cnn4j_context *ctx, int32_t dtype, const void *dy, const int32_t *argmax, void *dx,
                                  int64_t planes, int64_t hw, int64_t ohw) {
  CNN4J_ROUTE(max_pool2d_backward, dtype, dy, argmax, dx, planes, hw, ohw)
  if (!sizes_ok({planes, hw, ohw}) || dy == nullptr || argmax == nullptr || dx == nullptr) {
    return CNN4J_INVALID_ARGUMENT;
  }
  CNN4J_DISPATCH_FLOAT(dtype, max_backward<T>(planes, hw, ohw, static_cast<const T *>(dy), argmax,
                                               static_cast<T *>(dx)));
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(avg_pool2d_forward)
int32_t cnn4j_avg_pool2d_forward(cnn4j_context *ctx, int32_t dtype, const cnn4j_pool_geometry *geometry, const void *x,
                                 void *y, int32_t count_include_pad) {
  CNN4J_ROUTE(avg_pool2d_forward, dtype, geometry, x, y, count_include_pad)
  CNN4J_POOL_GEOM
  if (x == nullptr || y == nullptr) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, avg_forward<T>(g, static_cast<const T *>(x), static_cast<T *>(y), count_include_pad != 0));
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(avg_pool2d_backward)
int32_t cnn4j_avg_pool2d_backward(cnn4j_context *ctx, int32_t dtype, const cnn4j_pool_geometry *geometry,
                                  const void *dy, void *dx, int32_t count_include_pad) {
  CNN4J_ROUTE(avg_pool2d_backward, dtype, geometry, dy, dx, count_include_pad)
  CNN4J_POOL_GEOM
  if (dy == nullptr || dx == nullptr) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, avg_backward<T>(g, static_cast<const T *>(dy), static_cast<T *>(dx), count_include_pad != 0));
  return CNN4J_OK;
}
