package org.cnn4j.backend;

import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.tensor.Window2d;

/**
 * The pure-Java backend: no native code, runs on any JVM. Tensors are Java arrays; the
 * kernels (the {@code Float*Kernels} classes and their generated double twins) split work across a fixed
 * set of threads. FLOAT64 tensors are supported so that gradient checks run in double
 * precision through the same code.
 */
public final class JavaBackend extends ValidatingBackend {
    private final Parallel par;
    private final FloatDenseKernels.Scratch[] fs;
    private final DoubleDenseKernels.Scratch[] ds;

    /** Uses one thread per available processor. */
    public JavaBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public JavaBackend(int threads) {
        this.par = new Parallel(threads);
        this.fs = new FloatDenseKernels.Scratch[threads];
        this.ds = new DoubleDenseKernels.Scratch[threads];
        for (int t = 0; t < threads; t++) {
            fs[t] = new FloatDenseKernels.Scratch();
            ds[t] = new DoubleDenseKernels.Scratch();
        }
    }

    public int threads() {
        return par.threads();
    }

    @Override
    public String name() {
        return "java";
    }

    @Override
    public String description() {
        return "pure Java, " + par.threads() + " thread" + (par.threads() == 1 ? "" : "s");
    }

    @Override
    protected void requireOwn(String op, Tensor t) {
        if (t == null) {
            return;
        }
        if (!(t instanceof HeapTensor ht) || ht.backend() != this) {
            throw OpChecks.error(op, "tensor " + t.shape() + " belongs to backend " + t.backend().name()
                    + ", not to this java backend");
        }
        t.ensureOpen();
    }

    private static float[] f(Tensor t) {
        return t == null ? null : ((HeapTensor) t).f;
    }

    private static double[] d(Tensor t) {
        return t == null ? null : ((HeapTensor) t).d;
    }

    private static int[] i(Tensor t) {
        return t == null ? null : ((HeapTensor) t).i;
    }

    private static boolean single(DType dt) {
        return dt == DType.FLOAT32;
    }

    @Override
    public Tensor zeros(Shape shape, DType dtype) {
        return new HeapTensor(this, shape, dtype);
    }

    @Override
    protected void runFill(Tensor t, double value) {
        switch (t.dtype()) {
            case FLOAT32 -> java.util.Arrays.fill(f(t), (float) value);
            case FLOAT64 -> java.util.Arrays.fill(d(t), value);
            case INT32 -> java.util.Arrays.fill(i(t), (int) value);
            default -> throw new IllegalStateException();
        }
    }

    @Override
    protected void runCopy(Tensor src, Tensor dst) {
        switch (src.dtype()) {
            case FLOAT32 -> System.arraycopy(f(src), 0, f(dst), 0, src.numel());
            case FLOAT64 -> System.arraycopy(d(src), 0, d(dst), 0, src.numel());
            case INT32 -> System.arraycopy(i(src), 0, i(dst), 0, src.numel());
            default -> throw new IllegalStateException();
        }
    }

    @Override
    protected void runAdd(DType dt, Tensor a, Tensor b, Tensor out) {
        if (single(dt)) {
            FloatElementwiseKernels.add(f(a), f(b), f(out), a.numel());
        } else {
            DoubleElementwiseKernels.add(d(a), d(b), d(out), a.numel());
        }
    }

    @Override
    protected void runMultiply(DType dt, Tensor a, Tensor b, Tensor out) {
        if (single(dt)) {
            FloatNormKernels.multiply(f(a), f(b), f(out), a.numel());
        } else {
            DoubleNormKernels.multiply(d(a), d(b), d(out), a.numel());
        }
    }

    @Override
    protected void runAxpy(DType dt, double alpha, Tensor x, Tensor y) {
        if (single(dt)) {
            FloatElementwiseKernels.axpy(alpha, f(x), f(y), x.numel());
        } else {
            DoubleElementwiseKernels.axpy(alpha, d(x), d(y), x.numel());
        }
    }

    @Override
    protected void runScale(DType dt, Tensor x, double alpha) {
        if (single(dt)) {
            FloatElementwiseKernels.scale(alpha, f(x), x.numel());
        } else {
            DoubleElementwiseKernels.scale(alpha, d(x), x.numel());
        }
    }

    @Override
    protected double runSum(DType dt, Tensor x, boolean squares) {
        if (single(dt)) {
            return squares ? FloatElementwiseKernels.sumOfSquares(f(x), x.numel()) : FloatElementwiseKernels.sum(f(x), x.numel());
        }
        return squares ? DoubleElementwiseKernels.sumOfSquares(d(x), x.numel()) : DoubleElementwiseKernels.sum(d(x), x.numel());
    }

    @Override
    protected void runActivationForward(DType dt, Activation act, double alpha, Tensor x, Tensor y) {
        if (single(dt)) {
            FloatElementwiseKernels.activationForward(par, act, alpha, f(x), f(y), x.numel());
        } else {
            DoubleElementwiseKernels.activationForward(par, act, alpha, d(x), d(y), x.numel());
        }
    }

    @Override
    protected void runActivationBackward(DType dt, Activation act, double alpha, Tensor x, Tensor y, Tensor dy,
                                         Tensor dx) {
        if (single(dt)) {
            FloatElementwiseKernels.activationBackward(par, act, alpha, f(x), f(y), f(dy), f(dx), dy.numel());
        } else {
            DoubleElementwiseKernels.activationBackward(par, act, alpha, d(x), d(y), d(dy), d(dx), dy.numel());
        }
    }

    @Override
    protected void runBiasAdd(DType dt, OpChecks.Channels s, Tensor y, Tensor bias) {
        if (single(dt)) {
            FloatElementwiseKernels.biasAdd(f(y), f(bias), s.outer(), s.channels(), s.inner());
        } else {
            DoubleElementwiseKernels.biasAdd(d(y), d(bias), s.outer(), s.channels(), s.inner());
        }
    }

    @Override
    protected void runBiasGrad(DType dt, OpChecks.Channels s, Tensor dy, Tensor dbias) {
        if (single(dt)) {
            FloatElementwiseKernels.biasGrad(f(dy), f(dbias), s.outer(), s.channels(), s.inner());
        } else {
            DoubleElementwiseKernels.biasGrad(d(dy), d(dbias), s.outer(), s.channels(), s.inner());
        }
    }

    @Override
    protected void runCopyChannels(DType dt, OpChecks.ChannelCopy s, Tensor src, int srcOffset, Tensor dst,
                                   int dstOffset, int count) {
        if (single(dt)) {
            FloatNormKernels.copyChannels(f(src), s.srcChannels(), srcOffset, f(dst), s.dstChannels(), dstOffset, count,
                    s.outer(), s.inner());
        } else {
            DoubleNormKernels.copyChannels(d(src), s.srcChannels(), srcOffset, d(dst), s.dstChannels(), dstOffset, count,
                    s.outer(), s.inner());
        }
    }

    @Override
    protected void runMatmul(DType dt, OpChecks.Gemm mnk, Tensor a, boolean transA, Tensor b, boolean transB,
                             Tensor c, boolean accumulate) {
        if (single(dt)) {
            FloatDenseKernels.matmul(par, fs, transA, transB, mnk.m(), mnk.n(), mnk.k(), f(a), f(b), f(c), accumulate);
        } else {
            DoubleDenseKernels.matmul(par, ds, transA, transB, mnk.m(), mnk.n(), mnk.k(), d(a), d(b), d(c), accumulate);
        }
    }

    @Override
    protected void runConv2dForward(DType dt, ConvDims dims, Tensor x, Tensor w, Tensor bias, Tensor y) {
        if (single(dt)) {
            FloatConvKernels.conv2dForward(par, fs, dims, f(x), f(w), f(bias), f(y));
        } else {
            DoubleConvKernels.conv2dForward(par, ds, dims, d(x), d(w), d(bias), d(y));
        }
    }

    @Override
    protected void runConv2dBackwardData(DType dt, ConvDims dims, Tensor dy, Tensor w, Tensor dx) {
        if (single(dt)) {
            FloatConvKernels.conv2dBackwardData(par, fs, dims, f(dy), f(w), f(dx));
        } else {
            DoubleConvKernels.conv2dBackwardData(par, ds, dims, d(dy), d(w), d(dx));
        }
    }

    @Override
    protected void runConv2dBackwardFilter(DType dt, ConvDims dims, Tensor x, Tensor dy, Tensor dw, Tensor dbias) {
        if (single(dt)) {
            FloatConvKernels.conv2dBackwardFilter(par, fs, dims, f(x), f(dy), f(dw), f(dbias));
        } else {
            DoubleConvKernels.conv2dBackwardFilter(par, ds, dims, d(x), d(dy), d(dw), d(dbias));
        }
    }

    @Override
    protected void runMaxPool2dForward(DType dt, OpChecks.Pool p, Window2d win, Tensor x, Tensor y, Tensor argmax) {
        if (single(dt)) {
            FloatPoolKernels.maxPool2dForward(par, p.planes(), p.h(), p.w(), win, p.oh(), p.ow(), f(x), f(y), i(argmax));
        } else {
            DoublePoolKernels.maxPool2dForward(par, p.planes(), p.h(), p.w(), win, p.oh(), p.ow(), d(x), d(y), i(argmax));
        }
    }

    @Override
    protected void runMaxPool2dBackward(DType dt, OpChecks.PoolBackward p, Tensor dy, Tensor argmax, Tensor dx) {
        if (single(dt)) {
            FloatPoolKernels.maxPool2dBackward(par, p.planes(), p.inPlane(), p.outPlane(), f(dy), i(argmax), f(dx));
        } else {
            DoublePoolKernels.maxPool2dBackward(par, p.planes(), p.inPlane(), p.outPlane(), d(dy), i(argmax), d(dx));
        }
    }

    @Override
    protected void runAvgPool2dForward(DType dt, OpChecks.Pool p, Window2d win, boolean countIncludePad, Tensor x,
                                       Tensor y) {
        if (single(dt)) {
            FloatPoolKernels.avgPool2dForward(par, p.planes(), p.h(), p.w(), win, p.oh(), p.ow(), countIncludePad, f(x), f(y));
        } else {
            DoublePoolKernels.avgPool2dForward(par, p.planes(), p.h(), p.w(), win, p.oh(), p.ow(), countIncludePad, d(x), d(y));
        }
    }

    @Override
    protected void runAvgPool2dBackward(DType dt, OpChecks.Pool p, Window2d win, boolean countIncludePad, Tensor dy,
                                        Tensor dx) {
        if (single(dt)) {
            FloatPoolKernels.avgPool2dBackward(par, p.planes(), p.h(), p.w(), win, p.oh(), p.ow(), countIncludePad, f(dy), f(dx));
        } else {
            DoublePoolKernels.avgPool2dBackward(par, p.planes(), p.h(), p.w(), win, p.oh(), p.ow(), countIncludePad, d(dy), d(dx));
        }
    }

    @Override
    protected void runBatchNormForward(DType dt, OpChecks.Channels s, Tensor x, Tensor gamma, Tensor beta,
                                       Tensor runningMean, Tensor runningVar, Tensor y, Tensor saveMean,
                                       Tensor saveInvStd, boolean batchStats, double momentum, double eps,
                                       boolean relu, Tensor residual) {
        if (single(dt)) {
            FloatNormKernels.batchNormForward(f(x), f(gamma), f(beta), f(runningMean), f(runningVar), f(y), f(saveMean),
                    f(saveInvStd), s.outer(), s.channels(), s.inner(), batchStats, momentum, eps, relu, f(residual));
        } else {
            DoubleNormKernels.batchNormForward(d(x), d(gamma), d(beta), d(runningMean), d(runningVar), d(y), d(saveMean),
                    d(saveInvStd), s.outer(), s.channels(), s.inner(), batchStats, momentum, eps, relu, d(residual));
        }
    }

    @Override
    protected void runBatchNormBackward(DType dt, OpChecks.Channels s, Tensor x, Tensor dy, Tensor gamma,
                                        Tensor saveMean, Tensor saveInvStd, Tensor dx, Tensor dgamma, Tensor dbeta,
                                        boolean batchStats, Tensor reluY) {
        if (single(dt)) {
            FloatNormKernels.batchNormBackward(f(x), f(dy), f(gamma), f(saveMean), f(saveInvStd), f(dx), f(dgamma),
                    f(dbeta), s.outer(), s.channels(), s.inner(), batchStats, f(reluY));
        } else {
            DoubleNormKernels.batchNormBackward(d(x), d(dy), d(gamma), d(saveMean), d(saveInvStd), d(dx), d(dgamma),
                    d(dbeta), s.outer(), s.channels(), s.inner(), batchStats, d(reluY));
        }
    }

    @Override
    protected void runDropoutForward(DType dt, Tensor x, Tensor y, Tensor mask, double p, long seed) {
        if (single(dt)) {
            FloatNormKernels.dropoutForward(f(x), f(y), f(mask), x.numel(), p, seed);
        } else {
            DoubleNormKernels.dropoutForward(d(x), d(y), d(mask), x.numel(), p, seed);
        }
    }

    @Override
    protected void runMaxoutForward(DType dt, OpChecks.Channels s, Tensor x, Tensor y, Tensor argmax, int pieces) {
        if (single(dt)) {
            FloatNormKernels.maxoutForward(f(x), f(y), i(argmax), s.outer(), s.channels(), s.inner(), pieces);
        } else {
            DoubleNormKernels.maxoutForward(d(x), d(y), i(argmax), s.outer(), s.channels(), s.inner(), pieces);
        }
    }

    @Override
    protected void runMaxoutBackward(DType dt, OpChecks.Channels s, Tensor dy, Tensor argmax, Tensor dx, int pieces) {
        if (single(dt)) {
            FloatNormKernels.maxoutBackward(f(dy), i(argmax), f(dx), s.outer(), s.channels(), s.inner(), pieces);
        } else {
            DoubleNormKernels.maxoutBackward(d(dy), i(argmax), d(dx), s.outer(), s.channels(), s.inner(), pieces);
        }
    }

    @Override
    protected LossResult runSoftmaxCrossEntropy(DType dt, OpChecks.Rows rc, Tensor logits, Tensor labels,
                                                Tensor dlogits) {
        double scale = 1.0 / rc.rows();
        double[] r = single(dt)
                ? FloatLossKernels.softmaxCrossEntropy(f(logits), i(labels), f(dlogits), rc.rows(), rc.classes(), scale)
                : DoubleLossKernels.softmaxCrossEntropy(d(logits), i(labels), d(dlogits), rc.rows(), rc.classes(), scale);
        return new LossResult(r[0] / rc.rows(), (int) r[1]);
    }

    @Override
    protected void runTopK(DType dt, OpChecks.Rows rc, Tensor logits, int k, Tensor out) {
        if (single(dt)) {
            FloatLossKernels.topK(f(logits), rc.rows(), rc.classes(), k, i(out));
        } else {
            DoubleLossKernels.topK(d(logits), rc.rows(), rc.classes(), k, i(out));
        }
    }

    @Override
    protected void runSgdUpdate(DType dt, Tensor param, Tensor grad, Tensor velocity, double lr, double momentum,
                                double dampening, boolean nesterov, double weightDecay, boolean firstStep) {
        if (single(dt)) {
            FloatOptimKernels.sgd(f(param), f(grad), f(velocity), param.numel(), lr, momentum, dampening, nesterov,
                    weightDecay, firstStep);
        } else {
            DoubleOptimKernels.sgd(d(param), d(grad), d(velocity), param.numel(), lr, momentum, dampening, nesterov,
                    weightDecay, firstStep);
        }
    }

    @Override
    protected void runRmspropUpdate(DType dt, Tensor param, Tensor grad, Tensor squareAvg, Tensor momentumBuffer,
                                    double lr, double alpha, double eps, double weightDecay, double momentum) {
        if (single(dt)) {
            FloatOptimKernels.rmsprop(f(param), f(grad), f(squareAvg), f(momentumBuffer), param.numel(), lr, alpha, eps,
                    weightDecay, momentum);
        } else {
            DoubleOptimKernels.rmsprop(d(param), d(grad), d(squareAvg), d(momentumBuffer), param.numel(), lr, alpha, eps,
                    weightDecay, momentum);
        }
    }

    @Override
    protected void runAdamUpdate(DType dt, Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1,
                                 double beta2, double eps, double weightDecay, boolean decoupled, long step) {
        if (single(dt)) {
            FloatOptimKernels.adam(f(param), f(grad), f(m), f(v), param.numel(), lr, beta1, beta2, eps, weightDecay,
                    decoupled, step);
        } else {
            DoubleOptimKernels.adam(d(param), d(grad), d(m), d(v), param.numel(), lr, beta1, beta2, eps, weightDecay,
                    decoupled, step);
        }
    }

    @Override
    public void close() {
        par.close();
    }
}
