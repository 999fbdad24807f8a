// Small-image convolutions as GEMMs per position over the batch (see positions.h).
#include "positions.h"

#include <omp.h>

#include <cstring>
#include <vector>

#include "gemm.h"

namespace cnn4j {

PosGeom positions_plan(const ConvGeom &g, int op, int threads, i64 gemm_scratch) {
  PosGeom p{};
  p.op = -1;
  p.g = g;
  const Window &v = g.win;
  // A run of taps in one window row must read consecutive columns: no dilation across
  // (backward-data: and unit stride across, so that consecutive taps meet consecutive dy
  // columns).
  if (g.groups != 1 || v.dw != 1 || (op == 1 && v.sw != 1)) return p;
  // Few output pixels (measured on AMD Zen 5 against Winograd F(2x2) and im2col over the
  // batch: VGG-11's 2x2 layers), and a batch wide enough for the GEMM's columns.
  if (g.ohw() > 4 || g.hw() > 4 || g.n < 32) return p;
  p.op = op;
  p.threads = threads;
  p.gemm = round_up(gemm_scratch, 16);
  return p;
}

namespace {

// dst[(n * Q + q) * C + c] = src[(n * C + c) * Q + q]: images [n][c][q] to [n][q][c].
template <class T>
void to_pixels(const T *src, i64 N, i64 C, i64 Q, T *dst, int nt) {
#pragma omp parallel for num_threads(nt) schedule(static)
  for (i64 n = 0; n < N; n++) {
    const T *s = src + n * C * Q;
    T *d = dst + n * Q * C;
    for (i64 c = 0; c < C; c++) {
      for (i64 q = 0; q < Q; q++) d[q * C + c] = s[c * Q + q];
    }
  }
}

// dst[(q * C + c) * N + n] = src[(n * C + c) * Q + q]: images [n][c][q] to [q][c][n].
template <class T>
void to_positions(const T *src, i64 N, i64 C, i64 Q, T *dst, int nt) {
#pragma omp parallel for num_threads(nt) schedule(static)
  for (i64 c = 0; c < C; c++) {
    for (i64 q = 0; q < Q; q++) {
      T *d = dst + (q * C + c) * N;
      const T *s = src + c * Q + q;
      for (i64 n = 0; n < N; n++) d[n] = s[n * C * Q];
    }
  }
}

// dst[(n * C + c) * Q + q] = src[(n * Q + q) * C + c] (+ bias[c]): [n][q][c] to [n][c][q].
template <class T>
void from_pixels(const T *src, i64 N, i64 C, i64 Q, const T *bias, T *dst, int nt) {
#pragma omp parallel for num_threads(nt) schedule(static)
  for (i64 n = 0; n < N; n++) {
    const T *s = src + n * Q * C;
    T *d = dst + n * C * Q;
    for (i64 c = 0; c < C; c++) {
      const T b = bias ? bias[c] : T(0);
      for (i64 q = 0; q < Q; q++) d[c * Q + q] = s[q * C + c] + b;
    }
  }
}

// The valid taps of a window row for output column j: [lo, hi), the input columns
// j * sw - pl + b inside [0, w) (no dilation across).
inline void tap_run(const ConvGeom &g, i64 j, i64 &lo, i64 &hi) {
  const Window &v = g.win;
  const i64 first = j * v.sw - v.pl;
  lo = imax(0, -first);
  hi = imin(v.kw, g.w - first);
}

// Images are [n][pixel][channel] below, so that a run of taps in one window row reads a
// contiguous run of (pixel, channel) pairs; the filters are laid out to match, and are the
// GEMM's B operand (packed into wide panels by vector copies).
template <class T>
void forward(const PosGeom &p, const T *x, const T *wt, const T *bias, T *y, T *ws) {
  const ConvGeom &g = p.g;
  const Window &v = g.win;
  const i64 N = g.n, C = g.c, K = g.k, T9 = p.taps(), HW = g.hw(), P = g.ohw();
  T *xh = ws, *yh = ws + p.in(), *wf = yh + p.out(), *scratch = wf + p.filters();
  // wf[t][c][k] = W[k][c][t]: W as K rows of (c, t) transposed, 16 filters at a time, column
  // (c, t) landing at wf + (t * C + c) * K (element by element, as a strided gather, it took
  // 19% of VGG-11's 2x2 forward on perf).
  std::vector<i64> dcol(static_cast<size_t>(C * T9));
  for (i64 c = 0; c < C; c++) {
    for (i64 t = 0; t < T9; t++) dcol[c * T9 + t] = (t * C + c) * K;
  }
  to_pixels(x, N, C, HW, xh, p.threads);
#pragma omp parallel for num_threads(p.threads) schedule(static)
  for (i64 k0 = 0; k0 < K; k0 += 16) {
    transpose_scatter(imin(16, K - k0), C * T9, wt + k0 * C * T9, C * T9, wf + k0, dcol.data());
  }
  for (i64 i = 0; i < g.oh; i++) {
    for (i64 j = 0; j < g.ow; j++) {
      T *out = yh + (i * g.ow + j) * K;
      i64 lo, hi;
      tap_run(g, j, lo, hi);
      bool first = true;
      for (i64 a = 0; a < v.kh && hi > lo; a++) {
        const i64 ih = i * v.sh - v.pt + a * v.dh;
        if (ih < 0 || ih >= g.h) continue;
        const i64 iw = j * v.sw - v.pl + lo;
        // y(i, j)[n][k] (+)= x[n][run of pixels][c] * wf[run of taps][c][k]
        GemmOperands<T> op{N, K, (hi - lo) * C, xh + (ih * g.w + iw) * C, HW * C, 1,
                           wf + (a * v.kw + lo) * C * K, K, 1, out, P * K, !first};
        gemm_parallel(op, scratch, p.threads);
        first = false;
      }
      if (first) {  // every tap in the padding
        for (i64 n = 0; n < N; n++) std::memset(out + n * P * K, 0, sizeof(T) * K);
      }
    }
  }
  from_pixels(yh, N, K, P, bias, y, p.threads);
}

template <class T>
void backward_data(const PosGeom &p, const T *dy, const T *wt, T *dx, T *ws) {
  const ConvGeom &g = p.g;
  const Window &v = g.win;
  const i64 N = g.n, C = g.c, K = g.k, T9 = p.taps(), HW = g.hw(), P = g.ohw();
  T *dyh = ws, *dxh = ws + p.in(), *wd = dxh + p.out(), *scratch = wd + p.filters();
  to_pixels(dy, N, K, P, dyh, p.threads);
  // wd[a][kw - 1 - b][k][c] = W[k][c][a][b]: a window row's taps reversed, so that the
  // run of taps reaching one input column meets consecutive dy columns.
#pragma omp parallel for num_threads(p.threads) schedule(static)
  for (i64 k = 0; k < K; k++) {
    for (i64 a = 0; a < v.kh; a++) {
      for (i64 b = 0; b < v.kw; b++) {
        T *d = wd + ((a * v.kw + v.kw - 1 - b) * K + k) * C;
        const T *s = wt + k * C * T9 + a * v.kw + b;
        for (i64 c = 0; c < C; c++) d[c] = s[c * T9];
      }
    }
  }
  for (i64 ih = 0; ih < g.h; ih++) {
    for (i64 iw = 0; iw < g.w; iw++) {
      T *out = dxh + (ih * g.w + iw) * C;
      // Taps b with dy column iw + pl - b inside [0, ow) (unit stride and dilation across).
      const i64 lo = imax(0, iw + v.pl - g.ow + 1), hi = imin(v.kw, iw + v.pl + 1);
      bool first = true;
      for (i64 a = 0; a < v.kh && hi > lo; a++) {
        const i64 r = ih + v.pt - a * v.dh;
        if (r < 0 || r % v.sh != 0 || r / v.sh >= g.oh) continue;
        const i64 oj = iw + v.pl - (hi - 1);  // the dy column of the run's last tap
        // dx(ih, iw)[n][c] (+)= dy[n][run of pixels][k] * wd[run of reversed taps][k][c]
        GemmOperands<T> op{N, C, (hi - lo) * K, dyh + ((r / v.sh) * g.ow + oj) * K, P * K, 1,
                           wd + (a * v.kw + v.kw - hi) * K * C, C, 1, out, HW * C, !first};
        gemm_parallel(op, scratch, p.threads);
        first = false;
      }
      if (first) {  // read by no output pixel
        for (i64 n = 0; n < N; n++) std::memset(out + n * HW * C, 0, sizeof(T) * C);
      }
    }
  }
  from_pixels(dxh, N, C, HW, static_cast<const T *>(nullptr), dx, p.threads);
}

template <class T>
void backward_filter(const PosGeom &p, const T *x, const T *dy, T *dw, T *ws) {
  const ConvGeom &g = p.g;
  const Window &v = g.win;
  const i64 N = g.n, C = g.c, K = g.k, T9 = p.taps(), HW = g.hw(), P = g.ohw();
  T *xh = ws, *dyh = ws + p.in(), *wf = dyh + p.out(), *scratch = wf + p.filters();  // dyh: [p][k][n]
  to_pixels(x, N, C, HW, xh, p.threads);
  to_positions(dy, N, K, P, dyh, p.threads);
  std::memset(wf, 0, sizeof(T) * K * C * T9);
  for (i64 i = 0; i < g.oh; i++) {
    for (i64 j = 0; j < g.ow; j++) {
      i64 lo, hi;
      tap_run(g, j, lo, hi);
      for (i64 a = 0; a < v.kh && hi > lo; a++) {
        const i64 ih = i * v.sh - v.pt + a * v.dh;
        if (ih < 0 || ih >= g.h) continue;
        const i64 iw = j * v.sw - v.pl + lo;
        // wf[k][run of taps][c] += dy(i, j)[k][n] * x[n][run of pixels][c], positions in order
        GemmOperands<T> op{K, (hi - lo) * C, N, dyh + (i * g.ow + j) * K * N, N, 1,
                           xh + (ih * g.w + iw) * C, HW * C, 1, wf + (a * v.kw + lo) * C, T9 * C, true};
        gemm_parallel(op, scratch, p.threads);
      }
    }
  }
#pragma omp parallel for num_threads(p.threads) schedule(static)
  for (i64 k = 0; k < K; k++) {
    for (i64 c = 0; c < C; c++) {
      for (i64 t = 0; t < T9; t++) dw[(k * C + c) * T9 + t] += wf[(k * T9 + t) * C + c];
    }
  }
}

}  // namespace

template <class T>
void positions_run(const PosGeom &p, const T *x, const T *wt, const T *bias, const T *dy, T *out, T *ws) {
  if (p.op == 0) {
    forward(p, x, wt, bias, out, ws);
  } else if (p.op == 1) {
    backward_data(p, dy, wt, out, ws);
  } else {
    backward_filter(p, x, dy, out, ws);
  }
}

template void positions_run<float>(const PosGeom &, const float *, const float *, const float *, const float *,
                                   float *, float *);

}  // namespace cnn4j
