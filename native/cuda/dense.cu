// The dense layers' matrix product: the CUDA twin of native/cpu/dense.cpp, on the GEMM
// engine of gemm.cuh with plain-matrix loaders.
#include "gemm.cuh"

namespace cnn4j_cuda {
namespace {

template <class T>
struct MatA {
  const T *a;
  int M, K;
  bool t;
  __device__ T operator()(int m, int k, int) const { return t ? a[(size_t)k * M + m] : a[(size_t)m * K + k]; }
};
template <class T>
struct MatB {
  const T *b;
  int K, N;
  bool t;
  __device__ T operator()(int k, int n, int) const { return t ? b[(size_t)n * K + k] : b[(size_t)k * N + n]; }
};
template <class T>
struct MatStore {
  T *c;
  int N;
  bool acc;
  __device__ void operator()(int m, int n, int, T v) const {
    size_t i = (size_t)m * N + n;
    c[i] = acc ? c[i] + v : v;
  }
};

}  // namespace
}  // namespace cnn4j_cuda

using namespace cnn4j_cuda;

CNN4J_CUDA_TWIN(matmul)
int32_t cnn4j::cuda::matmul(cnn4j_context *, int32_t dtype, int32_t trans_a, int32_t trans_b, int64_t m, int64_t n,
                            int64_t k, const void *a, const void *b, void *c, int32_t accumulate) {
  if (!fits32(m) || !fits32(n) || !fits32(k) || !a || !b || !c) return CNN4J_INVALID_ARGUMENT;
  int M = int(m), N = int(n), K = int(k);
  CNN4J_DISPATCH_FLOAT(dtype, return run_gemm<T>("matmul", M, N, K, 1, 1, 0,
                                                MatA<T>{static_cast<const T *>(a), M, K, trans_a != 0},
                                                MatB<T>{static_cast<const T *>(b), K, N, trans_b != 0},
                                                MatStore<T>{static_cast<T *>(c), N, accumulate != 0}));
}
