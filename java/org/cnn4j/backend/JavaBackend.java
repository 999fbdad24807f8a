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
public final class JavaBackend implements Backend {
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

    private HeapTensor h(String op, Tensor t) {
        if (t == null) {
            return null;
        }
        if (!(t instanceof HeapTensor ht) || ht.backend() != this) {
            throw OpChecks.error(op, "tensor " + t.shape() + " belongs to backend " + t.backend().name()
                    + ", not to this java backend");
        }
        t.ensureOpen();
        return ht;
    }

    private static float[] f(HeapTensor t) {
        return t == null ? null : t.f;
    }

    private static double[] d(HeapTensor t) {
        return t == null ? null : t.d;
    }

    @Override
    public Tensor zeros(Shape shape, DType dtype) {
        return new HeapTensor(this, shape, dtype);
    }

    @Override
    public void fill(Tensor t, double value) {
        HeapTensor x = h("fill", t);
        switch (x.dtype()) {
            case FLOAT32 -> java.util.Arrays.fill(x.f, (float) value);
            case FLOAT64 -> java.util.Arrays.fill(x.d, value);
            case INT32 -> java.util.Arrays.fill(x.i, (int) value);
            default -> throw new IllegalStateException();
        }
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        HeapTensor s = h("copy", src), t = h("copy", dst);
        OpChecks.sameNumel("copy", "src", src, "dst", dst);
        if (s.dtype() != t.dtype()) {
            throw OpChecks.error("copy", "src is " + s.dtype() + ", dst is " + t.dtype());
        }
        switch (s.dtype()) {
            case FLOAT32 -> System.arraycopy(s.f, 0, t.f, 0, s.numel());
            case FLOAT64 -> System.arraycopy(s.d, 0, t.d, 0, s.numel());
            case INT32 -> System.arraycopy(s.i, 0, t.i, 0, s.numel());
            default -> throw new IllegalStateException();
        }
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        String op = "add";
        HeapTensor x = h(op, a), y = h(op, b), o = h(op, out);
        OpChecks.sameShape(op, "a", a, "b", b);
        OpChecks.sameShape(op, "a", a, "out", out);
        if (OpChecks.floating(op, a, b, out) == DType.FLOAT32) {
            FloatElementwiseKernels.add(x.f, y.f, o.f, a.numel());
        } else {
            DoubleElementwiseKernels.add(x.d, y.d, o.d, a.numel());
        }
    }

    @Override
    public void axpy(double alpha, Tensor x, Tensor y) {
        String op = "axpy";
        HeapTensor a = h(op, x), b = h(op, y);
        OpChecks.sameNumel(op, "x", x, "y", y);
        if (OpChecks.floating(op, x, y) == DType.FLOAT32) {
            FloatElementwiseKernels.axpy(alpha, a.f, b.f, x.numel());
        } else {
            DoubleElementwiseKernels.axpy(alpha, a.d, b.d, x.numel());
        }
    }

    @Override
    public void scale(Tensor x, double alpha) {
        HeapTensor a = h("scale", x);
        if (OpChecks.floating("scale", x) == DType.FLOAT32) {
            FloatElementwiseKernels.scale(alpha, a.f, x.numel());
        } else {
            DoubleElementwiseKernels.scale(alpha, a.d, x.numel());
        }
    }

    @Override
    public double sum(Tensor x) {
        HeapTensor a = h("sum", x);
        return OpChecks.floating("sum", x) == DType.FLOAT32 ? FloatElementwiseKernels.sum(a.f, x.numel())
                : DoubleElementwiseKernels.sum(a.d, x.numel());
    }

    @Override
    public double sumOfSquares(Tensor x) {
        HeapTensor a = h("sumOfSquares", x);
        return OpChecks.floating("sumOfSquares", x) == DType.FLOAT32 ? FloatElementwiseKernels.sumOfSquares(a.f, x.numel())
                : DoubleElementwiseKernels.sumOfSquares(a.d, x.numel());
    }

    @Override
    public void conv2dForward(Tensor x, Tensor w, Tensor bias, Tensor y, Window2d win, int groups) {
        String op = "conv2dForward";
        HeapTensor hx = h(op, x), hw = h(op, w), hb = h(op, bias), hy = h(op, y);
        ConvDims dims = OpChecks.conv2d(op, x, w, bias, y, win, groups);
        if (OpChecks.floating(op, x, w, bias, y) == DType.FLOAT32) {
            FloatConvKernels.conv2dForward(par, fs, dims, hx.f, hw.f, f(hb), hy.f);
        } else {
            DoubleConvKernels.conv2dForward(par, ds, dims, hx.d, hw.d, d(hb), hy.d);
        }
    }

    @Override
    public void conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, Window2d win, int groups) {
        String op = "conv2dBackwardData";
        HeapTensor hdy = h(op, dy), hw = h(op, w), hdx = h(op, dx);
        ConvDims dims = OpChecks.conv2d(op, dx, w, null, dy, win, groups);
        if (OpChecks.floating(op, dy, w, dx) == DType.FLOAT32) {
            FloatConvKernels.conv2dBackwardData(par, fs, dims, hdy.f, hw.f, hdx.f);
        } else {
            DoubleConvKernels.conv2dBackwardData(par, ds, dims, hdy.d, hw.d, hdx.d);
        }
    }

    @Override
    public void conv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, Tensor dbias, Window2d win, int groups) {
        String op = "conv2dBackwardFilter";
        HeapTensor hx = h(op, x), hdy = h(op, dy), hdw = h(op, dw), hdb = h(op, dbias);
        ConvDims dims = OpChecks.conv2d(op, x, dw, dbias, dy, win, groups);
        if (OpChecks.floating(op, x, dy, dw, dbias) == DType.FLOAT32) {
            FloatConvKernels.conv2dBackwardFilter(par, fs, dims, hx.f, hdy.f, hdw.f, f(hdb));
        } else {
            DoubleConvKernels.conv2dBackwardFilter(par, ds, dims, hx.d, hdy.d, hdw.d, d(hdb));
        }
    }

    @Override
    public void maxPool2dForward(Tensor x, Tensor y, Tensor argmax, Window2d win) {
        String op = "maxPool2dForward";
        HeapTensor hx = h(op, x), hy = h(op, y), ha = h(op, argmax);
        OpChecks.Pool p = OpChecks.maxPool2dForward(op, x, y, argmax, win);
        int[] am = ha == null ? null : ha.i;
        if (OpChecks.floating(op, x, y) == DType.FLOAT32) {
            FloatPoolKernels.maxPool2dForward(par, p.planes(), p.h(), p.w(), win, p.oh(), p.ow(), hx.f, hy.f, am);
        } else {
            DoublePoolKernels.maxPool2dForward(par, p.planes(), p.h(), p.w(), win, p.oh(), p.ow(), hx.d, hy.d, am);
        }
    }

    @Override
    public void maxPool2dBackward(Tensor dy, Tensor argmax, Tensor dx) {
        String op = "maxPool2dBackward";
        HeapTensor hdy = h(op, dy), ha = h(op, argmax), hdx = h(op, dx);
        OpChecks.PoolBackward p = OpChecks.maxPool2dBackward(op, dy, argmax, dx);
        int planes = p.planes(), hw = p.inPlane(), ohw = p.outPlane();
        if (OpChecks.floating(op, dy, dx) == DType.FLOAT32) {
            FloatPoolKernels.maxPool2dBackward(par, planes, hw, ohw, hdy.f, ha.i, hdx.f);
        } else {
            DoublePoolKernels.maxPool2dBackward(par, planes, hw, ohw, hdy.d, ha.i, hdx.d);
        }
    }

    @Override
    public void avgPool2dForward(Tensor x, Tensor y, Window2d win, boolean countIncludePad) {
        String op = "avgPool2dForward";
        HeapTensor hx = h(op, x), hy = h(op, y);
        OpChecks.Pool p = OpChecks.pool2d(op, x, y, win);
        if (OpChecks.floating(op, x, y) == DType.FLOAT32) {
            FloatPoolKernels.avgPool2dForward(par, p.planes(), p.h(), p.w(), win, p.oh(), p.ow(), countIncludePad, hx.f, hy.f);
        } else {
            DoublePoolKernels.avgPool2dForward(par, p.planes(), p.h(), p.w(), win, p.oh(), p.ow(), countIncludePad, hx.d, hy.d);
        }
    }

    @Override
    public void avgPool2dBackward(Tensor dy, Tensor dx, Window2d win, boolean countIncludePad) {
        String op = "avgPool2dBackward";
        HeapTensor hdy = h(op, dy), hdx = h(op, dx);
        OpChecks.Pool p = OpChecks.pool2d(op, dx, dy, win);
        if (OpChecks.floating(op, dy, dx) == DType.FLOAT32) {
            FloatPoolKernels.avgPool2dBackward(par, p.planes(), p.h(), p.w(), win, p.oh(), p.ow(), countIncludePad, hdy.f, hdx.f);
        } else {
            DoublePoolKernels.avgPool2dBackward(par, p.planes(), p.h(), p.w(), win, p.oh(), p.ow(), countIncludePad, hdy.d, hdx.d);
        }
    }

    @Override
    public void activationForward(Activation act, double alpha, Tensor x, Tensor y) {
        String op = "activationForward(" + act + ")";
        HeapTensor hx = h(op, x), hy = h(op, y);
        OpChecks.sameNumel(op, "x", x, "y", y);
        if (OpChecks.floating(op, x, y) == DType.FLOAT32) {
            FloatElementwiseKernels.activationForward(par, act, alpha, hx.f, hy.f, x.numel());
        } else {
            DoubleElementwiseKernels.activationForward(par, act, alpha, hx.d, hy.d, x.numel());
        }
    }

    @Override
    public void activationBackward(Activation act, double alpha, Tensor x, Tensor y, Tensor dy, Tensor dx) {
        String op = "activationBackward(" + act + ")";
        HeapTensor hx = h(op, x), hy = h(op, y), hdy = h(op, dy), hdx = h(op, dx);
        OpChecks.sameNumel(op, "x", x, "dy", dy);
        OpChecks.sameNumel(op, "y", y, "dy", dy);
        OpChecks.sameNumel(op, "dx", dx, "dy", dy);
        if (OpChecks.floating(op, x, y, dy, dx) == DType.FLOAT32) {
            FloatElementwiseKernels.activationBackward(par, act, alpha, hx.f, hy.f, hdy.f, hdx.f, dy.numel());
        } else {
            DoubleElementwiseKernels.activationBackward(par, act, alpha, hx.d, hy.d, hdy.d, hdx.d, dy.numel());
        }
    }

    @Override
    public void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, boolean accumulate) {
        String op = "matmul";
        HeapTensor ha = h(op, a), hb = h(op, b), hc = h(op, c);
        OpChecks.Gemm mnk = OpChecks.matmul(op, a, transA, b, transB, c);
        if (OpChecks.floating(op, a, b, c) == DType.FLOAT32) {
            FloatDenseKernels.matmul(par, fs, transA, transB, mnk.m(), mnk.n(), mnk.k(), ha.f, hb.f, hc.f, accumulate);
        } else {
            DoubleDenseKernels.matmul(par, ds, transA, transB, mnk.m(), mnk.n(), mnk.k(), ha.d, hb.d, hc.d, accumulate);
        }
    }

    @Override
    public void biasAdd(Tensor y, Tensor bias) {
        String op = "biasAdd";
        HeapTensor hy = h(op, y), hb = h(op, bias);
        OpChecks.Channels s = OpChecks.channelSplit(op, y);
        OpChecks.shape(op, "bias", bias, Shape.of(s.channels()));
        if (OpChecks.floating(op, y, bias) == DType.FLOAT32) {
            FloatElementwiseKernels.biasAdd(hy.f, hb.f, s.outer(), s.channels(), s.inner());
        } else {
            DoubleElementwiseKernels.biasAdd(hy.d, hb.d, s.outer(), s.channels(), s.inner());
        }
    }

    @Override
    public void biasGrad(Tensor dy, Tensor dbias) {
        String op = "biasGrad";
        HeapTensor hy = h(op, dy), hb = h(op, dbias);
        OpChecks.Channels s = OpChecks.channelSplit(op, dy);
        OpChecks.shape(op, "dbias", dbias, Shape.of(s.channels()));
        if (OpChecks.floating(op, dy, dbias) == DType.FLOAT32) {
            FloatElementwiseKernels.biasGrad(hy.f, hb.f, s.outer(), s.channels(), s.inner());
        } else {
            DoubleElementwiseKernels.biasGrad(hy.d, hb.d, s.outer(), s.channels(), s.inner());
        }
    }

    @Override
    public void batchNormForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, Tensor y,
                                 Tensor saveMean, Tensor saveInvStd, boolean batchStats, double momentum, double eps,
                                 boolean relu) {
        String op = "batchNormForward";
        HeapTensor hx = h(op, x), hg = h(op, gamma), hb = h(op, beta), rm = h(op, runningMean),
                rv = h(op, runningVar), hy = h(op, y), sm = h(op, saveMean), si = h(op, saveInvStd);
        OpChecks.Channels s = OpChecks.batchNorm(op, x, y, gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        OpChecks.batchNormSettings(op, momentum, eps);
        if (OpChecks.floating(op, x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd) == DType.FLOAT32) {
            FloatNormKernels.batchNormForward(hx.f, hg.f, hb.f, rm.f, rv.f, hy.f, sm.f, si.f, s.outer(), s.channels(), s.inner(),
                    batchStats, momentum, eps, relu);
        } else {
            DoubleNormKernels.batchNormForward(hx.d, hg.d, hb.d, rm.d, rv.d, hy.d, sm.d, si.d, s.outer(), s.channels(), s.inner(),
                    batchStats, momentum, eps, relu);
        }
    }

    @Override
    public void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor dx,
                                  Tensor dgamma, Tensor dbeta, boolean batchStats, Tensor reluY) {
        String op = "batchNormBackward";
        HeapTensor hx = h(op, x), hdy = h(op, dy), hg = h(op, gamma), sm = h(op, saveMean), si = h(op, saveInvStd),
                hdx = h(op, dx), dg = h(op, dgamma), db = h(op, dbeta), hry = h(op, reluY);
        OpChecks.Channels s = OpChecks.batchNorm(op, x, dy, gamma, saveMean, saveInvStd, dgamma, dbeta);
        if (dx != null) {
            OpChecks.sameShape(op, "x", x, "dx", dx);
        }
        if (reluY != null) {
            OpChecks.sameShape(op, "x", x, "reluY", reluY);
        }
        if (OpChecks.floating(op, x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, reluY) == DType.FLOAT32) {
            FloatNormKernels.batchNormBackward(hx.f, hdy.f, hg.f, sm.f, si.f, f(hdx), dg.f, db.f, s.outer(), s.channels(), s.inner(),
                    batchStats, f(hry));
        } else {
            DoubleNormKernels.batchNormBackward(hx.d, hdy.d, hg.d, sm.d, si.d, d(hdx), dg.d, db.d, s.outer(), s.channels(), s.inner(),
                    batchStats, d(hry));
        }
    }

    @Override
    public void dropoutForward(Tensor x, Tensor y, Tensor mask, double p, long seed) {
        String op = "dropoutForward";
        HeapTensor hx = h(op, x), hy = h(op, y), hm = h(op, mask);
        OpChecks.sameShape(op, "x", x, "y", y);
        OpChecks.sameShape(op, "x", x, "mask", mask);
        OpChecks.dropoutProbability(op, p);
        if (OpChecks.floating(op, x, y, mask) == DType.FLOAT32) {
            FloatNormKernels.dropoutForward(hx.f, hy.f, hm.f, x.numel(), p, seed);
        } else {
            DoubleNormKernels.dropoutForward(hx.d, hy.d, hm.d, x.numel(), p, seed);
        }
    }

    @Override
    public void multiply(Tensor a, Tensor b, Tensor out) {
        String op = "multiply";
        HeapTensor x = h(op, a), y = h(op, b), o = h(op, out);
        OpChecks.sameShape(op, "a", a, "b", b);
        OpChecks.sameShape(op, "a", a, "out", out);
        if (OpChecks.floating(op, a, b, out) == DType.FLOAT32) {
            FloatNormKernels.multiply(x.f, y.f, o.f, a.numel());
        } else {
            DoubleNormKernels.multiply(x.d, y.d, o.d, a.numel());
        }
    }

    @Override
    public void maxoutForward(Tensor x, Tensor y, Tensor argmax, int pieces) {
        String op = "maxoutForward";
        HeapTensor hx = h(op, x), hy = h(op, y), ha = h(op, argmax);
        OpChecks.Channels s = OpChecks.maxout(op, x, y, argmax, pieces);
        if (OpChecks.floating(op, x, y) == DType.FLOAT32) {
            FloatNormKernels.maxoutForward(hx.f, hy.f, ha.i, s.outer(), s.channels(), s.inner(), pieces);
        } else {
            DoubleNormKernels.maxoutForward(hx.d, hy.d, ha.i, s.outer(), s.channels(), s.inner(), pieces);
        }
    }

    @Override
    public void maxoutBackward(Tensor dy, Tensor argmax, Tensor dx, int pieces) {
        String op = "maxoutBackward";
        HeapTensor hdy = h(op, dy), ha = h(op, argmax), hdx = h(op, dx);
        OpChecks.Channels s = OpChecks.maxout(op, dx, dy, argmax, pieces);
        if (OpChecks.floating(op, dy, dx) == DType.FLOAT32) {
            FloatNormKernels.maxoutBackward(hdy.f, ha.i, hdx.f, s.outer(), s.channels(), s.inner(), pieces);
        } else {
            DoubleNormKernels.maxoutBackward(hdy.d, ha.i, hdx.d, s.outer(), s.channels(), s.inner(), pieces);
        }
    }

    @Override
    public void copyChannels(Tensor src, int srcOffset, Tensor dst, int dstOffset, int count) {
        String op = "copyChannels";
        HeapTensor hs = h(op, src), hd = h(op, dst);
        OpChecks.ChannelCopy s = OpChecks.copyChannels(op, src, srcOffset, dst, dstOffset, count);
        switch (src.dtype()) {
            case FLOAT32 -> FloatNormKernels.copyChannels(hs.f, s.srcChannels(), srcOffset, hd.f, s.dstChannels(), dstOffset, count, s.outer(), s.inner());
            case FLOAT64 -> DoubleNormKernels.copyChannels(hs.d, s.srcChannels(), srcOffset, hd.d, s.dstChannels(), dstOffset, count, s.outer(), s.inner());
            default -> throw OpChecks.error(op, "expected a floating tensor, got " + src.dtype());
        }
    }

    @Override
    public LossResult softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits) {
        String op = "softmaxCrossEntropy";
        HeapTensor hl = h(op, logits), hlab = h(op, labels), hd = h(op, dlogits);
        OpChecks.Rows nc = OpChecks.classification(op, logits, labels);
        if (dlogits != null) {
            OpChecks.shape(op, "dlogits", dlogits, logits.shape());
        }
        double scale = 1.0 / nc.rows();
        double[] r = OpChecks.floating(op, logits, dlogits) == DType.FLOAT32
                ? FloatLossKernels.softmaxCrossEntropy(hl.f, hlab.i, f(hd), nc.rows(), nc.classes(), scale)
                : DoubleLossKernels.softmaxCrossEntropy(hl.d, hlab.i, d(hd), nc.rows(), nc.classes(), scale);
        return new LossResult(r[0] / nc.rows(), (int) r[1]);
    }

    @Override
    public void topK(Tensor logits, int k, Tensor out) {
        String op = "topK";
        HeapTensor hl = h(op, logits), ho = h(op, out);
        OpChecks.Rows rc = OpChecks.topK(op, logits, k, out);
        int rows = rc.rows(), classes = rc.classes();
        if (OpChecks.floating(op, logits) == DType.FLOAT32) {
            FloatLossKernels.topK(hl.f, rows, classes, k, ho.i);
        } else {
            DoubleLossKernels.topK(hl.d, rows, classes, k, ho.i);
        }
    }

    @Override
    public void sgdUpdate(Tensor param, Tensor grad, Tensor velocity, double lr, double momentum, double dampening,
                          boolean nesterov, double weightDecay, boolean firstStep) {
        String op = "sgdUpdate";
        HeapTensor p = h(op, param), g = h(op, grad), v = h(op, velocity);
        OpChecks.optimizerState(op, param, grad, OpChecks.SGD_STATE, velocity);
        if (OpChecks.floating(op, param, grad, velocity) == DType.FLOAT32) {
            FloatOptimKernels.sgd(p.f, g.f, f(v), param.numel(), lr, momentum, dampening, nesterov, weightDecay, firstStep);
        } else {
            DoubleOptimKernels.sgd(p.d, g.d, d(v), param.numel(), lr, momentum, dampening, nesterov, weightDecay, firstStep);
        }
    }

    @Override
    public void rmspropUpdate(Tensor param, Tensor grad, Tensor squareAvg, Tensor momentumBuffer, double lr,
                              double alpha, double eps, double weightDecay, double momentum) {
        String op = "rmspropUpdate";
        HeapTensor p = h(op, param), g = h(op, grad), s = h(op, squareAvg), b = h(op, momentumBuffer);
        OpChecks.optimizerState(op, param, grad, OpChecks.RMSPROP_STATE, squareAvg, momentumBuffer);
        if (OpChecks.floating(op, param, grad, squareAvg, momentumBuffer) == DType.FLOAT32) {
            FloatOptimKernels.rmsprop(p.f, g.f, s.f, f(b), param.numel(), lr, alpha, eps, weightDecay, momentum);
        } else {
            DoubleOptimKernels.rmsprop(p.d, g.d, s.d, d(b), param.numel(), lr, alpha, eps, weightDecay, momentum);
        }
    }

    @Override
    public void adamUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2,
                           double eps, double weightDecay, boolean decoupled, long step) {
        String op = "adamUpdate";
        HeapTensor p = h(op, param), g = h(op, grad), hm = h(op, m), hv = h(op, v);
        OpChecks.optimizerState(op, param, grad, OpChecks.ADAM_STATE, m, v);
        OpChecks.adamStep(op, step);
        if (OpChecks.floating(op, param, grad, m, v) == DType.FLOAT32) {
            FloatOptimKernels.adam(p.f, g.f, hm.f, hv.f, param.numel(), lr, beta1, beta2, eps, weightDecay, decoupled, step);
        } else {
            DoubleOptimKernels.adam(p.d, g.d, hm.d, hv.d, param.numel(), lr, beta1, beta2, eps, weightDecay, decoupled, step);
        }
    }

    @Override
    public void close() {
        par.close();
    }
}
