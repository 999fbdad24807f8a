// Element-wise ops, sums, bias and activations: the CUDA twins of native/cpu/elementwise.cpp, one thread per output element
// (grid-stride loops) unless a reduction needs a block.
#include <cmath>

#include "common.cuh"

namespace cnn4j_cuda {
namespace {

template <class T> __global__ void fill_k(T *x, i64 n, T v) { GRID_STRIDE(i, n) x[i] = v; }
template <class T> __global__ void add_k(const T *a, const T *b, T *o, i64 n) { GRID_STRIDE(i, n) o[i] = a[i] + b[i]; }
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

}  // namespace
}  // namespace cnn4j_cuda

using namespace cnn4j_cuda;

CNN4J_CUDA_TWIN(fill)
int32_t cnn4j::cuda::fill(cnn4j_context *, int32_t dtype, void *x, int64_t n, double value) {
  if (n < 0 || (n > 0 && !x)) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  if (dtype == CNN4J_I32) LAUNCH("fill", n, CNN4J_LAUNCH(fill_k<int32_t>, blocks_for(n), 256, 0, stream())(static_cast<int32_t *>(x), n, int32_t(value)));
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("fill", n, CNN4J_LAUNCH(fill_k<T>, blocks_for(n), 256, 0, stream())(static_cast<T *>(x), n, T(value))));
}

CNN4J_CUDA_TWIN(add)
int32_t cnn4j::cuda::add(cnn4j_context *, int32_t dtype, const void *a, const void *b, void *out, int64_t n) {
  if (n < 0 || (n > 0 && (!a || !b || !out))) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("add", n, CNN4J_LAUNCH(add_k<T>, blocks_for(n), 256, 0, stream())(static_cast<const T *>(a),
                                                                             static_cast<const T *>(b),
                                                                             static_cast<T *>(out), n)));
}

CNN4J_CUDA_TWIN(axpy)
int32_t cnn4j::cuda::axpy(cnn4j_context *, int32_t dtype, double alpha, const void *x, void *y, int64_t n) {
  if (n < 0 || (n > 0 && (!x || !y))) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("axpy", n, CNN4J_LAUNCH(axpy_k<T>, blocks_for(n), 256, 0, stream())(T(alpha), static_cast<const T *>(x),
                                                                               static_cast<T *>(y), n)));
}

CNN4J_CUDA_TWIN(scale)
int32_t cnn4j::cuda::scale(cnn4j_context *, int32_t dtype, void *x, int64_t n, double alpha) {
  if (n < 0 || (n > 0 && !x)) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("scale", n, CNN4J_LAUNCH(scale_k<T>, blocks_for(n), 256, 0, stream())(static_cast<T *>(x), n, T(alpha))));
}

CNN4J_CUDA_TWIN(sum)
int32_t cnn4j::cuda::sum(cnn4j_context *, int32_t dtype, const void *x, int64_t n, int32_t squares, double *out) {
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

CNN4J_CUDA_TWIN(bias_add)
int32_t cnn4j::cuda::bias_add(cnn4j_context *, int32_t dtype, void *y, const void *bias, int64_t outer,
                              int64_t channels, int64_t inner) {
  if (outer < 0 || channels < 1 || inner < 0 || !y || !bias) return CNN4J_INVALID_ARGUMENT;
  i64 n = outer * channels * inner;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("bias_add", n, CNN4J_LAUNCH(bias_add_k<T>, blocks_for(n), 256, 0, stream())(static_cast<T *>(y),
                                                                                       static_cast<const T *>(bias), n,
                                                                                       channels, inner)));
}

CNN4J_CUDA_TWIN(bias_grad)
int32_t cnn4j::cuda::bias_grad(cnn4j_context *, int32_t dtype, const void *dy, void *dbias, int64_t outer,
                               int64_t channels, int64_t inner) {
  if (outer < 0 || channels < 1 || inner < 0 || !dy || !dbias) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("bias_grad", channels, CNN4J_LAUNCH(bias_grad_k<T>, unsigned(channels), 256, 0, stream())(
                                                               static_cast<const T *>(dy), static_cast<T *>(dbias),
                                                               outer, channels, inner)));
}

CNN4J_CUDA_TWIN(activation_forward)
int32_t cnn4j::cuda::activation_forward(cnn4j_context *, int32_t dtype, int32_t act, double alpha, const void *x,
                                        void *y, int64_t n) {
  if (act < 0 || act > 3 || n < 0 || !x || !y) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("activation_forward", n, CNN4J_LAUNCH(act_fwd_k<T>, blocks_for(n), 256, 0, stream())(
                                                                  act, T(alpha), static_cast<const T *>(x),
                                                                  static_cast<T *>(y), n)));
}

CNN4J_CUDA_TWIN(activation_backward)
int32_t cnn4j::cuda::activation_backward(cnn4j_context *, int32_t dtype, int32_t act, double alpha, const void *x,
                                         const void *y, const void *dy, void *dx, int64_t n) {
  if (act < 0 || act > 3 || n < 0 || !dy || !dx) return CNN4J_INVALID_ARGUMENT;
  if ((act <= 1 && !x) || (act >= 2 && !y)) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("activation_backward", n, CNN4J_LAUNCH(act_bwd_k<T>, blocks_for(n), 256, 0, stream())(
                                                                   act, T(alpha), static_cast<const T *>(x),
                                                                   static_cast<const T *>(y),
                                                                   static_cast<const T *>(dy), static_cast<T *>(dx), n)));
}
