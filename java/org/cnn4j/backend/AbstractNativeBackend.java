package org.cnn4j.backend;

import static org.cnn4j.nativelib.Cnn4jNative.*;

import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.tensor.Window2d;

/**
 * What the native backends (CPU and CUDA) share: tensors are raw memory of the device
 * ({@link NativeTensor}); every op, checked by {@link ValidatingBackend} as on the pure-Java
 * backend, is one call of the C ABI through the backend's context ({@code cnn4j_context}),
 * which says in C which device runs it; a failed call becomes an exception naming the C
 * function and the device's explanation.
 *
 * <p>A backend is used by one thread at a time (its context's scratch memory is shared by
 * its calls); distinct backends may run on distinct threads.
 */
abstract class AbstractNativeBackend extends ValidatingBackend {
    /** cnn4j_copy_kind. */
    static final int TO_DEVICE = 0, TO_HOST = 1, ON_DEVICE = 2;
    /** cnn4j_device. */
    static final int DEVICE_CPU = 0, DEVICE_CUDA = 1;

    /** The backend's cnn4j_context: valid until the backend is closed and its last tensor freed. */
    protected long ctx;
    private final String label;
    private final Object lock = new Object();
    private boolean closed;
    private long liveTensors;  // allocated through the context, not yet freed

    protected AbstractNativeBackend(String label) {
        this.label = label;
    }

    /** Creates the context of {@code device} ({@code index}: the CUDA ordinal, 0 on the CPU); returns its status. */
    protected final int openContext(int device, int index) {
        long[] out = new long[1];
        int st = cnn4j_context_create(device, index, out);
        ctx = out[0];
        return st;
    }

    protected final boolean isClosed() {
        synchronized (lock) {
            return closed;
        }
    }

    /** Throws when the backend was closed: its ops refuse to run. */
    protected final void requireOpen() {
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException(label + " backend was used after close()");
            }
        }
    }

    /**
     * Closes the backend: its ops refuse from now on. The context, and its scratch memory, are
     * freed now, or, while tensors of the backend are still open, when the last of them is
     * closed (they free their memory through it). Idempotent.
     */
    protected final void closeContext() {
        synchronized (lock) {
            closed = true;
            destroyWhenUnused();
        }
    }

    private void destroyWhenUnused() {
        if (closed && liveTensors == 0 && ctx != 0) {
            cnn4j_context_destroy(ctx);
            ctx = 0;
        }
    }

    /** A message for a failed status, with the device's own explanation where it has one. */
    String errorMessage(int status) {
        return cnn4j_status_string(status);
    }

    // ---- memory of the device (NativeTensor) ----

    int alloc(long bytes, long[] out) {
        synchronized (lock) {
            requireOpen();
            int st = cnn4j_alloc(ctx, bytes, out);
            if (st == 0) {
                liveTensors++;
            }
            return st;
        }
    }

    int free(long p) {
        synchronized (lock) {
            int st = cnn4j_free(ctx, p);
            liveTensors--;
            destroyWhenUnused();
            return st;
        }
    }

    // The copies hold the Java array in a JNI critical region (no garbage collection
    // meanwhile): the device is waited for before, outside it, so that the region lasts only
    // as long as the copy.

    int copyIn(float[] src, long dst, long bytes) {
        int st = cnn4j_synchronize(ctx);
        return st != 0 ? st : cnn4j_copy(ctx, dst, src, bytes, TO_DEVICE);
    }

    int copyIn(double[] src, long dst, long bytes) {
        int st = cnn4j_synchronize(ctx);
        return st != 0 ? st : cnn4j_copy(ctx, dst, src, bytes, TO_DEVICE);
    }

    int copyIn(int[] src, long dst, long bytes) {
        int st = cnn4j_synchronize(ctx);
        return st != 0 ? st : cnn4j_copy(ctx, dst, src, bytes, TO_DEVICE);
    }

    int copyOut(long src, float[] dst, long bytes) {
        int st = cnn4j_synchronize(ctx);
        return st != 0 ? st : cnn4j_copy(ctx, dst, src, bytes, TO_HOST);
    }

    int copyOut(long src, double[] dst, long bytes) {
        int st = cnn4j_synchronize(ctx);
        return st != 0 ? st : cnn4j_copy(ctx, dst, src, bytes, TO_HOST);
    }

    int copyOut(long src, int[] dst, long bytes) {
        int st = cnn4j_synchronize(ctx);
        return st != 0 ? st : cnn4j_copy(ctx, dst, src, bytes, TO_HOST);
    }

    static int code(DType t) {
        return switch (t) {
            case FLOAT32 -> 0;
            case FLOAT64 -> 1;
            case INT32 -> 2;
        };
    }

    /** Turns a non-OK status into an exception naming the C function. */
    final void check(String fn, int status) {
        if (status == 0) {
            return;
        }
        String msg = "cnn4j_" + fn + " failed on " + name() + ": " + errorMessage(status);
        if (status == 2) {
            throw new OutOfMemoryError(msg);
        }
        throw new IllegalStateException(msg);
    }

    @Override
    protected final void requireOwn(String op, Tensor t) {
        if (t == null) {
            return;
        }
        if (!(t instanceof NativeTensor nt) || nt.backend() != this) {
            throw OpChecks.error(op, "tensor " + t.shape() + " belongs to backend " + t.backend().name()
                    + ", not to this " + name() + " backend");
        }
        nt.address();
    }

    /** The tensor, checked as {@link #requireOwn} does (null stays null). */
    final NativeTensor t(String op, Tensor t) {
        requireOwn(op, t);
        return (NativeTensor) t;
    }

    /** The tensor's device address (0 for none). */
    static long a(Tensor t) {
        return t == null ? 0 : ((NativeTensor) t).address();
    }

    private static int b(boolean v) {
        return v ? 1 : 0;
    }

    @Override
    public Tensor zeros(Shape shape, DType dtype) {
        return new NativeTensor(this, shape, dtype);
    }

    @Override
    protected void runFill(Tensor x, double value) {
        check("fill", cnn4j_fill(ctx, code(x.dtype()), a(x), x.numel(), value));
    }

    @Override
    protected void runCopy(Tensor src, Tensor dst) {
        if (a(src) != a(dst)) {
            check("copy", cnn4j_copy(ctx, a(dst), a(src), ((NativeTensor) src).bytes(), ON_DEVICE));
        }
    }

    @Override
    protected void runAdd(DType dt, Tensor x, Tensor y, Tensor out) {
        check("add", cnn4j_add(ctx, code(dt), a(x), a(y), a(out), x.numel()));
    }

    @Override
    protected void runMultiply(DType dt, Tensor x, Tensor y, Tensor out) {
        check("multiply", cnn4j_multiply(ctx, code(dt), a(x), a(y), a(out), x.numel()));
    }

    @Override
    protected void runAxpy(DType dt, double alpha, Tensor x, Tensor y) {
        check("axpy", cnn4j_axpy(ctx, code(dt), alpha, a(x), a(y), x.numel()));
    }

    @Override
    protected void runScale(DType dt, Tensor x, double alpha) {
        check("scale", cnn4j_scale(ctx, code(dt), a(x), x.numel(), alpha));
    }

    @Override
    protected double runSum(DType dt, Tensor x, boolean squares) {
        double[] out = new double[1];
        check("sum", cnn4j_sum(ctx, code(dt), a(x), x.numel(), b(squares), out));
        return out[0];
    }

    @Override
    protected void runActivationForward(DType dt, Activation act, double alpha, Tensor x, Tensor y) {
        check("activation_forward", cnn4j_activation_forward(ctx, code(dt), act.ordinal(), alpha, a(x), a(y),
                x.numel()));
    }

    @Override
    protected void runActivationBackward(DType dt, Activation act, double alpha, Tensor x, Tensor y, Tensor dy,
                                         Tensor dx) {
        check("activation_backward", cnn4j_activation_backward(ctx, code(dt), act.ordinal(), alpha, a(x), a(y), a(dy),
                a(dx), dy.numel()));
    }

    @Override
    protected void runBiasAdd(DType dt, OpChecks.Channels s, Tensor y, Tensor bias) {
        check("bias_add", cnn4j_bias_add(ctx, code(dt), a(y), a(bias), s.outer(), s.channels(), s.inner()));
    }

    @Override
    protected void runBiasGrad(DType dt, OpChecks.Channels s, Tensor dy, Tensor dbias) {
        check("bias_grad", cnn4j_bias_grad(ctx, code(dt), a(dy), a(dbias), s.outer(), s.channels(), s.inner()));
    }

    @Override
    protected void runCopyChannels(DType dt, OpChecks.ChannelCopy s, Tensor src, int srcOffset, Tensor dst,
                                   int dstOffset, int count) {
        check("copy_channels", cnn4j_copy_channels(ctx, a(src), s.srcChannels(), srcOffset, a(dst), s.dstChannels(),
                dstOffset, count, s.outer(), s.inner(), dt.bytes()));
    }

    @Override
    protected void runMatmul(DType dt, OpChecks.Gemm mnk, Tensor x, boolean transA, Tensor y, boolean transB,
                             Tensor c, boolean accumulate) {
        check("matmul", cnn4j_matmul(ctx, code(dt), b(transA), b(transB), mnk.m(), mnk.n(), mnk.k(), a(x), a(y), a(c),
                b(accumulate)));
    }

    @Override
    protected void runConv2dForward(DType dt, ConvDims d, Tensor x, Tensor w, Tensor bias, Tensor y) {
        check("conv2d_forward", cnn4j_conv2d_forward(ctx, code(dt), NativeGeometry.conv(d), a(x), a(w), a(bias), a(y)));
    }

    @Override
    protected void runConv2dBackwardData(DType dt, ConvDims d, Tensor dy, Tensor w, Tensor dx) {
        check("conv2d_backward_data", cnn4j_conv2d_backward_data(ctx, code(dt), NativeGeometry.conv(d), a(dy), a(w),
                a(dx)));
    }

    @Override
    protected void runConv2dBackwardFilter(DType dt, ConvDims d, Tensor x, Tensor dy, Tensor dw, Tensor dbias) {
        check("conv2d_backward_filter", cnn4j_conv2d_backward_filter(ctx, code(dt), NativeGeometry.conv(d), a(x), a(dy),
                a(dw), a(dbias)));
    }

    @Override
    protected void runMaxPool2dForward(DType dt, OpChecks.Pool p, Window2d win, Tensor x, Tensor y, Tensor argmax) {
        check("max_pool2d_forward", cnn4j_max_pool2d_forward(ctx, code(dt), NativeGeometry.pool(p, win), a(x), a(y),
                a(argmax)));
    }

    @Override
    protected void runMaxPool2dBackward(DType dt, OpChecks.PoolBackward p, Tensor dy, Tensor argmax, Tensor dx) {
        check("max_pool2d_backward", cnn4j_max_pool2d_backward(ctx, code(dt), a(dy), a(argmax), a(dx), p.planes(),
                p.inPlane(), p.outPlane()));
    }

    @Override
    protected void runAvgPool2dForward(DType dt, OpChecks.Pool p, Window2d win, boolean countIncludePad, Tensor x,
                                       Tensor y) {
        check("avg_pool2d_forward", cnn4j_avg_pool2d_forward(ctx, code(dt), NativeGeometry.pool(p, win), a(x), a(y),
                b(countIncludePad)));
    }

    @Override
    protected void runAvgPool2dBackward(DType dt, OpChecks.Pool p, Window2d win, boolean countIncludePad, Tensor dy,
                                        Tensor dx) {
        check("avg_pool2d_backward", cnn4j_avg_pool2d_backward(ctx, code(dt), NativeGeometry.pool(p, win), a(dy), a(dx),
                b(countIncludePad)));
    }

    @Override
    protected void runBatchNormForward(DType dt, OpChecks.Channels s, Tensor x, Tensor gamma, Tensor beta,
                                       Tensor runningMean, Tensor runningVar, Tensor y, Tensor saveMean,
                                       Tensor saveInvStd, boolean batchStats, double momentum, double eps,
                                       boolean relu, Tensor residual) {
        check("batch_norm_forward", cnn4j_batch_norm_forward(ctx, code(dt), a(x), a(gamma), a(beta), a(runningMean),
                a(runningVar), a(y), a(saveMean), a(saveInvStd), s.outer(), s.channels(), s.inner(), b(batchStats),
                momentum, eps, b(relu), a(residual)));
    }

    @Override
    protected void runBatchNormBackward(DType dt, OpChecks.Channels s, Tensor x, Tensor dy, Tensor gamma,
                                        Tensor saveMean, Tensor saveInvStd, Tensor dx, Tensor dgamma, Tensor dbeta,
                                        boolean batchStats, Tensor reluY) {
        check("batch_norm_backward", cnn4j_batch_norm_backward(ctx, code(dt), a(x), a(dy), a(gamma), a(saveMean),
                a(saveInvStd), a(dx), a(dgamma), a(dbeta), s.outer(), s.channels(), s.inner(), b(batchStats),
                a(reluY)));
    }

    @Override
    protected void runDropoutForward(DType dt, Tensor x, Tensor y, Tensor mask, double p, long seed) {
        check("dropout_forward", cnn4j_dropout_forward(ctx, code(dt), a(x), a(y), a(mask), x.numel(), p, seed));
    }

    @Override
    protected void runMaxoutForward(DType dt, OpChecks.Channels s, Tensor x, Tensor y, Tensor argmax, int pieces) {
        check("maxout_forward", cnn4j_maxout_forward(ctx, code(dt), a(x), a(y), a(argmax), s.outer(), s.channels(),
                s.inner(), pieces));
    }

    @Override
    protected void runMaxoutBackward(DType dt, OpChecks.Channels s, Tensor dy, Tensor argmax, Tensor dx, int pieces) {
        check("maxout_backward", cnn4j_maxout_backward(ctx, code(dt), a(dy), a(argmax), a(dx), s.outer(), s.channels(),
                s.inner(), pieces));
    }

    @Override
    protected LossResult runSoftmaxCrossEntropy(DType dt, OpChecks.Rows rc, Tensor logits, Tensor labels,
                                                Tensor dlogits) {
        double[] r = new double[3];
        int st = cnn4j_softmax_cross_entropy(ctx, code(dt), a(logits), a(labels), a(dlogits), rc.rows(), rc.classes(),
                1.0 / rc.rows(), r);
        if (st != 0 && r[2] >= 0) {
            int row = (int) r[2];
            throw new IllegalArgumentException("label " + labels.toIntArray()[row] + " at row " + row
                    + " is outside [0, " + rc.classes() + ")");
        }
        check("softmax_cross_entropy", st);
        return new LossResult(r[0] / rc.rows(), (int) r[1]);
    }

    @Override
    protected void runTopK(DType dt, OpChecks.Rows rc, Tensor logits, int k, Tensor out) {
        check("top_k", cnn4j_top_k(ctx, code(dt), a(logits), rc.rows(), rc.classes(), k, a(out)));
    }

    @Override
    protected void runSgdUpdate(DType dt, Tensor param, Tensor grad, Tensor velocity, double lr, double momentum,
                                double dampening, boolean nesterov, double weightDecay, boolean firstStep) {
        check("sgd_update", cnn4j_sgd_update(ctx, code(dt), a(param), a(grad), a(velocity), param.numel(), lr,
                velocity == null ? 0 : momentum, dampening, b(nesterov), weightDecay, b(firstStep)));
    }

    @Override
    protected void runRmspropUpdate(DType dt, Tensor param, Tensor grad, Tensor squareAvg, Tensor momentumBuffer,
                                    double lr, double alpha, double eps, double weightDecay, double momentum) {
        check("rmsprop_update", cnn4j_rmsprop_update(ctx, code(dt), a(param), a(grad), a(squareAvg), a(momentumBuffer),
                param.numel(), lr, alpha, eps, weightDecay, momentumBuffer == null ? 0 : momentum));
    }

    @Override
    protected void runAdamUpdate(DType dt, Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1,
                                 double beta2, double eps, double weightDecay, boolean decoupled, long step) {
        check("adam_update", cnn4j_adam_update(ctx, code(dt), a(param), a(grad), a(m), a(v), param.numel(), lr, beta1,
                beta2, eps, weightDecay, b(decoupled), step));
    }
}
