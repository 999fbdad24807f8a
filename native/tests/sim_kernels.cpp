// sim_kernels: every op of cnn4j.h run through a CUDA context on the simulated device, checked
// against the same op through a CPU context on seeded random inputs, and cuda.h's own functions.
// Built by a CNN4J_CUDA=SIM configuration as the target cnn4j_sim_kernels (CMakeLists.txt);
// tests/sanitize-sim.sh runs it plain, under AddressSanitizer + UBSan and under ThreadSanitizer.
//
//   cnn4j_sim_kernels [--seed N] [--workers W] [--only TEXT]
//     --seed N    cnn4j_cuda_sim_configure(N, 0) before anything else: N != 0 runs a block's
//                 threads, and the blocks, in an order drawn from N (0: index order)
//     --workers W the simulator's host threads that run blocks (default: the simulator's choice)
//     --only TEXT runs only the check groups whose name contains TEXT
//
// Prints one line per check group and "sim_kernels: N checks passed"; a failing check prints
// "FAIL <group>: <check>: ..." with its max error, and the exit status is then 1 (2: usage).
//
// What it holds the device to:
// - float outputs within 1e-5 of the CPU's, relative to max(1, max|ref|) (FP32), double within
//   1e-11; under TF32 (convolutions, matmul) within 5e-3 of the CPU's FP32 result, and within
//   1e-5 of a float64 CPU computation on inputs rounded to TF32 (cvt.rna) as the tensor cores do.
// - integer results (argmax, top-k, dropout masks, copies) exactly; NaN only where the CPU has one.
// - outputs that the API says are written start as NaN on the device (a kernel that skips an
//   element is caught); outputs that are added into (dweight, dbias, dgamma, accumulate = 1)
//   start from the same random values on both sides.
// - every device allocation of the program is freed: the simulator's live allocations are the
//   same at the end (after cnn4j_cuda_release_cached) as at the start.
//
// Covered: conv2d forward / backward-data / backward-filter (stride, padding, dilation, groups,
// depthwise, odd and asymmetric sizes, batch 1, several 64-wide tiles, backward-filter's split
// pixel axis) in f32, f64 and TF32; matmul (every transpose, accumulate 0/1); max and average
// pooling (overlapping windows, padding, count_include_pad, windows past the edge, ties, NaN);
// softmax cross-entropy (host and device totals, bad labels); top-k; bias add/grad; the four
// activations; sum; fill/add/multiply/axpy/scale; SGD/RMSProp/Adam(W); batch norm; dropout;
// maxout; channel copies; a recorded graph launched three times against the same ops run
// eagerly; uploader, deferred fetch and page-locked copies; two host threads at once.
#include <cnn4j/cnn4j.h>
#include <cnn4j/cuda.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

using i64 = int64_t;

// ---- bookkeeping ---------------------------------------------------------------------------
int g_checks = 0, g_failed = 0;        // all groups
int g_group_checks = 0, g_group_failed = 0;
std::string g_group;
std::string g_only;
std::mt19937_64 g_rng;
// The two contexts every check runs through: the CPU's (the reference) and the device's.
cnn4j_context *g_cpu = nullptr, *g_gpu = nullptr;

// An API call that did not return CNN4J_OK: ends the current group (counted as one failure).
struct CallFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void report_failure(const std::string &msg) {
  std::printf("FAIL %s: %s\n", g_group.c_str(), msg.c_str());
  std::fflush(stdout);
  g_failed++;
  g_group_failed++;
}

std::string call_name(const char *expr) {
  std::string s(expr);
  size_t p = s.find('(');
  return p == std::string::npos ? s : s.substr(0, p);
}

void ck(int32_t st, const char *expr) {
  if (st != CNN4J_OK) {
    const char *le = cnn4j_cuda_last_error();
    throw CallFailed(call_name(expr) + " returned " + std::to_string(st) + " (" + cnn4j_status_string(st) + ")" +
                     (le && *le ? std::string(": ") + le : std::string()));
  }
}
#define CK(call) ck((call), #call)

std::string fmt(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.9g", v);
  return b;
}

// got within tol * max(1, max |want|) of want, element by element; NaN must meet NaN and an
// infinity the same infinity.
template <class G, class W>
bool near(const std::string &what, const std::vector<G> &got, const std::vector<W> &want, double tol) {
  g_checks++;
  g_group_checks++;
  if (got.size() != want.size()) {
    report_failure(what + ": " + std::to_string(got.size()) + " values, expected " + std::to_string(want.size()));
    return false;
  }
  double scale = 1;
  for (W w : want) {
    if (std::isfinite(double(w))) scale = std::max(scale, std::fabs(double(w)));
  }
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); i++) {
    double g = double(got[i]), w = double(want[i]);
    double e;
    if (std::isnan(g) || std::isnan(w)) {
      e = (std::isnan(g) && std::isnan(w)) ? 0 : std::numeric_limits<double>::infinity();
    } else if (std::isinf(g) || std::isinf(w)) {
      e = g == w ? 0 : std::numeric_limits<double>::infinity();
    } else {
      e = std::fabs(g - w);
    }
    if (e > worst) {
      worst = e;
      at = i;
    }
  }
  if (worst / scale <= tol) return true;
  report_failure(what + ": max error " + fmt(worst) + " (" + fmt(worst / scale) + " relative to " + fmt(scale) +
                 ", tolerance " + fmt(tol) + ") at [" + std::to_string(at) + "]: got " + fmt(double(got[at])) +
                 ", expected " + fmt(double(want[at])) + " (" + std::to_string(got.size()) + " values)");
  return false;
}

template <class I>
bool same(const std::string &what, const std::vector<I> &got, const std::vector<I> &want) {
  g_checks++;
  g_group_checks++;
  if (got.size() != want.size()) {
    report_failure(what + ": " + std::to_string(got.size()) + " values, expected " + std::to_string(want.size()));
    return false;
  }
  size_t bad = 0, first = 0;
  i64 worst = 0;
  for (size_t i = 0; i < got.size(); i++) {
    if (got[i] != want[i]) {
      if (bad++ == 0) first = i;
      worst = std::max(worst, std::abs(i64(got[i]) - i64(want[i])));
    }
  }
  if (bad == 0) return true;
  report_failure(what + ": max error " + std::to_string(worst) + ", " + std::to_string(bad) + " of " +
                 std::to_string(got.size()) + " values differ, the first at [" + std::to_string(first) + "]: got " +
                 std::to_string(i64(got[first])) + ", expected " + std::to_string(i64(want[first])));
  return false;
}

void expect(const std::string &what, bool ok, const std::string &detail = "") {
  g_checks++;
  g_group_checks++;
  if (!ok) report_failure(what + (detail.empty() ? "" : ": " + detail));
}

// ---- data ------------------------------------------------------------------------------------
template <class T>
constexpr int32_t dtype_of() {
  return std::is_same<T, double>::value ? CNN4J_F64 : CNN4J_F32;
}
template <class T>
const char *dname() {
  return std::is_same<T, double>::value ? "f64" : "f32";
}
// FP32 / FP64 tolerances relative to max(1, max |ref|); TF32 for float convolutions and matmuls.
template <class T>
double tol(int precision = CNN4J_CUDA_FP32) {
  if (std::is_same<T, double>::value) return 1e-11;
  return precision == CNN4J_CUDA_TF32 ? 5e-3 : 1e-5;
}

template <class T>
std::vector<T> rnd(size_t n, double lo = -1, double hi = 1) {
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<T> v(n);
  for (auto &e : v) e = T(u(g_rng));
  return v;
}
// Small integers 0 .. levels-1: ties everywhere.
template <class T>
std::vector<T> quantized(size_t n, int levels) {
  std::uniform_int_distribution<int> u(0, levels - 1);
  std::vector<T> v(n);
  for (auto &e : v) e = T(u(g_rng));
  return v;
}
template <class T>
std::vector<T> nans(size_t n) {
  return std::vector<T>(n, std::numeric_limits<T>::quiet_NaN());
}
std::vector<int32_t> labels(size_t n, int classes) {
  std::uniform_int_distribution<int> u(0, classes - 1);
  std::vector<int32_t> v(n);
  for (auto &e : v) e = u(g_rng);
  return v;
}

// What the tensor cores multiply: cvt.rna.tf32.f32 (ties away from zero, 10 mantissa bits).
float tf32(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  if ((u & 0x7F800000u) != 0x7F800000u) u = (u + 0x1000u) & 0xFFFFE000u;
  float r;
  std::memcpy(&r, &u, 4);
  return r;
}
std::vector<double> tf32_as_double(const std::vector<float> &v) {
  std::vector<double> r(v.size());
  for (size_t i = 0; i < v.size(); i++) r[i] = tf32(v[i]);
  return r;
}
template <class T>
std::vector<double> as_double(const std::vector<T> &v) {
  return std::vector<double>(v.begin(), v.end());
}

// ---- memory: every buffer is freed by its destructor -----------------------------------------
template <class T>
class Dev {
 public:
  explicit Dev(size_t n) : n_(n) {
    void *p = nullptr;
    CK(cnn4j_alloc(g_gpu, i64(n * sizeof(T)), &p));
    p_ = static_cast<T *>(p);
  }
  explicit Dev(const std::vector<T> &v) : Dev(v.size()) { put(v); }
  ~Dev() {
    if (p_ == nullptr) return;
    int32_t st = cnn4j_free(g_gpu, p_);
    if (st != CNN4J_OK) report_failure(std::string("cnn4j_free: ") + cnn4j_status_string(st) + ": " + cnn4j_cuda_last_error());
  }
  Dev(const Dev &) = delete;
  Dev &operator=(const Dev &) = delete;
  operator T *() const { return p_; }
  size_t size() const { return n_; }
  void put(const std::vector<T> &v) {
    if (v.size() != n_) throw CallFailed("driver: upload of " + std::to_string(v.size()) + " into " + std::to_string(n_));
    CK(cnn4j_copy(g_gpu, p_, v.data(), i64(n_ * sizeof(T)), 0));
  }
  std::vector<T> get() const {
    std::vector<T> v(n_);
    CK(cnn4j_copy(g_gpu, v.data(), p_, i64(n_ * sizeof(T)), 1));
    return v;
  }

 private:
  T *p_ = nullptr;
  size_t n_ = 0;
};

// Page-locked host memory of the device runtime.
class Pinned {
 public:
  explicit Pinned(i64 bytes) { CK(cnn4j_cuda_host_alloc(bytes, &p_)); }
  ~Pinned() {
    int32_t st = cnn4j_cuda_host_free(p_);
    if (st != CNN4J_OK) report_failure(std::string("cnn4j_cuda_host_free: ") + cnn4j_cuda_last_error());
  }
  Pinned(const Pinned &) = delete;
  Pinned &operator=(const Pinned &) = delete;
  void *get() const { return p_; }

 private:
  void *p_ = nullptr;
};

// Restores FP32 when a group that switched precision ends, however it ends.
struct PrecisionScope {
  explicit PrecisionScope(int p) { CK(cnn4j_cuda_set_precision(p)); }
  ~PrecisionScope() { cnn4j_cuda_set_precision(CNN4J_CUDA_FP32); }
};

uint64_t fnv1a(const std::string &s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

void group(const std::string &name, const std::function<void()> &body, bool always = false) {
  if (!always && !g_only.empty() && name.find(g_only) == std::string::npos) return;
  g_group = name;
  g_group_checks = 0;
  g_group_failed = 0;
  g_rng.seed(fnv1a(name));  // the same data whatever runs before
  auto t0 = std::chrono::steady_clock::now();
  try {
    body();
  } catch (const CallFailed &e) {
    report_failure(e.what());
  } catch (const std::exception &e) {
    report_failure(std::string("exception: ") + e.what());
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s %-34s %4d checks  %6.2f s\n", g_group_failed ? "FAIL" : "ok  ", name.c_str(), g_group_checks, s);
  std::fflush(stdout);
}

// ---- convolution -----------------------------------------------------------------------------
struct ConvGeo {
  const char *name;
  i64 n, c, h, w, k, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, groups;
  i64 oh() const { return (h + pt + pb - dh * (kh - 1) - 1) / sh + 1; }
  i64 ow() const { return (w + pl + pr - dw * (kw - 1) - 1) / sw + 1; }
  // The pixel-axis splits of cnn4j_cuda_conv2d_backward_filter (conv.cu, 132 SMs).
  int splits() const {
    const i64 kg = k / groups, ckk = (c / groups) * kh * kw, K = n * oh() * ow();
    const i64 tiles = ((kg + 63) / 64) * ((ckk + 63) / 64) * groups;
    i64 s = 1;
    while (tiles * s < 2 * 132 && K / (s * 2) >= 64) s *= 2;
    const i64 per = ((K + s - 1) / s + 15) / 16 * 16;
    return int((K + per - 1) / per);
  }
};
// The C ABI's geometry of a case (a temporary that lives through the call it is passed to).
struct ConvArg {
  cnn4j_conv_geometry v;
  operator const cnn4j_conv_geometry *() const { return &v; }
};
ConvArg GEO(const ConvGeo &g) {
  return {{g.n, g.c, g.h, g.w, g.k, g.oh(), g.ow(), g.groups, {g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw}}};
}

const std::vector<ConvGeo> &conv_geos() {
  static const std::vector<ConvGeo> geos = {
      //  name               n   c   h   w   k kh kw sh sw pt pl pb pr dh dw groups
      {"3x3-pad1",         3,  3, 10, 10,  5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // K 300: uneven splits
      {"3x3-stride2-odd",  2,  4,  9,  7,  6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
      {"dilation2",        1,  3, 11, 10,  5, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1},
      {"groups2",          2,  4,  6,  6,  6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
      {"groups2-split",    4,  8,  8,  8,  8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},   // K 256
      {"depthwise",        2,  6,  7,  7,  6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 6},
      {"depthwise-x2",     1,  4,  8,  9,  8, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 4},
      {"depthwise-split",  4,  6,  8,  8,  6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 6},   // K 256
      {"1x1-stride2",      3,  5,  5,  5,  7, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1},
      {"5x3-asym-batch1",  1,  2,  9,  8,  3, 5, 3, 1, 2, 2, 1, 0, 0, 1, 1, 1},
      {"k70-multitile",    1, 20,  6,  5, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {"split-large",      8, 16, 16, 16, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
  };
  return geos;
}

// Forward (with and without bias), backward-data and backward-filter (twice: with dbias, then
// without, so dweight accumulates two calls and dbias one) against the CPU.
template <class T>
void check_conv(const ConvGeo &g, int precision) {
  const int32_t dt = dtype_of<T>();
  const i64 oh = g.oh(), ow = g.ow();
  const size_t nx = size_t(g.n * g.c * g.h * g.w), nw = size_t(g.k * (g.c / g.groups) * g.kh * g.kw);
  const size_t ny = size_t(g.n * g.k * oh * ow), nk = size_t(g.k);
  auto x = rnd<T>(nx), wt = rnd<T>(nw), bias = rnd<T>(nk), dy = rnd<T>(ny), dw0 = rnd<T>(nw), db0 = rnd<T>(nk);
  const std::string p = std::string(g.name) + ".";

  // CPU references
  std::vector<T> y_ref(ny), y_nb_ref(ny), dx_ref(nx), dw_ref = dw0, db_ref = db0;
  {
    CK(cnn4j_conv2d_forward(g_cpu, dt, GEO(g), x.data(), wt.data(), bias.data(), y_ref.data()));
    CK(cnn4j_conv2d_forward(g_cpu, dt, GEO(g), x.data(), wt.data(), nullptr, y_nb_ref.data()));
    CK(cnn4j_conv2d_backward_data(g_cpu, dt, GEO(g), dy.data(), wt.data(), dx_ref.data()));
    CK(cnn4j_conv2d_backward_filter(g_cpu, dt, GEO(g), x.data(), dy.data(), dw_ref.data(), db_ref.data()));
    CK(cnn4j_conv2d_backward_filter(g_cpu, dt, GEO(g), x.data(), dy.data(), dw_ref.data(), nullptr));
  }

  PrecisionScope ps(precision);
  Dev<T> dx_in(x), dwt(wt), dbias(bias), ddy(dy), dy_out(nans<T>(ny)), dy_nb(nans<T>(ny)), ddx(nans<T>(nx)),
      ddw(dw0), ddb(db0);
  CK(cnn4j_conv2d_forward(g_gpu, dt, GEO(g), dx_in, dwt, dbias, dy_out));
  CK(cnn4j_conv2d_forward(g_gpu, dt, GEO(g), dx_in, dwt, nullptr, dy_nb));
  CK(cnn4j_conv2d_backward_data(g_gpu, dt, GEO(g), ddy, dwt, ddx));
  CK(cnn4j_conv2d_backward_filter(g_gpu, dt, GEO(g), dx_in, ddy, ddw, ddb));
  CK(cnn4j_conv2d_backward_filter(g_gpu, dt, GEO(g), dx_in, ddy, ddw, nullptr));
  const auto y = dy_out.get(), y_nb = dy_nb.get(), dx = ddx.get(), dw = ddw.get(), db = ddb.get();
  const double t = tol<T>(precision);
  near(p + "forward", y, y_ref, t);
  near(p + "forward(no bias)", y_nb, y_nb_ref, t);
  near(p + "backward_data", dx, dx_ref, t);
  near(p + "backward_filter.dweight(x2)", dw, dw_ref, t);
  near(p + "backward_filter.dbias", db, db_ref, tol<T>());

  if constexpr (std::is_same<T, float>::value) {
    if (precision == CNN4J_CUDA_TF32) {
      // What the tensor cores compute: products of TF32-rounded operands, summed in FP32.
      const auto xr = tf32_as_double(x), wr = tf32_as_double(wt), dyr = tf32_as_double(dy);
      const auto bd = as_double(bias);
      std::vector<double> ye(ny), dxe(nx), dwe = as_double(dw0);
      CK(cnn4j_conv2d_forward(g_cpu, CNN4J_F64, GEO(g), xr.data(), wr.data(), bd.data(), ye.data()));
      CK(cnn4j_conv2d_backward_data(g_cpu, CNN4J_F64, GEO(g), dyr.data(), wr.data(), dxe.data()));
      CK(cnn4j_conv2d_backward_filter(g_cpu, CNN4J_F64, GEO(g), xr.data(), dyr.data(), dwe.data(), nullptr));
      CK(cnn4j_conv2d_backward_filter(g_cpu, CNN4J_F64, GEO(g), xr.data(), dyr.data(), dwe.data(), nullptr));
      near(p + "forward(tf32 operands, f64 ref)", y, ye, 1e-5);
      near(p + "backward_data(tf32 operands, f64 ref)", dx, dxe, 1e-5);
      near(p + "backward_filter(tf32 operands, f64 ref)", dw, dwe, 1e-5);
    }
  }
}

// ---- matmul ----------------------------------------------------------------------------------
template <class T>
void check_matmul(int precision) {
  const int32_t dt = dtype_of<T>();
  const i64 shapes[][3] = {{37, 29, 45}, {1, 70, 130}, {130, 3, 17}, {65, 66, 80}};
  PrecisionScope ps(precision);
  for (auto &s : shapes) {
    const i64 m = s[0], n = s[1], k = s[2];
    for (int ta = 0; ta < 2; ta++) {
      for (int tb = 0; tb < 2; tb++) {
        for (int acc = 0; acc < 2; acc++) {
          auto a = rnd<T>(size_t(m * k)), b = rnd<T>(size_t(k * n));
          auto c0 = acc ? rnd<T>(size_t(m * n)) : nans<T>(size_t(m * n));
          std::vector<T> ref = acc ? c0 : std::vector<T>(size_t(m * n), T(0));
          CK(cnn4j_matmul(g_cpu, dt, ta, tb, m, n, k, a.data(), b.data(), ref.data(), acc));
          Dev<T> da(a), db(b), dc(c0);
          CK(cnn4j_matmul(g_gpu, dt, ta, tb, m, n, k, da, db, dc, acc));
          const auto c = dc.get();
          char name[96];
          std::snprintf(name, sizeof name, "%lldx%lldx%lld ta%d tb%d acc%d", (long long)m, (long long)n,
                        (long long)k, ta, tb, acc);
          near(name, c, ref, tol<T>(precision));
          if constexpr (std::is_same<T, float>::value) {
            if (precision == CNN4J_CUDA_TF32) {
              // f64 reference of the TF32-rounded operands (C added unrounded)
              const auto ar = tf32_as_double(a), br = tf32_as_double(b);
              std::vector<double> e = acc ? as_double(c0) : std::vector<double>(size_t(m * n), 0.0);
              CK(cnn4j_matmul(g_cpu, CNN4J_F64, ta, tb, m, n, k, ar.data(), br.data(), e.data(), acc));
              near(std::string(name) + " (tf32 operands, f64 ref)", c, e, 1e-5);
              // the TF32 path was taken: some result differs from the FP32 one
              std::vector<T> fp32 = acc ? c0 : std::vector<T>(size_t(m * n), T(0));
              CK(cnn4j_matmul(g_cpu, dt, ta, tb, m, n, k, a.data(), b.data(), fp32.data(), acc));
              size_t differ = 0;
              for (size_t i = 0; i < c.size(); i++) differ += c[i] != fp32[i];
              if (m * n >= 16) expect(std::string(name) + " differs from FP32 (TF32 path taken)", differ > 0);
            }
          }
        }
      }
    }
  }
}

// ---- geometry: one validator, the same status from the CPU and the device ---------------------
void check_geometry() {
  const cnn4j_conv_geometry ok{2, 4, 5, 5, 6, 3, 3, 2, {3, 3, 1, 1, 0, 0, 1, 1}};
  expect("conv geometry accepted", cnn4j_conv_geometry_check(&ok) == CNN4J_OK);
  expect("null conv geometry refused", cnn4j_conv_geometry_check(nullptr) == CNN4J_INVALID_ARGUMENT);
  std::vector<std::pair<const char *, cnn4j_conv_geometry>> bad;
  auto with = [&](const char *what, auto change) {
    cnn4j_conv_geometry g = ok;
    change(g);
    bad.push_back({what, g});
  };
  with("negative batch", [](cnn4j_conv_geometry &g) { g.n = -1; });
  with("negative output width", [](cnn4j_conv_geometry &g) { g.ow = -1; });
  with("negative padding", [](cnn4j_conv_geometry &g) { g.win.pl = -1; });
  with("zero stride", [](cnn4j_conv_geometry &g) { g.win.sh = 0; });
  with("zero dilation", [](cnn4j_conv_geometry &g) { g.win.dw = 0; });
  with("zero kernel", [](cnn4j_conv_geometry &g) { g.win.kw = 0; });
  with("zero groups", [](cnn4j_conv_geometry &g) { g.groups = 0; });
  with("groups not dividing the input channels", [](cnn4j_conv_geometry &g) { g.c = 5; });
  with("groups not dividing the output channels", [](cnn4j_conv_geometry &g) { g.k = 7; });
  float buf[1024] = {};
  for (const auto &[what, g] : bad) {
    const int32_t v = cnn4j_conv_geometry_check(&g);
    const int32_t cpu = cnn4j_conv2d_forward(g_cpu, CNN4J_F32, &g, buf, buf, nullptr, buf);
    const int32_t dev = cnn4j_conv2d_forward(g_gpu, CNN4J_F32, &g, buf, buf, nullptr, buf);
    expect(std::string("conv geometry refused: ") + what, v == CNN4J_INVALID_ARGUMENT && cpu == v && dev == v,
           "validator " + std::to_string(v) + ", CPU " + std::to_string(cpu) + ", device " + std::to_string(dev));
  }
  const cnn4j_pool_geometry pool{3, 4, 4, 2, 2, {2, 2, 2, 2, 0, 0, 1, 1}};
  expect("pool geometry accepted", cnn4j_pool_geometry_check(&pool) == CNN4J_OK);
  expect("null pool geometry refused", cnn4j_pool_geometry_check(nullptr) == CNN4J_INVALID_ARGUMENT);
  cnn4j_pool_geometry huge = pool;
  huge.h = huge.w = 46341;  // h * w = 2147488281 > INT32_MAX: arg-max indices would overflow
  cnn4j_pool_geometry stride0 = pool;
  stride0.win.sw = 0;
  for (const auto &[what, g] : {std::pair<const char *, cnn4j_pool_geometry>{"plane over 2^31 pixels", huge},
                                std::pair<const char *, cnn4j_pool_geometry>{"zero stride", stride0}}) {
    const int32_t v = cnn4j_pool_geometry_check(&g);
    const int32_t cpu = cnn4j_max_pool2d_forward(g_cpu, CNN4J_F32, &g, buf, buf, nullptr);
    const int32_t dev = cnn4j_max_pool2d_forward(g_gpu, CNN4J_F32, &g, buf, buf, nullptr);
    expect(std::string("pool geometry refused: ") + what, v == CNN4J_INVALID_ARGUMENT && cpu == v && dev == v,
           "validator " + std::to_string(v) + ", CPU " + std::to_string(cpu) + ", device " + std::to_string(dev));
  }
}

// ---- pooling ---------------------------------------------------------------------------------
struct PoolGeo {
  const char *name;
  i64 planes, h, w, kh, kw, sh, sw, pt, pl, dh, dw;
  bool ceil_mode;  // the last window may run past the input (and its padding)
  i64 out(i64 size, i64 k, i64 s, i64 p, i64 d) const {
    i64 span = size + 2 * p - d * (k - 1) - 1;
    return (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  }
  i64 oh() const { return out(h, kh, sh, pt, dh); }
  i64 ow() const { return out(w, kw, sw, pl, dw); }
};
struct PoolArg {
  cnn4j_pool_geometry v;
  operator const cnn4j_pool_geometry *() const { return &v; }
};
PoolArg PGEO(const PoolGeo &g) { return {{g.planes, g.h, g.w, g.oh(), g.ow(), {g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw}}}; }

const std::vector<PoolGeo> &pool_geos() {
  static const std::vector<PoolGeo> geos = {
      //  name                  planes h   w kh kw sh sw pt pl dh dw ceil
      {"2x2-stride2",           6,  8,  8, 2, 2, 2, 2, 0, 0, 1, 1, false},
      {"2x2-stride2-odd",       3,  7,  9, 2, 2, 2, 2, 0, 0, 1, 1, false},
      {"3x3-stride2-pad1",      5,  9, 11, 3, 3, 2, 2, 1, 1, 1, 1, false},   // overlapping windows
      {"3x3-stride1-pad1",      2,  5,  6, 3, 3, 1, 1, 1, 1, 1, 1, false},
      {"3x3-dilation2-pad2",    2,  7,  7, 3, 3, 1, 1, 2, 2, 2, 2, false},
      {"3x3-stride2-ceil",      3,  8,  8, 3, 3, 2, 2, 0, 0, 1, 1, true},
      {"2x3-stride(1,2)-pad1",  4,  6,  9, 2, 3, 1, 2, 1, 1, 1, 1, false},
  };
  return geos;
}

template <class T>
void check_max_pool() {
  const int32_t dt = dtype_of<T>();
  for (int variant = 0; variant < 3; variant++) {  // random, quantized (ties), with NaNs
    for (const PoolGeo &g : pool_geos()) {
      if (variant > 0 && std::string(g.name) != "3x3-stride2-pad1" && std::string(g.name) != "2x2-stride2") continue;
      const size_t nx = size_t(g.planes * g.h * g.w), ny = size_t(g.planes * g.oh() * g.ow());
      auto x = variant == 1 ? quantized<T>(nx, 3) : rnd<T>(nx);
      if (variant == 2) {
        for (size_t i = 0; i < nx; i += 7) x[i] = std::numeric_limits<T>::quiet_NaN();
      }
      auto dy = rnd<T>(ny);
      const std::string p = std::string(g.name) + (variant == 1 ? "(ties)." : variant == 2 ? "(NaN)." : ".");
      std::vector<T> y_ref(ny), dx_ref(nx);
      std::vector<int32_t> am_ref(ny);
      CK(cnn4j_max_pool2d_forward(g_cpu, dt, PGEO(g), x.data(), y_ref.data(), am_ref.data()));
      Dev<T> dxin(x), dyout(nans<T>(ny)), dyout2(nans<T>(ny)), ddy(dy), ddx(nans<T>(nx));
      Dev<int32_t> dam(std::vector<int32_t>(ny, -7)), dam_ref(am_ref);
      CK(cnn4j_max_pool2d_forward(g_gpu, dt, PGEO(g), dxin, dyout, dam));
      CK(cnn4j_max_pool2d_forward(g_gpu, dt, PGEO(g), dxin, dyout2, nullptr));
      near(p + "forward", dyout.get(), y_ref, 0);
      near(p + "forward(no argmax)", dyout2.get(), y_ref, 0);
      same(p + "argmax", dam.get(), am_ref);
      if (variant == 2) continue;
      // backward from the same (CPU) argmax
      CK(cnn4j_max_pool2d_backward(g_cpu, dt, dy.data(), am_ref.data(), dx_ref.data(), g.planes, g.h * g.w,
                                   g.oh() * g.ow()));
      CK(cnn4j_max_pool2d_backward(g_gpu, dt, ddy, dam_ref, ddx, g.planes, g.h * g.w, g.oh() * g.ow()));
      near(p + "backward", ddx.get(), dx_ref, tol<T>());
    }
  }
}

template <class T>
void check_avg_pool() {
  const int32_t dt = dtype_of<T>();
  for (int include_pad = 0; include_pad < 2; include_pad++) {
    for (const PoolGeo &g : pool_geos()) {
      const size_t nx = size_t(g.planes * g.h * g.w), ny = size_t(g.planes * g.oh() * g.ow());
      auto x = rnd<T>(nx), dy = rnd<T>(ny);
      const std::string p = std::string(g.name) + (include_pad ? "(count_include_pad)." : ".");
      std::vector<T> y_ref(ny), dx_ref(nx);
      CK(cnn4j_avg_pool2d_forward(g_cpu, dt, PGEO(g), x.data(), y_ref.data(), include_pad));
      CK(cnn4j_avg_pool2d_backward(g_cpu, dt, PGEO(g), dy.data(), dx_ref.data(), include_pad));
      Dev<T> dxin(x), dyout(nans<T>(ny)), ddy(dy), ddx(nans<T>(nx));
      CK(cnn4j_avg_pool2d_forward(g_gpu, dt, PGEO(g), dxin, dyout, include_pad));
      CK(cnn4j_avg_pool2d_backward(g_gpu, dt, PGEO(g), ddy, ddx, include_pad));
      near(p + "forward", dyout.get(), y_ref, tol<T>());
      near(p + "backward", ddx.get(), dx_ref, tol<T>());
    }
  }
}

// ---- loss and metrics ------------------------------------------------------------------------
template <class T>
void check_softmax_ce() {
  const int32_t dt = dtype_of<T>();
  struct Case {
    const char *name;
    i64 rows, classes;
    bool ties;
  };
  const Case cases[] = {{"37x11", 37, 11, false}, {"37x11(ties)", 37, 11, true}, {"300x3", 300, 3, false},
                        {"5x300", 5, 300, false}, {"1x1", 1, 1, false}};
  for (const Case &cs : cases) {
    const size_t n = size_t(cs.rows * cs.classes);
    auto logits = cs.ties ? quantized<T>(n, 3) : rnd<T>(n, -4, 4);
    auto lab = labels(size_t(cs.rows), int(cs.classes));
    const double scale = 1.0 / double(cs.rows);
    const std::string p = std::string(cs.name) + ".";
    std::vector<T> dl_ref(n);
    double r_ref[3] = {0, 0, 0};
    CK(cnn4j_softmax_cross_entropy(g_cpu, dt, logits.data(), lab.data(), dl_ref.data(), cs.rows, cs.classes, scale, r_ref));
    Dev<T> dlog(logits), ddl(nans<T>(n));
    Dev<int32_t> dlab(lab);
    Dev<double> dres(nans<double>(3));
    double r[3] = {-5, -5, -5};
    CK(cnn4j_softmax_cross_entropy(g_gpu, dt, dlog, dlab, ddl, cs.rows, cs.classes, scale, r));
    near(p + "loss", std::vector<double>{r[0]}, std::vector<double>{r_ref[0]}, tol<T>());
    near(p + "correct", std::vector<double>{r[1]}, std::vector<double>{r_ref[1]}, 0);
    near(p + "bad row", std::vector<double>{r[2]}, std::vector<double>{-1.0}, 0);
    near(p + "dlogits", ddl.get(), dl_ref, tol<T>());
    // without dlogits, and the variant that leaves its totals on the device
    double r2[3] = {-5, -5, -5};
    CK(cnn4j_softmax_cross_entropy(g_gpu, dt, dlog, dlab, nullptr, cs.rows, cs.classes, scale, r2));
    near(p + "loss(no dlogits)", std::vector<double>{r2[0], r2[1]}, std::vector<double>{r_ref[0], r_ref[1]}, tol<T>());
    Dev<T> ddl2(nans<T>(n));
    CK(cnn4j_cuda_softmax_cross_entropy_device(dt, dlog, dlab, ddl2, cs.rows, cs.classes, scale, dres));
    near(p + "device totals", dres.get(), std::vector<double>{r_ref[0], r_ref[1], -1.0}, tol<T>());
    near(p + "device dlogits", ddl2.get(), dl_ref, tol<T>());
  }
  // labels out of range: CNN4J_INVALID_ARGUMENT, result[2] = the first bad row
  {
    const i64 rows = 9, classes = 4;
    auto logits = rnd<T>(size_t(rows * classes));
    auto lab = labels(size_t(rows), int(classes));
    lab[5] = 4;
    lab[7] = -1;
    double r_ref[3] = {0, 0, 0}, r[3] = {0, 0, 0};
    int32_t st_ref = cnn4j_softmax_cross_entropy(g_cpu, dt, logits.data(), lab.data(), nullptr, rows, classes, 1, r_ref);
    Dev<T> dlog(logits), ddl(nans<T>(size_t(rows * classes)));
    Dev<int32_t> dlab(lab);
    int32_t st = cnn4j_softmax_cross_entropy(g_gpu, dt, dlog, dlab, ddl, rows, classes, 1, r);
    expect("bad label: status", st == st_ref && st == CNN4J_INVALID_ARGUMENT,
           "device " + std::to_string(st) + ", CPU " + std::to_string(st_ref));
    expect("bad label: first bad row", r[2] == r_ref[2] && r[2] == 5.0,
           "device " + fmt(r[2]) + ", CPU " + fmt(r_ref[2]));
  }
}

template <class T>
void check_top_k() {
  const int32_t dt = dtype_of<T>();
  const i64 cases[][3] = {{9, 13, 1}, {9, 13, 3}, {9, 13, 13}, {300, 5, 2}, {4, 1, 1}};
  for (int ties = 0; ties < 2; ties++) {
    for (auto &cs : cases) {
      const i64 rows = cs[0], classes = cs[1], k = cs[2];
      auto logits = ties ? quantized<T>(size_t(rows * classes), 4) : rnd<T>(size_t(rows * classes));
      std::vector<int32_t> ref(size_t(rows * k));
      CK(cnn4j_top_k(g_cpu, dt, logits.data(), rows, classes, k, ref.data()));
      Dev<T> dl(logits);
      Dev<int32_t> dout(std::vector<int32_t>(size_t(rows * k), -9));
      CK(cnn4j_top_k(g_gpu, dt, dl, rows, classes, k, dout));
      char name[64];
      std::snprintf(name, sizeof name, "rows %lld classes %lld k %lld%s", (long long)rows, (long long)classes,
                    (long long)k, ties ? " (ties)" : "");
      same(name, dout.get(), ref);
    }
  }
}

// ---- bias, activations, element-wise, reductions ----------------------------------------------
template <class T>
void check_bias() {
  const int32_t dt = dtype_of<T>();
  const i64 shapes[][3] = {{3, 5, 7}, {4, 6, 1}, {64, 3, 100}, {1, 1, 1}};
  for (auto &s : shapes) {
    const i64 outer = s[0], ch = s[1], inner = s[2];
    const size_t n = size_t(outer * ch * inner);
    auto y = rnd<T>(n), b = rnd<T>(size_t(ch)), dy = rnd<T>(n), db0 = rnd<T>(size_t(ch));
    std::vector<T> y_ref = y, db_ref = db0;
    CK(cnn4j_bias_add(g_cpu, dt, y_ref.data(), b.data(), outer, ch, inner));
    CK(cnn4j_bias_grad(g_cpu, dt, dy.data(), db_ref.data(), outer, ch, inner));
    Dev<T> dy_(y), dbias(b), ddy(dy), ddb(db0);
    CK(cnn4j_bias_add(g_gpu, dt, dy_, dbias, outer, ch, inner));
    CK(cnn4j_bias_grad(g_gpu, dt, ddy, ddb, outer, ch, inner));
    char name[64];
    std::snprintf(name, sizeof name, "[%lld,%lld,%lld]", (long long)outer, (long long)ch, (long long)inner);
    near(std::string(name) + " bias_add", dy_.get(), y_ref, tol<T>());
    near(std::string(name) + " bias_grad", ddb.get(), db_ref, tol<T>());
  }
}

template <class T>
void check_activation() {
  const int32_t dt = dtype_of<T>();
  const char *names[] = {"relu", "leaky_relu", "sigmoid", "tanh"};
  const i64 n = 1000;
  const double alpha = 0.1;
  for (int act = 0; act < 4; act++) {
    auto x = rnd<T>(size_t(n), -4, 4), dy = rnd<T>(size_t(n));
    x[3] = T(0);
    std::vector<T> y_ref(static_cast<size_t>(n)), dx_ref(static_cast<size_t>(n));
    CK(cnn4j_activation_forward(g_cpu, dt, act, alpha, x.data(), y_ref.data(), n));
    CK(cnn4j_activation_backward(g_cpu, dt, act, alpha, act <= 1 ? x.data() : nullptr, act <= 1 ? nullptr : y_ref.data(),
                                 dy.data(), dx_ref.data(), n));
    Dev<T> dx_in(x), dy_out(nans<T>(size_t(n))), dy_ref(y_ref), ddy(dy), ddx(nans<T>(size_t(n)));
    CK(cnn4j_activation_forward(g_gpu, dt, act, alpha, dx_in, dy_out, n));
    CK(cnn4j_activation_backward(g_gpu, dt, act, alpha, act <= 1 ? static_cast<T *>(dx_in) : nullptr,
                                      act <= 1 ? nullptr : static_cast<T *>(dy_ref), ddy, ddx, n));
    near(std::string(names[act]) + " forward", dy_out.get(), y_ref, tol<T>());
    near(std::string(names[act]) + " backward", ddx.get(), dx_ref, tol<T>());
    // in place (y aliases x; dx aliases dy)
    Dev<T> inplace(x), dyin(dy);
    CK(cnn4j_activation_forward(g_gpu, dt, act, alpha, inplace, inplace, n));
    CK(cnn4j_activation_backward(g_gpu, dt, act, alpha, act <= 1 ? static_cast<T *>(dx_in) : nullptr,
                                      act <= 1 ? nullptr : static_cast<T *>(dy_ref), dyin, dyin, n));
    near(std::string(names[act]) + " forward(in place)", inplace.get(), y_ref, tol<T>());
    near(std::string(names[act]) + " backward(in place)", dyin.get(), dx_ref, tol<T>());
  }
}

template <class T>
void check_elementwise() {
  const int32_t dt = dtype_of<T>();
  const i64 n = 1234;
  auto a = rnd<T>(size_t(n)), b = rnd<T>(size_t(n));
  {
    std::vector<T> ref(static_cast<size_t>(n));
    CK(cnn4j_fill(g_cpu, dt, ref.data(), n, -1.625));
    Dev<T> d(nans<T>(size_t(n)));
    CK(cnn4j_fill(g_gpu, dt, d, n, -1.625));
    near("fill", d.get(), ref, 0);
  }
  {
    std::vector<T> ref(static_cast<size_t>(n));
    CK(cnn4j_add(g_cpu, dt, a.data(), b.data(), ref.data(), n));
    Dev<T> da(a), db(b), out(nans<T>(size_t(n)));
    CK(cnn4j_add(g_gpu, dt, da, db, out, n));
    near("add", out.get(), ref, tol<T>());
    CK(cnn4j_add(g_gpu, dt, da, db, da, n));  // out aliases a
    near("add(in place)", da.get(), ref, tol<T>());
  }
  {
    std::vector<T> ref(static_cast<size_t>(n));
    CK(cnn4j_multiply(g_cpu, dt, a.data(), b.data(), ref.data(), n));
    Dev<T> da(a), db(b), out(nans<T>(size_t(n)));
    CK(cnn4j_multiply(g_gpu, dt, da, db, out, n));
    near("multiply", out.get(), ref, tol<T>());
  }
  {
    std::vector<T> ref = b;
    CK(cnn4j_axpy(g_cpu, dt, 0.75, a.data(), ref.data(), n));
    Dev<T> da(a), db(b);
    CK(cnn4j_axpy(g_gpu, dt, 0.75, da, db, n));
    near("axpy", db.get(), ref, tol<T>());
  }
  {
    std::vector<T> ref = a;
    CK(cnn4j_scale(g_cpu, dt, ref.data(), n, -2.5));
    Dev<T> da(a);
    CK(cnn4j_scale(g_gpu, dt, da, n, -2.5));
    near("scale", da.get(), ref, tol<T>());
  }
}

void check_fill_i32() {
  const i64 n = 777;
  std::vector<int32_t> ref(static_cast<size_t>(n));
  CK(cnn4j_fill(g_cpu, CNN4J_I32, ref.data(), n, 7.0));
  Dev<int32_t> d(std::vector<int32_t>(size_t(n), -1));
  CK(cnn4j_fill(g_gpu, CNN4J_I32, d, n, 7.0));
  same("fill i32", d.get(), ref);
}

template <class T>
void check_sum() {
  const int32_t dt = dtype_of<T>();
  const i64 sizes[] = {1, 255, 1000, 70001, 300001};  // the last: more blocks than sum's cap of 1024
  for (i64 n : sizes) {
    auto x = rnd<T>(size_t(n));
    Dev<T> d(x);
    for (int sq = 0; sq < 2; sq++) {
      double ref = 0, got = -1;
      CK(cnn4j_sum(g_cpu, dt, x.data(), n, sq, &ref));
      CK(cnn4j_sum(g_gpu, dt, d, n, sq, &got));
      near("n " + std::to_string(n) + (sq ? " squares" : ""), std::vector<double>{got}, std::vector<double>{ref},
           1e-11);
    }
  }
}

// ---- optimizers --------------------------------------------------------------------------------
template <class T>
void check_optimizers() {
  const int32_t dt = dtype_of<T>();
  const i64 n = 1000;
  const int steps = 3;
  struct Sgd {
    double lr, mom, damp;
    int nesterov;
    double wd;
  };
  for (const Sgd &c : {Sgd{0.1, 0, 0, 0, 0}, Sgd{0.05, 0.9, 0.1, 0, 1e-3}, Sgd{0.05, 0.9, 0, 1, 1e-2}}) {
    auto p = rnd<T>(size_t(n));
    std::vector<T> v_ref(size_t(n), T(0)), p_ref = p;
    Dev<T> dp(p), dv(nans<T>(size_t(n))), dg(static_cast<size_t>(n));
    for (int s = 0; s < steps; s++) {
      auto g = rnd<T>(size_t(n));
      dg.put(g);
      T *vel = c.mom != 0 ? v_ref.data() : nullptr;
      CK(cnn4j_sgd_update(g_cpu, dt, p_ref.data(), g.data(), vel, n, c.lr, c.mom, c.damp, c.nesterov, c.wd, s == 0));
      CK(cnn4j_sgd_update(g_gpu, dt, dp, dg, c.mom != 0 ? static_cast<T *>(dv) : nullptr, n, c.lr, c.mom, c.damp,
                               c.nesterov, c.wd, s == 0));
    }
    const std::string name = "sgd mom " + fmt(c.mom) + " damp " + fmt(c.damp) + " nesterov " +
                              std::to_string(c.nesterov) + " wd " + fmt(c.wd);
    near(name + " param", dp.get(), p_ref, tol<T>());
    if (c.mom != 0) near(name + " velocity", dv.get(), v_ref, tol<T>());
  }
  struct Rms {
    double lr, alpha, eps, wd, mom;
  };
  for (const Rms &c : {Rms{0.01, 0.99, 1e-8, 0, 0}, Rms{0.01, 0.9, 1e-6, 1e-3, 0.9}}) {
    auto p = rnd<T>(size_t(n));
    std::vector<T> p_ref = p, sq_ref(size_t(n), T(0)), b_ref(size_t(n), T(0));
    Dev<T> dp(p), dsq(sq_ref), db(b_ref), dg(static_cast<size_t>(n));
    for (int s = 0; s < steps; s++) {
      auto g = rnd<T>(size_t(n));
      dg.put(g);
      CK(cnn4j_rmsprop_update(g_cpu, dt, p_ref.data(), g.data(), sq_ref.data(), c.mom != 0 ? b_ref.data() : nullptr, n, c.lr,
                              c.alpha, c.eps, c.wd, c.mom));
      CK(cnn4j_rmsprop_update(g_gpu, dt, dp, dg, dsq, c.mom != 0 ? static_cast<T *>(db) : nullptr, n, c.lr, c.alpha,
                                   c.eps, c.wd, c.mom));
    }
    const std::string name = "rmsprop alpha " + fmt(c.alpha) + " wd " + fmt(c.wd) + " mom " + fmt(c.mom);
    near(name + " param", dp.get(), p_ref, tol<T>());
    near(name + " square_avg", dsq.get(), sq_ref, tol<T>());
    if (c.mom != 0) near(name + " momentum_buffer", db.get(), b_ref, tol<T>());
  }
  struct Adam {
    double lr, b1, b2, eps, wd;
    int decoupled;
  };
  for (const Adam &c : {Adam{1e-3, 0.9, 0.999, 1e-8, 0, 0}, Adam{1e-2, 0.9, 0.99, 1e-8, 1e-2, 0},
                        Adam{1e-2, 0.8, 0.999, 1e-6, 5e-2, 1}}) {
    auto p = rnd<T>(size_t(n));
    std::vector<T> p_ref = p, m_ref(size_t(n), T(0)), v_ref(size_t(n), T(0));
    Dev<T> dp(p), dm(m_ref), dv(v_ref), dg(static_cast<size_t>(n));
    for (int s = 1; s <= steps; s++) {
      auto g = rnd<T>(size_t(n));
      dg.put(g);
      CK(cnn4j_adam_update(g_cpu, dt, p_ref.data(), g.data(), m_ref.data(), v_ref.data(), n, c.lr, c.b1, c.b2, c.eps, c.wd,
                           c.decoupled, s));
      CK(cnn4j_adam_update(g_gpu, dt, dp, dg, dm, dv, n, c.lr, c.b1, c.b2, c.eps, c.wd, c.decoupled, s));
    }
    const std::string name = std::string(c.decoupled ? "adamw" : "adam") + " lr " + fmt(c.lr) + " wd " + fmt(c.wd);
    near(name + " param", dp.get(), p_ref, tol<T>());
    near(name + " m", dm.get(), m_ref, tol<T>());
    near(name + " v", dv.get(), v_ref, tol<T>());
  }
}

// ---- batch norm, dropout, maxout, channel copies ------------------------------------------------
template <class T>
void check_batch_norm() {
  const int32_t dt = dtype_of<T>();
  const i64 shapes[][3] = {{4, 3, 25}, {16, 5, 1}, {8, 2, 50}, {1, 2, 1}};
  for (auto &s : shapes) {
    const i64 outer = s[0], ch = s[1], inner = s[2];
    const size_t n = size_t(outer * ch * inner), c = size_t(ch);
    char shape[48];
    std::snprintf(shape, sizeof shape, "[%lld,%lld,%lld] ", (long long)outer, (long long)ch, (long long)inner);
    for (int q = 0; q < 8; q++) {
      // batch and running statistics, each plain and with ReLU fused (the backward pass then
      // masks dy by the forward's output), each without and with a residual added
      const int batch_stats = (q & 3) < 2, relu = q % 2;
      const bool with_res = q >= 4;
      const std::string p = std::string(shape) + (batch_stats ? "batch stats " : "running stats ") +
                            (relu ? "relu " : "") + (with_res ? "residual " : "");
      auto x = rnd<T>(n, -2, 3), gamma = rnd<T>(c, 0.5, 1.5), beta = rnd<T>(c), rm = rnd<T>(c),
           rv = rnd<T>(c, 0.5, 1.5), dy = rnd<T>(n), dg0 = rnd<T>(c), db0 = rnd<T>(c), res = rnd<T>(n);
      const double momentum = 0.1, eps = 1e-5;
      std::vector<T> y_ref(n), sm_ref(c), si_ref(c), rm_ref = rm, rv_ref = rv;
      CK(cnn4j_batch_norm_forward(g_cpu, dt, x.data(), gamma.data(), beta.data(), rm_ref.data(), rv_ref.data(), y_ref.data(),
                                  sm_ref.data(), si_ref.data(), outer, ch, inner, batch_stats, momentum, eps, relu,
                                  with_res ? res.data() : nullptr));
      if (with_res) {
        // On the CPU the fused residual (and ReLU) give what the separate ops give, bit for bit.
        std::vector<T> y_sep(n), sm2(c), si2(c), rm2 = rm, rv2 = rv;
        CK(cnn4j_batch_norm_forward(g_cpu, dt, x.data(), gamma.data(), beta.data(), rm2.data(), rv2.data(),
                                    y_sep.data(), sm2.data(), si2.data(), outer, ch, inner, batch_stats, momentum, eps,
                                    0, nullptr));
        CK(cnn4j_add(g_cpu, dt, y_sep.data(), res.data(), y_sep.data(), i64(n)));
        if (relu) CK(cnn4j_activation_forward(g_cpu, dt, CNN4J_RELU, 0, y_sep.data(), y_sep.data(), i64(n)));
        expect(p + "forward y is the separate ops' bit for bit", y_sep == y_ref);
      }
      Dev<T> dx_in(x), dgam(gamma), dbeta(beta), drm(rm), drv(rv), dy_out(nans<T>(n)), dsm(nans<T>(c)),
          dsi(nans<T>(c)), dres(res);
      CK(cnn4j_batch_norm_forward(g_gpu, dt, dx_in, dgam, dbeta, drm, drv, dy_out, dsm, dsi, outer, ch, inner,
                                       batch_stats, momentum, eps, relu, with_res ? static_cast<const T *>(dres) : nullptr));
      near(p + "forward y", dy_out.get(), y_ref, tol<T>());
      near(p + "forward save_mean", dsm.get(), sm_ref, tol<T>());
      near(p + "forward save_inv_std", dsi.get(), si_ref, tol<T>());
      near(p + "forward running_mean", drm.get(), rm_ref, tol<T>());
      near(p + "forward running_var", drv.get(), rv_ref, tol<T>());
      if (with_res) continue;  // the backward pass does not read the residual: checked without it
      // backward from the CPU's saved statistics
      std::vector<T> dx_ref(n), dg_ref = dg0, db_ref = db0;
      CK(cnn4j_batch_norm_backward(g_cpu, dt, x.data(), dy.data(), gamma.data(), sm_ref.data(), si_ref.data(),
                                   dx_ref.data(), dg_ref.data(), db_ref.data(), outer, ch, inner, batch_stats,
                                   relu ? y_ref.data() : nullptr));
      Dev<T> dsm_ref(sm_ref), dsi_ref(si_ref), ddy(dy), ddx(nans<T>(n)), ddg(dg0), ddb(db0), dyr(y_ref);
      CK(cnn4j_batch_norm_backward(g_gpu, dt, dx_in, ddy, dgam, dsm_ref, dsi_ref, ddx, ddg, ddb, outer, ch, inner,
                                        batch_stats, relu ? static_cast<const T *>(dyr) : nullptr));
      near(p + "backward dx", ddx.get(), dx_ref, tol<T>());
      near(p + "backward dgamma", ddg.get(), dg_ref, tol<T>());
      near(p + "backward dbeta", ddb.get(), db_ref, tol<T>());
      // dx null: only the parameter gradients (added once more)
      CK(cnn4j_batch_norm_backward(g_cpu, dt, x.data(), dy.data(), gamma.data(), sm_ref.data(), si_ref.data(), nullptr,
                                   dg_ref.data(), db_ref.data(), outer, ch, inner, batch_stats,
                                   relu ? y_ref.data() : nullptr));
      CK(cnn4j_batch_norm_backward(g_gpu, dt, dx_in, ddy, dgam, dsm_ref, dsi_ref, nullptr, ddg, ddb, outer, ch, inner,
                                        batch_stats, relu ? static_cast<const T *>(dyr) : nullptr));
      near(p + "backward(no dx) dgamma", ddg.get(), dg_ref, tol<T>());
      near(p + "backward(no dx) dbeta", ddb.get(), db_ref, tol<T>());
    }
  }
}

template <class T>
void check_dropout() {
  const int32_t dt = dtype_of<T>();
  const i64 n = 5000;
  for (double p : {0.0, 0.3, 0.9}) {
    for (int64_t seed : {int64_t(12345), int64_t(-7)}) {
      auto x = rnd<T>(size_t(n));
      std::vector<T> y_ref(static_cast<size_t>(n)), m_ref(static_cast<size_t>(n));
      CK(cnn4j_dropout_forward(g_cpu, dt, x.data(), y_ref.data(), m_ref.data(), n, p, seed));
      Dev<T> dx_in(x), dy(nans<T>(size_t(n))), dm(nans<T>(size_t(n)));
      CK(cnn4j_dropout_forward(g_gpu, dt, dx_in, dy, dm, n, p, seed));
      const std::string name = "p " + fmt(p) + " seed " + std::to_string(seed);
      near(name + " y", dy.get(), y_ref, 0);
      near(name + " mask", dm.get(), m_ref, 0);
      // and what the mask means: the kept fraction near 1 - p, kept values scaled by 1/(1-p)
      const auto m = dm.get();
      size_t kept = 0;
      bool scaled = true;
      for (T v : m) {
        if (v != T(0)) {
          kept++;
          scaled &= std::fabs(double(v) - 1 / (1 - p)) <= 1e-6 * (1 / (1 - p));
        }
      }
      const double frac = double(kept) / double(n);
      expect(name + " kept fraction", std::fabs(frac - (1 - p)) < 0.03,
             "kept " + fmt(frac) + ", expected about " + fmt(1 - p));
      expect(name + " kept scale", scaled);
    }
  }
}

template <class T>
void check_maxout() {
  const int32_t dt = dtype_of<T>();
  const i64 shapes[][4] = {{3, 4, 5, 3}, {2, 3, 1, 2}, {2, 2, 7, 1}, {5, 6, 40, 4}};
  for (int variant = 0; variant < 3; variant++) {  // random, ties, NaNs
    for (auto &s : shapes) {
      const i64 outer = s[0], ch = s[1], inner = s[2], pieces = s[3];
      const size_t nx = size_t(outer * ch * pieces * inner), ny = size_t(outer * ch * inner);
      auto x = variant == 1 ? quantized<T>(nx, 2) : rnd<T>(nx);
      if (variant == 2) {
        for (size_t i = 1; i < nx; i += 5) x[i] = std::numeric_limits<T>::quiet_NaN();
      }
      auto dy = rnd<T>(ny);
      std::vector<T> y_ref(ny), dx_ref(nx);
      std::vector<int32_t> am_ref(ny);
      CK(cnn4j_maxout_forward(g_cpu, dt, x.data(), y_ref.data(), am_ref.data(), outer, ch, inner, pieces));
      CK(cnn4j_maxout_backward(g_cpu, dt, dy.data(), am_ref.data(), dx_ref.data(), outer, ch, inner, pieces));
      Dev<T> dx_in(x), dy_out(nans<T>(ny)), ddy(dy), ddx(nans<T>(nx));
      Dev<int32_t> dam(std::vector<int32_t>(ny, -3)), dam_ref(am_ref);
      CK(cnn4j_maxout_forward(g_gpu, dt, dx_in, dy_out, dam, outer, ch, inner, pieces));
      CK(cnn4j_maxout_backward(g_gpu, dt, ddy, dam_ref, ddx, outer, ch, inner, pieces));
      char name[80];
      std::snprintf(name, sizeof name, "[%lld,%lld*%lld,%lld]%s ", (long long)outer, (long long)ch,
                    (long long)pieces, (long long)inner, variant == 1 ? "(ties)" : variant == 2 ? "(NaN)" : "");
      near(std::string(name) + "forward", dy_out.get(), y_ref, 0);
      same(std::string(name) + "argmax", dam.get(), am_ref);
      near(std::string(name) + "backward", ddx.get(), dx_ref, 0);
    }
  }
}

void check_copy_channels() {
  struct Case {
    i64 src_ch, src_off, dst_ch, dst_off, count, outer, inner, elem;
  };
  const Case cases[] = {{7, 2, 6, 1, 3, 3, 5, 4}, {4, 0, 9, 5, 4, 2, 16, 8}, {5, 4, 5, 0, 1, 6, 3, 2},
                        {3, 0, 3, 0, 3, 4, 1, 4}, {8, 3, 2, 0, 2, 1, 33, 1}};
  std::uniform_int_distribution<int> u(0, 255);
  for (const Case &c : cases) {
    const size_t ns = size_t(c.outer * c.src_ch * c.inner * c.elem), nd = size_t(c.outer * c.dst_ch * c.inner * c.elem);
    std::vector<uint8_t> src(ns), dst(nd);
    for (auto &b : src) b = uint8_t(u(g_rng));
    for (auto &b : dst) b = uint8_t(u(g_rng));
    std::vector<uint8_t> ref = dst;
    CK(cnn4j_copy_channels(g_cpu, src.data(), c.src_ch, c.src_off, ref.data(), c.dst_ch, c.dst_off, c.count, c.outer, c.inner,
                           c.elem));
    Dev<uint8_t> ds(src), dd(dst);
    CK(cnn4j_copy_channels(g_gpu, ds, c.src_ch, c.src_off, dd, c.dst_ch, c.dst_off, c.count, c.outer, c.inner, c.elem));
    char name[96];
    std::snprintf(name, sizeof name, "src %lld@%lld dst %lld@%lld count %lld outer %lld inner %lld elem %lld",
                  (long long)c.src_ch, (long long)c.src_off, (long long)c.dst_ch, (long long)c.dst_off,
                  (long long)c.count, (long long)c.outer, (long long)c.inner, (long long)c.elem);
    same(name, dd.get(), ref);
  }
}

// ---- graphs ----------------------------------------------------------------------------------
// Ends a recording that an exception interrupted (buffers cannot be freed while recording).
struct Recording {
  bool open = false;
  void begin() {
    CK(cnn4j_cuda_graph_begin());
    open = true;
  }
  void *end() {
    void *exec = nullptr;
    open = false;
    CK(cnn4j_cuda_graph_end(&exec));
    return exec;
  }
  ~Recording() {
    if (open) {
      void *exec = nullptr;
      cnn4j_cuda_graph_end(&exec);
      if (exec) cnn4j_cuda_graph_destroy(exec);
    }
  }
};
struct Exec {
  void *p = nullptr;
  ~Exec() {
    if (p) cnn4j_cuda_graph_destroy(p);
  }
};

// A step (axpy, convolution forward, backward-filter with split sums and their temporary,
// loss on the device) recorded once and launched three times, against the same ops run eagerly.
void check_graph() {
  using T = float;
  const int32_t dt = CNN4J_F32;
  const ConvGeo g{"graph", 4, 3, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};  // K = 256: backward-filter splits
  const size_t nx = size_t(g.n * g.c * g.h * g.w), nw = size_t(g.k * g.c * g.kh * g.kw);
  const size_t ny = size_t(g.n * g.k * g.oh() * g.ow());
  const i64 classes = 16, rows = i64(ny) / classes;
  auto x = rnd<T>(nx), d = rnd<T>(nx), wt = rnd<T>(nw), bias = rnd<T>(size_t(g.k)), dw0 = rnd<T>(nw);
  auto lab = labels(size_t(rows), int(classes));
  const int launches = 3;
  struct Bufs {
    Dev<T> x, d, w, b, y, dw, db, dl;
    Dev<int32_t> lab;
    Dev<double> res;
    Bufs(const std::vector<T> &x_, const std::vector<T> &d_, const std::vector<T> &w_, const std::vector<T> &b_,
         const std::vector<T> &dw0_, const std::vector<int32_t> &lab_, size_t ny, size_t nk)
        : x(x_), d(d_), w(w_), b(b_), y(nans<T>(ny)), dw(dw0_), db(std::vector<T>(nk, T(0))), dl(nans<T>(ny)),
          lab(lab_), res(nans<double>(3)) {}
  };
  Bufs ge(x, d, wt, bias, dw0, lab, ny, size_t(g.k)), ea(x, d, wt, bias, dw0, lab, ny, size_t(g.k));
  auto step = [&](Bufs &b) {
    CK(cnn4j_axpy(g_gpu, dt, 0.5, b.d, b.x, i64(nx)));
    CK(cnn4j_conv2d_forward(g_gpu, dt, GEO(g), b.x, b.w, b.b, b.y));
    CK(cnn4j_conv2d_backward_filter(g_gpu, dt, GEO(g), b.x, b.y, b.dw, b.db));
    CK(cnn4j_cuda_softmax_cross_entropy_device(dt, b.y, b.lab, b.dl, rows, classes, 0.01, b.res));
  };
  Exec exec;
  {
    Recording rec;
    rec.begin();
    step(ge);
    void *p = nullptr;
    int32_t st = cnn4j_alloc(g_gpu, 64, &p);
    expect("cnn4j_alloc refused while recording", st != CNN4J_OK && p == nullptr,
           "status " + std::to_string(st));
    if (p) {
      rec.end();
      cnn4j_free(g_gpu, p);
      return;
    }
    exec.p = rec.end();
  }
  expect("graph_end gives an exec", exec.p != nullptr);
  near("recording ran nothing (x unchanged)", ge.x.get(), x, 0);
  for (int i = 0; i < launches; i++) {
    CK(cnn4j_cuda_graph_launch(exec.p));
    step(ea);
  }
  CK(cnn4j_synchronize(g_gpu));
  near("x after 3 launches", ge.x.get(), ea.x.get(), 0);
  near("conv y", ge.y.get(), ea.y.get(), 0);
  near("dweight (split sums, 3x)", ge.dw.get(), ea.dw.get(), 0);
  near("dbias (3x)", ge.db.get(), ea.db.get(), 0);
  near("dlogits", ge.dl.get(), ea.dl.get(), 0);
  near("loss totals", ge.res.get(), ea.res.get(), 0);
  // and the eager result is the CPU's
  {
    std::vector<T> xr = x, yr(ny), dwr = dw0, dbr(size_t(g.k), T(0)), dlr(ny);
    double r[3];
    for (int i = 0; i < launches; i++) {
      CK(cnn4j_axpy(g_cpu, dt, 0.5, d.data(), xr.data(), i64(nx)));
      CK(cnn4j_conv2d_forward(g_cpu, dt, GEO(g), xr.data(), wt.data(), bias.data(), yr.data()));
      CK(cnn4j_conv2d_backward_filter(g_cpu, dt, GEO(g), xr.data(), yr.data(), dwr.data(), dbr.data()));
      CK(cnn4j_softmax_cross_entropy(g_cpu, dt, yr.data(), lab.data(), dlr.data(), rows, classes, 0.01, r));
    }
    near("eager dweight vs CPU", ea.dw.get(), dwr, tol<T>());
    near("eager loss vs CPU", ea.res.get(), std::vector<double>{r[0], r[1], -1}, tol<T>());
  }

  // A graph keeps the precision it was recorded with.
  {
    const i64 m = 33, n = 40, k = 50;
    auto a = rnd<T>(size_t(m * k)), b = rnd<T>(size_t(k * n));
    Dev<T> da(a), db(b), c_graph(nans<T>(size_t(m * n))), c_eager(nans<T>(size_t(m * n)));
    Exec e2;
    {
      PrecisionScope ps(CNN4J_CUDA_TF32);
      Recording rec;
      rec.begin();
      CK(cnn4j_matmul(g_gpu, dt, 0, 1, m, n, k, da, db, c_graph, 0));
      e2.p = rec.end();
      CK(cnn4j_matmul(g_gpu, dt, 0, 1, m, n, k, da, db, c_eager, 0));
    }
    CK(cnn4j_cuda_graph_launch(e2.p));  // precision is FP32 again here
    near("tf32 graph launched under fp32", c_graph.get(), c_eager.get(), 0);
  }
}

// ---- uploads, deferred reads, page-locked copies --------------------------------------------------
void check_transfers() {
  using T = float;
  const i64 n = 1000;
  {
    void *up = nullptr;
    CK(cnn4j_cuda_uploader_create(i64(n * sizeof(T)), &up));
    struct Guard {
      void *u;
      ~Guard() { cnn4j_cuda_uploader_destroy(u); }
    } guard{up};
    const int puts = 5;  // more than the two slots
    std::vector<std::vector<T>> src;
    std::vector<std::unique_ptr<Dev<T>>> dst;
    for (int i = 0; i < puts; i++) {
      src.push_back(rnd<T>(size_t(n)));
      dst.emplace_back(new Dev<T>(nans<T>(size_t(n))));
    }
    for (int i = 0; i < puts; i++) {
      std::vector<T> tmp = src[size_t(i)];
      CK(cnn4j_cuda_uploader_reserve(up));
      CK(cnn4j_cuda_uploader_put(up, *dst[size_t(i)], tmp.data(), i64(n * sizeof(T))));
      std::fill(tmp.begin(), tmp.end(), T(-99));  // put copied it: the device must not see this
      CK(cnn4j_scale(g_gpu, CNN4J_F32, *dst[size_t(i)], n, 2.0));  // queued after the put: sees its data
    }
    for (int i = 0; i < puts; i++) {
      std::vector<T> want = src[size_t(i)];
      for (auto &v : want) v *= 2;
      near("uploader put " + std::to_string(i) + " then scale", dst[size_t(i)]->get(), want, 0);
    }
    // a put smaller than the capacity
    Dev<T> small(nans<T>(8));
    std::vector<T> eight = rnd<T>(8);
    CK(cnn4j_cuda_uploader_put(up, small, eight.data(), i64(8 * sizeof(T))));
    near("uploader short put", small.get(), eight, 0);
  }
  {
    void *f = nullptr;
    CK(cnn4j_cuda_fetch_create(3 * sizeof(double), &f));
    struct Guard {
      void *f;
      ~Guard() { cnn4j_cuda_fetch_destroy(f); }
    } guard{f};
    Dev<double> d(nans<double>(3));
    CK(cnn4j_fill(g_gpu, CNN4J_F64, d, 3, 7.5));
    CK(cnn4j_cuda_fetch_start(f, d, 3 * sizeof(double)));
    CK(cnn4j_cuda_fetch_wait(f));
    std::vector<double> got(3, 0);
    CK(cnn4j_cuda_fetch_read(f, got.data(), 3 * sizeof(double)));
    near("fetch after fill", got, std::vector<double>(3, 7.5), 0);
    CK(cnn4j_scale(g_gpu, CNN4J_F64, d, 3, -2));
    CK(cnn4j_cuda_fetch_start(f, d, 2 * sizeof(double)));
    CK(cnn4j_scale(g_gpu, CNN4J_F64, d, 3, 100));  // queued after the fetch: not in it
    CK(cnn4j_cuda_fetch_wait(f));
    std::vector<double> got2(2, 0);
    CK(cnn4j_cuda_fetch_read(f, got2.data(), 2 * sizeof(double)));
    near("fetch after scale (a later op not seen)", got2, std::vector<double>(2, -15), 0);
  }
  {
    auto v = rnd<T>(size_t(n));
    Pinned pin(i64(n * sizeof(T)));
    std::memcpy(pin.get(), v.data(), size_t(n) * sizeof(T));
    Dev<T> a(nans<T>(size_t(n))), b(nans<T>(size_t(n)));
    CK(cnn4j_cuda_memcpy_async_h2d(a, pin.get(), i64(n * sizeof(T))));
    CK(cnn4j_copy(g_gpu, b, a, i64(n * sizeof(T)), 2));
    near("page-locked async upload, device copy", b.get(), v, 0);
  }
}

// ---- several host threads ---------------------------------------------------------------------
// Two host threads call ops that wait for the device and copy small results back (sum,
// softmax_cross_entropy) at the same time; the second thread was never passed to set_device.
// ---- contexts ------------------------------------------------------------------------------
void check_contexts() {
  cnn4j_context *c = reinterpret_cast<cnn4j_context *>(&g_rng);  // must come back null when refused
  expect("unknown device refused", cnn4j_context_create(7, 0, &c) == CNN4J_INVALID_ARGUMENT && c == nullptr);
  expect("CPU index other than 0 refused", cnn4j_context_create(CNN4J_DEVICE_CPU, 1, &c) == CNN4J_INVALID_ARGUMENT);
  expect("negative CUDA ordinal refused", cnn4j_context_create(CNN4J_DEVICE_CUDA, -1, &c) == CNN4J_INVALID_ARGUMENT);
  expect("null out refused", cnn4j_context_create(CNN4J_DEVICE_CPU, 0, nullptr) == CNN4J_INVALID_ARGUMENT);
  float v[4] = {};
  expect("an op without a context refused", cnn4j_fill(nullptr, CNN4J_F32, v, 4, 1.0) == CNN4J_INVALID_ARGUMENT);
  expect("destroying null is a no-op", cnn4j_context_destroy(nullptr) == CNN4J_OK);
  // A CPU context's scratch memory: none before the first convolution, grown by one that
  // needs more, kept (not shrunk) for one that needs less.
  CK(cnn4j_context_create(CNN4J_DEVICE_CPU, 0, &c));
  struct Guard {
    cnn4j_context *c;
    ~Guard() { cnn4j_context_destroy(c); }
  } guard{c};
  int64_t b0 = -1, b1 = -1, b2 = -1;
  CK(cnn4j_context_scratch_bytes(c, &b0));
  expect("a new context holds no scratch memory", b0 == 0, std::to_string(b0));
  const cnn4j_conv_geometry big{4, 8, 20, 20, 16, 20, 20, 1, {3, 3, 1, 1, 1, 1, 1, 1}};
  const cnn4j_conv_geometry small{1, 2, 5, 5, 3, 5, 5, 1, {3, 3, 1, 1, 1, 1, 1, 1}};
  auto x = rnd<float>(4 * 8 * 400), w = rnd<float>(16 * 8 * 9);
  std::vector<float> y(4 * 16 * 400);
  CK(cnn4j_conv2d_forward(c, CNN4J_F32, &big, x.data(), w.data(), nullptr, y.data()));
  CK(cnn4j_context_scratch_bytes(c, &b1));
  expect("a convolution grows the scratch memory", b1 > 0, std::to_string(b1));
  CK(cnn4j_conv2d_forward(c, CNN4J_F32, &small, x.data(), w.data(), nullptr, y.data()));
  CK(cnn4j_context_scratch_bytes(c, &b2));
  expect("a smaller convolution keeps it", b2 == b1, std::to_string(b1) + " then " + std::to_string(b2));
  // The same convolution through the shared context gives the same result.
  std::vector<float> y2(y.size());
  CK(cnn4j_conv2d_forward(c, CNN4J_F32, &big, x.data(), w.data(), nullptr, y.data()));
  CK(cnn4j_conv2d_forward(g_cpu, CNN4J_F32, &big, x.data(), w.data(), nullptr, y2.data()));
  expect("a context's result is the shared context's", y == y2);
}

void check_host_threads() {
  using T = float;
  const i64 n = 3000, rows = 20, classes = 7;
  const int rounds = 8;
  auto x = rnd<T>(size_t(n)), logits = rnd<T>(size_t(rows * classes));
  auto lab = labels(size_t(rows), int(classes));
  double sum_ref = 0, ce_ref[3] = {0, 0, 0};
  CK(cnn4j_sum(g_cpu, CNN4J_F32, x.data(), n, 1, &sum_ref));
  CK(cnn4j_softmax_cross_entropy(g_cpu, CNN4J_F32, logits.data(), lab.data(), nullptr, rows, classes, 1, ce_ref));
  Dev<T> dx(x), dl(logits);
  Dev<int32_t> dlab(lab);
  std::vector<double> sums(rounds, -1), losses(rounds, -1);
  std::string err_a, err_b;
  std::thread other([&] {
    for (int r = 0; r < rounds && err_b.empty(); r++) {
      double res[3] = {0, 0, 0};
      int32_t st = cnn4j_softmax_cross_entropy(g_gpu, CNN4J_F32, dl, dlab, nullptr, rows, classes, 1, res);
      if (st != CNN4J_OK) err_b = std::string("softmax_cross_entropy: ") + cnn4j_cuda_last_error();
      losses[size_t(r)] = res[0];
    }
  });
  for (int r = 0; r < rounds && err_a.empty(); r++) {
    int32_t st = cnn4j_sum(g_gpu, CNN4J_F32, dx, n, 1, &sums[size_t(r)]);
    if (st != CNN4J_OK) err_a = std::string("sum: ") + cnn4j_cuda_last_error();
  }
  other.join();
  expect("sum on the main thread", err_a.empty(), err_a);
  expect("softmax_cross_entropy on a second thread", err_b.empty(), err_b);
  near("sum results", sums, std::vector<double>(rounds, sum_ref), 1e-11);
  near("loss results", losses, std::vector<double>(rounds, ce_ref[0]), tol<T>());
}

}  // namespace

int main(int argc, char **argv) {
  int64_t seed = -1;
  int workers = 0;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--seed" && i + 1 < argc) {
      char *end = nullptr;
      seed = std::strtoll(argv[++i], &end, 10);
      if (end == argv[i] || *end != 0 || seed < 0) {
        std::fprintf(stderr, "sim_kernels: --seed takes a non-negative integer\n");
        return 2;
      }
    } else if (a == "--workers" && i + 1 < argc) {
      workers = std::atoi(argv[++i]);
      if (workers < 1) {
        std::fprintf(stderr, "sim_kernels: --workers takes a positive integer\n");
        return 2;
      }
    } else if (a == "--only" && i + 1 < argc) {
      g_only = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--seed N] [--workers W] [--only TEXT]\n", argv[0]);
      return 2;
    }
  }
  if ((seed >= 0 || workers > 0) && cnn4j_cuda_sim_configure(seed < 0 ? 0 : seed, workers) != CNN4J_OK) {
    std::fprintf(stderr, "sim_kernels: cnn4j_cuda_sim_configure failed: %s\n", cnn4j_cuda_last_error());
    return 1;
  }
  if (!cnn4j_cuda_is_simulated()) {
    std::fprintf(stderr, "sim_kernels: this libcnn4j is not a simulated-device build (CNN4J_CUDA=SIM)\n");
    return 1;
  }
  if (cnn4j_cuda_set_device(0) != CNN4J_OK) {
    std::fprintf(stderr, "sim_kernels: cnn4j_cuda_set_device(0): %s\n", cnn4j_cuda_last_error());
    return 1;
  }
  if (cnn4j_context_create(CNN4J_DEVICE_CPU, 0, &g_cpu) != CNN4J_OK ||
      cnn4j_context_create(CNN4J_DEVICE_CUDA, 0, &g_gpu) != CNN4J_OK) {
    std::fprintf(stderr, "sim_kernels: cnn4j_context_create: %s\n", cnn4j_cuda_last_error());
    return 1;
  }
  struct Contexts {
    ~Contexts() {
      cnn4j_context_destroy(g_cpu);
      cnn4j_context_destroy(g_gpu);
    }
  } contexts;
  int64_t start[5] = {0, 0, 0, 0, 0};
  if (cnn4j_cuda_release_cached() != CNN4J_OK || cnn4j_cuda_sim_stats(start) != CNN4J_OK) {
    std::fprintf(stderr, "sim_kernels: cnn4j_cuda_sim_stats: %s\n", cnn4j_cuda_last_error());
    return 1;
  }
  std::printf("sim_kernels: %s, seed %lld\n", cnn4j_cuda_describe(), (long long)(seed < 0 ? 0 : seed));
  std::string splits;
  for (const ConvGeo &g : conv_geos()) {
    splits += std::string(splits.empty() ? "" : ", ") + g.name + " " + std::to_string(g.splits());
  }
  std::printf("conv2d geometries (backward_filter splits): %s\n", splits.c_str());
  auto t0 = std::chrono::steady_clock::now();

  group("conv2d f32", [] {
    for (const ConvGeo &g : conv_geos()) check_conv<float>(g, CNN4J_CUDA_FP32);
  });
  group("conv2d f64", [] {
    for (const ConvGeo &g : conv_geos()) check_conv<double>(g, CNN4J_CUDA_FP32);
  });
  group("conv2d tf32", [] {
    for (const ConvGeo &g : conv_geos()) check_conv<float>(g, CNN4J_CUDA_TF32);
  });
  group("matmul f32", [] { check_matmul<float>(CNN4J_CUDA_FP32); });
  group("matmul f64", [] { check_matmul<double>(CNN4J_CUDA_FP32); });
  group("matmul tf32", [] { check_matmul<float>(CNN4J_CUDA_TF32); });
  group("geometry validators", [] { check_geometry(); });
  group("contexts", [] { check_contexts(); });
  group("max_pool2d f32", [] { check_max_pool<float>(); });
  group("max_pool2d f64", [] { check_max_pool<double>(); });
  group("avg_pool2d f32", [] { check_avg_pool<float>(); });
  group("avg_pool2d f64", [] { check_avg_pool<double>(); });
  group("softmax_cross_entropy f32", [] { check_softmax_ce<float>(); });
  group("softmax_cross_entropy f64", [] { check_softmax_ce<double>(); });
  group("top_k f32", [] { check_top_k<float>(); });
  group("top_k f64", [] { check_top_k<double>(); });
  group("bias_add/bias_grad f32", [] { check_bias<float>(); });
  group("bias_add/bias_grad f64", [] { check_bias<double>(); });
  group("activation f32", [] { check_activation<float>(); });
  group("activation f64", [] { check_activation<double>(); });
  group("sum f32", [] { check_sum<float>(); });
  group("sum f64", [] { check_sum<double>(); });
  group("elementwise f32", [] { check_elementwise<float>(); });
  group("elementwise f64", [] { check_elementwise<double>(); });
  group("fill i32", [] { check_fill_i32(); });
  group("optimizers f32", [] { check_optimizers<float>(); });
  group("optimizers f64", [] { check_optimizers<double>(); });
  group("batch_norm f32", [] { check_batch_norm<float>(); });
  group("batch_norm f64", [] { check_batch_norm<double>(); });
  group("dropout f32", [] { check_dropout<float>(); });
  group("dropout f64", [] { check_dropout<double>(); });
  group("maxout f32", [] { check_maxout<float>(); });
  group("maxout f64", [] { check_maxout<double>(); });
  group("copy_channels", [] { check_copy_channels(); });
  group("graph", [] { check_graph(); });
  group("uploader/fetch/page-locked", [] { check_transfers(); });
  group("host threads", [] { check_host_threads(); });

  group("device state at exit", [&] {
    int32_t st = cnn4j_synchronize(g_gpu);
    expect("no device fault", st == CNN4J_OK, std::string(cnn4j_cuda_last_error()));
    CK(cnn4j_cuda_release_cached());
    int64_t end[5] = {0, 0, 0, 0, 0};
    CK(cnn4j_cuda_sim_stats(end));
    expect("no leaked device or page-locked allocation", end[0] <= start[0],
           std::to_string(end[0]) + " live allocations (" + std::to_string(end[1]) + " bytes) at the end, " +
               std::to_string(start[0]) + " (" + std::to_string(start[1]) + " bytes) at the start");
    std::printf("     simulated: %lld kernels, %lld blocks, %lld threads\n", (long long)end[2], (long long)end[3],
                (long long)end[4]);
  }, true);

  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (g_failed > 0) {
    std::printf("sim_kernels: %d of %d checks FAILED (%.1f s)\n", g_failed, g_checks, s);
    return 1;
  }
  std::printf("sim_kernels: %d checks passed (%.1f s)\n", g_checks, s);
  return 0;
}
