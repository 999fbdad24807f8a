// Winograd planning (which shapes, which tile, how many tiles per block) and the dispatch
// to the kernels of the current instruction set.
#include "winograd.h"

namespace cnn4j {

WinoGeom winograd_plan(const ConvGeom &g, int op, int threads) {
  WinoGeom r{};
  const Window &v = g.win;
  if (v.kh != 3 || v.kw != 3 || v.sh != 1 || v.sw != 1 || v.dh != 1 || v.dw != 1 || g.groups != 1) return r;
  if (op == kWinoBackwardData) {
    // dx = conv(dy, W rotated and transposed) with padding 2 - p.
    if (v.pt > 2 || v.pl > 2) return r;
    r.n = g.n, r.ci = g.k, r.h = g.oh, r.w = g.ow, r.co = g.c, r.oh = g.h, r.ow = g.w;
    r.pt = 2 - v.pt, r.pl = 2 - v.pl;
  } else {
    r.n = g.n, r.ci = g.c, r.h = g.h, r.w = g.w, r.co = g.k, r.oh = g.oh, r.ow = g.ow;
    r.pt = v.pt, r.pl = v.pl;
  }
  // Nothing to compute, or few channels: the transforms cost more than the products save
  // (the first layer).
  if (r.n < 1 || r.oh < 1 || r.ow < 1 || r.ci < 16 || r.co < 16) return r;
  // Multiplications per image and channel pair: alpha^2 per tile against 9 per output.
  auto cost = [&](i64 m) { return ceil_div(r.oh, m) * ceil_div(r.ow, m) * (m + 2) * (m + 2); };
  const i64 direct = 9 * r.oh * r.ow;
  const int m = cost(4) <= cost(2) ? 4 : 2;
  if (2 * cost(m) > direct) return r;
  r.m = m;
  r.th = ceil_div(r.oh, m);
  r.tw = ceil_div(r.ow, m);
  r.cip = round_up(r.ci, 16);
  r.cop = round_up(r.co, 16);
  r.hp = r.th * m + 2;
  r.wp = r.tw * m + 2;
  const i64 per_tile = r.xi() * (r.cip + r.cop) * i64(sizeof(float));
  r.priv = r.weights() * i64(sizeof(float)) <= (i64(12) << 20);
  if (r.priv) {
    // Transformed filters up to 12 MiB (measured on AMD Zen 5: 1 MiB L2 per core, 32 MiB L3):
    // every thread takes whole images and runs them through channel blocking, transforms,
    // products and inverse transform in its own cache-sized buffers (about 192 KiB of
    // transformed tiles per block, 16 to 64 tiles), reading the filters once per block.
    // Backward-filter's products run along the tiles (the block is their depth): longer
    // blocks, about 1 MiB, up to 128 tiles.
    const bool filter = op == kWinoBackwardFilter;
    const i64 budget = filter ? i64(1) << 20 : i64(192) << 10;
    r.tb = imax(16, imin(filter ? 128 : 64, (budget / per_tile) / 16 * 16));
    r.bufs = threads;
    r.slots = op == kWinoBackwardFilter ? imin(kWinoSlots, r.n) : 0;
  } else {
    // Large filter banks: the transformed filters are read once per block, the block's
    // tiles once per filter block. About 4 MiB of tiles per block, or as much as the
    // transformed filters when those are larger (the wide, small late layers: there the
    // filters, not the tiles, are the traffic to save), 16 to 4096 tiles.
    const i64 budget = imax(i64(4) << 20, r.weights() * i64(sizeof(float)));
    r.tb = imax(16, imin(4096, (budget / per_tile) / 16 * 16));
    r.group = 0;
    r.bufs = 1;
    r.slots = 0;
  }
  r.tb = imin(r.tb, round_up(r.tiles(), 16));
  if (r.priv) r.group = imax(1, imin(r.n, r.tb / (r.th * r.tw)));
  return r;
}

void winograd_run(const WinoArgs &a) {
  switch (isa()) {
    case CNN4J_ISA_AVX512: winograd_avx512(a); break;
    case CNN4J_ISA_AVX2: winograd_avx2(a); break;
    default: winograd_baseline(a); break;
  }
}

}  // namespace cnn4j
