// Measures this machine's FP32 FMA peak (AVX-512, 16 independent accumulators per thread)
// and times the library's convolution kernels on one shape, reporting GFLOP/s and the
// fraction of the measured peak. Build and run: see bench/README.md.
#include <immintrin.h>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <algorithm>

#include "cnn4j/cnn4j.h"

__attribute__((target("avx512f,fma"))) static double fma_loop(long iters) {
  __m512 acc[16];
  for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps(float(i));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iters; it++) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
  for (int i = 1; i < 16; i++) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

static double peak_gflops(int threads) {
  const long iters = 20000000;
  std::vector<double> runs;
  for (int r = 0; r < 5; r++) {
    double t0 = now();
    double sink = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += fma_loop(iters);
    double t = now() - t0;
    if (sink == 42) std::puts("");
    runs.push_back(2.0 * 16 * 16 * iters * threads / t / 1e9);
  }
  return median(runs);
}

#define CHECK(x)                                                                  \
  do {                                                                            \
    int32_t st_ = (x);                                                            \
    if (st_ != CNN4J_OK) {                                                        \
      std::fprintf(stderr, "%s failed: %s\n", #x, cnn4j_status_string(st_));     \
      std::exit(1);                                                               \
    }                                                                             \
  } while (0)

int main(int argc, char **argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  // Shape: N C H W K kernel pad (defaults: CIFAR-shaped 3x3 64->64 on 32x32, batch 32).
  long n = 32, c = 64, h = 32, w = 32, k = 64, ks = 3, pad = 1;
  if (argc > 8) {
    n = std::atol(argv[2]); c = std::atol(argv[3]); h = std::atol(argv[4]); w = std::atol(argv[5]);
    k = std::atol(argv[6]); ks = std::atol(argv[7]); pad = std::atol(argv[8]);
  }
  CHECK(cnn4j_set_threads(threads));
  long oh = h + 2 * pad - ks + 1, ow = w + 2 * pad - ks + 1;
  std::vector<float> x(n * c * h * w), wt(k * c * ks * ks), y(n * k * oh * ow), dx(x.size()), dw(wt.size());
  for (auto &v : x) v = float(std::rand()) / RAND_MAX - 0.5f;
  for (auto &v : wt) v = float(std::rand()) / RAND_MAX - 0.5f;
  for (auto &v : y) v = float(std::rand()) / RAND_MAX - 0.5f;
  const cnn4j_conv_geometry geo{n, c, h, w, k, oh, ow, 1, {ks, ks, 1, 1, pad, pad, 1, 1}};
  cnn4j_context *ctx = nullptr;  // its scratch memory serves the three passes
  CHECK(cnn4j_context_create(CNN4J_DEVICE_CPU, 0, &ctx));
  double flops = 2.0 * n * k * oh * ow * c * ks * ks;
  double peak = peak_gflops(threads);
  std::printf("threads=%d isa=%d fma_peak_gflops=%.1f\n", threads, cnn4j_get_isa(), peak);
  const char *names[3] = {"forward", "backward_data", "backward_filter"};
  for (int op = 0; op < 3; op++) {
    std::vector<double> runs;
    for (int r = 0; r < 11; r++) {
      double t0 = now();
      for (int rep = 0; rep < 3; rep++) {
        if (op == 0) CHECK(cnn4j_conv2d_forward(ctx, CNN4J_F32, &geo, x.data(), wt.data(), nullptr, y.data()));
        if (op == 1) CHECK(cnn4j_conv2d_backward_data(ctx, CNN4J_F32, &geo, y.data(), wt.data(), dx.data()));
        if (op == 2) CHECK(cnn4j_conv2d_backward_filter(ctx, CNN4J_F32, &geo, x.data(), y.data(), dw.data(), nullptr));
      }
      runs.push_back(3 * flops / (now() - t0) / 1e9);
    }
    double g = median(runs);
    std::printf("conv %ldx%ldx%ldx%ld k=%ld %ldx%ld %s: %.1f GFLOP/s = %.0f%% of peak\n", n, c, h, w, k, ks, ks,
                names[op], g, 100 * g / peak);
  }
  cnn4j_context_destroy(ctx);
  return 0;
}
