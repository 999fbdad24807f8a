package org.cnn4j.backend;

import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.tensor.Window2d;

/**
 * The base of every backend: each {@link Backend} op is a final method here that checks its
 * tensors once ({@link #requireOwn}: they belong to this backend and are open; {@link OpChecks}:
 * shapes, dtypes, settings) and then calls the backend's kernel hook ({@code run*}) with the
 * checked element type and typed geometry. A hook may assume all of that; {@link #prepare} runs
 * before every hook (thread settings, a device context).
 *
 * <p>So the checks cannot drift apart between the pure-Java, native CPU and CUDA backends, and
 * adding an op means one final method here and one hook per backend family.
 */
abstract class ValidatingBackend implements Backend {

    /** Fails with an error naming {@code op} unless {@code t} (when not null) is an open tensor of this backend. */
    protected abstract void requireOwn(String op, Tensor t);

    /** Runs before every kernel hook: the thread count, the device context. */
    protected void prepare() {
    }

    private void own(String op, Tensor... ts) {
        for (Tensor t : ts) {
            requireOwn(op, t);
        }
        prepare();
    }

    // ---- storage and element-wise -----------------------------------------------------------

    @Override
    public final void fill(Tensor t, double value) {
        own("fill", t);
        runFill(t, value);
    }

    @Override
    public final void copy(Tensor src, Tensor dst) {
        own("copy", src, dst);
        OpChecks.sameNumel("copy", "src", src, "dst", dst);
        if (src.dtype() != dst.dtype()) {
            throw OpChecks.error("copy", "src is " + src.dtype() + ", dst is " + dst.dtype());
        }
        runCopy(src, dst);
    }

    /** An element-wise op of two same-shape tensors: their floating type. */
    private DType binary(String op, Tensor a, Tensor b, Tensor out) {
        own(op, a, b, out);
        OpChecks.sameShape(op, "a", a, "b", b);
        OpChecks.sameShape(op, "a", a, "out", out);
        return OpChecks.floating(op, a, b, out);
    }

    @Override
    public final void add(Tensor a, Tensor b, Tensor out) {
        runAdd(binary("add", a, b, out), a, b, out);
    }

    @Override
    public final void multiply(Tensor a, Tensor b, Tensor out) {
        runMultiply(binary("multiply", a, b, out), a, b, out);
    }

    @Override
    public final void axpy(double alpha, Tensor x, Tensor y) {
        String op = "axpy";
        own(op, x, y);
        OpChecks.sameNumel(op, "x", x, "y", y);
        runAxpy(OpChecks.floating(op, x, y), alpha, x, y);
    }

    @Override
    public final void scale(Tensor x, double alpha) {
        own("scale", x);
        runScale(OpChecks.floating("scale", x), x, alpha);
    }

    @Override
    public final double sum(Tensor x) {
        own("sum", x);
        return runSum(OpChecks.floating("sum", x), x, false);
    }

    @Override
    public final double sumOfSquares(Tensor x) {
        own("sumOfSquares", x);
        return runSum(OpChecks.floating("sumOfSquares", x), x, true);
    }

    @Override
    public final void activationForward(Activation act, double alpha, Tensor x, Tensor y) {
        String op = "activationForward(" + act + ")";
        own(op, x, y);
        OpChecks.sameNumel(op, "x", x, "y", y);
        runActivationForward(OpChecks.floating(op, x, y), act, alpha, x, y);
    }

    @Override
    public final void activationBackward(Activation act, double alpha, Tensor x, Tensor y, Tensor dy, Tensor dx) {
        String op = "activationBackward(" + act + ")";
        own(op, x, y, dy, dx);
        OpChecks.sameNumel(op, "x", x, "dy", dy);
        OpChecks.sameNumel(op, "y", y, "dy", dy);
        OpChecks.sameNumel(op, "dx", dx, "dy", dy);
        runActivationBackward(OpChecks.floating(op, x, y, dy, dx), act, alpha, x, y, dy, dx);
    }

    @Override
    public final void biasAdd(Tensor y, Tensor bias) {
        String op = "biasAdd";
        own(op, y, bias);
        OpChecks.Channels s = OpChecks.channelSplit(op, y);
        OpChecks.shape(op, "bias", bias, Shape.of(s.channels()));
        runBiasAdd(OpChecks.floating(op, y, bias), s, y, bias);
    }

    @Override
    public final void biasGrad(Tensor dy, Tensor dbias) {
        String op = "biasGrad";
        own(op, dy, dbias);
        OpChecks.Channels s = OpChecks.channelSplit(op, dy);
        OpChecks.shape(op, "dbias", dbias, Shape.of(s.channels()));
        runBiasGrad(OpChecks.floating(op, dy, dbias), s, dy, dbias);
    }

    @Override
    public final void copyChannels(Tensor src, int srcOffset, Tensor dst, int dstOffset, int count) {
        String op = "copyChannels";
        own(op, src, dst);
        OpChecks.ChannelCopy s = OpChecks.copyChannels(op, src, srcOffset, dst, dstOffset, count);
        runCopyChannels(OpChecks.floating(op, src, dst), s, src, srcOffset, dst, dstOffset, count);
    }

    // ---- dense and convolution ------------------------------------------------------------------

    @Override
    public final void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, boolean accumulate) {
        String op = "matmul";
        own(op, a, b, c);
        OpChecks.Gemm mnk = OpChecks.matmul(op, a, transA, b, transB, c);
        runMatmul(OpChecks.floating(op, a, b, c), mnk, a, transA, b, transB, c, accumulate);
    }

    @Override
    public final void conv2dForward(Tensor x, Tensor w, Tensor bias, Tensor y, Window2d win, int groups) {
        String op = "conv2dForward";
        own(op, x, w, bias, y);
        ConvDims d = OpChecks.conv2d(op, x, w, bias, y, win, groups);
        runConv2dForward(OpChecks.floating(op, x, w, bias, y), d, x, w, bias, y);
    }

    @Override
    public final void conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, Window2d win, int groups) {
        String op = "conv2dBackwardData";
        own(op, dy, w, dx);
        ConvDims d = OpChecks.conv2d(op, dx, w, null, dy, win, groups);
        runConv2dBackwardData(OpChecks.floating(op, dy, w, dx), d, dy, w, dx);
    }

    @Override
    public final void conv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, Tensor dbias, Window2d win, int groups) {
        String op = "conv2dBackwardFilter";
        own(op, x, dy, dw, dbias);
        ConvDims d = OpChecks.conv2d(op, x, dw, dbias, dy, win, groups);
        runConv2dBackwardFilter(OpChecks.floating(op, x, dy, dw, dbias), d, x, dy, dw, dbias);
    }

    // ---- pooling ------------------------------------------------------------------------------

    @Override
    public final void maxPool2dForward(Tensor x, Tensor y, Tensor argmax, Window2d win) {
        String op = "maxPool2dForward";
        own(op, x, y, argmax);
        OpChecks.Pool p = OpChecks.maxPool2dForward(op, x, y, argmax, win);
        runMaxPool2dForward(OpChecks.floating(op, x, y), p, win, x, y, argmax);
    }

    @Override
    public final void maxPool2dBackward(Tensor dy, Tensor argmax, Tensor dx) {
        String op = "maxPool2dBackward";
        own(op, dy, argmax, dx);
        OpChecks.PoolBackward p = OpChecks.maxPool2dBackward(op, dy, argmax, dx);
        runMaxPool2dBackward(OpChecks.floating(op, dy, dx), p, dy, argmax, dx);
    }

    @Override
    public final void avgPool2dForward(Tensor x, Tensor y, Window2d win, boolean countIncludePad) {
        String op = "avgPool2dForward";
        own(op, x, y);
        OpChecks.Pool p = OpChecks.pool2d(op, x, y, win);
        runAvgPool2dForward(OpChecks.floating(op, x, y), p, win, countIncludePad, x, y);
    }

    @Override
    public final void avgPool2dBackward(Tensor dy, Tensor dx, Window2d win, boolean countIncludePad) {
        String op = "avgPool2dBackward";
        own(op, dy, dx);
        OpChecks.Pool p = OpChecks.pool2d(op, dx, dy, win);
        runAvgPool2dBackward(OpChecks.floating(op, dy, dx), p, win, countIncludePad, dy, dx);
    }

    // ---- normalisation, dropout, maxout ---------------------------------------------------------

    @Override
    public final void batchNormForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                       Tensor y, Tensor saveMean, Tensor saveInvStd, boolean batchStats,
                                       double momentum, double eps, boolean relu, Tensor residual) {
        String op = "batchNormForward";
        own(op, x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd, residual);
        OpChecks.Channels s = OpChecks.batchNorm(op, x, y, gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        DType dt = OpChecks.floating(op, x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd);
        if (residual != null) {
            OpChecks.sameShape(op, "x", x, "residual", residual);
            OpChecks.floating(op, x, residual);
        }
        OpChecks.batchNormSettings(op, momentum, eps);
        runBatchNormForward(dt, s, x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd, batchStats,
                momentum, eps, relu, residual);
    }

    @Override
    public final void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                        Tensor dx, Tensor dgamma, Tensor dbeta, boolean batchStats, Tensor reluY) {
        String op = "batchNormBackward";
        own(op, x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, reluY);
        OpChecks.Channels s = OpChecks.batchNorm(op, x, dy, gamma, saveMean, saveInvStd, dgamma, dbeta);
        if (dx != null) {
            OpChecks.sameShape(op, "x", x, "dx", dx);
        }
        if (reluY != null) {
            OpChecks.sameShape(op, "x", x, "reluY", reluY);
        }
        DType dt = OpChecks.floating(op, x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, reluY);
        runBatchNormBackward(dt, s, x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, batchStats, reluY);
    }

    @Override
    public final void dropoutForward(Tensor x, Tensor y, Tensor mask, double p, long seed) {
        String op = "dropoutForward";
        own(op, x, y, mask);
        OpChecks.sameShape(op, "x", x, "y", y);
        OpChecks.sameShape(op, "x", x, "mask", mask);
        OpChecks.dropoutProbability(op, p);
        runDropoutForward(OpChecks.floating(op, x, y, mask), x, y, mask, p, seed);
    }

    @Override
    public final void maxoutForward(Tensor x, Tensor y, Tensor argmax, int pieces) {
        String op = "maxoutForward";
        own(op, x, y, argmax);
        OpChecks.Channels s = OpChecks.maxout(op, x, y, argmax, pieces);
        runMaxoutForward(OpChecks.floating(op, x, y), s, x, y, argmax, pieces);
    }

    @Override
    public final void maxoutBackward(Tensor dy, Tensor argmax, Tensor dx, int pieces) {
        String op = "maxoutBackward";
        own(op, dy, argmax, dx);
        OpChecks.Channels s = OpChecks.maxout(op, dx, dy, argmax, pieces);
        runMaxoutBackward(OpChecks.floating(op, dy, dx), s, dy, argmax, dx, pieces);
    }

    // ---- loss -----------------------------------------------------------------------------------

    @Override
    public final LossResult softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits) {
        String op = "softmaxCrossEntropy";
        own(op, logits, labels, dlogits);
        OpChecks.Rows rc = OpChecks.classification(op, logits, labels);
        if (dlogits != null) {
            OpChecks.shape(op, "dlogits", dlogits, logits.shape());
        }
        return runSoftmaxCrossEntropy(OpChecks.floating(op, logits, dlogits), rc, logits, labels, dlogits);
    }

    @Override
    public final void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits, Tensor totals) {
        String op = "softmaxCrossEntropy";
        own(op, logits, labels, dlogits, totals);
        OpChecks.Rows rc = OpChecks.classification(op, logits, labels);
        if (dlogits != null) {
            OpChecks.shape(op, "dlogits", dlogits, logits.shape());
        }
        OpChecks.lossTotals(op, totals);
        runSoftmaxCrossEntropy(OpChecks.floating(op, logits, dlogits), rc, logits, labels, dlogits, totals);
    }

    @Override
    public final void topK(Tensor logits, int k, Tensor out) {
        String op = "topK";
        own(op, logits, out);
        OpChecks.Rows rc = OpChecks.topK(op, logits, k, out);
        runTopK(OpChecks.floating(op, logits), rc, logits, k, out);
    }

    // ---- optimizers -----------------------------------------------------------------------------

    @Override
    public final void sgdUpdate(Tensor param, Tensor grad, Tensor velocity, double lr, double momentum,
                                double dampening, boolean nesterov, double weightDecay, boolean firstStep) {
        String op = "sgdUpdate";
        own(op, param, grad, velocity);
        OpChecks.optimizerState(op, param, grad, OpChecks.SGD_STATE, velocity);
        runSgdUpdate(OpChecks.floating(op, param, grad, velocity), param, grad, velocity, lr, momentum, dampening,
                nesterov, weightDecay, firstStep);
    }

    @Override
    public final void rmspropUpdate(Tensor param, Tensor grad, Tensor squareAvg, Tensor momentumBuffer, double lr,
                                    double alpha, double eps, double weightDecay, double momentum) {
        String op = "rmspropUpdate";
        own(op, param, grad, squareAvg, momentumBuffer);
        OpChecks.optimizerState(op, param, grad, OpChecks.RMSPROP_STATE, squareAvg, momentumBuffer);
        runRmspropUpdate(OpChecks.floating(op, param, grad, squareAvg, momentumBuffer), param, grad, squareAvg,
                momentumBuffer, lr, alpha, eps, weightDecay, momentum);
    }

    @Override
    public final void adamUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2,
                                 double eps, double weightDecay, boolean decoupled, long step) {
        String op = "adamUpdate";
        own(op, param, grad, m, v);
        OpChecks.optimizerState(op, param, grad, OpChecks.ADAM_STATE, m, v);
        OpChecks.adamStep(op, step);
        runAdamUpdate(OpChecks.floating(op, param, grad, m, v), param, grad, m, v, lr, beta1, beta2, eps, weightDecay,
                decoupled, step);
    }

    // ---- the kernel hooks: arguments checked as above; dt is the floating element type ---------

    protected abstract void runFill(Tensor t, double value);

    /** src and dst have the same element type and count. */
    protected abstract void runCopy(Tensor src, Tensor dst);

    protected abstract void runAdd(DType dt, Tensor a, Tensor b, Tensor out);

    protected abstract void runMultiply(DType dt, Tensor a, Tensor b, Tensor out);

    protected abstract void runAxpy(DType dt, double alpha, Tensor x, Tensor y);

    protected abstract void runScale(DType dt, Tensor x, double alpha);

    protected abstract double runSum(DType dt, Tensor x, boolean squares);

    protected abstract void runActivationForward(DType dt, Activation act, double alpha, Tensor x, Tensor y);

    protected abstract void runActivationBackward(DType dt, Activation act, double alpha, Tensor x, Tensor y,
                                                  Tensor dy, Tensor dx);

    protected abstract void runBiasAdd(DType dt, OpChecks.Channels s, Tensor y, Tensor bias);

    protected abstract void runBiasGrad(DType dt, OpChecks.Channels s, Tensor dy, Tensor dbias);

    protected abstract void runCopyChannels(DType dt, OpChecks.ChannelCopy s, Tensor src, int srcOffset, Tensor dst,
                                            int dstOffset, int count);

    protected abstract void runMatmul(DType dt, OpChecks.Gemm mnk, Tensor a, boolean transA, Tensor b,
                                      boolean transB, Tensor c, boolean accumulate);

    protected abstract void runConv2dForward(DType dt, ConvDims d, Tensor x, Tensor w, Tensor bias, Tensor y);

    protected abstract void runConv2dBackwardData(DType dt, ConvDims d, Tensor dy, Tensor w, Tensor dx);

    protected abstract void runConv2dBackwardFilter(DType dt, ConvDims d, Tensor x, Tensor dy, Tensor dw,
                                                    Tensor dbias);

    protected abstract void runMaxPool2dForward(DType dt, OpChecks.Pool p, Window2d win, Tensor x, Tensor y,
                                                Tensor argmax);

    protected abstract void runMaxPool2dBackward(DType dt, OpChecks.PoolBackward p, Tensor dy, Tensor argmax,
                                                 Tensor dx);

    protected abstract void runAvgPool2dForward(DType dt, OpChecks.Pool p, Window2d win, boolean countIncludePad,
                                                Tensor x, Tensor y);

    protected abstract void runAvgPool2dBackward(DType dt, OpChecks.Pool p, Window2d win, boolean countIncludePad,
                                                 Tensor dy, Tensor dx);

    protected abstract void runBatchNormForward(DType dt, OpChecks.Channels s, Tensor x, Tensor gamma, Tensor beta,
                                                Tensor runningMean, Tensor runningVar, Tensor y, Tensor saveMean,
                                                Tensor saveInvStd, boolean batchStats, double momentum, double eps,
                                                boolean relu, Tensor residual);

    protected abstract void runBatchNormBackward(DType dt, OpChecks.Channels s, Tensor x, Tensor dy, Tensor gamma,
                                                 Tensor saveMean, Tensor saveInvStd, Tensor dx, Tensor dgamma,
                                                 Tensor dbeta, boolean batchStats, Tensor reluY);

    protected abstract void runDropoutForward(DType dt, Tensor x, Tensor y, Tensor mask, double p, long seed);

    protected abstract void runMaxoutForward(DType dt, OpChecks.Channels s, Tensor x, Tensor y, Tensor argmax,
                                             int pieces);

    protected abstract void runMaxoutBackward(DType dt, OpChecks.Channels s, Tensor dy, Tensor argmax, Tensor dx,
                                              int pieces);

    protected abstract LossResult runSoftmaxCrossEntropy(DType dt, OpChecks.Rows rc, Tensor logits, Tensor labels,
                                                         Tensor dlogits);

    /**
     * Writes {the loss summed over the rows, correct predictions, -1} into {@code totals}; by
     * default the loss above, its result copied in (a device may keep it on the device).
     */
    protected void runSoftmaxCrossEntropy(DType dt, OpChecks.Rows rc, Tensor logits, Tensor labels, Tensor dlogits,
                                          Tensor totals) {
        LossResult r = runSoftmaxCrossEntropy(dt, rc, logits, labels, dlogits);
        totals.copyFrom(new double[] {r.meanLoss() * rc.rows(), r.correct(), -1});
    }

    protected abstract void runTopK(DType dt, OpChecks.Rows rc, Tensor logits, int k, Tensor out);

    protected abstract void runSgdUpdate(DType dt, Tensor param, Tensor grad, Tensor velocity, double lr,
                                         double momentum, double dampening, boolean nesterov, double weightDecay,
                                         boolean firstStep);

    protected abstract void runRmspropUpdate(DType dt, Tensor param, Tensor grad, Tensor squareAvg,
                                             Tensor momentumBuffer, double lr, double alpha, double eps,
                                             double weightDecay, double momentum);

    protected abstract void runAdamUpdate(DType dt, Tensor param, Tensor grad, Tensor m, Tensor v, double lr,
                                          double beta1, double beta2, double eps, double weightDecay,
                                          boolean decoupled, long step);
}
