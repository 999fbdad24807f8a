// Internal helpers shared by the CPU kernels (not part of the ABI).
#ifndef CNN4J_CPU_COMMON_H
#define CNN4J_CPU_COMMON_H

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "cnn4j/cnn4j.h"
#include "../common/context.h"
#include "../common/dispatch.h"

namespace cnn4j {

using i64 = int64_t;

// The thread count set by cnn4j_set_threads (>= 1).
int threads();

// How many threads an op of about `work` scalar operations should use: one below a
// threshold where waking a second thread costs more than it saves.
int threads_for(double work);

// The instruction set the kernels use now.
int isa();

// The convolution algorithm setting (cnn4j_conv_algorithm).
int conv_algorithm();

inline i64 imin(i64 a, i64 b) { return a < b ? a : b; }
inline i64 imax(i64 a, i64 b) { return a > b ? a : b; }
inline i64 ceil_div(i64 a, i64 b) { return (a + b - 1) / b; }
inline i64 round_up(i64 a, i64 b) { return ceil_div(a, b) * b; }

// Floats in a 4 KiB page: per-thread parts of a pass's workspace (which the context
// allocates page-aligned) are laid out in whole pages, so that no two threads write the same
// page.
constexpr i64 kPageFloats = 1024;

// The first of n items in slot s of `slots` (1 <= slots <= n; slot_first(slots, ...) = n):
// fixed groups whose sizes fall linearly along the slots (ResNet-20's 128 images in 8 slots:
// 30, 26, 22, 18, 14, 10, 6, 2), every slot at least one item. A pass that sums each slot
// into its own partial, handing the slots to its threads as they free up, ends on small
// slots: a thread slowed by the OS or a busier core leaves the others idle for a small
// slot, not a mean one. The groups depend on n and slots alone, never on the threads.
inline i64 slot_first(i64 s, i64 slots, i64 n) {
  const i64 left = slots - s;
  return imin(n - n * left * left / (slots * slots), n - left);
}

// Geometry of the window ops: the public structs of the C ABI (cnn4j/geometry.h).
using Window = cnn4j_window;
using ConvGeom = cnn4j_conv_geometry;

// Size checks shared by the ops (status or OK).
inline bool sizes_ok(std::initializer_list<i64> sizes) {
  for (i64 s : sizes) {
    if (s < 0) return false;
  }
  return true;
}

}  // namespace cnn4j

#endif
