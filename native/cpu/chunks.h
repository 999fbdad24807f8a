// Splits a loop over [0, n) among threads (internal): one contiguous chunk per thread
// (element-wise ops and copies: each thread streams its own range, and the result does not
// depend on the thread count), or as the threads free up with each thread's own share first
// (Claims: per-image convolution passes).
#ifndef CNN4J_CPU_CHUNKS_H
#define CNN4J_CPU_CHUNKS_H

#include <omp.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "common.h"

namespace cnn4j {

// Runs f(lo, hi) over [0, n) in one contiguous chunk per thread (64-element aligned), on as
// many threads as `work` operations call for (threads_for).
template <class F>
void chunks(i64 n, double work, F f) {
  const int nt = threads_for(work);
  if (nt <= 1) {
    f(i64(0), n);
    return;
  }
  const i64 per = round_up(ceil_div(n, nt), 64);
#pragma omp parallel num_threads(nt)
  {
    const i64 lo = i64(omp_get_thread_num()) * per, hi = imin(n, lo + per);
    if (lo < hi) f(lo, hi);
  }
}

// Hands out the items [0, n) of a loop to `threads` threads as they free up. Each thread
// first takes its own contiguous share, from the front: the same items on every call of a
// pass of that shape, so that what a thread read and wrote there on the last call is still
// near its core, not dirty in another core's cache (ResNet-20's per-image forward and
// backward-data passes ran 1.03-1.19x as fast as with the images handed out in order to
// whichever thread was free, LeNet-5's first forward 1.48x: bench/native/ab.cpp on two
// cores of AMD Zen 5). The shares live in one small heap array per call, freed with it. A thread whose share is done takes the last item of the share with
// the most left, so a thread slowed by the OS or a busier core delays a few items, not half
// the loop.
//
// next() is thread-safe (lock-free: a compare-and-swap on the share's range); thread t alone
// calls next(t). Which thread runs an item varies between calls: the items must not depend
// on one another.
class Claims {
 public:
  // Shares hold unit numbers in 32 bits: a unit is `per` consecutive items (1 below 2^31 items).
  static constexpr i64 kMaxUnits = i64(1) << 31;

  // max_units (tests): at most this many units of consecutive items (at most 2^31).
  Claims(i64 n, int threads, i64 max_units = kMaxUnits)
      : shares_(new Share[threads > 0 ? threads : 1]),
        count_(threads > 0 ? threads : 1),
        n_(n > 0 ? n : 0),
        per_(imax(1, ceil_div(n_, imax(1, imin(max_units, kMaxUnits))))) {
    const i64 units = ceil_div(n_, per_);
    for (int t = 0; t < count_; t++) {
      shares_[t].range.store(pack(units * t / count_, units * (t + 1) / count_), std::memory_order_relaxed);
    }
  }

  // Thread t's next item, or -1 when every item has been handed out.
  i64 next(int t) {
    Share &mine = shares_[t];
    if (mine.cur < mine.end) return mine.cur++;
    i64 u = take(mine, true);
    while (u < 0) {
      int best = -1;
      i64 most = 0;
      for (int s = 0; s < count_; s++) {
        const uint64_t r = shares_[s].range.load(std::memory_order_relaxed);
        const i64 left = i64(r >> 32) - i64(r & 0xffffffffu);
        if (left > most) most = left, best = s;
      }
      if (best < 0) return -1;
      u = take(shares_[best], false);
    }
    mine.cur = u * per_;
    mine.end = imin(n_, mine.cur + per_);
    return mine.cur++;
  }

 private:
  struct alignas(64) Share {
    std::atomic<uint64_t> range{0};  // the units [lo, hi) left: lo in the low 32 bits
    i64 cur = 0, end = 0;            // the owner's unit being handed out
  };

  static uint64_t pack(i64 lo, i64 hi) { return uint64_t(hi) << 32 | uint64_t(lo); }

  // A unit from the front (the owner) or the back (another thread) of a share; -1 if empty.
  static i64 take(Share &s, bool front) {
    uint64_t r = s.range.load(std::memory_order_relaxed);
    for (;;) {
      const i64 lo = i64(r & 0xffffffffu), hi = i64(r >> 32);
      if (lo >= hi) return -1;
      if (s.range.compare_exchange_weak(r, front ? pack(lo + 1, hi) : pack(lo, hi - 1), std::memory_order_relaxed)) {
        return front ? lo : hi - 1;
      }
    }
  }

  std::unique_ptr<Share[]> shares_;
  const int count_;
  const i64 n_, per_;
};

}  // namespace cnn4j

#endif
