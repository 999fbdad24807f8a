package org.cnn4j.backend;

/**
 * The raw calls of one native device, one method per C ABI function (camel-cased, no
 * workspace arguments): {@code CpuOps} calls {@code cnn4j_*}, {@code CudaOps} calls
 * {@code cnn4j_cuda_*}. Pointers are raw addresses in the device's memory; every size has been
 * checked by {@link ValidatingBackend} before a call. Each returns a cnn4j_status.
 */
interface NativeOps {
    /** A message for a failed status, with the device's own explanation where it has one. */
    String errorMessage(int status);

    // ---- memory ----
    int alloc(long bytes, long[] out);
    int free(long p);
    int copyDevice(long src, long dst, long bytes);
    int copyIn(float[] src, long dst, long bytes);
    int copyIn(double[] src, long dst, long bytes);
    int copyIn(int[] src, long dst, long bytes);
    int copyOut(long src, float[] dst, long bytes);
    int copyOut(long src, double[] dst, long bytes);
    int copyOut(long src, int[] dst, long bytes);

    // ---- ops ----
    int fill(int dtype, long x, long n, double value);
    int add(int dtype, long a, long b, long out, long n);
    int multiply(int dtype, long a, long b, long out, long n);
    int axpy(int dtype, double alpha, long x, long y, long n);
    int scale(int dtype, long x, long n, double alpha);
    int sum(int dtype, long x, long n, int squares, double[] out);
    int matmul(int dtype, int transA, int transB, long m, long n, long k, long a, long b, long c, int accumulate);
    int biasAdd(int dtype, long y, long bias, long outer, long channels, long inner);
    int biasGrad(int dtype, long dy, long dbias, long outer, long channels, long inner);
    // The window ops take their geometry as NativeGeometry lays it out.
    int conv2dForward(int dtype, long[] geometry, long x, long w, long bias, long y);
    int conv2dBackwardData(int dtype, long[] geometry, long dy, long w, long dx);
    int conv2dBackwardFilter(int dtype, long[] geometry, long x, long dy, long dw, long dbias);
    int maxPool2dForward(int dtype, long[] geometry, long x, long y, long argmax);
    int maxPool2dBackward(int dtype, long dy, long argmax, long dx, long planes, long hw, long ohw);
    int avgPool2dForward(int dtype, long[] geometry, long x, long y, int countIncludePad);
    int avgPool2dBackward(int dtype, long[] geometry, long dy, long dx, int countIncludePad);
    int activationForward(int dtype, int act, double alpha, long x, long y, long n);
    int activationBackward(int dtype, int act, double alpha, long x, long y, long dy, long dx, long n);
    int softmaxCrossEntropy(int dtype, long logits, long labels, long dlogits, long rows, long classes,
                            double gradScale, double[] result);
    int topK(int dtype, long logits, long rows, long classes, long k, long out);
    int sgdUpdate(int dtype, long param, long grad, long velocity, long n, double lr, double momentum,
                  double dampening, int nesterov, double weightDecay, int firstStep);
    int rmspropUpdate(int dtype, long param, long grad, long squareAvg, long momentumBuffer, long n, double lr,
                      double alpha, double eps, double weightDecay, double momentum);
    int adamUpdate(int dtype, long param, long grad, long m, long v, long n, double lr, double beta1, double beta2,
                   double eps, double weightDecay, int decoupled, long step);
    int batchNormForward(int dtype, long x, long gamma, long beta, long runningMean, long runningVar, long y,
                         long saveMean, long saveInvStd, long outer, long channels, long inner, int batchStats,
                         double momentum, double eps, int relu);
    int batchNormBackward(int dtype, long x, long dy, long gamma, long saveMean, long saveInvStd, long dx,
                          long dgamma, long dbeta, long outer, long channels, long inner, int batchStats, long reluY);
    int dropoutForward(int dtype, long x, long y, long mask, long n, double p, long seed);
    int maxoutForward(int dtype, long x, long y, long argmax, long outer, long channels, long inner, long pieces);
    int maxoutBackward(int dtype, long dy, long argmax, long dx, long outer, long channels, long inner, long pieces);
    int copyChannels(long src, long srcChannels, long srcOff, long dst, long dstChannels, long dstOff, long count,
                     long outer, long inner, long elemBytes);
}
