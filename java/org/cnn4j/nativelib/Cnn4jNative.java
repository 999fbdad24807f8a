package org.cnn4j.nativelib;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.CriticalRegion;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * The JavaCPP binding of the cnn4j C ABI ({@code native/include/cnn4j/cnn4j.h} and
 * {@code cuda.h}), one method per C function with the same name and argument order: each op
 * is declared once and runs on the device of the context it is given. The JavaCPP Maven plugin
 * generates and compiles the JNI glue from this class; the glue and {@code libcnn4j} ship
 * inside the jar and are extracted by {@link Loader} on first use.
 *
 * <p>Buffers are passed as raw off-heap addresses ({@code long}), never as Java arrays
 * that the JVM would copy; the glue does not bounds-check, so callers
 * ({@code ValidatingBackend}) check every size before a call. Small out-parameters are
 * one-element arrays.
 */
@Platform(include = {"cnn4j/cnn4j.h", "cnn4j/cuda.h"}, link = "cnn4j")
public final class Cnn4jNative {
    static {
        Loader.load();
    }

    private Cnn4jNative() {
    }

    /** Loads the library (the static initialiser does the work); throws if it cannot load. */
    public static void load() {
        // Class initialisation has run Loader.load().
    }

    // ---- runtime ----
    public static native @Cast("const char*") String cnn4j_status_string(int status);
    public static native int cnn4j_abi_version();
    public static native int cnn4j_isa_supported();
    public static native int cnn4j_set_isa(int isa);
    public static native int cnn4j_get_isa();
    public static native int cnn4j_set_conv_algorithm(int algorithm);
    public static native int cnn4j_get_conv_algorithm();
    public static native int cnn4j_set_threads(int threads);
    public static native int cnn4j_get_threads();

    // ---- contexts and memory (cnn4j_copy_kind: 0 to the device, 1 to the host, 2 on the device) ----
    public static native int cnn4j_context_create(int device, int index, @Cast("cnn4j_context**") long[] out);
    public static native int cnn4j_context_destroy(@Cast("cnn4j_context*") long ctx);
    public static native int cnn4j_context_scratch_bytes(@Cast("const cnn4j_context*") long ctx,
                                                         @Cast("int64_t*") long[] bytes);
    public static native int cnn4j_alloc(@Cast("cnn4j_context*") long ctx, long bytes, @Cast("void**") long[] out);
    public static native int cnn4j_free(@Cast("cnn4j_context*") long ctx, @Cast("void*") long p);
    public static native int cnn4j_copy(@Cast("cnn4j_context*") long ctx, @Cast("void*") long dst,
                                        @Cast("const void*") long src, long bytes, int kind);
    public static native int cnn4j_synchronize(@Cast("cnn4j_context*") long ctx);

    // ---- storage and element-wise ----
    public static native int cnn4j_fill(@Cast("cnn4j_context*") long ctx, int dtype, @Cast("void*") long x, long n,
                                        double value);
    public static native int cnn4j_add(@Cast("cnn4j_context*") long ctx, int dtype, @Cast("const void*") long a,
                                       @Cast("const void*") long b, @Cast("void*") long out, long n);
    public static native int cnn4j_axpy(@Cast("cnn4j_context*") long ctx, int dtype, double alpha,
                                        @Cast("const void*") long x, @Cast("void*") long y, long n);
    public static native int cnn4j_scale(@Cast("cnn4j_context*") long ctx, int dtype, @Cast("void*") long x, long n,
                                         double alpha);
    public static native int cnn4j_sum(@Cast("cnn4j_context*") long ctx, int dtype, @Cast("const void*") long x, long n,
                                       int squares, double[] out);

    // ---- dense ----
    public static native int cnn4j_matmul(@Cast("cnn4j_context*") long ctx, int dtype, int transA, int transB, long m,
                                          long n, long k, @Cast("const void*") long a, @Cast("const void*") long b,
                                          @Cast("void*") long c, int accumulate);
    public static native int cnn4j_bias_add(@Cast("cnn4j_context*") long ctx, int dtype, @Cast("void*") long y,
                                            @Cast("const void*") long bias, long outer, long channels, long inner);
    public static native int cnn4j_bias_grad(@Cast("cnn4j_context*") long ctx, int dtype, @Cast("const void*") long dy,
                                             @Cast("void*") long dbias, long outer, long channels, long inner);

    // ---- convolution (geometry: cnn4j_conv_geometry's 16 fields in order) ----
    public static native int cnn4j_conv2d_forward(@Cast("cnn4j_context*") long ctx, int dtype,
                                                  @Cast("const cnn4j_conv_geometry*") long[] geometry,
                                                  @Cast("const void*") long x, @Cast("const void*") long weight,
                                                  @Cast("const void*") long bias, @Cast("void*") long y);
    public static native int cnn4j_conv2d_backward_data(@Cast("cnn4j_context*") long ctx, int dtype,
                                                        @Cast("const cnn4j_conv_geometry*") long[] geometry,
                                                        @Cast("const void*") long dy,
                                                        @Cast("const void*") long weight, @Cast("void*") long dx);
    public static native int cnn4j_conv2d_backward_filter(@Cast("cnn4j_context*") long ctx, int dtype,
                                                          @Cast("const cnn4j_conv_geometry*") long[] geometry,
                                                          @Cast("const void*") long x, @Cast("const void*") long dy,
                                                          @Cast("void*") long dweight, @Cast("void*") long dbias);

    // ---- pooling (geometry: cnn4j_pool_geometry's 13 fields in order) ----
    public static native int cnn4j_max_pool2d_forward(@Cast("cnn4j_context*") long ctx, int dtype,
                                                      @Cast("const cnn4j_pool_geometry*") long[] geometry,
                                                      @Cast("const void*") long x, @Cast("void*") long y,
                                                      @Cast("int32_t*") long argmax);
    public static native int cnn4j_max_pool2d_backward(@Cast("cnn4j_context*") long ctx, int dtype,
                                                       @Cast("const void*") long dy,
                                                       @Cast("const int32_t*") long argmax, @Cast("void*") long dx,
                                                       long planes, long hw, long ohw);
    public static native int cnn4j_avg_pool2d_forward(@Cast("cnn4j_context*") long ctx, int dtype,
                                                      @Cast("const cnn4j_pool_geometry*") long[] geometry,
                                                      @Cast("const void*") long x, @Cast("void*") long y,
                                                      int countIncludePad);
    public static native int cnn4j_avg_pool2d_backward(@Cast("cnn4j_context*") long ctx, int dtype,
                                                       @Cast("const cnn4j_pool_geometry*") long[] geometry,
                                                       @Cast("const void*") long dy, @Cast("void*") long dx,
                                                       int countIncludePad);

    // ---- activations ----
    public static native int cnn4j_activation_forward(@Cast("cnn4j_context*") long ctx, int dtype, int act,
                                                      double alpha, @Cast("const void*") long x, @Cast("void*") long y,
                                                      long n);
    public static native int cnn4j_activation_backward(@Cast("cnn4j_context*") long ctx, int dtype, int act,
                                                       double alpha, @Cast("const void*") long x,
                                                       @Cast("const void*") long y, @Cast("const void*") long dy,
                                                       @Cast("void*") long dx, long n);

    // ---- normalisation, dropout, maxout, channel copies ----
    public static native int cnn4j_batch_norm_forward(@Cast("cnn4j_context*") long ctx, int dtype,
                                                      @Cast("const void*") long x, @Cast("const void*") long gamma,
                                                      @Cast("const void*") long beta, @Cast("void*") long runningMean,
                                                      @Cast("void*") long runningVar, @Cast("void*") long y,
                                                      @Cast("void*") long saveMean, @Cast("void*") long saveInvStd,
                                                      long outer, long channels, long inner, int batchStats,
                                                      double momentum, double eps, int relu,
                                                      @Cast("const void*") long residual);
    public static native int cnn4j_batch_norm_backward(@Cast("cnn4j_context*") long ctx, int dtype,
                                                       @Cast("const void*") long x, @Cast("const void*") long dy,
                                                       @Cast("const void*") long gamma,
                                                       @Cast("const void*") long saveMean,
                                                       @Cast("const void*") long saveInvStd, @Cast("void*") long dx,
                                                       @Cast("void*") long dgamma, @Cast("void*") long dbeta,
                                                       long outer, long channels, long inner, int batchStats,
                                                       @Cast("const void*") long reluY);
    public static native int cnn4j_dropout_forward(@Cast("cnn4j_context*") long ctx, int dtype,
                                                   @Cast("const void*") long x, @Cast("void*") long y,
                                                   @Cast("void*") long mask, long n, double p, long seed);
    public static native int cnn4j_multiply(@Cast("cnn4j_context*") long ctx, int dtype, @Cast("const void*") long a,
                                            @Cast("const void*") long b, @Cast("void*") long out, long n);
    public static native int cnn4j_maxout_forward(@Cast("cnn4j_context*") long ctx, int dtype,
                                                  @Cast("const void*") long x, @Cast("void*") long y,
                                                  @Cast("int32_t*") long argmax, long outer, long channels, long inner,
                                                  long pieces);
    public static native int cnn4j_maxout_backward(@Cast("cnn4j_context*") long ctx, int dtype,
                                                   @Cast("const void*") long dy, @Cast("const int32_t*") long argmax,
                                                   @Cast("void*") long dx, long outer, long channels, long inner,
                                                   long pieces);
    public static native int cnn4j_copy_channels(@Cast("cnn4j_context*") long ctx, @Cast("const void*") long src,
                                                 long srcChannels, long srcOff, @Cast("void*") long dst,
                                                 long dstChannels, long dstOff, long count, long outer, long inner,
                                                 long elemBytes);

    // ---- loss and metrics ----
    public static native int cnn4j_softmax_cross_entropy(@Cast("cnn4j_context*") long ctx, int dtype,
                                                         @Cast("const void*") long logits,
                                                         @Cast("const int32_t*") long labels,
                                                         @Cast("void*") long dlogits, long rows, long classes,
                                                         double gradScale, double[] result);
    public static native int cnn4j_top_k(@Cast("cnn4j_context*") long ctx, int dtype, @Cast("const void*") long logits,
                                         long rows, long classes, long k, @Cast("int32_t*") long out);

    // ---- optimizer updates ----
    public static native int cnn4j_sgd_update(@Cast("cnn4j_context*") long ctx, int dtype, @Cast("void*") long param,
                                              @Cast("const void*") long grad, @Cast("void*") long velocity, long n,
                                              double lr, double momentum, double dampening, int nesterov,
                                              double weightDecay, int firstStep);
    public static native int cnn4j_rmsprop_update(@Cast("cnn4j_context*") long ctx, int dtype,
                                                  @Cast("void*") long param, @Cast("const void*") long grad,
                                                  @Cast("void*") long squareAvg, @Cast("void*") long momentumBuffer,
                                                  long n, double lr, double alpha, double eps, double weightDecay,
                                                  double momentum);
    public static native int cnn4j_adam_update(@Cast("cnn4j_context*") long ctx, int dtype, @Cast("void*") long param,
                                               @Cast("const void*") long grad, @Cast("void*") long m,
                                               @Cast("void*") long v, long n, double lr, double beta1, double beta2,
                                               double eps, double weightDecay, int decoupled, long step);

    // ---- Java arrays to and from the device's memory: cnn4j_copy on a pinned array (no intermediate copy) ----
    @CriticalRegion
    public static native int cnn4j_copy(@Cast("cnn4j_context*") long ctx, @Cast("void*") long dst,
                                        @Cast("const void*") float[] src, long bytes, int kind);
    @CriticalRegion
    public static native int cnn4j_copy(@Cast("cnn4j_context*") long ctx, @Cast("void*") long dst,
                                        @Cast("const void*") double[] src, long bytes, int kind);
    @CriticalRegion
    public static native int cnn4j_copy(@Cast("cnn4j_context*") long ctx, @Cast("void*") long dst,
                                        @Cast("const void*") int[] src, long bytes, int kind);
    @CriticalRegion
    public static native int cnn4j_copy(@Cast("cnn4j_context*") long ctx, @Cast("void*") float[] dst,
                                        @Cast("const void*") long src, long bytes, int kind);
    @CriticalRegion
    public static native int cnn4j_copy(@Cast("cnn4j_context*") long ctx, @Cast("void*") double[] dst,
                                        @Cast("const void*") long src, long bytes, int kind);
    @CriticalRegion
    public static native int cnn4j_copy(@Cast("cnn4j_context*") long ctx, @Cast("void*") int[] dst,
                                        @Cast("const void*") long src, long bytes, int kind);

    // ---- what only CUDA has (cnn4j/cuda.h; in a build without nvcc these report CNN4J_UNSUPPORTED) ----
    public static native int cnn4j_cuda_device_count(int[] count);
    public static native @Cast("const char*") String cnn4j_cuda_last_error();
    public static native int cnn4j_cuda_set_device(int device);
    public static native @Cast("const char*") String cnn4j_cuda_describe();
    public static native int cnn4j_cuda_host_alloc(long bytes, @Cast("void**") long[] out);
    public static native int cnn4j_cuda_stream(@Cast("void**") long[] out);
    public static native int cnn4j_cuda_host_free(@Cast("void*") long p);
    public static native int cnn4j_cuda_memcpy_async_h2d(@Cast("void*") long dst, @Cast("const void*") long src,
                                                         long bytes);
    public static native int cnn4j_cuda_release_cached();
    public static native int cnn4j_cuda_pool_stats(@Cast("int64_t*") long[] reserved, @Cast("int64_t*") long[] used);
    public static native int cnn4j_cuda_is_simulated();
    public static native int cnn4j_cuda_sim_configure(long seed, int workers);
    public static native int cnn4j_cuda_sim_stats(@Cast("int64_t*") long[] out);
    public static native int cnn4j_cuda_set_precision(int precision);
    public static native int cnn4j_cuda_get_precision();
    public static native int cnn4j_cuda_uploader_create(long bytes, @Cast("void**") long[] out);
    public static native int cnn4j_cuda_uploader_reserve(@Cast("void*") long uploader);
    @CriticalRegion
    public static native int cnn4j_cuda_uploader_put(@Cast("void*") long uploader, @Cast("void*") long dst,
                                                     @Cast("const void*") float[] src, long bytes);
    @CriticalRegion
    public static native int cnn4j_cuda_uploader_put(@Cast("void*") long uploader, @Cast("void*") long dst,
                                                     @Cast("const void*") double[] src, long bytes);
    @CriticalRegion
    public static native int cnn4j_cuda_uploader_put(@Cast("void*") long uploader, @Cast("void*") long dst,
                                                     @Cast("const void*") int[] src, long bytes);
    public static native int cnn4j_cuda_uploader_destroy(@Cast("void*") long uploader);
    public static native int cnn4j_cuda_fetch_create(long bytes, @Cast("void**") long[] out);
    public static native int cnn4j_cuda_fetch_start(@Cast("void*") long fetch, @Cast("const void*") long src,
                                                    long bytes);
    public static native int cnn4j_cuda_fetch_wait(@Cast("void*") long fetch);
    @CriticalRegion
    public static native int cnn4j_cuda_fetch_read(@Cast("void*") long fetch, @Cast("void*") double[] dst, long bytes);
    public static native int cnn4j_cuda_fetch_destroy(@Cast("void*") long fetch);
    public static native int cnn4j_cuda_graph_begin();
    public static native int cnn4j_cuda_graph_end(@Cast("void**") long[] exec);
    public static native int cnn4j_cuda_graph_launch(@Cast("void*") long exec);
    public static native int cnn4j_cuda_graph_destroy(@Cast("void*") long exec);
    public static native int cnn4j_cuda_softmax_cross_entropy_device(int dtype, @Cast("const void*") long logits,
                                                                     @Cast("const int32_t*") long labels,
                                                                     @Cast("void*") long dlogits, long rows,
                                                                     long classes, double gradScale,
                                                                     @Cast("double*") long result);
}
