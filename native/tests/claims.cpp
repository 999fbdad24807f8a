// Checks cnn4j::Claims (native/cpu/chunks.h), the hand-out of a per-image loop's items to
// threads: every item handed out exactly once, whatever the threads' speeds, each thread's
// own share first and from its front, steals from the back of the share with the most
// left. Run plain and under ThreadSanitizer by .ci/run (targets cnn4j_claims_test and
// cnn4j_claims_test_tsan). Exit status 0: all checks passed.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include "../cpu/chunks.h"

namespace {

int failures = 0;

void check(bool ok, const char *what, long a = 0, long b = 0, long c = 0) {
  if (!ok) {
    failures++;
    std::fprintf(stderr, "FAIL %s (%ld, %ld, %ld)\n", what, a, b, c);
  }
}

// The items thread t gets, calling next(t) alone until it returns -1.
std::vector<long> drain(cnn4j::Claims &c, int t) {
  std::vector<long> out;
  for (long i; (i = c.next(t)) >= 0;) out.push_back(i);
  return out;
}

// One thread at a time, in a fixed order: the order of the items is fully determined.
void sequential() {
  {
    // 10 items, 2 threads: shares [0, 5) and [5, 10).
    cnn4j::Claims c(10, 2);
    check(c.next(1) == 5, "thread 1 starts at its share's front");
    check(c.next(0) == 0, "thread 0 starts at its share's front");
    const std::vector<long> rest = drain(c, 1), want{6, 7, 8, 9, 4, 3, 2, 1};
    check(rest == want, "thread 1 finishes its share, then takes share 0's from the back", long(rest.size()));
    check(c.next(0) == -1, "nothing left for thread 0");
    check(c.next(1) == -1, "nothing left for thread 1 either");
  }
  {
    // Steals go to the share with the most left: 12 items on 3 threads, shares of 4.
    cnn4j::Claims c(12, 3);
    check(c.next(0) == 0 && c.next(0) == 1, "thread 0's own first");
    const std::vector<long> two = drain(c, 2);
    // Thread 2: 8..11, then share 1 (4 left: 7, then 6 (3 left against share 0's 2), 5),
    // then share 0's and share 1's last ones by what is left.
    const std::vector<long> want{8, 9, 10, 11, 7, 6, 3, 5, 2, 4};
    check(two == want, "thread 2 steals from the fullest share", long(two.size()));
    check(c.next(1) == -1 && c.next(0) == -1, "all handed out");
  }
  {
    // Units of several items: 10 items in at most 4 units (3, 3, 3, 1), 2 threads.
    cnn4j::Claims c(10, 2, 4);
    const std::vector<long> one = drain(c, 1), want{6, 7, 8, 9, 3, 4, 5, 0, 1, 2};
    check(one == want, "whole units, stolen from the back", long(one.size()));
  }
  {
    cnn4j::Claims c(0, 3);
    check(c.next(0) == -1 && c.next(2) == -1, "no items");
    cnn4j::Claims d(2, 4);  // more threads than items: two shares are empty
    const std::vector<long> got = drain(d, 0), want{0, 1};
    check(got == want, "an empty share steals", long(got.size()));
  }
}

// Threads at random speeds (some pause now and then): every item exactly once.
void concurrent(long n, int threads, long max_units, unsigned seed) {
  cnn4j::Claims c(n, threads, max_units);
  std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
  for (auto &s : seen) s.store(0);
  std::atomic<long> bad{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; t++) {
    pool.emplace_back([&, t] {
      std::mt19937 rng(seed * 131 + unsigned(t));
      for (long i; (i = c.next(t)) >= 0;) {
        if (i >= n) {
          bad++;
          continue;
        }
        seen[size_t(i)]++;
        if (rng() % 8 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 50));
      }
    });
  }
  for (auto &th : pool) th.join();
  long wrong = 0;
  for (auto &s : seen) wrong += s.load() != 1;
  check(bad.load() == 0 && wrong == 0, "every item exactly once", n, threads, max_units);
}

}  // namespace

int main() {
  sequential();
  unsigned seed = 1;
  for (long n : {1L, 2L, 7L, 11L, 128L, 1000L}) {
    for (int threads : {1, 2, 3, 4, 8}) {
      for (long max_units : {cnn4j::Claims::kMaxUnits, 3L, 1L}) {
        for (int r = 0; r < 3; r++) concurrent(n, threads, max_units, seed++);
      }
    }
  }
  if (failures == 0) std::printf("claims: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
