// Optimizer updates: SGD, RMSprop, Adam: the CUDA twins of native/cpu/optim.cpp, one thread per output element
// (grid-stride loops) unless a reduction needs a block.
#include <cmath>

#include "common.cuh"

namespace cnn4j_cuda {
namespace {

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

}  // namespace
}  // namespace cnn4j_cuda

using namespace cnn4j_cuda;

CNN4J_CUDA_TWIN(sgd_update)
int32_t cnn4j::cuda::sgd_update(cnn4j_context *, int32_t dtype, void *param, const void *grad, void *velocity,
                                int64_t n, double lr, double momentum, double dampening, int32_t nesterov,
                                double weight_decay, int32_t first_step) {
  if (n < 0 || !param || !grad || (momentum != 0 && !velocity)) return CNN4J_INVALID_ARGUMENT;
  if (n == 0) return CNN4J_OK;
  CNN4J_DISPATCH_FLOAT(dtype, LAUNCH("sgd_update", n, CNN4J_LAUNCH(sgd_k<T>, blocks_for(n), 256, 0, stream())(
                                                        static_cast<T *>(param), static_cast<const T *>(grad),
                                                        static_cast<T *>(velocity), n, T(lr), T(momentum),
                                                        T(1 - dampening), nesterov, T(weight_decay), first_step)));
}

CNN4J_CUDA_TWIN(rmsprop_update)
int32_t cnn4j::cuda::rmsprop_update(cnn4j_context *, int32_t dtype, void *param, const void *grad, void *square_avg,
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

CNN4J_CUDA_TWIN(adam_update)
int32_t cnn4j::cuda::adam_update(cnn4j_context *, int32_t dtype, void *param, const void *grad, void *m, void *v,
                                 int64_t n, double lr, double beta1, double beta2, double eps, double weight_decay,
                                 int32_t decoupled, int64_t step) {
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
