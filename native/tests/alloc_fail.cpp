// Checks that a failed allocation inside a CPU op comes back as CNN4J_OUT_OF_MEMORY, never
// ends the process, and loses nothing: this program replaces the global operator new (which
// libcnn4j calls through the dynamic linker) with one that can be told to fail its k-th call.
// Each op below is run once to count its allocations, then once with each of them failing in
// turn (every such call must return CNN4J_OUT_OF_MEMORY, and must not crash: an exception
// thrown inside an OpenMP region would end the process), then once more, whose result must be
// bit for bit the first one's. Convolutions through each of their paths (blocked kernels,
// pixel vectors, stride 2, Winograd, one GEMM per position, im2col, double), on 1 and 2
// threads, and batch norm forward and backward. Built and run by .ci/run (target
// cnn4j_alloc_fail_test). Exit status 0: all checks passed.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "cnn4j/cnn4j.h"

namespace {

std::atomic<long> g_calls{0};    // operator new calls counted since reset
std::atomic<long> g_fail_at{0};  // the call that throws (1-based); 0: none

void *allocate(std::size_t n, std::size_t align) {
  const long call = ++g_calls;
  const long at = g_fail_at.load();
  if (at > 0 && call == at) throw std::bad_alloc();
  if (n == 0) n = 1;
  void *p = nullptr;
  if (align <= alignof(std::max_align_t)) {
    p = std::malloc(n);
  } else if (posix_memalign(&p, align, n) != 0) {
    p = nullptr;
  }
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void *operator new(std::size_t n) { return allocate(n, 0); }
void *operator new[](std::size_t n) { return allocate(n, 0); }
void *operator new(std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a)); }
void *operator new[](std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a)); }
void *operator new(std::size_t n, const std::nothrow_t &) noexcept {
  try {
    return allocate(n, 0);
  } catch (...) {
    return nullptr;
  }
}
void *operator new[](std::size_t n, const std::nothrow_t &) noexcept {
  try {
    return allocate(n, 0);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t) noexcept { std::free(p); }
void operator delete(void *p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void *p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void *p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

int failures = 0;
int checked_ops = 0;
long failed_calls = 0;

void fail(const std::string &what) {
  failures++;
  std::fprintf(stderr, "FAIL %s\n", what.c_str());
}

cnn4j_context *g_ctx = nullptr;

// Deterministic values in [-1, 1).
template <class T>
std::vector<T> values(size_t n, unsigned seed) {
  std::vector<T> v(n);
  unsigned s = seed * 2654435761u + 1;
  for (auto &e : v) {
    s = s * 1664525u + 1013904223u;
    e = T((s >> 8) * (1.0 / 8388608.0) - 1.0);
  }
  return v;
}

// An op: resets its outputs, runs, and returns its status; outputs() is what it wrote.
struct Op {
  std::string name;
  std::function<int32_t()> run;
  std::function<std::vector<unsigned char>()> outputs;
};

void check_op(const Op &op) {
  checked_ops++;
  // Warm: the context's scratch memory grows on the first call (not an operator new).
  if (int32_t st = op.run(); st != CNN4J_OK) {
    fail(op.name + ": status " + std::to_string(st) + " without a failed allocation");
    return;
  }
  g_calls = 0;
  if (int32_t st = op.run(); st != CNN4J_OK) {
    fail(op.name + ": status " + std::to_string(st) + " on the second call");
    return;
  }
  const long count = g_calls.load();
  const std::vector<unsigned char> want = op.outputs();
  for (long k = 1; k <= count; k++) {
    g_calls = 0;
    g_fail_at = k;
    const int32_t st = op.run();
    g_fail_at = 0;
    failed_calls++;
    if (st != CNN4J_OUT_OF_MEMORY) {
      fail(op.name + ": allocation " + std::to_string(k) + " of " + std::to_string(count) + " failed, status " +
           std::to_string(st) + " (want CNN4J_OUT_OF_MEMORY)");
    }
  }
  if (int32_t st = op.run(); st != CNN4J_OK) {
    fail(op.name + ": status " + std::to_string(st) + " after the failed calls");
    return;
  }
  if (op.outputs() != want) fail(op.name + ": the result after the failed calls differs");
  if (count == 0) {
    std::printf("%-46s no allocation\n", op.name.c_str());
  } else {
    std::printf("%-46s %2ld allocation%s, each failed in turn: CNN4J_OUT_OF_MEMORY\n", op.name.c_str(), count,
                count > 1 ? "s" : "");
  }
}

// The bytes of the vectors, one after the other.
template <class... T>
std::vector<unsigned char> bytes_of(const std::vector<T> &...vs) {
  std::vector<unsigned char> b;
  auto add = [&b](const auto &v) {
    const auto *p = reinterpret_cast<const unsigned char *>(v.data());
    b.insert(b.end(), p, p + v.size() * sizeof(v[0]));
  };
  (add(vs), ...);
  return b;
}

// The three passes of one convolution (3x3 unless kernel says otherwise, padding kernel/2).
template <class T>
void conv_ops(const char *label, int32_t algorithm, int64_t n, int64_t c, int64_t h, int64_t k, int64_t stride,
              int64_t kernel = 3) {
  const int32_t dtype = sizeof(T) == 4 ? CNN4J_F32 : CNN4J_F64;
  const int64_t pad = kernel / 2, oh = (h + 2 * pad - kernel) / stride + 1;
  cnn4j_conv_geometry g{n, c, h, h, k, oh, oh, 1, {kernel, kernel, stride, stride, pad, pad, 1, 1}};
  auto x = std::make_shared<std::vector<T>>(values<T>(size_t(n * c * h * h), 1));
  auto w = std::make_shared<std::vector<T>>(values<T>(size_t(k * c * kernel * kernel), 2));
  auto bias = std::make_shared<std::vector<T>>(values<T>(size_t(k), 3));
  auto dy = std::make_shared<std::vector<T>>(values<T>(size_t(n * k * oh * oh), 4));
  auto y = std::make_shared<std::vector<T>>(size_t(n * k * oh * oh));
  auto dx = std::make_shared<std::vector<T>>(size_t(n * c * h * h));
  auto dw = std::make_shared<std::vector<T>>(size_t(k * c * kernel * kernel));
  auto db = std::make_shared<std::vector<T>>(size_t(k));
  const std::string base = std::string(label) + (sizeof(T) == 4 ? "" : " (double)") + " ";
  auto with = [algorithm](std::function<int32_t()> f) {
    return [algorithm, f] {
      cnn4j_set_conv_algorithm(algorithm);
      const int32_t st = f();
      cnn4j_set_conv_algorithm(CNN4J_CONV_AUTO);
      return st;
    };
  };
  check_op({base + "forward",
            with([=] { return cnn4j_conv2d_forward(g_ctx, dtype, &g, x->data(), w->data(), bias->data(), y->data()); }),
            [=] { return bytes_of(*y); }});
  check_op({base + "backward-data",
            with([=] { return cnn4j_conv2d_backward_data(g_ctx, dtype, &g, dy->data(), w->data(), dx->data()); }),
            [=] { return bytes_of(*dx); }});
  check_op({base + "backward-filter", with([=] {
              std::fill(dw->begin(), dw->end(), T(0));
              std::fill(db->begin(), db->end(), T(0));
              return cnn4j_conv2d_backward_filter(g_ctx, dtype, &g, x->data(), dy->data(), dw->data(), db->data());
            }),
            [=] { return bytes_of(*dw, *db); }});
}

void norm_ops() {
  const int64_t outer = 8, channels = 16, inner = 64;
  const size_t all = size_t(outer * channels * inner);
  auto x = std::make_shared<std::vector<float>>(values<float>(all, 5));
  auto dy = std::make_shared<std::vector<float>>(values<float>(all, 6));
  auto gamma = std::make_shared<std::vector<float>>(values<float>(size_t(channels), 7));
  auto beta = std::make_shared<std::vector<float>>(values<float>(size_t(channels), 8));
  auto y = std::make_shared<std::vector<float>>(all), dx = std::make_shared<std::vector<float>>(all);
  auto mean = std::make_shared<std::vector<float>>(size_t(channels)),
       var = std::make_shared<std::vector<float>>(size_t(channels)),
       smean = std::make_shared<std::vector<float>>(size_t(channels)),
       sinv = std::make_shared<std::vector<float>>(size_t(channels)),
       dg = std::make_shared<std::vector<float>>(size_t(channels)),
       dbeta = std::make_shared<std::vector<float>>(size_t(channels));
  check_op({"batch norm forward",
            [=] {
              std::fill(mean->begin(), mean->end(), 0.0f);
              std::fill(var->begin(), var->end(), 1.0f);
              return cnn4j_batch_norm_forward(g_ctx, CNN4J_F32, x->data(), gamma->data(), beta->data(), mean->data(),
                                              var->data(), y->data(), smean->data(), sinv->data(), outer, channels,
                                              inner, 1, 0.1, 1e-5, 1, nullptr);
            },
            [=] { return bytes_of(*y, *mean, *var, *smean, *sinv); }});
  check_op({"batch norm backward",
            [=] {
              std::fill(dg->begin(), dg->end(), 0.0f);
              std::fill(dbeta->begin(), dbeta->end(), 0.0f);
              return cnn4j_batch_norm_backward(g_ctx, CNN4J_F32, x->data(), dy->data(), gamma->data(), smean->data(),
                                               sinv->data(), dx->data(), dg->data(), dbeta->data(), outer, channels,
                                               inner, 1, y->data());
            },
            [=] { return bytes_of(*dx, *dg, *dbeta); }});
}

}  // namespace

int main() {
  if (cnn4j_context_create(CNN4J_DEVICE_CPU, 0, &g_ctx) != CNN4J_OK) {
    std::fprintf(stderr, "FAIL cannot create a CPU context\n");
    return 1;
  }
  long allocating = 0;  // ops that allocate at all: the replacement must be the one libcnn4j calls
  for (int threads : {2, 1}) {
    cnn4j_set_threads(threads);
    std::printf("-- %d thread%s\n", threads, threads > 1 ? "s" : "");
    const long before = failed_calls;
    conv_ops<float>("blocked 16->32 12x12", CNN4J_CONV_DIRECT, 4, 16, 12, 32, 1);
    conv_ops<float>("blocked stride 2 16->32 16x16", CNN4J_CONV_DIRECT, 12, 16, 16, 32, 2);
    conv_ops<float>("pixel vectors 3->16 32x32", CNN4J_CONV_AUTO, 4, 3, 32, 16, 1);
    conv_ops<float>("Winograd 16->16 32x32", CNN4J_CONV_AUTO, 8, 16, 32, 16, 1);
    conv_ops<float>("Winograd 64->64 8x8", CNN4J_CONV_AUTO, 16, 64, 8, 64, 1);
    // 32 images: the per-position GEMMs need a batch of at least 32 (positions_plan).
    conv_ops<float>("per position 64->64 2x2", CNN4J_CONV_AUTO, 32, 64, 2, 64, 1);
    conv_ops<float>("im2col 16->32 12x12", CNN4J_CONV_GEMM, 4, 16, 12, 32, 1);
    conv_ops<float>("5x5 6->16 14x14", CNN4J_CONV_AUTO, 8, 6, 14, 16, 1, 5);
    conv_ops<double>("16->32 12x12", CNN4J_CONV_AUTO, 4, 16, 12, 32, 1);
    norm_ops();
    allocating += failed_calls - before;
  }
  cnn4j_context_destroy(g_ctx);
  if (allocating == 0) fail("no op allocated through operator new: the replacement was not the one libcnn4j calls");
  if (failures > 0) {
    std::fprintf(stderr, "alloc_fail: %d failure(s)\n", failures);
    return 1;
  }
  std::printf("alloc_fail: all checks passed (%d ops, %ld calls with an allocation failing)\n", checked_ops,
              failed_calls);
  return 0;
}
