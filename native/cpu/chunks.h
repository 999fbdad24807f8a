// Splits a loop over [0, n) into one contiguous chunk per thread (internal; element-wise ops
// and copies: each thread streams its own range, and the result does not depend on the
// thread count).
#ifndef CNN4J_CPU_CHUNKS_H
#define CNN4J_CPU_CHUNKS_H

#include <omp.h>

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

}  // namespace cnn4j

#endif
