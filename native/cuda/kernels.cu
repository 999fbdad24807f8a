// Element-wise ops, reductions, bias, activations, pooling, loss, optimizer updates, batch
// norm, dropout, maxout and channel copies: the CUDA twins of the CPU kernels, one thread per
// output element (grid-stride loops) unless a reduction needs a block.
#include <cmath>

#include "common.cuh"

namespace cnn4j_cuda {
namespace {

#define GRID_STRIDE(i, n) for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < (n); i += (i64)blockDim.x * gridDim.x)

template <class T> __global__ void fill_k(T *x, i64 n, T v) { GRID_STRIDE(i, n) x[i] = v; }
template <class T> __global__ void add_k(const T *a, const T *b, T *o, i64 n) { GRID_STRIDE(i, n) o[i] = a[i] + b[i]; }
template <class T> __global__ void mul_k(const T *a, const T *b, T *o, i64 n) { GRID_STRIDE(i, n) o[i] = a[i] * b[i]; }
template <class T> __global__ void axpy_k(T al, const T *x, T *y, i64 n) { GRID_STRIDE(i, n) y[i] += al * x[i]; }
template <class T> __global__ void scale_k(T *x, i64 n, T al) { GRID_STRIDE(i, n) x[i] *= al; }

// Block partial sums (in double) of x or x^2 into part[blockIdx.x].
template <class T>
__global__ void sum_k(const T *x, i64 n, int squares, double *part) {
  double s = 0;
  GRID_STRIDE(i, n) {
    double v = x[i];
    s += squares ? v * v : v;
  }
  CNN4J_SHARED(double, red, [256]);
  red[threadIdx.x] = s;
  __syncthreads();
  for (int o = blockDim.x / 2; o > 0; o >>= 1) {
    if (threadIdx.x < o) red[threadIdx.x] += red[threadIdx.x + o];
    __syncthreads();
  }
  if (threadIdx.x == 0) part[blockIdx.x] = red[0];
}

template <class T>
__global__ void bias_add_k(T *y, const T *b, i64 n, i64 channels, i64 inner) {
  GRID_STRIDE(i, n) y[i] += b[(i / inner) % channels];
}

// dbias[c] += sum of dy over outer and inner: one block per channel.
template <class T>
__global__ void bias_grad_k(const T *dy, T *db, i64 outer, i64 channels, i64 inner) {
  i64 c = blockIdx.x;
  double s = 0;
  for (i64 i = threadIdx.x; i < outer * inner; i += blockDim.x) s += dy[((i / inner) * channels + c) * inner + i % inner];
  CNN4J_SHARED(double, red, [256]);
  red[threadIdx.x] = s;
  __syncthreads();
  for (int o = blockDim.x / 2; o > 0; o >>= 1) {
    if (threadIdx.x < o) red[threadIdx.x] += red[threadIdx.x + o];
    __syncthreads();
  }
  if (threadIdx.x == 0) db[c] += T(red[0]);
}

template <class T>
__global__ void act_fwd_k(int act, T alpha, const T *x, T *y, i64 n) {
  GRID_STRIDE(i, n) {
    T v = x[i];
    switch (act) {
      case CNN4J_RELU: y[i] = v > T(0) ? v : T(0); break;
      case CNN4J_LEAKY_RELU: y[i] = v > T(0) ? v : alpha * v; break;
      case CNN4J_SIGMOID: y[i] = T(1) / (T(1) + exp(-v)); break;
      default: y[i] = tanh(v); break;
    }
  }
}

template <class T>
__global__ void act_bwd_k(int act, T alpha, const T *x, const T *y, const T *dy, T *dx, i64 n) {
  GRID_STRIDE(i, n) {
    T d = dy[i];
    switch (act) {
      case CNN4J_RELU: dx[i] = x[i] > T(0) ? d : T(0); break;
      case CNN4J_LEAKY_RELU: dx[i] = x[i] > T(0) ? d : alpha * d; break;
      case CNN4J_SIGMOID: dx[i] = d * y[i] * (T(1) - y[i]); break;
      default: dx[i] = d * (T(1) - y[i] * y[i]); break;
    }
  }
}

struct PoolGeo {
  int planes, h, w, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw;
};

template <class T>
__global__ void max_fwd_k(const T *x, T *y, int32_t *am, PoolGeo g) {
  i64 total = (i64)g.planes * g.oh * g.ow;
  GRID_STRIDE(idx, total) {
    int j = idx % g.ow, i = (idx / g.ow) % g.oh;
    i64 p = idx / ((i64)g.oh * g.ow);
    const T *xp = x + p * g.h * g.w;
    T best = -INFINITY;
    int bi = -1;
    for (int a = 0; a < g.kh; a++) {
      int ih = i * g.sh - g.pt + a * g.dh;
      if (ih < 0 || ih >= g.h) continue;
      for (int b = 0; b < g.kw; b++) {
        int iw = j * g.sw - g.pl + b * g.dw;
        if (iw < 0 || iw >= g.w) continue;
        T v = xp[ih * g.w + iw];
        bool take = v > best || (v != v && best == best) || bi < 0;
        best = take ? v : best;
        bi = take ? ih * g.w + iw : bi;
      }
    }
    y[idx] = best;
    if (am) am[idx] = bi;
  }
}

// dx = 0 first (a fill), then every output adds its gradient to its winner with an atomic add.
// Where windows do not overlap each input has at most one winner, so the result is exact and
// reproducible; where they overlap (say 3x3 windows at stride 2), the gradients of one input
// are added in the order the threads run.
template <class T>
__global__ void max_bwd_k(const T *dy, const int32_t *am, T *dx, i64 planes, i64 hw, i64 ohw) {
  GRID_STRIDE(idx, planes * ohw) {
    int a = am[idx];
    if (a >= 0 && a < hw) atomicAdd(&dx[(idx / ohw) * hw + a], dy[idx]);
  }
}

__device__ inline int avg_div(const PoolGeo &g, int i, int j, int include_pad) {
  if (include_pad) return g.kh * g.kw;
  int rows = 0, cols = 0;
  for (int a = 0; a < g.kh; a++) {
    int ih = i * g.sh - g.pt + a * g.dh;
    rows += (ih >= 0 && ih < g.h);
  }
  for (int b = 0; b < g.kw; b++) {
    int iw = j * g.sw - g.pl + b * g.dw;
    cols += (iw >= 0 && iw < g.w);
  }
  return max(rows * cols, 1);
}

template <class T>
__global__ void avg_fwd_k(const T *x, T *y, PoolGeo g, int include_pad) {
  i64 total = (i64)g.planes * g.oh * g.ow;
  GRID_STRIDE(idx, total) {
    int j = idx % g.ow, i = (idx / g.ow) % g.oh;
    const T *xp = x + (idx / ((i64)g.oh * g.ow)) * g.h * g.w;
    T s = T(0);
    for (int a = 0; a < g.kh; a++) {
      int ih = i * g.sh - g.pt + a * g.dh;
      if (ih < 0 || ih >= g.h) continue;
      for (int b = 0; b < g.kw; b++) {
        int iw = j * g.sw - g.pl + b * g.dw;
        if (iw >= 0 && iw < g.w) s += xp[ih * g.w + iw];
      }
    }
    y[idx] = s / T(avg_div(g, i, j, include_pad));
  }
}

// One thread per input pixel, summing the outputs whose windows hold it in a fixed order: no
// atomics, so results do not depend on scheduling even where windows overlap; writes dx.
template <class T>
__global__ void avg_bwd_k(const T *dy, T *dx, PoolGeo g, int include_pad) {
  i64 total = (i64)g.planes * g.h * g.w;
  GRID_STRIDE(idx, total) {
    int x = idx % g.w, y = (idx / g.w) % g.h;
    const T *dp = dy + (idx / ((i64)g.h * g.w)) * g.oh * g.ow;
    T s = T(0);
    for (int a = 0; a < g.kh; a++) {
      int t = y + g.pt - a * g.dh;
      if (t < 0 || t % g.sh != 0 || t / g.sh >= g.oh) continue;
      int i = t / g.sh;
      for (int b = 0; b < g.kw; b++) {
        int u = x + g.pl - b * g.dw;
        if (u < 0 || u % g.sw != 0 || u / g.sw >= g.ow) continue;
        int j = u / g.sw;
        s += dp[i * g.ow + j] / T(avg_div(g, i, j, include_pad));
      }
    }
    dx[idx] = s;
  }
}

// One block per row: loss[r], correct[r] (or -1 for a label out of range).
template <class T>
__global__ void softmax_ce_k(const T *logits, const int32_t *labels, T *dl, int classes, double scale, double *loss,
                             int *correct) {
  int r = blockIdx.x;
  const T *l = logits + (i64)r * classes;
  CNN4J_SHARED(double, smax, [256]);
  CNN4J_SHARED(int, sarg, [256]);
  // each thread starts from its first element (a row of -inf still has an arg-max, as on the CPU)
  double best = -INFINITY;
  int arg = classes;
  for (int c = threadIdx.x; c < classes; c += blockDim.x) {
    if (arg == classes || l[c] > best) {
      best = l[c];
      arg = c;
    }
  }
  smax[threadIdx.x] = best;
  sarg[threadIdx.x] = arg;
  __syncthreads();
  for (int o = blockDim.x / 2; o > 0; o >>= 1) {
    if (threadIdx.x < o) {
      double a = smax[threadIdx.x], b = smax[threadIdx.x + o];
      int ia = sarg[threadIdx.x], ib = sarg[threadIdx.x + o];
      if (ib < classes && (ia == classes || b > a || (b == a && ib < ia))) {
        smax[threadIdx.x] = b;
        sarg[threadIdx.x] = ib;
      }
    }
    __syncthreads();
  }
  double mx = smax[0];
  int am = sarg[0];
  __syncthreads();
  double s = 0;
  for (int c = threadIdx.x; c < classes; c += blockDim.x) s += exp(double(l[c]) - mx);
  smax[threadIdx.x] = s;
  __syncthreads();
  for (int o = blockDim.x / 2; o > 0; o >>= 1) {
    if (threadIdx.x < o) smax[threadIdx.x] += smax[threadIdx.x + o];
    __syncthreads();
  }
  double denom = smax[0];
  int label = labels[r];
  bool ok = label >= 0 && label < classes;
  if (threadIdx.x == 0) {
    loss[r] = ok ? log(denom) - (double(l[label]) - mx) : 0;
    correct[r] = ok ? (am == label) : -1;
  }
  if (dl != nullptr) {
    // a row whose label is out of range gets a zero gradient (the step is reported as failed)
    for (int c = threadIdx.x; c < classes; c += blockDim.x) {
      T p = ok ? T(exp(double(l[c]) - mx) / denom) : T(0);
      dl[(i64)r * classes + c] = ok ? (c == label ? p - T(1) : p) * T(scale) : T(0);
    }
  }
}

// Totals of softmax_ce_k's per-row results, in a fixed order (one block): out[0] = loss sum,
// out[1] = correct count, out[2] = the first row whose label is out of range, or -1.
__global__ void softmax_ce_total_k(const double *loss, const int *correct, int rows, double *out) {
  CNN4J_SHARED(double, sl, [256]);
  CNN4J_SHARED(double, sc, [256]);
  CNN4J_SHARED(int, bad, [256]);
  double l = 0, c = 0;
  int b = rows;
  for (int r = threadIdx.x; r < rows; r += blockDim.x) {
    l += loss[r];
    if (correct[r] < 0) {
      b = min(b, r);
    } else {
      c += correct[r];
    }
  }
  sl[threadIdx.x] = l;
  sc[threadIdx.x] = c;
  bad[threadIdx.x] = b;
  __syncthreads();
  for (int o = blockDim.x / 2; o > 0; o >>= 1) {
    if (threadIdx.x < o) {
      sl[threadIdx.x] += sl[threadIdx.x + o];
      sc[threadIdx.x] += sc[threadIdx.x + o];
      bad[threadIdx.x] = min(bad[threadIdx.x], bad[threadIdx.x + o]);
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    out[0] = sl[0];
    out[1] = sc[0];
    out[2] = bad[0] < rows ? double(bad[0]) : -1.0;
  }
}

template <class T>
__global__ void top_k_k(const T *logits, i64 rows, int classes, int k, int32_t *out) {
  GRID_STRIDE(r, rows) {
    const T *l = logits + r * classes;
    int32_t *o = out + r * k;
    for (int t = 0; t < k; t++) {
      int best = -1;
      for (int c = 0; c < classes; c++) {
        bool taken = false;
        for (int u = 0; u < t; u++) taken |= (o[u] == c);
        if (!taken && (best < 0 || l[c] > l[best])) best = c;
      }
      o[t] = best;
    }
  }
}

template <class T>
__global__ void sgd_k(T *p, const T *g, T *buf, i64 n, T lr, T mom, T damp, int nesterov, T wd, int first) {
  GRID_STRIDE(i, n) {
    T gi = g[i] + wd * p[i];
    if (buf) {
      T b = first ? gi : mom * buf[i] + damp * gi;
      buf[i] = b;
      gi = nesterov ? gi + mom * b : b;
    }
    p[i] -= lr * gi;
  }
}

template <class T>
__global__ void rmsprop_k(T *p, const T *g, T *sq, T *buf, i64 n, T lr, T al, T eps, T wd, T mom) {
  GRID_STRIDE(i, n) {
    T gi = g[i] + wd * p[i];
    T s = al * sq[i] + (T(1) - al) * gi * gi;
    sq[i] = s;
    T step = gi / (sqrt(s) + eps);
    if (buf) {
      T b = mom * buf[i] + step;
      buf[i] = b;
      step = b;
    }
    p[i] -= lr * step;
  }
}

template <class T>
__global__ void adam_k(T *p, const T *g, T *m, T *v, i64 n, T step_size, T inv_sqrt_bc2, T b1, T b2, T eps, T wd,
                       T shrink) {
  GRID_STRIDE(i, n) {
    T gi = g[i] + wd * p[i];
    T mi = b1 * m[i] + (T(1) - b1) * gi;
    T vi = b2 * v[i] + (T(1) - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * shrink - step_size * mi / (sqrt(vi) * inv_sqrt_bc2 + eps);
  }
}

// One block per channel: statistics (training), running-stat update, normalisation.
template <class T>
__global__ void bn_fwd_k(const T *x, const T *gamma, const T *beta, T *rm, T *rv, T *y, T *sm, T *si, i64 outer,
                         i64 channels, i64 inner, int batch_stats, double momentum, double eps, int relu) {
  i64 c = blockIdx.x, m = outer * inner;
  CNN4J_SHARED(double, red, [256]);
  CNN4J_SHARED(double, mean_s, );
  CNN4J_SHARED(double, inv_s, );
  if (batch_stats) {
    double s = 0;
    for (i64 i = threadIdx.x; i < m; i += blockDim.x) s += x[((i / inner) * channels + c) * inner + i % inner];
    red[threadIdx.x] = s;
    __syncthreads();
    for (int o = blockDim.x / 2; o > 0; o >>= 1) {
      if (threadIdx.x < o) red[threadIdx.x] += red[threadIdx.x + o];
      __syncthreads();
    }
    double mean = red[0] / double(m);
    __syncthreads();
    double q = 0;
    for (i64 i = threadIdx.x; i < m; i += blockDim.x) {
      double d = x[((i / inner) * channels + c) * inner + i % inner] - mean;
      q += d * d;
    }
    red[threadIdx.x] = q;
    __syncthreads();
    for (int o = blockDim.x / 2; o > 0; o >>= 1) {
      if (threadIdx.x < o) red[threadIdx.x] += red[threadIdx.x + o];
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      double var = red[0] / double(m);
      mean_s = mean;
      inv_s = 1 / sqrt(var + eps);
      double unbiased = m > 1 ? red[0] / double(m - 1) : var;
      rm[c] = T((1 - momentum) * rm[c] + momentum * mean);
      rv[c] = T((1 - momentum) * rv[c] + momentum * unbiased);
    }
  } else if (threadIdx.x == 0) {
    mean_s = rm[c];
    inv_s = 1 / sqrt(double(rv[c]) + eps);
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    sm[c] = T(mean_s);
    si[c] = T(inv_s);
  }
  T a = T(gamma[c] * inv_s), b = T(beta[c] - gamma[c] * inv_s * mean_s);
  for (i64 i = threadIdx.x; i < m; i += blockDim.x) {
    i64 at = ((i / inner) * channels + c) * inner + i % inner;
    const T v = a * x[at] + b;
    y[at] = relu && !(v > T(0)) ? T(0) : v;  // ReLU fused: as the activation kernel
  }
}

template <class T>
__global__ void bn_bwd_k(const T *x, const T *dy, const T *gamma, const T *sm, const T *si, T *dx, T *dg, T *db,
                         i64 outer, i64 channels, i64 inner, int batch_stats, const T *ry) {
  i64 c = blockIdx.x, m = outer * inner;
  double mean = sm[c], inv = si[c];
  double s1 = 0, s2 = 0;
  for (i64 i = threadIdx.x; i < m; i += blockDim.x) {
    i64 at = ((i / inner) * channels + c) * inner + i % inner;
    const T g = ry && !(ry[at] > T(0)) ? T(0) : dy[at];  // dy where the fused ReLU passed it
    s1 += g;
    s2 += g * ((x[at] - mean) * inv);
  }
  CNN4J_SHARED(double, r1, [256]);
  CNN4J_SHARED(double, r2, [256]);
  r1[threadIdx.x] = s1;
  r2[threadIdx.x] = s2;
  __syncthreads();
  for (int o = blockDim.x / 2; o > 0; o >>= 1) {
    if (threadIdx.x < o) {
      r1[threadIdx.x] += r1[threadIdx.x + o];
      r2[threadIdx.x] += r2[threadIdx.x + o];
    }
    __syncthreads();
  }
  double sum_dy = r1[0], sum_dyx = r2[0];
  if (threadIdx.x == 0) {
    dg[c] += T(sum_dyx);
    db[c] += T(sum_dy);
  }
  if (dx == nullptr) return;
  double k = gamma[c] * inv;
  for (i64 i = threadIdx.x; i < m; i += blockDim.x) {
    i64 at = ((i / inner) * channels + c) * inner + i % inner;
    const T g = ry && !(ry[at] > T(0)) ? T(0) : dy[at];
    dx[at] = batch_stats ? T(k * (g - sum_dy / m - (x[at] - mean) * inv * sum_dyx / m)) : T(k * g);
  }
}

__device__ inline unsigned long long drop_hash(long long seed, long long i) {
  unsigned long long z = (unsigned long long)seed + (unsigned long long)(i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z = z ^ (z >> 31);
  return z >> 40;
}

template <class T>
__global__ void dropout_k(const T *x, T *y, T *mask, i64 n, unsigned long long threshold, T keep, long long seed) {
  GRID_STRIDE(i, n) {
    T mk = drop_hash(seed, i) >= threshold ? keep : T(0);
    mask[i] = mk;
    y[i] = x[i] * mk;
  }
}

template <class T>
__global__ void maxout_fwd_k(const T *x, T *y, int32_t *am, i64 outer, i64 channels, i64 inner, i64 pieces) {
  GRID_STRIDE(idx, outer * channels * inner) {
    i64 i = idx % inner, c = (idx / inner) % channels, o = idx / (inner * channels);
    const T *xr = x + (o * channels * pieces + c * pieces) * inner + i;
    T best = xr[0];
    int bj = 0;
    for (int j = 1; j < pieces; j++) {
      T v = xr[j * inner];
      bool take = v > best || (v != v && best == best);
      best = take ? v : best;
      bj = take ? j : bj;
    }
    y[idx] = best;
    am[idx] = bj;
  }
}

template <class T>
__global__ void maxout_bwd_k(const T *dy, const int32_t *am, T *dx, i64 outer, i64 channels, i64 inner, i64 pieces) {
  GRID_STRIDE(idx, outer * channels * inner) {
    i64 i = idx % inner, c = (idx / inner) % channels, o = idx / (inner * channels);
    T *d = dx + (o * channels * pieces + c * pieces) * inner + i;
    int j = am[idx];
    for (int q = 0; q < pieces; q++) d[q * inner] = q == j ? dy[idx] : T(0);
  }
}

int32_t pool_geo(i64 planes, i64 h, i64 w, i64 oh, i64 ow, i64 kh, i64 kw, i64 sh, i64 sw, i64 pt, i64 pl, i64 dh,
                 i64 dw, PoolGeo *g) {
  for (i64 v : {planes, h, w, oh, ow, pt, pl}) {
    if (v < 0) return CNN4J_INVALID_ARGUMENT;
  }
  if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1) return CNN4J_INVALID_ARGUMENT;
  if (!fits32(planes * h * w) || !fits32(planes * oh * ow)) return fail_msg(CNN4J_UNSUPPORTED, "pooling too large");
  *g = PoolGeo{int(planes), int(h), int(w), int(oh), int(ow), int(kh), int(kw), int(sh), int(sw), int(pt), int(pl),
               int(dh), int(dw)};
  return CNN4J_OK;
}

}  // namespace
}  // namespace cnn4j_cuda

using namespace cnn4j_cuda;

#define LAUNCH(name, n, ...)                  \
  do {                                        \
    __VA_ARGS__;                              \
    return launched(name);                    \
  } while (0)

extern "C" {

int32_t cnn4j_cuda_fill(int32_t dtype, void *x, int64_t n, double value) {
  if (n < 0 || (n > 0 && !x)) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  if (dtype == CNN4J_I32) LAUNCH("fill", n, CNN4J_LAUNCH(fill_k<int32_t>, blocks_for(n), 256, 0, stream())(static_cast<int32_t *>(x), n, int32_t(value)));
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("fill", n, CNN4J_LAUNCH(fill_k<T>, blocks_for(n), 256, 0, stream())(static_cast<T *>(x), n, T(value))));
}

int32_t cnn4j_cuda_add(int32_t dtype, const void *a, const void *b, void *out, int64_t n) {
  if (n < 0 || (n > 0 && (!a || !b || !out))) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("add", n, CNN4J_LAUNCH(add_k<T>, blocks_for(n), 256, 0, stream())(static_cast<const T *>(a),
                                                                             static_cast<const T *>(b),
                                                                             static_cast<T *>(out), n)));
}

int32_t cnn4j_cuda_multiply(int32_t dtype, const void *a, const void *b, void *out, int64_t n) {
  if (n < 0 || (n > 0 && (!a || !b || !out))) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("multiply", n, CNN4J_LAUNCH(mul_k<T>, blocks_for(n), 256, 0, stream())(static_cast<const T *>(a),
                                                                                  static_cast<const T *>(b),
                                                                                  static_cast<T *>(out), n)));
}

int32_t cnn4j_cuda_axpy(int32_t dtype, double alpha, const void *x, void *y, int64_t n) {
  if (n < 0 || (n > 0 && (!x || !y))) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("axpy", n, CNN4J_LAUNCH(axpy_k<T>, blocks_for(n), 256, 0, stream())(T(alpha), static_cast<const T *>(x),
                                                                               static_cast<T *>(y), n)));
}

int32_t cnn4j_cuda_scale(int32_t dtype, void *x, int64_t n, double alpha) {
  if (n < 0 || (n > 0 && !x)) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("scale", n, CNN4J_LAUNCH(scale_k<T>, blocks_for(n), 256, 0, stream())(static_cast<T *>(x), n, T(alpha))));
}

int32_t cnn4j_cuda_sum(int32_t dtype, const void *x, int64_t n, int32_t squares, double *out) {
  if (n < 0 || !out || (n > 0 && !x)) return CNN4J_INVALID_ARGUMENT;
  *out = 0;
  if (n == 0) return CNN4J_OK;
  if (dtype != CNN4J_F32 && dtype != CNN4J_F64) return CNN4J_INVALID_ARGUMENT;
  unsigned blocks = blocks_for(n) < 1024 ? blocks_for(n) : 1024;
  void *part = nullptr;
  if (int32_t st = temp_alloc(blocks * sizeof(double), &part); st != CNN4J_OK) return st;
  CNN4J_DISPATCH_FLOAT(dtype, CNN4J_LAUNCH(sum_k<T>, blocks, 256, 0, stream())(static_cast<const T *>(x), n, squares, static_cast<double *>(part)));
  int32_t st = launched("sum");
  double host[1024];
  if (st == CNN4J_OK) st = copy_back(host, part, blocks * sizeof(double), "sum (copy back)");
  temp_free(part);
  if (st != CNN4J_OK) return st;
  double s = 0;
  for (unsigned b = 0; b < blocks; b++) s += host[b];
  *out = s;
  return CNN4J_OK;
}

int32_t cnn4j_cuda_bias_add(int32_t dtype, void *y, const void *bias, int64_t outer, int64_t channels, int64_t inner) {
  if (outer < 0 || channels < 1 || inner < 0 || !y || !bias) return CNN4J_INVALID_ARGUMENT;
  i64 n = outer * channels * inner;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("bias_add", n, CNN4J_LAUNCH(bias_add_k<T>, blocks_for(n), 256, 0, stream())(static_cast<T *>(y),
                                                                                       static_cast<const T *>(bias), n,
                                                                                       channels, inner)));
}

int32_t cnn4j_cuda_bias_grad(int32_t dtype, const void *dy, void *dbias, int64_t outer, int64_t channels,
                             int64_t inner) {
  if (outer < 0 || channels < 1 || inner < 0 || !dy || !dbias) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("bias_grad", channels, CNN4J_LAUNCH(bias_grad_k<T>, unsigned(channels), 256, 0, stream())(
                                                               static_cast<const T *>(dy), static_cast<T *>(dbias),
                                                               outer, channels, inner)));
}

int32_t cnn4j_cuda_activation_forward(int32_t dtype, int32_t act, double alpha, const void *x, void *y, int64_t n) {
  if (act < 0 || act > 3 || n < 0 || !x || !y) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("activation_forward", n, CNN4J_LAUNCH(act_fwd_k<T>, blocks_for(n), 256, 0, stream())(
                                                                  act, T(alpha), static_cast<const T *>(x),
                                                                  static_cast<T *>(y), n)));
}

int32_t cnn4j_cuda_activation_backward(int32_t dtype, int32_t act, double alpha, const void *x, const void *y,
                                       const void *dy, void *dx, int64_t n) {
  if (act < 0 || act > 3 || n < 0 || !dy || !dx) return CNN4J_INVALID_ARGUMENT;
  if ((act <= 1 && !x) || (act >= 2 && !y)) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("activation_backward", n, CNN4J_LAUNCH(act_bwd_k<T>, blocks_for(n), 256, 0, stream())(
                                                                   act, T(alpha), static_cast<const T *>(x),
                                                                   static_cast<const T *>(y),
                                                                   static_cast<const T *>(dy), static_cast<T *>(dx), n)));
}

int32_t cnn4j_cuda_max_pool2d_forward(int32_t dtype, const void *x, void *y, int32_t *argmax, int64_t planes,
                                      int64_t h, int64_t w, int64_t oh, int64_t ow, int64_t kh, int64_t kw,
                                      int64_t sh, int64_t sw, int64_t pt, int64_t pl, int64_t dh, int64_t dw) {
  PoolGeo g{};
  if (int32_t st = pool_geo(planes, h, w, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw, &g); st != CNN4J_OK) return st;
  if (!x || !y) return CNN4J_INVALID_ARGUMENT;
  i64 n = planes * oh * ow;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("max_pool2d_forward", n, CNN4J_LAUNCH(max_fwd_k<T>, blocks_for(n), 256, 0, stream())(
                                                                  static_cast<const T *>(x), static_cast<T *>(y),
                                                                  argmax, g)));
}

int32_t cnn4j_cuda_max_pool2d_backward(int32_t dtype, const void *dy, const int32_t *argmax, void *dx, int64_t planes,
                                       int64_t hw, int64_t ohw) {
  if (planes < 0 || hw < 0 || ohw < 0 || !dy || !argmax || !dx) return CNN4J_INVALID_ARGUMENT;
  if (int32_t st = cnn4j_cuda_fill(dtype, dx, planes * hw, 0); st != CNN4J_OK) return st;
  i64 n = planes * ohw;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("max_pool2d_backward", n, CNN4J_LAUNCH(max_bwd_k<T>, blocks_for(n), 256, 0, stream())(
                                                                   static_cast<const T *>(dy), argmax,
                                                                   static_cast<T *>(dx), planes, hw, ohw)));
}

int32_t cnn4j_cuda_avg_pool2d_forward(int32_t dtype, const void *x, void *y, int64_t planes, int64_t h, int64_t w,
                                      int64_t oh, int64_t ow, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                      int64_t pt, int64_t pl, int64_t dh, int64_t dw, int32_t count_include_pad) {
  PoolGeo g{};
  if (int32_t st = pool_geo(planes, h, w, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw, &g); st != CNN4J_OK) return st;
  if (!x || !y) return CNN4J_INVALID_ARGUMENT;
  i64 n = planes * oh * ow;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("avg_pool2d_forward", n, CNN4J_LAUNCH(avg_fwd_k<T>, blocks_for(n), 256, 0, stream())(
                                                                  static_cast<const T *>(x), static_cast<T *>(y), g,
                                                                  count_include_pad)));
}

int32_t cnn4j_cuda_avg_pool2d_backward(int32_t dtype, const void *dy, void *dx, int64_t planes, int64_t h, int64_t w,
                                       int64_t oh, int64_t ow, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                       int64_t pt, int64_t pl, int64_t dh, int64_t dw, int32_t count_include_pad) {
  PoolGeo g{};
  if (int32_t st = pool_geo(planes, h, w, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw, &g); st != CNN4J_OK) return st;
  if (!dy || !dx) return CNN4J_INVALID_ARGUMENT;
  i64 n = planes * h * w;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("avg_pool2d_backward", n, CNN4J_LAUNCH(avg_bwd_k<T>, blocks_for(n), 256, 0, stream())(
                                                                   static_cast<const T *>(dy), static_cast<T *>(dx), g,
                                                                   count_include_pad)));
}

int32_t cnn4j_cuda_softmax_cross_entropy_device(int32_t dtype, const void *logits, const int32_t *labels,
                                                void *dlogits, int64_t rows, int64_t classes, double grad_scale,
                                                double *result) {
  if (rows < 0 || !fits32(rows) || classes < 1 || !fits32(classes) || !logits || !labels || !result) {
    return CNN4J_INVALID_ARGUMENT;
  }
  if (dtype != CNN4J_F32 && dtype != CNN4J_F64) return CNN4J_INVALID_ARGUMENT;
  void *buf = nullptr;
  if (int32_t st = temp_alloc(rows * (sizeof(double) + sizeof(int)), &buf); st != CNN4J_OK) return st;
  double *loss = static_cast<double *>(buf);
  int *correct = reinterpret_cast<int *>(loss + rows);
  int32_t st = CNN4J_OK;
  if (rows > 0) {
    CNN4J_DISPATCH_FLOAT(dtype, CNN4J_LAUNCH(softmax_ce_k<T>, unsigned(rows), 256, 0, stream())(
                                    static_cast<const T *>(logits), labels, static_cast<T *>(dlogits), int(classes),
                                    grad_scale, loss, correct));
    st = launched("softmax_cross_entropy");
  }
  if (st == CNN4J_OK) {
    CNN4J_LAUNCH(softmax_ce_total_k, 1, 256, 0, stream())(loss, correct, int(rows), result);
    st = launched("softmax_cross_entropy (totals)");
  }
  temp_free(buf);
  return st;
}

int32_t cnn4j_cuda_softmax_cross_entropy(int32_t dtype, const void *logits, const int32_t *labels, void *dlogits,
                                         int64_t rows, int64_t classes, double grad_scale, double *result) {
  if (rows < 0 || classes < 1 || !fits32(classes) || !logits || !labels || !result) return CNN4J_INVALID_ARGUMENT;
  result[0] = result[1] = 0;
  result[2] = -1;
  if (rows == 0) return CNN4J_OK;
  void *dev = nullptr;
  if (int32_t st = temp_alloc(3 * sizeof(double), &dev); st != CNN4J_OK) return st;
  double *totals = static_cast<double *>(dev);
  int32_t st = cnn4j_cuda_softmax_cross_entropy_device(dtype, logits, labels, dlogits, rows, classes, grad_scale,
                                                       totals);
  double host[3] = {0, 0, -1};
  if (st == CNN4J_OK) st = copy_back(host, totals, sizeof host, "softmax_cross_entropy (copy back)");
  temp_free(dev);
  if (st != CNN4J_OK) return st;
  if (host[2] >= 0) {
    result[2] = host[2];
    return CNN4J_INVALID_ARGUMENT;
  }
  result[0] = host[0];
  result[1] = host[1];
  return CNN4J_OK;
}

int32_t cnn4j_cuda_top_k(int32_t dtype, const void *logits, int64_t rows, int64_t classes, int64_t k, int32_t *out) {
  if (rows < 0 || classes < 1 || k < 1 || k > classes || !logits || !out) return CNN4J_INVALID_ARGUMENT;
  if (rows == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("top_k", rows, CNN4J_LAUNCH(top_k_k<T>, blocks_for(rows), 256, 0, stream())(
                                                      static_cast<const T *>(logits), rows, int(classes), int(k), out)));
}

int32_t cnn4j_cuda_sgd_update(int32_t dtype, void *param, const void *grad, void *velocity, int64_t n, double lr,
                              double momentum, double dampening, int32_t nesterov, double weight_decay,
                              int32_t first_step) {
  if (n < 0 || !param || !grad || (momentum != 0 && !velocity)) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("sgd_update", n, CNN4J_LAUNCH(sgd_k<T>, blocks_for(n), 256, 0, stream())(
                                                        static_cast<T *>(param), static_cast<const T *>(grad),
                                                        static_cast<T *>(velocity), n, T(lr), T(momentum),
                                                        T(1 - dampening), nesterov, T(weight_decay), first_step)));
}

int32_t cnn4j_cuda_rmsprop_update(int32_t dtype, void *param, const void *grad, void *square_avg,
                                  void *momentum_buffer, int64_t n, double lr, double alpha, double eps,
                                  double weight_decay, double momentum) {
  if (n < 0 || !param || !grad || !square_avg || (momentum != 0 && !momentum_buffer)) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("rmsprop_update", n, CNN4J_LAUNCH(rmsprop_k<T>, blocks_for(n), 256, 0, stream())(
                                                            static_cast<T *>(param), static_cast<const T *>(grad),
                                                            static_cast<T *>(square_avg),
                                                            static_cast<T *>(momentum_buffer), n, T(lr), T(alpha),
                                                            T(eps), T(weight_decay), T(momentum))));
}

int32_t cnn4j_cuda_adam_update(int32_t dtype, void *param, const void *grad, void *m, void *v, int64_t n, double lr,
                               double beta1, double beta2, double eps, double weight_decay, int32_t decoupled,
                               int64_t step) {
  if (n < 0 || step < 1 || !param || !grad || !m || !v) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  const double bc1 = 1 - std::pow(beta1, double(step)), bc2 = 1 - std::pow(beta2, double(step));
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("adam_update", n, CNN4J_LAUNCH(adam_k<T>, blocks_for(n), 256, 0, stream())(
                                                         static_cast<T *>(param), static_cast<const T *>(grad),
                                                         static_cast<T *>(m), static_cast<T *>(v), n, T(lr / bc1),
                                                         T(1 / std::sqrt(bc2)), T(beta1), T(beta2), T(eps),
                                                         decoupled ? T(0) : T(weight_decay),
                                                         decoupled ? T(1 - lr * weight_decay) : T(1))));
}

int32_t cnn4j_cuda_batch_norm_forward(int32_t dtype, const void *x, const void *gamma, const void *beta,
                                      void *running_mean, void *running_var, void *y, void *save_mean,
                                      void *save_inv_std, int64_t outer, int64_t channels, int64_t inner,
                                      int32_t batch_stats, double momentum, double eps, int32_t relu) {
  if (outer < 0 || channels < 1 || inner < 0 || !x || !gamma || !beta || !running_mean || !running_var || !y ||
      !save_mean || !save_inv_std || !(eps > 0)) {
    return CNN4J_INVALID_ARGUMENT;
  }
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("batch_norm_forward", channels, CNN4J_LAUNCH(bn_fwd_k<T>, unsigned(channels), 256, 0, stream())(
                                                                       static_cast<const T *>(x),
                                                                       static_cast<const T *>(gamma),
                                                                       static_cast<const T *>(beta),
                                                                       static_cast<T *>(running_mean),
                                                                       static_cast<T *>(running_var),
                                                                       static_cast<T *>(y), static_cast<T *>(save_mean),
                                                                       static_cast<T *>(save_inv_std), outer, channels,
                                                                       inner, batch_stats, momentum, eps, relu)));
}

int32_t cnn4j_cuda_batch_norm_backward(int32_t dtype, const void *x, const void *dy, const void *gamma,
                                       const void *save_mean, const void *save_inv_std, void *dx, void *dgamma,
                                       void *dbeta, int64_t outer, int64_t channels, int64_t inner,
                                       int32_t batch_stats, const void *relu_y) {
  if (outer < 0 || channels < 1 || inner < 0 || !x || !dy || !gamma || !save_mean || !save_inv_std || !dgamma ||
      !dbeta) {
    return CNN4J_INVALID_ARGUMENT;
  }
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("batch_norm_backward", channels, CNN4J_LAUNCH(bn_bwd_k<T>, unsigned(channels), 256, 0, stream())(
                                                                        static_cast<const T *>(x),
                                                                        static_cast<const T *>(dy),
                                                                        static_cast<const T *>(gamma),
                                                                        static_cast<const T *>(save_mean),
                                                                        static_cast<const T *>(save_inv_std),
                                                                        static_cast<T *>(dx), static_cast<T *>(dgamma),
                                                                        static_cast<T *>(dbeta), outer, channels,
                                                                        inner, batch_stats,
                                                                        static_cast<const T *>(relu_y))));
}

int32_t cnn4j_cuda_dropout_forward(int32_t dtype, const void *x, void *y, void *mask, int64_t n, double p,
                                   int64_t seed) {
  if (n < 0 || !x || !y || !mask || !(p >= 0 && p < 1)) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  const unsigned long long threshold = static_cast<unsigned long long>(std::llround(p * 16777216.0));
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("dropout_forward", n, CNN4J_LAUNCH(dropout_k<T>, blocks_for(n), 256, 0, stream())(
                                                             static_cast<const T *>(x), static_cast<T *>(y),
                                                             static_cast<T *>(mask), n, threshold, T(1 / (1 - p)),
                                                             static_cast<long long>(seed))));
}

int32_t cnn4j_cuda_maxout_forward(int32_t dtype, const void *x, void *y, int32_t *argmax, int64_t outer,
                                  int64_t channels, int64_t inner, int64_t pieces) {
  if (outer < 0 || channels < 0 || inner < 0 || pieces < 1 || !x || !y || !argmax) return CNN4J_INVALID_ARGUMENT;
  i64 n = outer * channels * inner;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("maxout_forward", n, CNN4J_LAUNCH(maxout_fwd_k<T>, blocks_for(n), 256, 0, stream())(
                                                            static_cast<const T *>(x), static_cast<T *>(y), argmax,
                                                            outer, channels, inner, pieces)));
}

int32_t cnn4j_cuda_maxout_backward(int32_t dtype, const void *dy, const int32_t *argmax, void *dx, int64_t outer,
                                   int64_t channels, int64_t inner, int64_t pieces) {
  if (outer < 0 || channels < 0 || inner < 0 || pieces < 1 || !dy || !argmax || !dx) return CNN4J_INVALID_ARGUMENT;
  i64 n = outer * channels * inner;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("maxout_backward", n, CNN4J_LAUNCH(maxout_bwd_k<T>, blocks_for(n), 256, 0, stream())(
                                                             static_cast<const T *>(dy), argmax, static_cast<T *>(dx),
                                                             outer, channels, inner, pieces)));
}

int32_t cnn4j_cuda_copy_channels(const void *src, int64_t src_channels, int64_t src_off, void *dst,
                                 int64_t dst_channels, int64_t dst_off, int64_t count, int64_t outer, int64_t inner,
                                 int64_t elem_bytes) {
  if (src_channels < 0 || dst_channels < 0 || src_off < 0 || dst_off < 0 || count < 0 || outer < 0 || inner < 0 ||
      elem_bytes < 1 || !src || !dst || src_off + count > src_channels || dst_off + count > dst_channels) {
    return CNN4J_INVALID_ARGUMENT;
  }
  if (count == 0 || outer == 0 || inner == 0) return CNN4J_OK;
  CNN4J_CUDA_TRY("copy_channels",
                 cudaMemcpy2DAsync(static_cast<char *>(dst) + dst_off * inner * elem_bytes,
                                   static_cast<size_t>(dst_channels * inner * elem_bytes),
                                   static_cast<const char *>(src) + src_off * inner * elem_bytes,
                                   static_cast<size_t>(src_channels * inner * elem_bytes),
                                   static_cast<size_t>(count * inner * elem_bytes), static_cast<size_t>(outer),
                                   cudaMemcpyDeviceToDevice, stream()));
  return CNN4J_OK;
}

}  // extern "C"
