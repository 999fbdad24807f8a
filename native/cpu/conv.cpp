// Convolution forward, backward-data and backward-filter: im2col + the blocked GEMM
// (a 1x1 convolution with unit stride and no padding skips im2col and multiplies the
// input directly). Images are split across threads when there are at least as many
// images as threads; otherwise the GEMM itself is split.
#include <omp.h>

#include <cstring>

#include <type_traits>

#include "chunks.h"
#include "common.h"
#include "gemm.h"
#include "blocked.h"
#include "positions.h"
#include "winograd.h"

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
void im2col(const T *x, i64 channels, const ConvGeom &g, T *col, i64 ld = -1) {
  const Window &v = g.win;
  const i64 h = g.h, w = g.w, oh = g.oh, ow = g.ow, ohw = ld < 0 ? g.ohw() : ld;
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
          // Rows are short (often 10 to 32 pixels): plain loops, not memcpy/memset calls
          // (this file is compiled with -fno-tree-loop-distribute-patterns to keep them so).
          if (i < lo_h || i >= hi_h) {
            for (i64 j = 0; j < ow; j++) d[j] = T(0);
            continue;
          }
          const T *src = xc + (i * v.sh - v.pt + tap_h) * w - v.pl + tap_w;
          for (i64 j = 0; j < lo_w; j++) d[j] = T(0);
          if (v.sw == 1) {
            for (i64 j = lo_w; j < hi_w; j++) d[j] = src[j];
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
void col2im(const T *col, i64 channels, const ConvGeom &g, T *dx, i64 ld = -1) {
  const Window &v = g.win;
  const i64 h = g.h, w = g.w, oh = g.oh, ow = g.ow, ohw = ld < 0 ? g.ohw() : ld;
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

// Unit-stride convolutions skip im2col: with the input laid out with row pitch wp (the
// input itself when no padding is needed, else a zero-padded copy), row (c, a, b) of the
// patch matrix is the contiguous run xp[c] + a*dh*wp + b*dw of length
// L = (oh-1)*wp + ow, if the output is computed on a "wide" grid of pitch wp whose
// columns ow..wp-1 are discarded. The GEMM reads those rows through a pointer table.
struct Wide {
  bool use;
  bool padded;  // the input must be copied into a zero-padded buffer
  i64 hp, wp, L;
  i64 xp_elems() const { return padded ? hp * wp : 0; }
};

inline Wide wide_geom(const ConvGeom &g) {
  const Window &v = g.win;
  Wide r{};
  r.use = v.sh == 1 && v.sw == 1 && !g.pointwise();
  if (!r.use) return r;
  i64 need_h = g.oh + (v.kh - 1) * v.dh, need_w = g.ow + (v.kw - 1) * v.dw;
  r.padded = v.pt != 0 || v.pl != 0 || need_h > g.h || need_w > g.w;
  r.hp = r.padded ? need_h : g.h;
  r.wp = r.padded ? need_w : g.w;
  r.L = (g.oh - 1) * r.wp + g.ow;
  // Too many discarded columns (a kernel much wider than the output): use im2col.
  if (r.wp > 2 * g.ow + 8) r.use = false;
  return r;
}

// Pointer-table entries fit in the workspace's element type.
template <class T>
constexpr i64 pointer_elems(i64 count) {
  return ceil_div(count * i64(sizeof(const T *)), i64(sizeof(T)));
}

// Backward-filter as dot products along the (wide) pixel axis when the patch rows are few
// enough to stay in cache: no im2col and no transposed packing (LeNet-sized layers).
template <class T>
bool dot_filter(const ConvGeom &g, const Wide &wd) {
  return wd.use && g.ckk() * wd.L * i64(sizeof(T)) <= (256 << 10);
}

// How a convolution uses its threads and its workspace: `threads` shares of (col + gemm)
// elements, then (backward-filter) `slots` private weight-gradient partials.
struct Plan {
  int threads;        // threads the op uses
  bool per_image;     // images split across threads (else the GEMM is)
  bool batched;       // small outputs: the whole batch is one GEMM (images side by side in N)
  i64 col;            // im2col / dcol buffer
  i64 gemm;           // GEMM packing scratch
  i64 slots;          // backward-filter: fixed groups of images, each summed into its own partial
  i64 partial;        // elements of one partial (dW + dbias)
  WinoGeom wino;      // float 3x3 shapes where Winograd pays (wino.m != 0), see winograd.h
  BlockGeom blk;      // float shapes the blocked direct kernels run (blk.use()), see blocked.h
  PosGeom pos;        // small images: one GEMM per position over the batch (pos.use()), see positions.h
  i64 per_thread() const { return col + gemm; }
  i64 total() const { return threads * per_thread() + slots * partial; }
};

// Backward-filter sums the images in at most this many fixed groups, added up in group
// order: the result does not depend on which thread ran which group.
constexpr i64 kMaxSlots = 8;

template <class T>
Plan plan(int op, const ConvGeom &g) {
  Plan p{};
  double flops = 2.0 * g.n * g.k * g.ohw() * g.ckk();
  p.threads = threads_for(flops / 8);
  // Few output pixels per image (the late layers of a CIFAR-sized network) make per-image
  // products too thin for the register tile: put the images side by side instead.
  p.batched = g.ohw() < 64 && g.n > 1;
  p.per_image = !p.batched && g.n >= p.threads;
  bool need_col = op == 1 || !g.pointwise();
  i64 col = need_col ? g.ckk() * g.ohw() : 0;
  Wide wd = wide_geom(g);
  if (wd.use && op == 0) {
    // padded input, row pointers, wide output
    col = wd.xp_elems() * g.cg() + pointer_elems<T>(g.ckk()) + g.kg() * wd.L;
  } else if (op == 2 && dot_filter<T>(g, wd)) {
    // padded input, row pointers, wide dy
    col = wd.xp_elems() * g.cg() + pointer_elems<T>(g.ckk()) + g.kg() * wd.L;
  } else if (wd.use && op == 1) {
    // padded input gradient, wide dy, wide dcol
    col = wd.xp_elems() * g.cg() + g.kg() * wd.L + g.ckk() * wd.L;
  }
  if (p.batched) {
    // patch matrix of the batch [ckk, n*ohw] and the batch's output or dy [kg, n*ohw]
    col = g.ckk() * g.n * g.ohw() + g.kg() * g.n * g.ohw();
  }
  // Rounded to a cache line (16 floats) so that threads never share one.
  p.col = round_up(col, 16);
  p.gemm = round_up(gemm_scratch_elems<T>(), 16);
  p.slots = (op == 2 && p.per_image) ? imin(g.n, kMaxSlots) : 0;
  p.partial = p.slots ? round_up(g.k * g.ckk() + g.k, 16) : 0;
  p.blk.op = -1;
  p.pos.op = -1;
  if constexpr (std::is_same_v<T, float>) {
    p.wino = winograd_plan(g, op, p.threads);
    p.blk = blocked_plan(g, op, p.threads);
    // Forward and backward-data with pixels in the vectors beat Winograd's transforms on few
    // channels (measured on AMD Zen 5, ResNet-20's 16-channel layer: 1.2x each; its
    // backward-filter is not faster than Winograd's).
    if (op != 2 && p.blk.use() && p.blk.pix) p.wino = WinoGeom{};
    p.pos = positions_plan(g, op, p.threads, gemm_scratch_elems<T>());
    if (p.pos.use()) {
      p.wino = WinoGeom{};
      p.blk.op = -1;
    }
  }
  return p;
}

// Elements of workspace the pass needs: enough for every algorithm the plan may take, so
// that the algorithm setting may change between the query and the call.
i64 workspace_elems(const Plan &p) {
  return imax(imax(p.total(), p.pos.use() ? p.pos.workspace() : 0),
              imax(p.wino.m ? p.wino.workspace() : 0, p.blk.use() ? p.blk.workspace() : 0));
}

// Runs the pass as GEMMs per position when the plan chose them and the setting allows it.
template <class T>
bool positions(const Plan &p, const T *x, const T *wt, const T *bias, const T *dy, T *out, T *ws) {
  if constexpr (std::is_same_v<T, float>) {
    if (!p.pos.use() || conv_algorithm() != CNN4J_CONV_AUTO) return false;
    positions_run(p.pos, x, wt, bias, dy, out, ws);
    return true;
  } else {
    (void)p, (void)x, (void)wt, (void)bias, (void)dy, (void)out, (void)ws;
    return false;
  }
}

// Runs the pass as Winograd when the plan chose it and the setting allows it.
template <class T>
bool winograd(const Plan &p, int op, const T *x, const T *wt, const T *bias, const T *dy, T *out, T *ws) {
  if constexpr (std::is_same_v<T, float>) {
    if (p.wino.m == 0 || conv_algorithm() != CNN4J_CONV_AUTO) return false;
    winograd_run(WinoArgs{p.wino, op, x, wt, bias, dy, out, ws, p.threads});
    return true;
  } else {
    (void)p, (void)op, (void)x, (void)wt, (void)bias, (void)dy, (void)out, (void)ws;
    return false;
  }
}

// Runs the pass with the blocked direct kernels when the plan chose them and the setting
// allows it (Winograd, where it applies, comes first).
template <class T>
bool blocked(const Plan &p, const T *x, const T *wt, const T *bias, const T *dy, T *out, T *ws) {
  if constexpr (std::is_same_v<T, float>) {
    if (!p.blk.use() || conv_algorithm() == CNN4J_CONV_GEMM) return false;
    blocked_run(BlockArgs{p.blk, x, wt, bias, dy, out, ws});
    return true;
  } else {
    (void)p, (void)x, (void)wt, (void)bias, (void)dy, (void)out, (void)ws;
    return false;
  }
}

// Copies channels of x into a zero-padded [channels, hp, wp] buffer (top/left padding pt/pl).
template <class T>
void pad_input(const T *x, i64 channels, const ConvGeom &g, const Wide &wd, T *xp) {
  for (i64 c = 0; c < channels; c++) {
    const T *xc = x + c * g.hw();
    T *dc = xp + c * wd.hp * wd.wp;
    for (i64 i = 0; i < wd.hp; i++) {
      T *d = dc + i * wd.wp;
      i64 ih = i - g.win.pt;
      if (ih < 0 || ih >= g.h) {
        for (i64 j = 0; j < wd.wp; j++) d[j] = T(0);
        continue;
      }
      const T *src = xc + ih * g.w;
      for (i64 j = 0; j < wd.wp; j++) {
        i64 iw = j - g.win.pl;
        d[j] = (iw >= 0 && iw < g.w) ? src[iw] : T(0);
      }
    }
  }
}

// Points rows[(c*kh + a)*kw + b] at the start of patch row (c, a, b) of one group's input
// (copied into the zero-padded buffer xp first when the geometry needs padding).
template <class T>
void patch_rows(const ConvGeom &g, const Wide &wd, const T *xg, T *xp, const T **rows) {
  const Window &v = g.win;
  const T *xs = xg;
  i64 cs = g.hw();
  if (wd.padded) {
    pad_input(xg, g.cg(), g, wd, xp);
    xs = xp;
    cs = wd.hp * wd.wp;
  }
  i64 p = 0;
  for (i64 c = 0; c < g.cg(); c++) {
    for (i64 a = 0; a < v.kh; a++) {
      for (i64 b = 0; b < v.kw; b++) rows[p++] = xs + c * cs + a * v.dh * wd.wp + b * v.dw;
    }
  }
}

template <class T>
void forward_image_wide(const ConvGeom &g, const Wide &wd, const T *x, const T *wt, T *y, T *buf, T *scratch,
                        int nt) {
  const i64 cg = g.cg(), kg = g.kg(), ckk = g.ckk(), hw = g.hw(), ohw = g.ohw();
  T *xp = buf;
  const T **rows = reinterpret_cast<const T **>(buf + wd.xp_elems() * cg);
  T *wide = buf + wd.xp_elems() * cg + pointer_elems<T>(ckk);
  for (i64 grp = 0; grp < g.groups; grp++) {
    patch_rows(g, wd, x + grp * cg * hw, xp, rows);
    T *yg = y + grp * kg * ohw;
    const bool compact = wd.wp != g.ow;
    GemmOperands<T> op{kg, wd.L, ckk, wt + grp * kg * ckk, ckk, 1, nullptr, 0, 1, compact ? wide : yg,
                       compact ? wd.L : ohw, false, rows};
    gemm_parallel(op, scratch, nt);
    if (compact) {
      for (i64 kk = 0; kk < kg; kk++) {
        for (i64 i = 0; i < g.oh; i++) {
          const T *src = wide + kk * wd.L + i * wd.wp;
          T *d = yg + kk * ohw + i * g.ow;
          for (i64 j = 0; j < g.ow; j++) d[j] = src[j];
        }
      }
    }
  }
}

template <class T>
void forward_image(const ConvGeom &g, const T *x, const T *wt, const T *bias, T *y, T *col, T *scratch, int nt) {
  const i64 cg = g.cg(), kg = g.kg(), ckk = g.ckk(), ohw = g.ohw(), hw = g.hw();
  Wide wd = wide_geom(g);
  if (wd.use) {
    forward_image_wide(g, wd, x, wt, y, col, scratch, nt);
  } else
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
void backward_data_image_wide(const ConvGeom &g, const Wide &wd, const T *dy, const T *wt, T *dx, T *buf, T *scratch,
                              int nt) {
  const i64 cg = g.cg(), kg = g.kg(), ckk = g.ckk(), ohw = g.ohw(), hw = g.hw();
  const Window &v = g.win;
  T *dxp = buf;
  T *dyw = buf + wd.xp_elems() * cg;
  T *dcol = dyw + kg * wd.L;
  for (i64 grp = 0; grp < g.groups; grp++) {
    const T *dyg = dy + grp * kg * ohw;
    T *dxg = dx + grp * cg * hw;
    // dy on the wide grid, zero in the discarded columns (so they add nothing below).
    const T *b = dyg;
    if (wd.wp != g.ow) {
      widen(dyg, kg, g, wd, dyw);
      b = dyw;
    }
    // dcol[ckk, L] = W_g^T [ckk, kg] * dy_wide [kg, L]
    GemmOperands<T> op{ckk, wd.L, kg, wt + grp * kg * ckk, 1, ckk, b, wd.L, 1, dcol, wd.L, false};
    gemm_parallel(op, scratch, nt);
    // Scatter: contiguous runs added into the (padded) input gradient.
    T *acc = wd.padded ? dxp : dxg;
    const i64 cs = wd.padded ? wd.hp * wd.wp : hw;
    for (i64 q = 0; q < cg * cs; q++) acc[q] = T(0);
    i64 p = 0;
    for (i64 c = 0; c < cg; c++) {
      for (i64 a = 0; a < v.kh; a++) {
        for (i64 bb = 0; bb < v.kw; bb++, p++) {
          T *d = acc + c * cs + a * v.dh * wd.wp + bb * v.dw;
          const T *s = dcol + p * wd.L;
          for (i64 j = 0; j < wd.L; j++) d[j] += s[j];
        }
      }
    }
    if (wd.padded) {
      for (i64 c = 0; c < cg; c++) {
        for (i64 ih = 0; ih < g.h; ih++) {
          i64 i = ih + v.pt;
          T *d = dxg + c * hw + ih * g.w;
          const T *src = dxp + c * cs + i * wd.wp;
          for (i64 iw = 0; iw < g.w; iw++) {
            i64 j = iw + v.pl;
            d[iw] = (i < wd.hp && j < wd.wp) ? src[j] : T(0);
          }
        }
      }
    }
  }
}

template <class T>
void backward_data_image(const ConvGeom &g, const T *dy, const T *wt, T *dx, T *dcol, T *scratch, int nt) {
  const i64 cg = g.cg(), kg = g.kg(), ckk = g.ckk(), ohw = g.ohw(), hw = g.hw();
  Wide wd = wide_geom(g);
  if (wd.use) {
    backward_data_image_wide(g, wd, dy, wt, dx, dcol, scratch, nt);
    return;
  }
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

// Expands dy [kg, oh*ow] onto the wide grid [kg, L] (pitch wp), zero in the discarded columns.
template <class T>
void widen(const T *dyg, i64 kg, const ConvGeom &g, const Wide &wd, T *dyw) {
  for (i64 kk = 0; kk < kg; kk++) {
    for (i64 i = 0; i < g.oh; i++) {
      const T *src = dyg + kk * g.ohw() + i * g.ow;
      T *r = dyw + kk * wd.L + i * wd.wp;
      for (i64 j = 0; j < g.ow; j++) r[j] = src[j];
      if (i + 1 < g.oh) {
        for (i64 j = g.ow; j < wd.wp; j++) r[j] = T(0);
      }
    }
  }
}

// The sum of r[0 .. len) in 16 interleaved partial sums, added up in a fixed order (the
// loop vectorises; one running sum would wait on every addition).
template <class T>
T row_sum(const T *r, i64 len) {
  T part[16] = {};
  i64 q = 0;
  for (; q + 16 <= len; q += 16) {
    for (int l = 0; l < 16; l++) part[l] += r[q + l];
  }
  for (; q < len; q++) part[q % 16] += r[q];
  T acc = 0;
  for (int l = 0; l < 16; l++) acc += part[l];
  return acc;
}

// dbias[k] += the sum of image dy's row k.
template <class T>
void bias_grad_image(const ConvGeom &g, const T *dy, T *dbias) {
  for (i64 kk = 0; kk < g.k; kk++) dbias[kk] += row_sum(dy + kk * g.ohw(), g.ohw());
}

// dbias[k] += the sum over the batch of dy's rows k: channels spread over the threads, each
// summed image by image in order (the same result on any thread count).
template <class T>
void bias_grad(const ConvGeom &g, const T *dy, T *dbias, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
  for (i64 kk = 0; kk < g.k; kk++) {
    T acc = 0;
    for (i64 n = 0; n < g.n; n++) acc += row_sum(dy + (n * g.k + kk) * g.ohw(), g.ohw());
    dbias[kk] += acc;
  }
}

template <class T>
void backward_filter_image_dot(const ConvGeom &g, const Wide &wd, const T *x, const T *dy, T *dw, T *buf) {
  const i64 cg = g.cg(), kg = g.kg(), ckk = g.ckk(), ohw = g.ohw(), hw = g.hw();
  T *xp = buf;
  const T **rows = reinterpret_cast<const T **>(buf + wd.xp_elems() * cg);
  T *dyw = buf + wd.xp_elems() * cg + pointer_elems<T>(ckk);
  for (i64 grp = 0; grp < g.groups; grp++) {
    patch_rows(g, wd, x + grp * cg * hw, xp, rows);
    const T *dyg = dy + grp * kg * ohw;
    if (wd.wp != g.ow) {
      widen(dyg, kg, g, wd, dyw);
      dyg = dyw;
    }
    dot_nt(kg, ckk, wd.L, dyg, wd.L, rows, dw + grp * kg * ckk, ckk);
  }
}

// dw[k, ckk] += dy [k, ohw] * col^T; dbias[k] += row sums of dy.
template <class T>
void backward_filter_image(const ConvGeom &g, const T *x, const T *dy, T *dw, T *dbias, T *col, T *scratch, int nt) {
  const i64 cg = g.cg(), kg = g.kg(), ckk = g.ckk(), ohw = g.ohw(), hw = g.hw();
  Wide wd = wide_geom(g);
  if (dot_filter<T>(g, wd)) {
    backward_filter_image_dot(g, wd, x, dy, dw, col);
  } else
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
  if (dbias != nullptr) bias_grad_image(g, dy, dbias);
}

// Copies image i's dy rows of group grp into the batch matrix dyb [kg, n*ohw].
template <class T>
void gather_dy(const ConvGeom &g, const T *dy, i64 grp, i64 i, T *dyb) {
  const i64 kg = g.kg(), ohw = g.ohw(), nn = g.n * ohw;
  for (i64 kk = 0; kk < kg; kk++) {
    const T *src = dy + (i * g.k + grp * kg + kk) * ohw;
    T *d = dyb + kk * nn + i * ohw;
    for (i64 q = 0; q < ohw; q++) d[q] = src[q];
  }
}

// The batched forms (Plan::batched): one GEMM per group over all images, N = n * ohw.
template <class T>
void forward_batched(const ConvGeom &g, const Plan &p, const T *x, const T *wt, const T *bias, T *y, T *ws) {
  const i64 cg = g.cg(), kg = g.kg(), ckk = g.ckk(), ohw = g.ohw(), nn = g.n * ohw;
  T *col = ws, *out = ws + ckk * nn, *scratch = ws + p.col;
  for (i64 grp = 0; grp < g.groups; grp++) {
    for (i64 i = 0; i < g.n; i++) im2col(x + (i * g.c + grp * cg) * g.hw(), cg, g, col + i * ohw, nn);
    GemmOperands<T> op{kg, nn, ckk, wt + grp * kg * ckk, ckk, 1, col, nn, 1, out, nn, false};
    gemm_parallel(op, scratch, p.threads);
    for (i64 i = 0; i < g.n; i++) {
      for (i64 kk = 0; kk < kg; kk++) {
        T b = bias ? bias[grp * kg + kk] : T(0);
        const T *src = out + kk * nn + i * ohw;
        T *d = y + (i * g.k + grp * kg + kk) * ohw;
        for (i64 q = 0; q < ohw; q++) d[q] = src[q] + b;
      }
    }
  }
}

template <class T>
void backward_data_batched(const ConvGeom &g, const Plan &p, const T *dy, const T *wt, T *dx, T *ws) {
  const i64 cg = g.cg(), kg = g.kg(), ckk = g.ckk(), ohw = g.ohw(), nn = g.n * ohw;
  T *dcol = ws, *dyb = ws + ckk * nn, *scratch = ws + p.col;
  for (i64 grp = 0; grp < g.groups; grp++) {
    for (i64 i = 0; i < g.n; i++) gather_dy(g, dy, grp, i, dyb);
    GemmOperands<T> op{ckk, nn, kg, wt + grp * kg * ckk, 1, ckk, dyb, nn, 1, dcol, nn, false};
    gemm_parallel(op, scratch, p.threads);
    for (i64 i = 0; i < g.n; i++) {
      T *dxg = dx + (i * g.c + grp * cg) * g.hw();
      std::memset(dxg, 0, sizeof(T) * cg * g.hw());
      col2im(dcol + i * ohw, cg, g, dxg, nn);
    }
  }
}

template <class T>
void backward_filter_batched(const ConvGeom &g, const Plan &p, const T *x, const T *dy, T *dw, T *dbias, T *ws) {
  const i64 cg = g.cg(), kg = g.kg(), ckk = g.ckk(), ohw = g.ohw(), nn = g.n * ohw;
  T *col = ws, *dyb = ws + ckk * nn, *scratch = ws + p.col;
  for (i64 grp = 0; grp < g.groups; grp++) {
    for (i64 i = 0; i < g.n; i++) {
      im2col(x + (i * g.c + grp * cg) * g.hw(), cg, g, col + i * ohw, nn);
      gather_dy(g, dy, grp, i, dyb);
    }
    // dW_g[kg, ckk] += dy_b [kg, nn] * col^T: B(j, q) = col[q * nn + j]
    GemmOperands<T> op{kg, ckk, nn, dyb, nn, 1, col, 1, nn, dw + grp * kg * ckk, ckk, true};
    gemm_parallel(op, scratch, p.threads);
  }
  if (dbias != nullptr) {
    bias_grad(g, dy, dbias, p.threads);
  }
}

template <class T>
void forward(const ConvGeom &g, const Plan &p, const T *x, const T *wt, const T *bias, T *y, T *ws) {
  const i64 xs = g.c * g.hw(), ys = g.k * g.ohw();
  if (positions<T>(p, x, wt, bias, nullptr, y, ws)) return;
  if (winograd<T>(p, kWinoForward, x, wt, bias, nullptr, y, ws)) return;
  if (blocked<T>(p, x, wt, bias, nullptr, y, ws)) return;
  if (p.batched) {
    forward_batched(g, p, x, wt, bias, y, ws);
  } else if (p.per_image) {
    Claims images(g.n, p.threads);  // each thread's own images first
#pragma omp parallel num_threads(p.threads)
    {
      const int t = omp_get_thread_num();
      T *mine = ws + t * p.per_thread();
      for (i64 n; (n = images.next(t)) >= 0;) forward_image(g, x + n * xs, wt, bias, y + n * ys, mine, mine + p.col, 1);
    }
  } else {
    for (i64 n = 0; n < g.n; n++) {
      forward_image(g, x + n * xs, wt, bias, y + n * ys, ws, ws + p.col, p.threads);
    }
  }
}

template <class T>
void backward_data(const ConvGeom &g, const Plan &p, const T *dy, const T *wt, T *dx, T *ws) {
  const i64 xs = g.c * g.hw(), ys = g.k * g.ohw();
  if (positions<T>(p, nullptr, wt, nullptr, dy, dx, ws)) return;
  if (winograd<T>(p, kWinoBackwardData, dy, wt, nullptr, nullptr, dx, ws)) return;
  if (blocked<T>(p, nullptr, wt, nullptr, dy, dx, ws)) return;
  if (p.batched) {
    backward_data_batched(g, p, dy, wt, dx, ws);
  } else if (p.per_image) {
    Claims images(g.n, p.threads);  // each thread's own images first
#pragma omp parallel num_threads(p.threads)
    {
      const int t = omp_get_thread_num();
      T *mine = ws + t * p.per_thread();
      for (i64 n; (n = images.next(t)) >= 0;) {
        backward_data_image(g, dy + n * ys, wt, dx + n * xs, mine, mine + p.col, 1);
      }
    }
  } else {
    for (i64 n = 0; n < g.n; n++) {
      backward_data_image(g, dy + n * ys, wt, dx + n * xs, ws, ws + p.col, p.threads);
    }
  }
}

template <class T>
void backward_filter(const ConvGeom &g, const Plan &p, const T *x, const T *dy, T *dw, T *dbias, T *ws) {
  const i64 xs = g.c * g.hw(), ys = g.k * g.ohw(), wn = g.k * g.ckk();
  if (positions<T>(p, x, nullptr, nullptr, dy, dw, ws) ||
      winograd<T>(p, kWinoBackwardFilter, x, nullptr, nullptr, dy, dw, ws) ||
      blocked<T>(p, x, nullptr, nullptr, dy, dw, ws)) {
    if (dbias != nullptr) {
      bias_grad(g, dy, dbias, p.threads);
    }
    return;
  }
  if (p.batched) {
    backward_filter_batched(g, p, x, dy, dw, dbias, ws);
  } else if (p.slots > 0) {
    // Dynamic scheduling: a thread that the OS preempts delays one group, not half the batch.
    T *parts = ws + p.threads * p.per_thread();
#pragma omp parallel for num_threads(p.threads) schedule(dynamic, 1)
    for (i64 s = 0; s < p.slots; s++) {
      T *mine = ws + omp_get_thread_num() * p.per_thread();
      T *part = parts + s * p.partial;
      std::memset(part, 0, sizeof(T) * (wn + g.k));
      for (i64 n = slot_first(s, p.slots, g.n); n < slot_first(s + 1, p.slots, g.n); n++) {
        backward_filter_image(g, x + n * xs, dy + n * ys, part, dbias ? part + wn : nullptr, mine, mine + p.col, 1);
      }
    }
    for (i64 s = 0; s < p.slots; s++) {
      const T *part = parts + s * p.partial;
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

}  // namespace
}  // namespace cnn4j

using namespace cnn4j;

// The geometry, checked by its one validator (cnn4j/geometry.h).
#define CNN4J_GEOM                                                         \
  if (int32_t st = cnn4j_conv_geometry_check(geometry); st != CNN4J_OK) return st; \
  const ConvGeom &g = *geometry;

// Plans pass `op` once and binds ws to the context's scratch memory for it (T *ws).
#define CNN4J_PLAN(op)                                                                       \
  const Plan p = plan<T>(op, g);                                                             \
  T *ws = static_cast<T *>(context_workspace(ctx, int64_t(sizeof(T)) * workspace_elems(p))); \
  if (ws == nullptr) return CNN4J_OUT_OF_MEMORY;

CNN4J_CUDA_TWIN(conv2d_forward)
int32_t cnn4j_conv2d_forward(cnn4j_context *ctx, int32_t dtype, const cnn4j_conv_geometry *geometry, const void *x,
                             const void *weight, const void *bias, void *y) {
  CNN4J_ROUTE(conv2d_forward, dtype, geometry, x, weight, bias, y)
  CNN4J_GEOM
  if (x == nullptr || weight == nullptr || y == nullptr) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, {
    CNN4J_PLAN(0)
    forward<T>(g, p, static_cast<const T *>(x), static_cast<const T *>(weight), static_cast<const T *>(bias),
               static_cast<T *>(y), ws);
  });
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(conv2d_backward_data)
int32_t cnn4j_conv2d_backward_data(cnn4j_context *ctx, int32_t dtype, const cnn4j_conv_geometry *geometry,
                                   const void *dy, const void *weight, void *dx) {
  CNN4J_ROUTE(conv2d_backward_data, dtype, geometry, dy, weight, dx)
  CNN4J_GEOM
  if (dy == nullptr || weight == nullptr || dx == nullptr) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, {
    CNN4J_PLAN(1)
    backward_data<T>(g, p, static_cast<const T *>(dy), static_cast<const T *>(weight), static_cast<T *>(dx), ws);
  });
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(conv2d_backward_filter)
int32_t cnn4j_conv2d_backward_filter(cnn4j_context *ctx, int32_t dtype, const cnn4j_conv_geometry *geometry,
                                     const void *x, const void *dy, void *dweight, void *dbias) {
  CNN4J_ROUTE(conv2d_backward_filter, dtype, geometry, x, dy, dweight, dbias)
  CNN4J_GEOM
  if (x == nullptr || dy == nullptr || dweight == nullptr) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, {
    CNN4J_PLAN(2)
    backward_filter<T>(g, p, static_cast<const T *>(x), static_cast<const T *>(dy), static_cast<T *>(dweight),
                       static_cast<T *>(dbias), ws);
  });
  return CNN4J_OK;
}
