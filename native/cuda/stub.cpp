// The CUDA half of the C ABI in a build without CUDA (no nvcc when the library was built):
// every function of cnn4j/cuda.h exists, reports CNN4J_UNSUPPORTED and says why, so one
// binding class serves both builds. Keep in step with cuda.h (same functions, same order).
#include "cnn4j/cuda.h"

namespace {
const char *const kNoCuda = "this build of cnn4j has no CUDA kernels (the native library was built without nvcc)";
}

extern "C" {

int32_t cnn4j_cuda_device_count(int32_t *count) {
  if (count != nullptr) *count = 0;
  return CNN4J_UNSUPPORTED;
}

const char * cnn4j_cuda_last_error(void) {
  return kNoCuda;
}

int32_t cnn4j_cuda_set_device(int32_t) {
  return CNN4J_UNSUPPORTED;
}

const char * cnn4j_cuda_describe(void) {
  return "no CUDA device (built without CUDA)";
}

int32_t cnn4j_cuda_malloc(int64_t, void **) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_free(void *) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_host_alloc(int64_t, void **) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_host_free(void *) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_memcpy(void *, const void *, int64_t, int32_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_memcpy_async_h2d(void *, const void *, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_synchronize(void) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_release_cached(void) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_pool_stats(int64_t *, int64_t *) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_set_precision(int32_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_get_precision(void) {
  return CNN4J_CUDA_FP32;
}

int32_t cnn4j_cuda_uploader_create(int64_t, void **) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_uploader_reserve(void *) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_uploader_put(void *, void *, const void *, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_uploader_destroy(void *) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_fetch_create(int64_t, void **) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_fetch_start(void *, const void *, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_fetch_wait(void *) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_fetch_read(void *, void *, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_fetch_destroy(void *) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_graph_begin(void) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_graph_end(void **) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_graph_launch(void *) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_graph_destroy(void *) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_fill(int32_t, void *, int64_t, double) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_add(int32_t, const void *, const void *, void *, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_multiply(int32_t, const void *, const void *, void *, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_axpy(int32_t, double, const void *, void *, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_scale(int32_t, void *, int64_t, double) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_sum(int32_t, const void *, int64_t, int32_t, double *) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_matmul(int32_t, int32_t, int32_t, int64_t, int64_t, int64_t, const void *, const void *, void *, int32_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_bias_add(int32_t, void *, const void *, int64_t, int64_t, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_bias_grad(int32_t, const void *, void *, int64_t, int64_t, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_activation_forward(int32_t, int32_t, double, const void *, void *, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_activation_backward(int32_t, int32_t, double, const void *, const void *, const void *, void *, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_conv2d_forward(int32_t, const void *, const void *, const void *, void *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_conv2d_backward_data(int32_t, const void *, const void *, void *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_conv2d_backward_filter(int32_t, const void *, const void *, void *, void *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_max_pool2d_forward(int32_t, const void *, void *, int32_t *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_max_pool2d_backward(int32_t, const void *, const int32_t *, void *, int64_t, int64_t, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_avg_pool2d_forward(int32_t, const void *, void *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int32_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_avg_pool2d_backward(int32_t, const void *, void *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int32_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_softmax_cross_entropy(int32_t, const void *, const int32_t *, void *, int64_t, int64_t, double, double *) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_softmax_cross_entropy_device(int32_t, const void *, const int32_t *, void *, int64_t, int64_t, double, double *) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_top_k(int32_t, const void *, int64_t, int64_t, int64_t, int32_t *) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_sgd_update(int32_t, void *, const void *, void *, int64_t, double, double, double, int32_t, double, int32_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_rmsprop_update(int32_t, void *, const void *, void *, void *, int64_t, double, double, double, double, double) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_adam_update(int32_t, void *, const void *, void *, void *, int64_t, double, double, double, double, double, int32_t, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_batch_norm_forward(int32_t, const void *, const void *, const void *, void *, void *, void *, void *, void *, int64_t, int64_t, int64_t, int32_t, double, double) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_batch_norm_backward(int32_t, const void *, const void *, const void *, const void *, const void *, void *, void *, void *, int64_t, int64_t, int64_t, int32_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_dropout_forward(int32_t, const void *, void *, void *, int64_t, double, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_maxout_forward(int32_t, const void *, void *, int32_t *, int64_t, int64_t, int64_t, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_maxout_backward(int32_t, const void *, const int32_t *, void *, int64_t, int64_t, int64_t, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_copy_channels(const void *, int64_t, int64_t, void *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_is_simulated(void) {
  return 0;
}

int32_t cnn4j_cuda_sim_configure(int64_t, int32_t) {
  return CNN4J_UNSUPPORTED;
}

int32_t cnn4j_cuda_sim_stats(int64_t *) {
  return CNN4J_UNSUPPORTED;
}

}  // extern "C"
