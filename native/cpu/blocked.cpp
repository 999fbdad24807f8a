// Blocked direct convolution: which shapes, the padded planes, and the dispatch to the
// kernels of the current instruction set.
#include "blocked.h"

namespace cnn4j {

// Direct backward-filter: images of a group that each register block runs through, so that
// its set-up (pointers, accumulators, the partials' update) is paid once per that many images
// (small images; measured on AMD Zen 5, ResNet-20's stride-2 layers: 8 against 4 1.00x and
// 1.05x, 16 against 8 0.95x and 1.00x); as many as keep their blocked dy within 512 KiB.
constexpr i64 kDirectFilterImages = 8, kDirectFilterDy = i64(1) << 17;

BlockGeom blocked_plan(const ConvGeom &g, int op, int threads) {
  BlockGeom b{};
  b.op = -1;
  b.g = g;
  const Window &v = g.win;
  // Threads take whole images (a batch smaller than the thread count leaves some idle: the
  // choice depends on the shape alone, never on the thread count).
  if (g.groups != 1 || g.oh < 1 || g.ow < 1 || g.h < 1 || g.w < 1) return b;
  // At least three quarters of the vector lanes carry channels (or pixels).
  auto filled = [](i64 lanes) { return lanes >= 12 && 4 * lanes >= 3 * round_up(lanes, 16); };
  // Few output channels (input channels for a stride-1 backward-data), or a forward pass
  // with a short depth (a first layer: channels x taps <= 64): pixels in the vectors, when
  // the rows fill them. (Measured on AMD Zen 5, VGG-11's 3->64 first layer forward: 1.5x
  // the channel form, which spends as much on its per-block set-up and the output's
  // unblocking as on the products; with 16 input channels no faster.)
  const bool shallow = op == 0 && g.c * v.kh * v.kw <= 64;
  b.pix = op != 1 ? (g.k <= 16 || shallow) && filled(g.ow) : v.sh == 1 && v.sw == 1 && g.c <= 16 && filled(g.w);
  if (!b.pix && !filled(op == 1 ? g.c : g.k)) return b;
  // Enough pixels per image for the register blocks (measured on AMD Zen 5: below 16
  // output pixels the GEMM form over the whole batch is faster; backward-filter's blocks
  // sweep the pixels once per (tap, channel) group and want at least 64).
  if (g.ohw() < (op == 2 ? 64 : 16)) return b;
  b.threads = int(imin(threads, g.n));
  b.taps = v.kh * v.kw;
  b.kp = round_up(g.k, 16);
  b.cp = round_up(g.c, 16);
  if (op == 1) {
    // dy rows (columns) that the phases of dx read, relative to dy's first: [lo, hi).
    auto span = [](i64 in, i64 out, i64 k, i64 s, i64 p, i64 d, i64 &margin, i64 &extent) {
      i64 lo = 0, hi = out;
      for (i64 ph = 0; ph < s && ph < in; ph++) {
        const i64 last = (in - 1 - ph) / s;
        for (i64 t = 0; t < k; t++) {
          const i64 r = ph + p - t * d;
          if (r % s != 0) continue;
          lo = imin(lo, r / s);
          hi = imax(hi, last + r / s + 1);
        }
      }
      margin = -lo;
      extent = hi - lo;
    };
    i64 cols = 0;
    span(g.h, g.oh, v.kh, v.sh, v.pt, v.dh, b.mt, b.hp);
    span(g.w, g.ow, v.kw, v.sw, v.pl, v.dw, b.ml, cols);
    b.depth = g.k;
    b.phases = 1;
    b.wpp = cols;
  } else {
    b.depth = g.c;
    b.mt = v.pt;
    b.ml = v.pl;
    b.hp = imax((g.oh - 1) * v.sh + (v.kh - 1) * v.dh + 1, v.pt + g.h);
    const i64 cols = imax((g.ow - 1) * v.sw + (v.kw - 1) * v.dw + 1, v.pl + g.w);
    b.phases = v.sw;
    b.wpp = ceil_div(cols, v.sw);
  }
  b.direct = op != 1 && !b.pix && v.sw == 2;
  // Backward-filter's image groups, handed to the threads one at a time: 16 with channels in
  // the vectors (measured on AMD Zen 5, ResNet-20's stride-2 backward-filters: 1.01-1.12x
  // the 8 before over four runs, whose last groups left a thread idle for a tenth of the
  // pass), 8 with pixels in the vectors (16 groups: 0.93-0.96x on ResNet-20's 3->16 layer).
  b.slots = op == 2 ? imin(g.n, b.pix ? 8 : 16) : 0;
  b.images = op == 2 && b.direct ? imax(1, imin(kDirectFilterImages, kDirectFilterDy / (b.kp * g.ohw()))) : 1;
  b.op = op;
  // Per-thread buffers beyond the last-level cache share: the GEMM form streams better. (The
  // buffers themselves, not per_thread()'s page rounding and gap, which must not move the choice.)
  if ((b.in() + b.out()) * i64(sizeof(float)) > (i64(8) << 20)) b.op = -1;
  // Decided after that bound, which stays the plane's (the choice between the algorithms does
  // not change). Measured on AMD Zen 5, LeNet-5's 6->16 forward: 1.23-1.25x the plane.
  b.flat = op == 0 && !b.pix && v.sw == 1 && v.pt == 0 && v.pl == 0 && (g.oh - 1) * v.sh + (v.kh - 1) * v.dh < g.h &&
           (g.ow - 1) + (v.kw - 1) * v.dw < g.w;
  return b;
}

void blocked_run(const BlockArgs &a) {
  switch (isa()) {
    case CNN4J_ISA_AVX512: blocked_avx512(a); break;
    case CNN4J_ISA_AVX2: blocked_avx2(a); break;
    default: blocked_baseline(a); break;
  }
}

}  // namespace cnn4j
