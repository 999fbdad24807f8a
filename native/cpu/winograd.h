// Winograd convolution F(m x m, 3x3), m = 2 or 4, for float 3x3 convolutions with unit
// stride and dilation and one group (internal; chosen by conv.cpp at plan time).
//
// With alpha = m + 2, every m x m output tile of a (k, c) pair is
//     Y = A^T [ (G w G^T) (.) (B^T X B) ] A
// where X is the alpha x alpha input tile, w the 3x3 filter and (.) the elementwise product;
// summed over c, the alpha^2 elementwise products become alpha^2 independent GEMMs
// (filters x channels times channels x tiles), each 9 m^2 / alpha^2 times smaller than the
// direct convolution's (2.25x for m = 2, 4x for m = 4).
//
// The three passes:
//   forward          as above;
//   backward-data    the forward form of dx = conv(dy, W') with W'[c][k] = W[k][c] rotated
//                    by 180 degrees and padding 2 - p (so it needs p <= 2);
//   backward-filter  the adjoint of the forward formula:
//                    dW = G^T [ sum over tiles (A dY A^T) (.) (B^T X B) ] G.
//
// Layouts: channels in blocks of 16 (one 16-float vector), the input copied once into a
// zero-padded, channel-blocked buffer so that tiles need no bounds checks. Tiles are
// processed in blocks whose size depends on the shape only, and every output element is
// summed in one fixed order: the result does not depend on the thread count.
#ifndef CNN4J_CPU_WINOGRAD_H
#define CNN4J_CPU_WINOGRAD_H

#include "common.h"

namespace cnn4j {

// A convolution in forward form: in [n, ci, h, w] -> out [n, co, oh, ow], 3x3 window,
// unit stride, top/left padding pt/pl (other padding implied by oh, ow).
struct WinoGeom {
  i64 n, ci, h, w, co, oh, ow, pt, pl;
  int m;       // output tile edge: 2 or 4 (0: Winograd does not suit this shape)
  i64 th, tw;  // tiles per image, down and across
  i64 cip, cop;  // channels rounded up to 16
  i64 hp, wp;  // the padded, channel-blocked input plane
  i64 tb;      // tiles per block (a multiple of 16)
  // Small filter banks: every thread takes `group` images at a time and runs them, channel
  // blocking, transforms and products, in its own cache-sized buffers (bufs = threads);
  // backward-filter sums into `slots` fixed partials. Otherwise the whole batch is channel-
  // blocked once and the threads share one large block of tiles (bufs = 1), phase by phase.
  bool priv;
  i64 group, bufs, slots;
  i64 alpha() const { return m + 2; }
  i64 xi() const { return alpha() * alpha(); }
  i64 tiles() const { return n * th * tw; }
  // Float elements of each part of the workspace (each a multiple of 16).
  i64 weights() const { return xi() * cop * cip; }  // transformed filters (or their gradient)
  i64 image() const { return cip * hp * wp; }                  // one channel-blocked input image
  i64 blocked() const { return priv ? 0 : n * image(); }         // the whole batch, channel-blocked
  i64 per_block() const { return tb * (xi() * (cip + cop) + 32); }  // a block's transformed tiles
  // Each thread's buffers (priv) and each partial on pages of their own, a page apart (see
  // BlockGeom::per_thread); the shared parts first.
  i64 shared() const { return round_up(weights() + blocked(), kPageFloats); }
  i64 per_buf() const { return round_up((priv ? group * image() : 0) + per_block(), kPageFloats) + kPageFloats; }
  i64 slot() const { return round_up(weights(), kPageFloats) + kPageFloats; }
  i64 workspace() const { return shared() + bufs * per_buf() + slots * slot(); }
};

enum WinoOp { kWinoForward = 0, kWinoBackwardData = 1, kWinoBackwardFilter = 2 };

// Backward-filter with private blocks sums the blocks in at most this many fixed groups,
// added up in group order: the result does not depend on which thread ran which group.
constexpr i64 kWinoSlots = 8;

// The Winograd geometry of pass `op` (0 forward, 1 backward-data, 2 backward-filter) of
// convolution g on `threads` threads, with m = 0 when the direct convolution suits the
// shape better. Everything that decides the result depends on the shape alone.
WinoGeom winograd_plan(const ConvGeom &g, int op, int threads);

struct WinoArgs {
  WinoGeom g;
  int op;
  const float *x;     // forward / backward-filter: the input; backward-data: dy
  const float *wt;    // forward / backward-data: the filters [k, c, 3, 3] of the original convolution
  const float *bias;  // forward: optional
  const float *dy;    // backward-filter: the output gradient
  float *out;         // forward: y; backward-data: dx; backward-filter: dW (added to)
  float *ws;          // g.workspace() floats
  int threads;
};

// Runs the pass with the kernels of the current instruction set.
void winograd_run(const WinoArgs &a);

#define CNN4J_DECLARE_WINOGRAD_ISA(isa) void winograd_##isa(const WinoArgs &a);
CNN4J_DECLARE_WINOGRAD_ISA(baseline)
CNN4J_DECLARE_WINOGRAD_ISA(avx2)
CNN4J_DECLARE_WINOGRAD_ISA(avx512)
#undef CNN4J_DECLARE_WINOGRAD_ISA

}  // namespace cnn4j

#endif
