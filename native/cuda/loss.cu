// The fused softmax cross-entropy and top-k: the CUDA twins of native/cpu/loss.cpp, one thread per output element
// (grid-stride loops) unless a reduction needs a block.
#include <cmath>

#include "common.cuh"

namespace cnn4j_cuda {
namespace {

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

}  // namespace
}  // namespace cnn4j_cuda

using namespace cnn4j_cuda;

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

CNN4J_CUDA_TWIN(softmax_cross_entropy)
int32_t cnn4j::cuda::softmax_cross_entropy(cnn4j_context *, int32_t dtype, const void *logits, const int32_t *labels,
                                           void *dlogits, int64_t rows, int64_t classes, double grad_scale,
                                           double *result) {
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

CNN4J_CUDA_TWIN(top_k)
int32_t cnn4j::cuda::top_k(cnn4j_context *, int32_t dtype, const void *logits, int64_t rows, int64_t classes, int64_t k,
                           int32_t *out) {
  if (rows < 0 || classes < 1 || k < 1 || k > classes || !logits || !out) return CNN4J_INVALID_ARGUMENT;
  if (rows == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("top_k", rows, CNN4J_LAUNCH(top_k_k<T>, blocks_for(rows), 256, 0, stream())(
                                                      static_cast<const T *>(logits), rows, int(classes), int(k), out)));
}
