// Fused softmax + cross-entropy and top-k.
#include <cmath>

#include "common.h"

namespace cnn4j {
namespace {

template <class T>
int32_t softmax_ce(const T *logits, const int32_t *labels, T *dlogits, i64 rows, i64 classes, double grad_scale,
                   double *result) {
  const T gs = static_cast<T>(grad_scale);
  double loss = 0;
  i64 correct = 0;
  result[2] = -1;
  for (i64 r = 0; r < rows; r++) {
    int32_t label = labels[r];
    if (label < 0 || label >= classes) {
      result[0] = 0;
      result[1] = 0;
      result[2] = double(r);
      return CNN4J_INVALID_ARGUMENT;
    }
  }
  for (i64 r = 0; r < rows; r++) {
    const T *l = logits + r * classes;
    int32_t label = labels[r];
    T mx = l[0];
    i64 arg = 0;
    for (i64 c = 1; c < classes; c++) {
      if (l[c] > mx) {
        mx = l[c];
        arg = c;
      }
    }
    double denom = 0;
    for (i64 c = 0; c < classes; c++) denom += std::exp(double(l[c] - mx));
    loss += std::log(denom) - double(l[label] - mx);
    correct += (arg == label);
    if (dlogits != nullptr) {
      T *d = dlogits + r * classes;
      double inv = 1 / denom;
      for (i64 c = 0; c < classes; c++) {
        T p = static_cast<T>(std::exp(double(l[c] - mx)) * inv);
        d[c] = (c == label ? p - T(1) : p) * gs;
      }
    }
  }
  result[0] = loss;
  result[1] = double(correct);
  return CNN4J_OK;
}

template <class T>
void top_k(const T *logits, i64 rows, i64 classes, i64 k, int32_t *out) {
  for (i64 r = 0; r < rows; r++) {
    const T *l = logits + r * classes;
    int32_t *o = out + r * k;
    for (i64 t = 0; t < k; t++) {
      i64 best = -1;
      for (i64 c = 0; c < classes; c++) {
        bool taken = false;
        for (i64 u = 0; u < t; u++) {
          if (o[u] == c) {
            taken = true;
            break;
          }
        }
        if (!taken && (best < 0 || l[c] > l[best])) best = c;
      }
      o[t] = static_cast<int32_t>(best);
    }
  }
}

}  // namespace
}  // namespace cnn4j

using namespace cnn4j;

CNN4J_CUDA_TWIN(softmax_cross_entropy)
int32_t cnn4j_softmax_cross_entropy(cnn4j_context *ctx, int32_t dtype, const void *logits, const int32_t *labels,
                                    void *dlogits, int64_t rows, int64_t classes, double grad_scale, double *result) {
  CNN4J_ROUTE(softmax_cross_entropy, dtype, logits, labels, dlogits, rows, classes, grad_scale, result)
  if (rows < 0 || classes < 1 || logits == nullptr || labels == nullptr || result == nullptr) {
    return CNN4J_INVALID_ARGUMENT;
  }
  CNN4J_DISPATCH_FLOAT(dtype, return softmax_ce<T>(static_cast<const T *>(logits), labels, static_cast<T *>(dlogits),
                                                   rows, classes, grad_scale, result));
}

CNN4J_CUDA_TWIN(top_k)
int32_t cnn4j_top_k(cnn4j_context *ctx, int32_t dtype, const void *logits, int64_t rows, int64_t classes, int64_t k,
                    int32_t *out) {
  CNN4J_ROUTE(top_k, dtype, logits, rows, classes, k, out)
  if (rows < 0 || classes < 1 || k < 1 || k > classes || logits == nullptr || out == nullptr) {
    return CNN4J_INVALID_ARGUMENT;
  }
  CNN4J_DISPATCH_FLOAT(dtype, top_k<T>(static_cast<const T *>(logits), rows, classes, k, out));
  return CNN4J_OK;
}
