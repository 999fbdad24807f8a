// Blocked direct convolution (internal; chosen by conv.cpp at plan time) for float
// convolutions with one group, any window, stride, dilation and padding.
//
// Each image is copied into a zero-padded plane ([row][channel][phase][column], padding
// included, so no tap needs a bounds check; see BlockGeom), or, for the forward and
// backward-filter passes of stride 2 across, read where it lies with the taps that fall in
// the padding left out (BlockGeom::direct), or, for a forward pass of stride 1 across
// without padding, read where it lies (BlockGeom::flat), and the products run as
// register blocks of 16-channel vectors times a few pixels: every filter vector loaded is
// used for all the block's pixels and every input value broadcast for all its vectors, with
// no im2col matrix in between. With few channels, 16 pixels of a row per vector instead
// (BlockGeom::pix).
//
//   forward          y[k][p] = sum over taps t and channels c of x[c][pixel(p, t)] W[k][c][t]:
//                    16 output channels per vector, pixels in the register block;
//   backward-data    the same kernel in gather form: every phase (ih mod sh, iw mod sw) of
//                    dx is a stride-1 convolution of dy (zero-padded) with the taps of that
//                    phase, 16 input channels per vector;
//   backward-filter  dW[k][c][t] = sum over pixels p of dy[k][p] x[c][pixel(p, t)]: 16
//                    output channels per vector, (tap, channel) pairs in the register block,
//                    the pixels as the depth; images summed in fixed groups.
//
// Every output element is summed in one fixed order that depends on the shape alone: the
// result does not depend on the thread count.
#ifndef CNN4J_CPU_BLOCKED_H
#define CNN4J_CPU_BLOCKED_H

#include "common.h"

namespace cnn4j {

// Floats of slack after a plane: the widest register block's reach past a row's end.
constexpr i64 kBlockSlack = 32;

struct BlockGeom {
  ConvGeom g;
  int op;          // 0 forward, 1 backward-data, 2 backward-filter; -1: not this algorithm
  int threads;
  i64 taps;        // kh * kw
  i64 kp, cp;      // output and input channels rounded up to 16
  // The padded plane of one image, [row][channel][phase][column]: the input (forward,
  // backward-filter; columns split by their remainder modulo the stride across, so that
  // the pixels of a register block read consecutive floats) or dy (backward-data, one
  // phase). A row's last register block may read past the row (into lanes it does not
  // store): the plane ends with slack for the last one.
  i64 depth;       // channels of the plane: c, or k for backward-data
  i64 hp;          // rows
  i64 phases;      // column phases
  i64 wpp;         // columns per phase
  i64 mt, ml;      // where the image's first row and column lie in the plane
  i64 slots;       // backward-filter: fixed image groups, each summed into its own partial
  i64 images;      // direct backward-filter: images of a group that one register block runs
                   // through (its dy blocked side by side), else 1
  // 16 pixels of an output row per vector instead of 16 output channels (few output
  // channels, or a forward pass of at most 64 (channel, tap) pairs; rows of at least about
  // 16 pixels; backward-data: stride 1, few input channels). Forward and backward-data
  // broadcast the filters and write the output in place; backward-filter multiplies dy's
  // rows by the plane's, keeping 16 partial sums per weight (its partials: [k][taps * c][16]).
  bool pix;
  // Forward and backward-filter with output channels in the vectors and a stride of 2
  // across: the register blocks read the input where it lies (every second column), with
  // the taps that fall in the padding left out, instead of a padded plane (whose packing
  // cost as much as a third of the pass). Backward-filter's plane is then a zero row.
  bool direct;
  // Forward with output channels in the vectors, stride 1 across and every window inside the
  // image (no padding): the register blocks read the image where it lies, no plane (its
  // packing took 18% of LeNet-5's second convolution on perf).
  bool flat;
  bool use() const { return op >= 0; }
  i64 wp() const { return phases * wpp; }   // floats per (row, channel)
  i64 row() const { return depth * wp(); }  // floats per row
  // Float elements of each part of the workspace (each a multiple of 16).
  i64 bank() const {  // one filter bank
    return round_up((op == 1 ? cp * g.k : pix ? g.k * g.c * (op == 2 ? 16 : 1) : kp * g.c) * taps, 16);
  }
  i64 vectors() const { return (g.ow + 15) / 16; }  // pixel vectors per output row
  i64 weights() const { return op == 2 ? 0 : bank(); }
  i64 bias() const { return op == 0 && !pix ? kp : 0; }
  i64 in() const {
    if (direct) return op == 2 ? round_up(2 * g.ow, 16) : 0;
    if (flat) return 0;
    return round_up(hp * row() + kBlockSlack, 16);
  }
  // The blocked output (or dy); pixel vectors: dy with rows padded to whole vectors.
  i64 out() const {
    if (pix) return op == 2 && g.ow % 16 != 0 ? round_up(g.k * g.oh * vectors() * 16, 16) : 0;
    return round_up(op == 1 ? cp * g.hw() : kp * g.ohw() * images, 16);
  }
  // The workspace (page-aligned by the context) as the threads' shared part (weights and
  // bias), each thread's buffers, then backward-filter's partials: each thread's buffers and
  // each partial on pages of their own, a page apart. (Measured on AMD Zen 5, two threads,
  // bench/native/ab.cpp against the parts packed one after the other: ResNet-20's 3->16
  // backward-filter 1.10-1.16x and forward 1.04-1.13x, its 32->64 stride-2 backward-data
  // 1.04-1.10x, LeNet-5's first backward-filter 1.15-1.21x, bit-identical; whole pages without
  // the page between them 0.97-1.04x of this: results/2026-12-04-epyc-zen5-2c-pages.txt.)
  i64 shared() const { return round_up(weights() + bias(), kPageFloats); }
  i64 per_thread() const { return round_up(in() + out(), kPageFloats) + kPageFloats; }
  i64 slot() const { return round_up(bank(), kPageFloats) + kPageFloats; }
  i64 workspace() const { return shared() + threads * per_thread() + slots * slot(); }
};

// The blocked geometry of pass `op` of convolution g on `threads` threads (op = -1 when
// another algorithm suits the shape better). Depends on the shape and thread count alone.
BlockGeom blocked_plan(const ConvGeom &g, int op, int threads);

struct BlockArgs {
  BlockGeom b;
  const float *x;     // forward, backward-filter: the input
  const float *wt;    // forward, backward-data: the filters [k, c, kh, kw]
  const float *bias;  // forward: optional
  const float *dy;    // backward-data, backward-filter: the output gradient
  float *out;         // forward: y; backward-data: dx; backward-filter: dW (added to)
  float *ws;          // b.workspace() floats
};

// Runs the pass with the kernels of the current instruction set.
void blocked_run(const BlockArgs &a);

#define CNN4J_DECLARE_BLOCKED_ISA(isa) void blocked_##isa(const BlockArgs &a);
CNN4J_DECLARE_BLOCKED_ISA(baseline)
CNN4J_DECLARE_BLOCKED_ISA(avx2)
CNN4J_DECLARE_BLOCKED_ISA(avx512)
#undef CNN4J_DECLARE_BLOCKED_ISA

}  // namespace cnn4j

#endif
