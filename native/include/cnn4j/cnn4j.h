/* The cnn4j C ABI: every op a model needs, forward and backward side by side, each one
 * function for both devices: the context it takes first says whether it runs on the CPU
 * or on a CUDA GPU (cuda.h holds what only a GPU has: device selection, uploads, graphs).
 *
 * Conventions for every function below:
 * - Pointers are memory of the context's device (cnn4j_alloc). On a GPU an op is queued
 *   on the device's stream and returns before it has run, except those that return values
 *   to the host (sum, softmax_cross_entropy, copies to host memory), which wait for it.
 * - Each returns a cnn4j_status (status.h); none exits, prints or keeps state beyond what
 *   the "Runtime" section documents (the thread count and the forced instruction set).
 * - Sizes are int64_t counts of elements, never bytes unless the name says so. A negative
 *   size or a null pointer where data is required gives CNN4J_INVALID_ARGUMENT.
 * - dtype is one of cnn4j_dtype; floating ops accept CNN4J_F32 and CNN4J_F64.
 * - Layouts are dense and row-major: activations NCHW, convolution weights OIHW
 *   (K, C/groups, KH, KW), dense weights (out, in).
 * - Accumulation rule: outputs named d<param> (dw, dbias) are added into (+=); every
 *   other output, activation gradients (dx) included, is overwritten (=).
 * - The kernels do not check that buffers are as long as the sizes say: the caller
 *   (the Java binding) checks every size before the call.
 */
#ifndef CNN4J_H
#define CNN4J_H

#include <stdint.h>

#include "cnn4j/geometry.h"
#include "cnn4j/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cnn4j_dtype { CNN4J_F32 = 0, CNN4J_F64 = 1, CNN4J_I32 = 2 } cnn4j_dtype;

typedef enum cnn4j_activation {
  CNN4J_RELU = 0,
  CNN4J_LEAKY_RELU = 1,
  CNN4J_SIGMOID = 2,
  CNN4J_TANH = 3
} cnn4j_activation;

typedef enum cnn4j_isa { CNN4J_ISA_BASELINE = 0, CNN4J_ISA_AVX2 = 1, CNN4J_ISA_AVX512 = 2 } cnn4j_isa;

/* How float convolutions are computed (double ones always take im2col + GEMM). */
typedef enum cnn4j_conv_algorithm {
  CNN4J_CONV_AUTO = 0,   /* by shape: on images of at most 4 pixels one GEMM per position over the
                            batch (the taps in the padding skipped); Winograd F(4x4,3x3) or
                            F(2x2,3x3) where it pays; else direct */
  CNN4J_CONV_DIRECT = 1, /* direct only: the blocked kernels where they apply, else im2col + GEMM */
  CNN4J_CONV_GEMM = 2    /* im2col + GEMM only (the reference form of the native backend) */
} cnn4j_conv_algorithm;

/* ---- Runtime ------------------------------------------------------------------------- */

/* ABI version, bumped on every incompatible change. */
CNN4J_API int32_t cnn4j_abi_version(void);

/* The widest instruction set this CPU supports and the library has kernels for. */
CNN4J_API int32_t cnn4j_isa_supported(void);

/* Global: the instruction set the kernels use. Defaults to cnn4j_isa_supported();
 * a lower one may be forced (tests run every path); a higher one than the CPU has gives
 * CNN4J_UNSUPPORTED. */
CNN4J_API int32_t cnn4j_set_isa(int32_t isa);
CNN4J_API int32_t cnn4j_get_isa(void);

/* Global: the convolution algorithm (default CNN4J_CONV_AUTO). The choice for a shape is
 * made by the shape alone, so results do not depend on the thread count; a call already
 * running keeps the algorithm it started with. */
CNN4J_API int32_t cnn4j_set_conv_algorithm(int32_t algorithm);
CNN4J_API int32_t cnn4j_get_conv_algorithm(void);

/* Global: the number of threads a kernel may use (>= 1; default 1). Small ops run on one
 * thread whatever this says. */
CNN4J_API int32_t cnn4j_set_threads(int32_t threads);
CNN4J_API int32_t cnn4j_get_threads(void);

/* ---- Contexts --------------------------------------------------------------------------
 * Every op below takes a context first: the device it runs on. A context is used by one
 * thread at a time (a CPU context's scratch memory is shared by the calls through it);
 * distinct contexts may be used from distinct threads at once. */

typedef enum cnn4j_device { CNN4J_DEVICE_CPU = 0, CNN4J_DEVICE_CUDA = 1 } cnn4j_device;
typedef struct cnn4j_context cnn4j_context;

/* device CNN4J_DEVICE_CPU (index 0), or CNN4J_DEVICE_CUDA and the device's ordinal, which
 * becomes the process's current CUDA device (cnn4j_cuda_set_device; a build without CUDA
 * refuses with CNN4J_UNSUPPORTED, the reason in cnn4j_cuda_last_error). */
CNN4J_API int32_t cnn4j_context_create(int32_t device, int32_t index, cnn4j_context **out);
/* Frees the context and its scratch memory (not the memory allocated through it); null is
 * ignored. */
CNN4J_API int32_t cnn4j_context_destroy(cnn4j_context *ctx);
/* Bytes of scratch memory the context holds now (CPU: grown by the ops that need more). */
CNN4J_API int32_t cnn4j_context_scratch_bytes(const cnn4j_context *ctx, int64_t *bytes);

/* Memory of the context's device: 64-byte aligned host memory on the CPU, CUDA's
 * stream-ordered pool on a GPU; *out is null on failure (CNN4J_OUT_OF_MEMORY). bytes may
 * be 0. */
CNN4J_API int32_t cnn4j_alloc(cnn4j_context *ctx, int64_t bytes, void **out);
/* Frees what cnn4j_alloc returned through a context of the same device; null is ignored. */
CNN4J_API int32_t cnn4j_free(cnn4j_context *ctx, void *p);

typedef enum cnn4j_copy_kind {
  CNN4J_COPY_TO_DEVICE = 0, /* host memory to the device's */
  CNN4J_COPY_TO_HOST = 1,   /* the device's memory to host memory */
  CNN4J_COPY_ON_DEVICE = 2  /* within the device's memory */
} cnn4j_copy_kind;

/* dst[0..bytes) = src[0..bytes); the ranges must not overlap. Ordered after the ops called
 * before it; returns when a copy that touches host memory is done. */
CNN4J_API int32_t cnn4j_copy(cnn4j_context *ctx, void *dst, const void *src, int64_t bytes, int32_t kind);
/* Waits until every op called through the device is done; reports a failed GPU kernel.
 * Returns at once on the CPU. */
CNN4J_API int32_t cnn4j_synchronize(cnn4j_context *ctx);

/* ---- Storage and element-wise --------------------------------------------------------- */

/* x[i] = value (converted to dtype; any dtype). */
CNN4J_API int32_t cnn4j_fill(cnn4j_context *ctx, int32_t dtype, void *x, int64_t n, double value);
/* out[i] = a[i] + b[i]; out may alias a or b. */
CNN4J_API int32_t cnn4j_add(cnn4j_context *ctx, int32_t dtype, const void *a, const void *b, void *out, int64_t n);
/* y[i] += alpha * x[i]. */
CNN4J_API int32_t cnn4j_axpy(cnn4j_context *ctx, int32_t dtype, double alpha, const void *x, void *y, int64_t n);
/* x[i] *= alpha. */
CNN4J_API int32_t cnn4j_scale(cnn4j_context *ctx, int32_t dtype, void *x, int64_t n, double alpha);
/* *out = sum of x (squares = 0) or of x*x (squares = 1), accumulated in double. */
CNN4J_API int32_t cnn4j_sum(cnn4j_context *ctx, int32_t dtype, const void *x, int64_t n, int32_t squares, double *out);

/* ---- Dense ---------------------------------------------------------------------------- */

/* c[m,n] (+)= op(a) * op(b), op(a) [m,k], op(b) [k,n]. a is stored [m,k], or [k,m] when
 * trans_a; b is stored [k,n], or [n,k] when trans_b. accumulate = 0 overwrites c.
 * On a CPU context, the scratch memory is the context's (cnn4j_context_create). */
CNN4J_API int32_t cnn4j_matmul(cnn4j_context *ctx, int32_t dtype, int32_t trans_a, int32_t trans_b, int64_t m,
                               int64_t n, int64_t k, const void *a, const void *b, void *c, int32_t accumulate);

/* y[o, c, i] += bias[c] for y viewed as [outer, channels, inner]. */
CNN4J_API int32_t cnn4j_bias_add(cnn4j_context *ctx, int32_t dtype, void *y, const void *bias, int64_t outer,
                                 int64_t channels, int64_t inner);
/* dbias[c] += sum over o and i of dy[o, c, i]. */
CNN4J_API int32_t cnn4j_bias_grad(cnn4j_context *ctx, int32_t dtype, const void *dy, void *dbias, int64_t outer,
                                  int64_t channels, int64_t inner);

/* ---- Convolution -----------------------------------------------------------------------
 * Geometry (cnn4j/geometry.h) shared by the three: input x [n, c, h, w], weights
 * [k, c/groups, kh, kw], output y [n, k, oh, ow]; output pixel (i, j) reads input
 * (i*sh - pt + a*dh, j*sw - pl + b*dw) for tap (a, b), zero outside the input. A geometry
 * that cnn4j_conv_geometry_check refuses gives its status. On a CPU context each pass is
 * planned once per call and runs in the context's scratch memory, grown when it needs more. */
/* y = conv2d(x, weight) + bias[k] (bias may be null). */
CNN4J_API int32_t cnn4j_conv2d_forward(cnn4j_context *ctx, int32_t dtype, const cnn4j_conv_geometry *geometry,
                                       const void *x, const void *weight, const void *bias, void *y);

/* dx = gradient with respect to x, from dy [n, k, oh, ow]. */
CNN4J_API int32_t cnn4j_conv2d_backward_data(cnn4j_context *ctx, int32_t dtype, const cnn4j_conv_geometry *geometry,
                                             const void *dy, const void *weight, void *dx);

/* dweight += gradient with respect to the weights; dbias[k] += sum of dy over n, oh, ow
 * (dbias may be null). */
CNN4J_API int32_t cnn4j_conv2d_backward_filter(cnn4j_context *ctx, int32_t dtype, const cnn4j_conv_geometry *geometry,
                                               const void *x, const void *dy, void *dweight, void *dbias);

/* ---- Pooling ---------------------------------------------------------------------------
 * x [planes, h, w] -> y [planes, oh, ow] (planes = batch * channels), window geometry as
 * for convolution (cnn4j_pool_geometry; refused by cnn4j_pool_geometry_check: its status). */

/* y = max over each window; argmax (int32, y's size, may be null) receives the winner's
 * index ih*w + iw within its plane. Padding never wins; the first maximum wins ties and a
 * NaN wins over numbers. */
CNN4J_API int32_t cnn4j_max_pool2d_forward(cnn4j_context *ctx, int32_t dtype, const cnn4j_pool_geometry *geometry,
                                           const void *x, void *y, int32_t *argmax);
/* dx = 0, then dx[argmax] += dy (overlapping windows add up). hw = h*w, ohw = oh*ow. */
CNN4J_API int32_t cnn4j_max_pool2d_backward(cnn4j_context *ctx, int32_t dtype, const void *dy, const int32_t *argmax,
                                            void *dx, int64_t planes, int64_t hw, int64_t ohw);

/* y = mean of each window; with count_include_pad padding counts in the divisor (kh*kw),
 * otherwise only the window's input pixels do. */
CNN4J_API int32_t cnn4j_avg_pool2d_forward(cnn4j_context *ctx, int32_t dtype, const cnn4j_pool_geometry *geometry,
                                           const void *x, void *y, int32_t count_include_pad);
/* dx = 0, then each window spreads dy / divisor over its input pixels. */
CNN4J_API int32_t cnn4j_avg_pool2d_backward(cnn4j_context *ctx, int32_t dtype, const cnn4j_pool_geometry *geometry,
                                            const void *dy, void *dx, int32_t count_include_pad);

/* ---- Activations -----------------------------------------------------------------------
 * act is a cnn4j_activation; alpha is leaky ReLU's negative slope (ignored otherwise). */

/* y = act(x); y may alias x. */
CNN4J_API int32_t cnn4j_activation_forward(cnn4j_context *ctx, int32_t dtype, int32_t act, double alpha, const void *x,
                                           void *y, int64_t n);
/* dx = dy * act'(.): the ReLU family reads x, sigmoid and tanh read y = act(x) (the other
 * may be null). dx may alias dy. */
CNN4J_API int32_t cnn4j_activation_backward(cnn4j_context *ctx, int32_t dtype, int32_t act, double alpha, const void *x,
                                            const void *y, const void *dy, void *dx, int64_t n);

/* ---- Normalisation, dropout, maxout, channel copies -------------------------------------
 * Tensors are viewed as [outer, channels, inner] (dimension 1 is the channel). */

/* Batch norm. batch_stats = 1 (training): per channel, the mean and biased variance over
 * outer x inner go to save_mean and save_inv_std = 1/sqrt(var + eps), and
 * running = (1 - momentum) * running + momentum * batch (the variance unbiased);
 * batch_stats = 0: the running statistics are used (and written to save_*).
 * y = gamma * (x - mean) * inv_std + beta, plus residual[i] when residual is not null (a
 * residual block's shortcut, added to the rounded value as cnn4j_add would; it may alias y);
 * with relu = 1, y = max(that, 0). Both fused: no pass of their own over the activations. */
CNN4J_API int32_t cnn4j_batch_norm_forward(cnn4j_context *ctx, int32_t dtype, const void *x, const void *gamma,
                                           const void *beta, void *running_mean, void *running_var, void *y,
                                           void *save_mean, void *save_inv_std, int64_t outer, int64_t channels,
                                           int64_t inner, int32_t batch_stats, double momentum, double eps,
                                           int32_t relu, const void *residual);
/* dgamma += sum g * xhat, dbeta += sum g; dx (may be null) =
 * gamma*inv_std/m * (m*g - sum g - xhat * sum g*xhat) with batch_stats, gamma*inv_std*g without,
 * where g = dy, or, when relu_y is not null (the forward fused ReLU and wrote relu_y), g = dy
 * where relu_y > 0 and 0 elsewhere. */
CNN4J_API int32_t cnn4j_batch_norm_backward(cnn4j_context *ctx, int32_t dtype, const void *x, const void *dy,
                                            const void *gamma, const void *save_mean, const void *save_inv_std,
                                            void *dx, void *dgamma, void *dbeta, int64_t outer, int64_t channels,
                                            int64_t inner, int32_t batch_stats, const void *relu_y);

/* mask[i] = 0 if h(seed, i) < round(p * 2^24) else 1/(1-p), y = x * mask, where h is the top 24
 * bits of splitmix64(seed + (i + 1) * 0x9E3779B97F4A7C15) (the Java backend computes the same). */
CNN4J_API int32_t cnn4j_dropout_forward(cnn4j_context *ctx, int32_t dtype, const void *x, void *y, void *mask,
                                        int64_t n, double p, int64_t seed);
/* out = a * b. */
CNN4J_API int32_t cnn4j_multiply(cnn4j_context *ctx, int32_t dtype, const void *a, const void *b, void *out, int64_t n);

/* x [outer, channels * pieces, inner] -> y [outer, channels, inner]: y = max over j of
 * x[o, c*pieces + j, i], argmax = j (first maximum; a NaN wins). */
CNN4J_API int32_t cnn4j_maxout_forward(cnn4j_context *ctx, int32_t dtype, const void *x, void *y, int32_t *argmax,
                                       int64_t outer, int64_t channels, int64_t inner, int64_t pieces);
/* dx = 0, then dx[o, c*pieces + argmax, i] = dy[o, c, i]. */
CNN4J_API int32_t cnn4j_maxout_backward(cnn4j_context *ctx, int32_t dtype, const void *dy, const int32_t *argmax,
                                        void *dx, int64_t outer, int64_t channels, int64_t inner, int64_t pieces);

/* dst[o, dst_off + c, i] = src[o, src_off + c, i] for c < count; src has src_channels, dst
 * dst_channels channels; elem_bytes is the element size. */
CNN4J_API int32_t cnn4j_copy_channels(cnn4j_context *ctx, const void *src, int64_t src_channels, int64_t src_off,
                                      void *dst, int64_t dst_channels, int64_t dst_off, int64_t count, int64_t outer,
                                      int64_t inner, int64_t elem_bytes);

/* ---- Loss and metrics ------------------------------------------------------------------ */

/* Fused, stable softmax + cross-entropy over logits [rows, classes] with int32 labels
 * [rows]. result[0] = sum of the per-row losses, result[1] = number of rows whose arg-max
 * (first maximum) is the label, result[2] = -1, or the first row whose label is outside
 * [0, classes) (then the status is CNN4J_INVALID_ARGUMENT and nothing else is valid).
 * dlogits (may be null) = (softmax - onehot) * grad_scale. */
CNN4J_API int32_t cnn4j_softmax_cross_entropy(cnn4j_context *ctx, int32_t dtype, const void *logits,
                                              const int32_t *labels, void *dlogits, int64_t rows, int64_t classes,
                                              double grad_scale, double *result);

/* out[r, t] = index of the t-th largest logit of row r (ties: the lower index first). */
CNN4J_API int32_t cnn4j_top_k(cnn4j_context *ctx, int32_t dtype, const void *logits, int64_t rows, int64_t classes,
                              int64_t k, int32_t *out);

/* ---- Optimizer updates (one fused pass over a parameter tensor, PyTorch semantics) ----- */

/* SGD: g' = g + weight_decay*p; with a velocity buffer (may be null when momentum is 0):
 * v = first_step ? g' : momentum*v + (1-dampening)*g', step = nesterov ? g' + momentum*v : v;
 * p -= lr*step. */
CNN4J_API int32_t cnn4j_sgd_update(cnn4j_context *ctx, int32_t dtype, void *param, const void *grad, void *velocity,
                                   int64_t n, double lr, double momentum, double dampening, int32_t nesterov,
                                   double weight_decay, int32_t first_step);

/* RMSProp (not centered): g' = g + weight_decay*p; sq = alpha*sq + (1-alpha)*g'^2;
 * step = g' / (sqrt(sq) + eps); with a momentum buffer b = momentum*b + step, step = b;
 * p -= lr*step. */
CNN4J_API int32_t cnn4j_rmsprop_update(cnn4j_context *ctx, int32_t dtype, void *param, const void *grad,
                                       void *square_avg, void *momentum_buffer, int64_t n, double lr, double alpha,
                                       double eps, double weight_decay, double momentum);

/* Adam (decoupled = 0: L2 decay added to g) or AdamW (decoupled = 1: p *= 1 - lr*wd);
 * m = b1*m + (1-b1)*g, v = b2*v + (1-b2)*g^2,
 * p -= lr/(1-b1^step) * m / (sqrt(v)/sqrt(1-b2^step) + eps). step counts from 1. */
CNN4J_API int32_t cnn4j_adam_update(cnn4j_context *ctx, int32_t dtype, void *param, const void *grad, void *m, void *v,
                                    int64_t n, double lr, double beta1, double beta2, double eps, double weight_decay,
                                    int32_t decoupled, int64_t step);

#ifdef __cplusplus
}
#endif

#endif
