// Fused optimizer updates, one pass over a parameter tensor (PyTorch semantics).
#include <cmath>

#include "common.h"

namespace cnn4j {
namespace {

template <class T>
void sgd(T *p, const T *g, T *buf, i64 n, double lr, double momentum, double dampening, bool nesterov, double wd,
         bool first) {
  const T lr_ = T(lr), mom = T(momentum), damp = T(1 - dampening), w = T(wd);
  for (i64 i = 0; i < n; i++) {
    T gi = g[i] + w * p[i];
    if (buf != nullptr) {
      T b = first ? gi : mom * buf[i] + damp * gi;
      buf[i] = b;
      gi = nesterov ? gi + mom * b : b;
    }
    p[i] -= lr_ * gi;
  }
}

template <class T>
void rmsprop(T *p, const T *g, T *sq, T *buf, i64 n, double lr, double alpha, double eps, double wd, double momentum) {
  const T lr_ = T(lr), al = T(alpha), e = T(eps), w = T(wd), mom = T(momentum);
  for (i64 i = 0; i < n; i++) {
    T gi = g[i] + w * p[i];
    T s = al * sq[i] + (T(1) - al) * gi * gi;
    sq[i] = s;
    T step = gi / (std::sqrt(s) + e);
    if (buf != nullptr) {
      T b = mom * buf[i] + step;
      buf[i] = b;
      step = b;
    }
    p[i] -= lr_ * step;
  }
}

template <class T>
void adam(T *p, const T *g, T *m, T *v, i64 n, double lr, double beta1, double beta2, double eps, double wd,
          bool decoupled, i64 step) {
  const double bc1 = 1 - std::pow(beta1, double(step));
  const double bc2 = 1 - std::pow(beta2, double(step));
  const T step_size = T(lr / bc1);
  const T inv_sqrt_bc2 = T(1 / std::sqrt(bc2));
  const T b1 = T(beta1), b2 = T(beta2), e = T(eps);
  const T w = decoupled ? T(0) : T(wd);
  const T shrink = decoupled ? T(1 - lr * wd) : T(1);
  for (i64 i = 0; i < n; i++) {
    T gi = g[i] + w * p[i];
    T mi = b1 * m[i] + (T(1) - b1) * gi;
    T vi = b2 * v[i] + (T(1) - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * shrink - step_size * mi / (std::sqrt(vi) * inv_sqrt_bc2 + e);
  }
}

}  // namespace
}  // namespace cnn4j

using namespace cnn4j;

CNN4J_CUDA_TWIN(sgd_update)
int32_t cnn4j_sgd_update(cnn4j_context *ctx, int32_t dtype, void *param, const void *grad, void *velocity, int64_t n,
                         double lr, double momentum, double dampening, int32_t nesterov, double weight_decay,
                         int32_t first_step) {
  CNN4J_ROUTE(sgd_update, dtype, param, grad, velocity, n, lr, momentum, dampening, nesterov, weight_decay, first_step)
  if (n < 0 || param == nullptr || grad == nullptr || (momentum != 0 && velocity == nullptr)) {
    return CNN4J_INVALID_ARGUMENT;
  }
  CNN4J_DISPATCH_FLOAT(dtype, sgd<T>(static_cast<T *>(param), static_cast<const T *>(grad), static_cast<T *>(velocity),
                                     n, lr, momentum, dampening, nesterov != 0, weight_decay, first_step != 0));
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(rmsprop_update)
int32_t cnn4j_rmsprop_update(cnn4j_context *ctx, int32_t dtype, void *param, const void *grad, void *square_avg,
                             void *momentum_buffer, int64_t n, double lr, double alpha, double eps, double weight_decay,
                             double momentum) {
  CNN4J_ROUTE(rmsprop_update, dtype, param, grad, square_avg, momentum_buffer, n, lr, alpha, eps, weight_decay,
    momentum)
  if (n < 0 || param == nullptr || grad == nullptr || square_avg == nullptr ||
      (momentum != 0 && momentum_buffer == nullptr)) {
    return CNN4J_INVALID_ARGUMENT;
  }
  CNN4J_DISPATCH_FLOAT(dtype, rmsprop<T>(static_cast<T *>(param), static_cast<const T *>(grad),
                                         static_cast<T *>(square_avg), static_cast<T *>(momentum_buffer), n, lr,
                                         alpha, eps, weight_decay, momentum));
  return CNN4J_OK;
}

CNN4J_CUDA_TWIN(adam_update)
int32_t cnn4j_adam_update(cnn4j_context *ctx, int32_t dtype, void *param, const void *grad, void *m, void *v, int64_t n,
                          double lr, double beta1, double beta2, double eps, double weight_decay, int32_t decoupled,
                          int64_t step) {
  CNN4J_ROUTE(adam_update, dtype, param, grad, m, v, n, lr, beta1, beta2, eps, weight_decay, decoupled, step)
  if (n < 0 || step < 1 || param == nullptr || grad == nullptr || m == nullptr || v == nullptr) {
    return CNN4J_INVALID_ARGUMENT;
  }
  CNN4J_DISPATCH_FLOAT(dtype, adam<T>(static_cast<T *>(param), static_cast<const T *>(grad), static_cast<T *>(m),
                                      static_cast<T *>(v), n, lr, beta1, beta2, eps, weight_decay, decoupled != 0,
                                      step));
  return CNN4J_OK;
}
