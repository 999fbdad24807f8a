/* Window geometry of the convolution and pooling ops: the structs the C ABI takes, shared by
 * the CPU and CUDA kernels, and their one validator each.
 *
 * The structs are plain int64_t fields with no padding (a convolution's is 16 of them, a
 * pooling's 13), in the order below: a binding may pass an array of int64_t in that order
 * where a pointer to the struct is expected (the Java binding does).
 */
#ifndef CNN4J_GEOMETRY_H
#define CNN4J_GEOMETRY_H

#include <stdint.h>

#include "cnn4j/status.h"

/* Helpers callable from host and device code. */
#if defined(__CUDACC__)
#define CNN4J_HD __host__ __device__
#else
#define CNN4J_HD
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* A 2-D window: kernel kh x kw, stride sh x sw, top and left padding pt and pl, dilation
 * dh x dw. The bottom and right padding follow from the output size. */
typedef struct cnn4j_window {
  int64_t kh, kw, sh, sw, pt, pl, dh, dw;
} cnn4j_window;

/* A convolution: x [n, c, h, w], weights [k, c / groups, kh, kw], y [n, k, oh, ow]. */
typedef struct cnn4j_conv_geometry {
  int64_t n, c, h, w, k, oh, ow, groups;
  cnn4j_window win;
#ifdef __cplusplus
  CNN4J_HD int64_t cg() const { return c / groups; }  /* input channels per group */
  CNN4J_HD int64_t kg() const { return k / groups; }  /* output channels per group */
  CNN4J_HD int64_t ckk() const { return cg() * win.kh * win.kw; }  /* one filter's weights */
  CNN4J_HD int64_t ohw() const { return oh * ow; }
  CNN4J_HD int64_t hw() const { return h * w; }
  /* A 1x1 convolution with unit stride and no padding: its input is the GEMM operand. */
  CNN4J_HD bool pointwise() const {
    return win.kh == 1 && win.kw == 1 && win.sh == 1 && win.sw == 1 && win.pt == 0 && win.pl == 0 && oh == h &&
           ow == w;
  }
#endif
} cnn4j_conv_geometry;

/* Pooling of planes (batch x channels) of h x w pixels into oh x ow outputs each. */
typedef struct cnn4j_pool_geometry {
  int64_t planes, h, w, oh, ow;
  cnn4j_window win;
} cnn4j_pool_geometry;

/* CNN4J_OK when g is a convolution the kernels take: no negative size or padding, kernel,
 * stride, dilation and groups of at least 1, channels divisible by the groups; otherwise
 * (and for a null g) CNN4J_INVALID_ARGUMENT. Whether the output size matches the window is
 * the caller's to check, as the buffers' lengths are. */
CNN4J_API int32_t cnn4j_conv_geometry_check(const cnn4j_conv_geometry *g);

/* The same for pooling: no negative size or padding, kernel, stride and dilation of at least
 * 1, and planes of at most 2^31 - 1 pixels (arg-max indices are int32). */
CNN4J_API int32_t cnn4j_pool_geometry_check(const cnn4j_pool_geometry *g);

#ifdef __cplusplus
}  /* extern "C" */

static_assert(sizeof(cnn4j_conv_geometry) == 16 * sizeof(int64_t), "16 int64_t, no padding");
static_assert(sizeof(cnn4j_pool_geometry) == 13 * sizeof(int64_t), "13 int64_t, no padding");
#endif

#endif
