// Convolution forward, backward-data and backward-filter: im2col + the blocked GEMM
// (a 1x1 convolution with unit stride and no padding skips im2col and multiplies the
// input directly). Images are split across threads when there are at least as many
// images as threads; otherwise the GEMM itself is split.
#include <omp.h>

#include <cstring>

#include "common.h"
#include "gemm.h"

namespace cnn4j {
namespace {

// First output index whose input coordinate o*s - pad + tap is >= 0.
inline i64 first_valid(i64 pad, i64 tap, i64 stride) {
  i64 num = pad - tap;
  return num <= 0 ? 0 : (num + stride - 1) / stride;
}

// One past the last output index whose input coordinate is < in, clamped to [lo, out].
inline i64 end_valid(i64 in, i64 pad, i64 tap, i64 stride, i64 lo, i64 out) {
  i64 num = in + pad - tap;
  i64 hi = num <= 0 ? 0 : (num + stride - 1) / stride;
  return imax(lo, imin(out, hi));
}

// col[(c*kh + a)*kw + b][i*ow + j] = x[c, i*sh - pt + a*dh, j*sw - pl + b*dw] (0 outside).
template <class T>
void im2col(const T *x, i64 channels, const ConvGeom &g, T *col) {
  const Window &v = g.win;
  const i64 h = g.h, w = g.w, oh = g.oh, ow = g.ow, ohw = g.ohw();
  T *r = col;
  for (i64 c = 0; c < channels; c++) {
    const T *xc = x + c * h * w;
    for (i64 a = 0; a < v.kh; a++) {
      i64 tap_h = a * v.dh;
      i64 lo_h = first_valid(v.pt, tap_h, v.sh), hi_h = end_valid(h, v.pt, tap_h, v.sh, lo_h, oh);
      for (i64 b = 0; b < v.kw; b++, r += ohw) {
        i64 tap_w = b * v.dw;
        i64 lo_w = first_valid(v.pl, tap_w, v.sw), hi_w = end_valid(w, v.pl, tap_w, v.sw, lo_w, ow);
        for (i64 i = 0; i < oh; i++) {
          T *d = r + i * ow;
          if (i < lo_h || i >= hi_h) {
            std::memset(d, 0, sizeof(T) * ow);
            continue;
          }
          const T *src = xc + (i * v.sh - v.pt + tap_h) * w - v.pl + tap_w;
          for (i64 j = 0; j < lo_w; j++) d[j] = T(0);
          if (v.sw == 1) {
            std::memcpy(d + lo_w, src + lo_w, sizeof(T) * (hi_w - lo_w));
          } else {
            for (i64 j = lo_w; j < hi_w; j++) d[j] = src[j * v.sw];
          }
          for (i64 j = hi_w; j < ow; j++) d[j] = T(0);
        }
      }
    }
  }
}

// The adjoint of im2col: dx[...] += col[...].
template <class T>
void col2im(const T *col, i64 channels, const ConvGeom &g, T *dx) {
  const Window &v = g.win;
  const i64 h = g.h, w = g.w, oh = g.oh, ow = g.ow, ohw = g.ohw();
  const T *r = col;
  for (i64 c = 0; c < channels; c++) {
    T *xc = dx + c * h * w;
    for (i64 a = 0; a < v.kh; a++) {
      i64 tap_h = a * v.dh;
      i64 lo_h = first_valid(v.pt, tap_h, v.sh), hi_h = end_valid(h, v.pt, tap_h, v.sh, lo_h, oh);
      for (i64 b = 0; b < v.kw; b++, r += ohw) {
        i64 tap_w = b * v.dw;
        i64 lo_w = first_valid(v.pl, tap_w, v.sw), hi_w = end_valid(w, v.pl, tap_w, v.sw, lo_w, ow);
        for (i64 i = lo_h; i < hi_h; i++) {
          const T *s = r + i * ow;
          T *d = xc + (i * v.sh - v.pt + tap_h) * w - v.pl + tap_w;
          if (v.sw == 1) {
            for (i64 j = lo_w; j < hi_w; j++) d[j] += s[j];
          } else {
            for (i64 j = lo_w; j < hi_w; j++) d[j * v.sw] += s[j];
          }
        }
      }
    }
  }
}

// Elements of one thread's share of the workspace.
struct Plan {
  int threads;        // threads the op uses
  bool per_image;     // images split across threads (else the GEMM is)
  i64 col;            // im2col / dcol buffer
  i64 gemm;           // GEMM packing scratch
  i64 partial;        // private dW + dbias (backward-filter, per_image only)
  i64 per_thread() const { return col + gemm + partial; }
};

template <class T>
Plan plan(int op, const ConvGeom &g) {
  Plan p{};
  double flops = 2.0 * g.n * g.k * g.ohw() * g.ckk();
  p.threads = threads_for(flops / 8);
  p.per_image = g.n >= p.threads;
  bool need_col = op == 1 || !g.pointwise();
  p.col = need_col ? g.ckk() * g.ohw() : 0;
  p.gemm = gemm_scratch_elems<T>();
  p.partial = (op == 2 && p.per_image && p.threads > 1) ? g.k * g.ckk() + g.k : 0;
  // Round each share to a cache line.
  p.col = round_up(p.col, 16);
  p.gemm = round_up(p.gemm, 16);
  p.partial = round_up(p.partial, 16);
  return p;
}

template <class T>
void forward_image(const ConvGeom &g, const T *x, const T *wt, const T *bias, T *y, T *col, T *scratch, int nt) {
  const i64 cg = g.cg(), kg = g.kg(), ckk = g.ckk(), ohw = g.ohw(), hw = g.hw();
  for (i64 grp = 0; grp < g.groups; grp++) {
    const T *xg = x + grp * cg * hw;
    const T *b;
    if (g.pointwise()) {
      b = xg;
    } else {
      im2col(xg, cg, g, col);
      b = col;
    }
    GemmOperands<T> op{kg, ohw, ckk, wt + grp * kg * ckk, ckk, 1, b, ohw, 1, y + grp * kg * ohw, ohw, false};
    gemm_parallel(op, scratch, nt);
  }
  if (bias != nullptr) {
    for (i64 kk = 0; kk < g.k; kk++) {
      T bv = bias[kk];
      T *r = y + kk * ohw;
      for (i64 q = 0; q < ohw; q++) r[q] += bv;
    }
  }
}

template <class T>
void backward_data_image(const ConvGeom &g, const T *dy, const T *wt, T *dx, T *dcol, T *scratch, int nt) {
  const i64 cg = g.cg(), kg = g.kg(), ckk = g.ckk(), ohw = g.ohw(), hw = g.hw();
  for (i64 grp = 0; grp < g.groups; grp++) {
    T *dxg = dx + grp * cg * hw;
    // dcol[ckk, ohw] = W_g^T [ckk, kg] * dy_g [kg, ohw]
    bool direct = g.pointwise();
    GemmOperands<T> op{ckk, ohw, kg, wt + grp * kg * ckk, 1, ckk, dy + grp * kg * ohw, ohw, 1,
                       direct ? dxg : dcol, ohw, false};
    gemm_parallel(op, scratch, nt);
    if (!direct) {
      std::memset(dxg, 0, sizeof(T) * cg * hw);
      col2im(dcol, cg, g, dxg);
    }
  }
}

// dw[k, ckk] += dy [k, ohw] * col^T; dbias[k] += row sums of dy.
template <class T>
void backward_filter_image(const ConvGeom &g, const T *x, const T *dy, T *dw, T *dbias, T *col, T *scratch, int nt) {
  const i64 cg = g.cg(), kg = g.kg(), ckk = g.ckk(), ohw = g.ohw(), hw = g.hw();
  for (i64 grp = 0; grp < g.groups; grp++) {
    const T *xg = x + grp * cg * hw;
    const T *b;
    if (g.pointwise()) {
      b = xg;
    } else {
      im2col(xg, cg, g, col);
      b = col;
    }
    // B(p, j) = col[j, p]: rows of col are the depth's columns.
    GemmOperands<T> op{kg, ckk, ohw, dy + grp * kg * ohw, ohw, 1, b, 1, ohw, dw + grp * kg * ckk, ckk, true};
    gemm_parallel(op, scratch, nt);
  }
  if (dbias != nullptr) {
    for (i64 kk = 0; kk < g.k; kk++) {
      const T *r = dy + kk * ohw;
      T acc = 0;
      for (i64 q = 0; q < ohw; q++) acc += r[q];
      dbias[kk] += acc;
    }
  }
}

template <class T>
void forward(const ConvGeom &g, const T *x, const T *wt, const T *bias, T *y, T *ws) {
  Plan p = plan<T>(0, g);
  const i64 xs = g.c * g.hw(), ys = g.k * g.ohw();
  if (p.per_image) {
#pragma omp parallel for num_threads(p.threads) schedule(static)
    for (i64 n = 0; n < g.n; n++) {
      T *mine = ws + omp_get_thread_num() * p.per_thread();
      forward_image(g, x + n * xs, wt, bias, y + n * ys, mine, mine + p.col, 1);
    }
  } else {
    for (i64 n = 0; n < g.n; n++) {
      forward_image(g, x + n * xs, wt, bias, y + n * ys, ws, ws + p.col, p.threads);
    }
  }
}

template <class T>
void backward_data(const ConvGeom &g, const T *dy, const T *wt, T *dx, T *ws) {
  Plan p = plan<T>(1, g);
  const i64 xs = g.c * g.hw(), ys = g.k * g.ohw();
  if (p.per_image) {
#pragma omp parallel for num_threads(p.threads) schedule(static)
    for (i64 n = 0; n < g.n; n++) {
      T *mine = ws + omp_get_thread_num() * p.per_thread();
      backward_data_image(g, dy + n * ys, wt, dx + n * xs, mine, mine + p.col, 1);
    }
  } else {
    for (i64 n = 0; n < g.n; n++) {
      backward_data_image(g, dy + n * ys, wt, dx + n * xs, ws, ws + p.col, p.threads);
    }
  }
}

template <class T>
void backward_filter(const ConvGeom &g, const T *x, const T *dy, T *dw, T *dbias, T *ws) {
  Plan p = plan<T>(2, g);
  const i64 xs = g.c * g.hw(), ys = g.k * g.ohw(), wn = g.k * g.ckk();
  if (p.per_image && p.threads > 1) {
    // Each thread sums its images into a private partial; the partials are then added in
    // thread order (deterministic for a fixed thread count).
    int used = 0;
#pragma omp parallel num_threads(p.threads)
    {
      int t = omp_get_thread_num();
#pragma omp single
      used = omp_get_num_threads();
      T *mine = ws + t * p.per_thread();
      T *part = mine + p.col + p.gemm;
      std::memset(part, 0, sizeof(T) * (wn + g.k));
#pragma omp for schedule(static)
      for (i64 n = 0; n < g.n; n++) {
        backward_filter_image(g, x + n * xs, dy + n * ys, part, dbias ? part + wn : nullptr, mine, mine + p.col, 1);
      }
    }
    for (int t = 0; t < used; t++) {
      const T *part = ws + t * p.per_thread() + p.col + p.gemm;
      for (i64 q = 0; q < wn; q++) dw[q] += part[q];
      if (dbias != nullptr) {
        for (i64 q = 0; q < g.k; q++) dbias[q] += part[wn + q];
      }
    }
  } else {
    for (i64 n = 0; n < g.n; n++) {
      backward_filter_image(g, x + n * xs, dy + n * ys, dw, dbias, ws, ws + p.col, p.threads);
    }
  }
}

int32_t check(const ConvGeom &g) {
  const Window &v = g.win;
  if (!sizes_ok({g.n, g.c, g.h, g.w, g.k, g.oh, g.ow, v.pt, v.pl})) return CNN4J_INVALID_ARGUMENT;
  if (v.kh < 1 || v.kw < 1 || v.sh < 1 || v.sw < 1 || v.dh < 1 || v.dw < 1 || g.groups < 1) {
    return CNN4J_INVALID_ARGUMENT;
  }
  if (g.c % g.groups != 0 || g.k % g.groups != 0) return CNN4J_INVALID_ARGUMENT;
  return CNN4J_OK;
}

}  // namespace
}  // namespace cnn4j

using namespace cnn4j;

#define CNN4J_GEOM                                                                                 \
  ConvGeom g{n, c, h, w, k, oh, ow, groups, Window{kh, kw, sh, sw, pt, pl, dh, dw}};              \
  if (int32_t st = check(g); st != CNN4J_OK) return st;

extern "C" {

int32_t cnn4j_conv2d_workspace(int32_t dtype, int32_t op, int64_t n, int64_t c, int64_t h, int64_t w, int64_t k,
                               int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t pt, int64_t pl, int64_t dh,
                               int64_t dw, int64_t groups, int64_t oh, int64_t ow, int64_t *bytes) {
  if (bytes == nullptr || op < 0 || op > 2) return CNN4J_INVALID_ARGUMENT;
  CNN4J_GEOM
  CNN4J_DISPATCH_FLOAT(dtype, {
    Plan p = plan<T>(op, g);
    *bytes = static_cast<int64_t>(sizeof(T)) * p.per_thread() * p.threads;
  });
  return CNN4J_OK;
}

int32_t cnn4j_conv2d_forward(int32_t dtype, const void *x, const void *weight, const void *bias, void *y, int64_t n,
                             int64_t c, int64_t h, int64_t w, int64_t k, int64_t kh, int64_t kw, int64_t sh,
                             int64_t sw, int64_t pt, int64_t pl, int64_t dh, int64_t dw, int64_t groups, int64_t oh,
                             int64_t ow, void *workspace) {
  CNN4J_GEOM
  if (x == nullptr || weight == nullptr || y == nullptr || workspace == nullptr) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, forward<T>(g, static_cast<const T *>(x), static_cast<const T *>(weight),
                                          static_cast<const T *>(bias), static_cast<T *>(y),
                                          static_cast<T *>(workspace)));
  return CNN4J_OK;
}

int32_t cnn4j_conv2d_backward_data(int32_t dtype, const void *dy, const void *weight, void *dx, int64_t n, int64_t c,
                                   int64_t h, int64_t w, int64_t k, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                   int64_t pt, int64_t pl, int64_t dh, int64_t dw, int64_t groups, int64_t oh,
                                   int64_t ow, void *workspace) {
  CNN4J_GEOM
  if (dy == nullptr || weight == nullptr || dx == nullptr || workspace == nullptr) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, backward_data<T>(g, static_cast<const T *>(dy), static_cast<const T *>(weight),
                                                static_cast<T *>(dx), static_cast<T *>(workspace)));
  return CNN4J_OK;
}

int32_t cnn4j_conv2d_backward_filter(int32_t dtype, const void *x, const void *dy, void *dweight, void *dbias,
                                     int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t kh, int64_t kw,
                                     int64_t sh, int64_t sw, int64_t pt, int64_t pl, int64_t dh, int64_t dw,
                                     int64_t groups, int64_t oh, int64_t ow, void *workspace) {
  CNN4J_GEOM
  if (x == nullptr || dy == nullptr || dweight == nullptr || workspace == nullptr) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, backward_filter<T>(g, static_cast<const T *>(x), static_cast<const T *>(dy),
                                                  static_cast<T *>(dweight), static_cast<T *>(dbias),
                                                  static_cast<T *>(workspace)));
  return CNN4J_OK;
}

}  // extern "C"
