// Convolutions of small images as one GEMM per output position (or, backward-data, per
// input position) over the whole batch, skipping the taps that fall in the padding
// (internal; chosen by conv.cpp at plan time).
//
// On a 2x2 image with a 3x3 window and padding 1, each output pixel reads 4 of its 9 taps;
// im2col multiplies the other 5 by zero, and Winograd's tile transforms cost about as much
// as the products. Here, with the batch as the GEMM's wide dimension:
//
//   forward          y(p)[k][n]  = sum over the valid taps t of p and the channels c of
//                                  W[k][c][t] x(pixel(p, t))[c][n]
//   backward-data    dx(q)[c][n] = sum over the (p, t) that read input pixel q of
//                                  W[k][c][t] dy(p)[k][n]
//   backward-filter  dW[k][c][t] += sum over p and n of dy(p)[k][n] x(pixel(p, t))[c][n]
//
// With the images transposed to [image][pixel][channel] (backward-filter's dy to
// [pixel][channel][image]) and the filters reordered so that a row of taps and its channels
// are contiguous, each run of valid taps in one window row is a single GEMM of depth (taps
// in the run) x channels, with no gathered operand.
// The GEMMs are split by rows or columns, never along the depth: every output element is
// summed in one fixed order, whatever the thread count.
#ifndef CNN4J_CPU_POSITIONS_H
#define CNN4J_CPU_POSITIONS_H

#include "common.h"

namespace cnn4j {

struct PosGeom {
  ConvGeom g;
  int op;        // 0 forward, 1 backward-data, 2 backward-filter; -1: not this algorithm
  int threads;
  i64 gemm;      // GEMM packing scratch per thread
  bool use() const { return op >= 0; }
  i64 taps() const { return g.win.kh * g.win.kw; }
  // Elements of each part of the workspace (each a multiple of 16): the transposed input
  // (forward, backward-filter: x; backward-data: dy), the transposed output (forward: y;
  // backward-data: dx; backward-filter: dy), the reordered filters (or their gradient).
  i64 in() const { return round_up(g.n * (op == 1 ? g.k * g.ohw() : g.c * g.hw()), 16); }
  i64 out() const { return round_up(g.n * (op == 1 ? g.c * g.hw() : g.k * g.ohw()), 16); }
  i64 filters() const { return round_up(g.k * g.c * taps(), 16); }
  i64 workspace() const { return in() + out() + filters() + threads * gemm; }
};

// The geometry of pass `op` of convolution g on `threads` threads (op = -1 when another
// algorithm suits the shape better). Depends on the shape and thread count alone.
PosGeom positions_plan(const ConvGeom &g, int op, int threads, i64 gemm_scratch);

// Runs the pass: forward y = conv(x, wt) + bias; backward-data dx = conv^T(dy, wt);
// backward-filter dW += dy * x (the bias gradient is the caller's). ws holds workspace().
template <class T>
void positions_run(const PosGeom &p, const T *x, const T *wt, const T *bias, const T *dy, T *out, T *ws);

}  // namespace cnn4j

#endif
