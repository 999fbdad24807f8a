// A/B of two builds of libcnn4j in one process: both libraries are loaded side by side
// (dlopen, RTLD_LOCAL), every op alternates between them call by call, and the medians of
// the rounds are compared, so that a shared, noisy machine moves both sides alike. The
// results of the two builds are compared too (largest difference).
//
//   g++ -O2 -std=c++17 -Inative/include bench/native/ab.cpp -ldl -o /tmp/ab
//   /tmp/ab OLD/libcnn4j.so NEW/libcnn4j.so [threads=2] [rounds=11] [conv algorithm=0 auto] [only]
//
// `only`: run just the ops whose name contains it (e.g. "batch norm", "16->16").
//
// Ops: the 3x3 convolutions of ResNet-20 (and LeNet-5's two convolutions, VGG-11's first,
// 8x8, 4x4 and 2x2 ones) at their training batch, all three passes; batch norm forward and
// backward on ResNet-20's and LeNet-5's activations; 2x2 max pooling with arg-max on
// LeNet-5's two and VGG-11's first activations and on LeNet-5-sized rows beyond the cache,
// forward and backward (from the arg-max); ResNet-20's average pooling (shortcut subsample,
// global); copy, add and axpy on 2M and 8M floats.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "cnn4j/geometry.h"

namespace {

// Buffers on 64-byte boundaries, as cnn4j_alloc gives the library's tensors (std::vector's
// own are 16-byte aligned, which splits every vector load of a row across two cache lines).
template <class T>
struct Aligned64 {
  using value_type = T;
  Aligned64() = default;
  template <class U>
  Aligned64(const Aligned64<U> &) {}
  T *allocate(size_t n) {
    void *p = std::aligned_alloc(64, (n * sizeof(T) + 63) / 64 * 64);
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T *>(p);
  }
  void deallocate(T *p, size_t) { std::free(p); }
};
template <class T, class U>
bool operator==(const Aligned64<T> &, const Aligned64<U> &) { return true; }
template <class T, class U>
bool operator!=(const Aligned64<T> &, const Aligned64<U> &) { return false; }
using Floats = std::vector<float, Aligned64<float>>;
using Ints = std::vector<int32_t, Aligned64<int32_t>>;

// The C ABI of version 3 (both libraries must have it): every op takes a context first (a
// CPU context of its own library), window ops their geometry struct.
using Ctx = void *;
using Conv = int (*)(Ctx, int, const cnn4j_conv_geometry *, const void *, const void *, const void *, void *);
using BwdData = int (*)(Ctx, int, const cnn4j_conv_geometry *, const void *, const void *, void *);
using BnFwd = int (*)(Ctx, int, const void *, const void *, const void *, void *, void *, void *, void *, void *, long,
                      long, long, int, double, double, int, const void *);
using BnBwd = int (*)(Ctx, int, const void *, const void *, const void *, const void *, const void *, void *, void *,
                      void *, long, long, long, int, const void *);
using Add = int (*)(Ctx, int, const void *, const void *, void *, long);
using Copy = int (*)(Ctx, void *, const void *, long, int);
using Axpy = int (*)(Ctx, int, double, const void *, void *, long);
using SetInt = int (*)(int);
using MaxPool = int (*)(Ctx, int, const cnn4j_pool_geometry *, const void *, void *, int32_t *);
using MaxPoolBwd = int (*)(Ctx, int, const void *, const int32_t *, void *, long, long, long);
using AvgPool = int (*)(Ctx, int, const cnn4j_pool_geometry *, const void *, void *, int32_t);
using Create = int (*)(int, int, Ctx *);

struct Lib {
  Ctx ctx;
  Conv fwd, bwd_filter;  // backward-filter has forward's shape: x, dy, dW, dbias
  BwdData bwd_data;
  BnFwd bn_fwd;
  BnBwd bn_bwd;
  Add add;
  Copy copy;
  Axpy axpy;
  MaxPool max_pool;
  AvgPool avg_fwd, avg_bwd;
  MaxPoolBwd max_pool_bwd;
};

template <class F>
F sym(void *h, const char *name) {
  void *p = dlsym(h, name);
  if (p == nullptr) {
    std::fprintf(stderr, "missing %s\n", name);
    std::exit(1);
  }
  return reinterpret_cast<F>(p);
}

Lib load(const char *path, int threads, int algorithm) {
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    std::fprintf(stderr, "%s\n", dlerror());
    std::exit(1);
  }
  sym<SetInt>(h, "cnn4j_set_threads")(threads);
  sym<SetInt>(h, "cnn4j_set_conv_algorithm")(algorithm);
  Ctx ctx = nullptr;
  if (sym<Create>(h, "cnn4j_context_create")(0, 0, &ctx) != 0) {
    std::fprintf(stderr, "%s: cnn4j_context_create failed\n", path);
    std::exit(1);
  }
  return Lib{ctx, sym<Conv>(h, "cnn4j_conv2d_forward"),
             sym<Conv>(h, "cnn4j_conv2d_backward_filter"), sym<BwdData>(h, "cnn4j_conv2d_backward_data"),
             sym<BnFwd>(h, "cnn4j_batch_norm_forward"), sym<BnBwd>(h, "cnn4j_batch_norm_backward"),
             sym<Add>(h, "cnn4j_add"), sym<Copy>(h, "cnn4j_copy"), sym<Axpy>(h, "cnn4j_axpy"),
             sym<MaxPool>(h, "cnn4j_max_pool2d_forward"), sym<AvgPool>(h, "cnn4j_avg_pool2d_forward"),
             sym<AvgPool>(h, "cnn4j_avg_pool2d_backward"), sym<MaxPoolBwd>(h, "cnn4j_max_pool2d_backward")};
}

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Times call(0) and call(1) alternately; prints both medians (as `unit` per second of `amount`).
const char *only = "";  // the name filter

void race(const char *what, int rounds, double amount, const char *unit, const std::function<void(int)> &call,
          const std::function<double()> &diff) {
  if (std::strstr(what, only) == nullptr) return;
  call(0);
  call(1);
  std::vector<double> t[2];
  for (int r = 0; r < rounds; r++) {
    for (int k = 0; k < 2; k++) {
      const double t0 = now();
      call(k);
      t[k].push_back(now() - t0);
    }
  }
  double med[2];
  for (int k = 0; k < 2; k++) {
    std::sort(t[k].begin(), t[k].end());
    med[k] = t[k][t[k].size() / 2];
  }
  std::printf("%-34s A %8.1f  B %8.1f %s  B/A %.2fx  (largest difference %.1e)\n", what, amount / med[0], amount / med[1],
              unit, med[0] / med[1], diff());
  std::fflush(stdout);
}

double largest_diff(const Floats &a, const Floats &b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); i++) d = std::max(d, double(std::fabs(a[i] - b[i])));
  return d;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s A/libcnn4j.so B/libcnn4j.so [threads] [rounds] [conv algorithm] [only]\n", argv[0]);
    return 2;
  }
  const int threads = argc > 3 ? std::atoi(argv[3]) : 2, rounds = argc > 4 ? std::atoi(argv[4]) : 11;
  const int algorithm = argc > 5 ? std::atoi(argv[5]) : 0;
  if (argc > 6) only = argv[6];
  Lib lib[2] = {load(argv[1], threads, algorithm), load(argv[2], threads, algorithm)};
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  auto random = [&](size_t n) {
    Floats v(n);
    for (float &x : v) x = u(rng);
    return v;
  };

  struct Shape {
    const char *name;
    long n, c, h, k, kernel, stride, pad;
  };
  const Shape convs[] = {{"resnet20 3->16", 128, 3, 32, 16, 3, 1, 1},   {"resnet20 16->16", 128, 16, 32, 16, 3, 1, 1},
                         {"resnet20 16->32 s2", 128, 16, 32, 32, 3, 2, 1}, {"resnet20 32->32", 128, 32, 16, 32, 3, 1, 1},
                         {"resnet20 32->64 s2", 128, 32, 16, 64, 3, 2, 1}, {"resnet20 64->64", 128, 64, 8, 64, 3, 1, 1},
                         {"lenet5 1->6 5x5", 256, 1, 28, 6, 5, 1, 2}, {"lenet5 6->16 5x5", 256, 6, 14, 16, 5, 1, 0},      {"vgg11 3->64", 128, 3, 32, 64, 3, 1, 1},
                         {"vgg11 128->256 8x8", 128, 128, 8, 256, 3, 1, 1},
                         {"vgg11 256->256 8x8", 128, 256, 8, 256, 3, 1, 1}, {"vgg11 256->512 4x4", 128, 256, 4, 512, 3, 1, 1},
                         {"vgg11 512->512 4x4", 128, 512, 4, 512, 3, 1, 1}, {"vgg11 512->512 2x2", 128, 512, 2, 512, 3, 1, 1}};
  const char *passes[] = {"forward", "backward-data", "backward-filter"};
  for (const Shape &s : convs) {
    const long o = (s.h + 2 * s.pad - s.kernel) / s.stride + 1;
    const Floats x = random(size_t(s.n * s.c * s.h * s.h)), w = random(size_t(s.k * s.c * s.kernel * s.kernel)),
                 bias = random(size_t(s.k)), dy = random(size_t(s.n * s.k * o * o));
    const double flop = 2.0 * s.n * s.k * o * o * s.c * s.kernel * s.kernel;
    const cnn4j_conv_geometry geo{s.n, s.c, s.h, s.h, s.k, o, o, 1, {s.kernel, s.kernel, s.stride, s.stride, s.pad, s.pad, 1, 1}};
    for (int op = 0; op < 3; op++) {
      const size_t outn = op == 0 ? size_t(s.n * s.k * o * o) : op == 1 ? x.size() : w.size();
      Floats out[2] = {Floats(outn), Floats(outn)};
      auto call = [&](int k) {
        const Lib &l = lib[k];
        float *y = out[k].data();
        if (op == 0) {
          l.fwd(l.ctx, 0, &geo, x.data(), w.data(), bias.data(), y);
        } else if (op == 1) {
          l.bwd_data(l.ctx, 0, &geo, dy.data(), w.data(), y);
        } else {
          std::memset(y, 0, sizeof(float) * outn);
          l.bwd_filter(l.ctx, 0, &geo, x.data(), dy.data(), y, nullptr);
        }
      };
      const std::string what = std::string(s.name) + " " + passes[op];
      race(what.c_str(), rounds, flop / 1e9, "GFLOP/s", call, [&] { return largest_diff(out[0], out[1]); });
    }
  }

  const long norms[][3] = {{128, 16, 1024}, {128, 32, 256}, {128, 64, 64}, {256, 6, 784}};
  for (const auto &s : norms) {
    const long n = s[0] * s[1] * s[2], c = s[1];
    const Floats x = random(size_t(n)), dy = random(size_t(n)), gamma(static_cast<size_t>(c), 1.f),
                 beta(static_cast<size_t>(c), 0.f);
    Floats y[2], dx[2];
    for (int k = 0; k < 2; k++) y[k].resize(size_t(n)), dx[k].resize(size_t(n));
    const size_t cs = static_cast<size_t>(c);
    Floats rm(cs), rv(cs, 1.f), sm(cs), si(cs), dg(cs), db(cs);
    char what[64];
    std::snprintf(what, sizeof what, "batch norm %ldx%ldx%ld fwd", s[0], s[1], s[2]);
    race(what, rounds, 8.0 * n / 1e9, "GB/s", [&](int k) {
      lib[k].bn_fwd(lib[k].ctx, 0, x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), y[k].data(), sm.data(), si.data(),
                    s[0], s[1], s[2], 1, 0.1, 1e-5, 0, nullptr);
    }, [&] { return largest_diff(y[0], y[1]); });
    std::snprintf(what, sizeof what, "batch norm %ldx%ldx%ld bwd", s[0], s[1], s[2]);
    race(what, rounds, 12.0 * n / 1e9, "GB/s", [&](int k) {
      lib[k].bn_bwd(lib[k].ctx, 0, x.data(), dy.data(), gamma.data(), sm.data(), si.data(), dx[k].data(), dg.data(), db.data(), s[0],
                    s[1], s[2], 1, nullptr);
    }, [&] { return largest_diff(dx[0], dx[1]); });
  }

  // 2x2 stride-2 max pooling with arg-max (LeNet-5's two, VGG-11's first): bytes read and
  // written (the last: LeNet-5's rows of 14 windows, beyond the cache); backward from the
  // arg-max, bytes read (dy, arg-max) and written (dx)
  const long pools[][3] = {{256 * 6, 28, 28}, {256 * 16, 10, 10}, {128 * 64, 32, 32}, {8192, 28, 28}};
  for (const long *s : pools) {
    const long planes = s[0], h = s[1], w = s[2], n = planes * h * w, m = n / 4;
    const Floats x = random(size_t(n)), dy = random(size_t(m));
    Floats y[2] = {Floats(size_t(m)), Floats(size_t(m))};
    Floats dx[2] = {Floats(size_t(n)), Floats(size_t(n))};
    Ints am(static_cast<size_t>(m));
    char what[64];
    std::snprintf(what, sizeof what, "max pool %ldx%ldx%ld 2x2", planes, h, w);
    const cnn4j_pool_geometry geo{planes, h, w, h / 2, w / 2, {2, 2, 2, 2, 0, 0, 1, 1}};
    race(what, rounds, (4.0 * n + 8.0 * m) / 1e9, "GB/s", [&](int k) {
      lib[k].max_pool(lib[k].ctx, 0, &geo, x.data(), y[k].data(), am.data());
    }, [&] { return largest_diff(y[0], y[1]); });
    lib[0].max_pool(lib[0].ctx, 0, &geo, x.data(), y[0].data(), am.data());  // the arg-max, also when filtered out above
    std::snprintf(what, sizeof what, "max pool %ldx%ldx%ld 2x2 bwd", planes, h, w);
    race(what, rounds, (4.0 * n + 8.0 * m) / 1e9, "GB/s", [&](int k) {
      lib[k].max_pool_bwd(lib[k].ctx, 0, dy.data(), am.data(), dx[k].data(), planes, h * w, m / planes);
    }, [&] { return largest_diff(dx[0], dx[1]); });
  }

  // Average pooling of ResNet-20: the shortcut's 1x1 stride-2 subsample and the global
  // 8x8 pooling (stride 1, one output per plane), forward and backward: bytes read and written.
  struct AvgShape {
    const char *name;
    cnn4j_pool_geometry g;
  };
  const AvgShape avgs[] = {{"avg pool 1x1 s2 2048x32x32", {2048, 32, 32, 16, 16, {1, 1, 2, 2, 0, 0, 1, 1}}},
                           {"avg pool global 8192x8x8", {8192, 8, 8, 1, 1, {8, 8, 1, 1, 0, 0, 1, 1}}}};
  for (const AvgShape &a : avgs) {
    const long in = a.g.planes * a.g.h * a.g.w, outn = a.g.planes * a.g.oh * a.g.ow;
    const Floats x = random(size_t(in)), dy = random(size_t(outn));
    Floats y[2] = {Floats(size_t(outn)), Floats(size_t(outn))};
    Floats dx[2] = {Floats(size_t(in)), Floats(size_t(in))};
    std::string what = std::string(a.name) + " fwd";
    race(what.c_str(), rounds, 4.0 * (in + outn) / 1e9, "GB/s",
         [&](int k) { lib[k].avg_fwd(lib[k].ctx, 0, &a.g, x.data(), y[k].data(), 1); }, [&] { return largest_diff(y[0], y[1]); });
    what = std::string(a.name) + " bwd";
    race(what.c_str(), rounds, 4.0 * (in + outn) / 1e9, "GB/s",
         [&](int k) { lib[k].avg_bwd(lib[k].ctx, 0, &a.g, dy.data(), dx[k].data(), 1); }, [&] { return largest_diff(dx[0], dx[1]); });
  }

  for (long n : {2L << 20, 8L << 20}) {
    const Floats a = random(size_t(n)), b = random(size_t(n));
    Floats o[2] = {Floats(size_t(n)), Floats(size_t(n))};
    char what[64];
    std::snprintf(what, sizeof what, "copy %ld floats", n);
    race(what, rounds, 8.0 * n / 1e9, "GB/s", [&](int k) { lib[k].copy(lib[k].ctx, o[k].data(), a.data(), 4 * n, 2); },
         [&] { return largest_diff(o[0], o[1]); });
    std::snprintf(what, sizeof what, "add %ld floats", n);
    race(what, rounds, 12.0 * n / 1e9, "GB/s", [&](int k) { lib[k].add(lib[k].ctx, 0, a.data(), b.data(), o[k].data(), n); },
         [&] { return largest_diff(o[0], o[1]); });
    std::snprintf(what, sizeof what, "axpy %ld floats", n);
    race(what, rounds, 12.0 * n / 1e9, "GB/s", [&](int k) { lib[k].axpy(lib[k].ctx, 0, 0.5, a.data(), o[k].data(), n); },
         [] { return 0.0; });
  }
  return 0;
}
