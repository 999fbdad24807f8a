package org.cnn4j.backend;

import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.tensor.Window2d;

/**
 * What the native backends (CPU and CUDA) share: tensors are raw memory of the device
 * ({@link NativeTensor}), every op validates its tensors with the same {@link OpChecks} as the
 * pure-Java backend and then makes one call into the device's {@link NativeOps}; a failed
 * call becomes an exception naming the C function and the device's explanation.
 */
abstract class AbstractNativeBackend implements Backend {
    protected final NativeOps ops;

    protected AbstractNativeBackend(NativeOps ops) {
        this.ops = ops;
    }

    /** Called before an op that may use threads or a device context. */
    protected abstract void prepare();

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
        String msg = "cnn4j_" + fn + " failed on " + name() + ": " + ops.errorMessage(status);
        if (status == 2) {
            throw new OutOfMemoryError(msg);
        }
        throw new IllegalStateException(msg);
    }

    final NativeTensor t(String op, Tensor t) {
        if (t == null) {
            return null;
        }
        if (!(t instanceof NativeTensor nt) || nt.backend() != this) {
            throw OpChecks.error(op, "tensor " + t.shape() + " belongs to backend " + t.backend().name()
                    + ", not to this " + name() + " backend");
        }
        nt.address();
        return nt;
    }

    static long a(NativeTensor t) {
        return t == null ? 0 : t.address();
    }

    private static int b(boolean v) {
        return v ? 1 : 0;
    }

    @Override
    public Tensor zeros(Shape shape, DType dtype) {
        return new NativeTensor(this, shape, dtype);
    }

    @Override
    public void fill(Tensor x, double value) {
        NativeTensor nx = t("fill", x);
        prepare();
        check("fill", ops.fill(code(x.dtype()), nx.address(), x.numel(), value));
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        NativeTensor s = t("copy", src), d = t("copy", dst);
        OpChecks.sameNumel("copy", "src", src, "dst", dst);
        if (src.dtype() != dst.dtype()) {
            throw OpChecks.error("copy", "src is " + src.dtype() + ", dst is " + dst.dtype());
        }
        if (s.address() != d.address()) {
            prepare();
            check("copy", ops.copyDevice(s.address(), d.address(), s.bytes()));
        }
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        String op = "add";
        NativeTensor x = t(op, a), y = t(op, b), o = t(op, out);
        OpChecks.sameShape(op, "a", a, "b", b);
        OpChecks.sameShape(op, "a", a, "out", out);
        int dt = code(OpChecks.floating(op, a, b, out));
        prepare();
        check(op, ops.add(dt, x.address(), y.address(), o.address(), a.numel()));
    }

    @Override
    public void axpy(double alpha, Tensor x, Tensor y) {
        String op = "axpy";
        NativeTensor nx = t(op, x), ny = t(op, y);
        OpChecks.sameNumel(op, "x", x, "y", y);
        prepare();
        check(op, ops.axpy(code(OpChecks.floating(op, x, y)), alpha, nx.address(), ny.address(), x.numel()));
    }

    @Override
    public void scale(Tensor x, double alpha) {
        NativeTensor nx = t("scale", x);
        prepare();
        check("scale", ops.scale(code(OpChecks.floating("scale", x)), nx.address(), x.numel(), alpha));
    }

    private double reduce(String op, Tensor x, boolean squares) {
        NativeTensor nx = t(op, x);
        double[] out = new double[1];
        prepare();
        check("sum", ops.sum(code(OpChecks.floating(op, x)), nx.address(), x.numel(), b(squares), out));
        return out[0];
    }

    @Override
    public double sum(Tensor x) {
        return reduce("sum", x, false);
    }

    @Override
    public double sumOfSquares(Tensor x) {
        return reduce("sumOfSquares", x, true);
    }

    @Override
    public void conv2dForward(Tensor x, Tensor w, Tensor bias, Tensor y, Window2d win, int groups) {
        String op = "conv2dForward";
        NativeTensor nx = t(op, x), nw = t(op, w), nb = t(op, bias), ny = t(op, y);
        ConvDims d = OpChecks.conv2d(op, x, w, bias, y, win, groups);
        int dt = code(OpChecks.floating(op, x, w, bias, y));
        prepare();
        check("conv2d_forward", ops.conv2dForward(dt, nx.address(), nw.address(), a(nb), ny.address(), d));
    }

    @Override
    public void conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, Window2d win, int groups) {
        String op = "conv2dBackwardData";
        NativeTensor ndy = t(op, dy), nw = t(op, w), ndx = t(op, dx);
        ConvDims d = OpChecks.conv2d(op, dx, w, null, dy, win, groups);
        int dt = code(OpChecks.floating(op, dy, w, dx));
        prepare();
        check("conv2d_backward_data", ops.conv2dBackwardData(dt, ndy.address(), nw.address(), ndx.address(), d));
    }

    @Override
    public void conv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, Tensor dbias, Window2d win, int groups) {
        String op = "conv2dBackwardFilter";
        NativeTensor nx = t(op, x), ndy = t(op, dy), ndw = t(op, dw), ndb = t(op, dbias);
        ConvDims d = OpChecks.conv2d(op, x, dw, dbias, dy, win, groups);
        int dt = code(OpChecks.floating(op, x, dy, dw, dbias));
        prepare();
        check("conv2d_backward_filter", ops.conv2dBackwardFilter(dt, nx.address(), ndy.address(), ndw.address(), a(ndb), d));
    }

    @Override
    public void maxPool2dForward(Tensor x, Tensor y, Tensor argmax, Window2d win) {
        String op = "maxPool2dForward";
        NativeTensor nx = t(op, x), ny = t(op, y), na = t(op, argmax);
        OpChecks.Pool p = OpChecks.maxPool2dForward(op, x, y, argmax, win);
        int dt = code(OpChecks.floating(op, x, y));
        prepare();
        check("max_pool2d_forward", ops.maxPool2dForward(dt, nx.address(), ny.address(), a(na), p.planes(), p.h(),
                p.w(), p.oh(), p.ow(), win.kernelH(), win.kernelW(), win.strideH(), win.strideW(), win.padTop(),
                win.padLeft(), win.dilationH(), win.dilationW()));
    }

    @Override
    public void maxPool2dBackward(Tensor dy, Tensor argmax, Tensor dx) {
        String op = "maxPool2dBackward";
        NativeTensor ndy = t(op, dy), na = t(op, argmax), ndx = t(op, dx);
        OpChecks.PoolBackward p = OpChecks.maxPool2dBackward(op, dy, argmax, dx);
        int dt = code(OpChecks.floating(op, dy, dx));
        prepare();
        check("max_pool2d_backward", ops.maxPool2dBackward(dt, ndy.address(), na.address(), ndx.address(),
                p.planes(), p.inPlane(), p.outPlane()));
    }

    @Override
    public void avgPool2dForward(Tensor x, Tensor y, Window2d win, boolean countIncludePad) {
        String op = "avgPool2dForward";
        NativeTensor nx = t(op, x), ny = t(op, y);
        OpChecks.Pool p = OpChecks.pool2d(op, x, y, win);
        int dt = code(OpChecks.floating(op, x, y));
        prepare();
        check("avg_pool2d_forward", ops.avgPool2dForward(dt, nx.address(), ny.address(), p.planes(), p.h(), p.w(),
                p.oh(), p.ow(), win.kernelH(), win.kernelW(), win.strideH(), win.strideW(), win.padTop(), win.padLeft(),
                win.dilationH(), win.dilationW(), b(countIncludePad)));
    }

    @Override
    public void avgPool2dBackward(Tensor dy, Tensor dx, Window2d win, boolean countIncludePad) {
        String op = "avgPool2dBackward";
        NativeTensor ndy = t(op, dy), ndx = t(op, dx);
        OpChecks.Pool p = OpChecks.pool2d(op, dx, dy, win);
        int dt = code(OpChecks.floating(op, dy, dx));
        prepare();
        check("avg_pool2d_backward", ops.avgPool2dBackward(dt, ndy.address(), ndx.address(), p.planes(), p.h(), p.w(),
                p.oh(), p.ow(), win.kernelH(), win.kernelW(), win.strideH(), win.strideW(), win.padTop(), win.padLeft(),
                win.dilationH(), win.dilationW(), b(countIncludePad)));
    }

    @Override
    public void activationForward(Activation act, double alpha, Tensor x, Tensor y) {
        String op = "activationForward(" + act + ")";
        NativeTensor nx = t(op, x), ny = t(op, y);
        OpChecks.sameNumel(op, "x", x, "y", y);
        int dt = code(OpChecks.floating(op, x, y));
        prepare();
        check("activation_forward", ops.activationForward(dt, act.ordinal(), alpha, nx.address(), ny.address(),
                x.numel()));
    }

    @Override
    public void activationBackward(Activation act, double alpha, Tensor x, Tensor y, Tensor dy, Tensor dx) {
        String op = "activationBackward(" + act + ")";
        NativeTensor nx = t(op, x), ny = t(op, y), ndy = t(op, dy), ndx = t(op, dx);
        OpChecks.sameNumel(op, "x", x, "dy", dy);
        OpChecks.sameNumel(op, "y", y, "dy", dy);
        OpChecks.sameNumel(op, "dx", dx, "dy", dy);
        int dt = code(OpChecks.floating(op, x, y, dy, dx));
        prepare();
        check("activation_backward", ops.activationBackward(dt, act.ordinal(), alpha, a(nx), a(ny),
                ndy.address(), ndx.address(), dy.numel()));
    }

    @Override
    public void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, boolean accumulate) {
        String op = "matmul";
        NativeTensor na = t(op, a), nb = t(op, b), nc = t(op, c);
        OpChecks.Gemm mnk = OpChecks.matmul(op, a, transA, b, transB, c);
        int dt = code(OpChecks.floating(op, a, b, c));
        prepare();
        check("matmul", ops.matmul(dt, b(transA), b(transB), mnk.m(), mnk.n(), mnk.k(), na.address(), nb.address(),
                nc.address(), b(accumulate)));
    }

    @Override
    public void biasAdd(Tensor y, Tensor bias) {
        String op = "biasAdd";
        NativeTensor ny = t(op, y), nb = t(op, bias);
        OpChecks.Channels s = OpChecks.channelSplit(op, y);
        OpChecks.shape(op, "bias", bias, Shape.of(s.channels()));
        int dt = code(OpChecks.floating(op, y, bias));
        prepare();
        check("bias_add", ops.biasAdd(dt, ny.address(), nb.address(), s.outer(), s.channels(), s.inner()));
    }

    @Override
    public void biasGrad(Tensor dy, Tensor dbias) {
        String op = "biasGrad";
        NativeTensor ndy = t(op, dy), nb = t(op, dbias);
        OpChecks.Channels s = OpChecks.channelSplit(op, dy);
        OpChecks.shape(op, "dbias", dbias, Shape.of(s.channels()));
        int dt = code(OpChecks.floating(op, dy, dbias));
        prepare();
        check("bias_grad", ops.biasGrad(dt, ndy.address(), nb.address(), s.outer(), s.channels(), s.inner()));
    }

    @Override
    public void batchNormForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, Tensor y,
                                 Tensor saveMean, Tensor saveInvStd, boolean batchStats, double momentum, double eps,
                                 boolean relu) {
        String op = "batchNormForward";
        NativeTensor nx = t(op, x), ng = t(op, gamma), nb = t(op, beta), rm = t(op, runningMean),
                rv = t(op, runningVar), ny = t(op, y), sm = t(op, saveMean), si = t(op, saveInvStd);
        OpChecks.Channels s = OpChecks.batchNorm(op, x, y, gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        int dt = code(OpChecks.floating(op, x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd));
        OpChecks.batchNormSettings(op, momentum, eps);
        prepare();
        check("batch_norm_forward", ops.batchNormForward(dt, nx.address(), ng.address(), nb.address(),
                rm.address(), rv.address(), ny.address(), sm.address(), si.address(), s.outer(), s.channels(), s.inner(), b(batchStats),
                momentum, eps, b(relu)));
    }

    @Override
    public void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor dx,
                                  Tensor dgamma, Tensor dbeta, boolean batchStats, Tensor reluY) {
        String op = "batchNormBackward";
        NativeTensor nx = t(op, x), ndy = t(op, dy), ng = t(op, gamma), sm = t(op, saveMean), si = t(op, saveInvStd),
                ndx = t(op, dx), dg = t(op, dgamma), db = t(op, dbeta), nry = t(op, reluY);
        OpChecks.Channels s = OpChecks.batchNorm(op, x, dy, gamma, saveMean, saveInvStd, dgamma, dbeta);
        if (dx != null) {
            OpChecks.sameShape(op, "x", x, "dx", dx);
        }
        if (reluY != null) {
            OpChecks.sameShape(op, "x", x, "reluY", reluY);
        }
        int dt = code(OpChecks.floating(op, x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, reluY));
        prepare();
        check("batch_norm_backward", ops.batchNormBackward(dt, nx.address(), ndy.address(), ng.address(),
                sm.address(), si.address(), a(ndx), dg.address(), db.address(), s.outer(), s.channels(), s.inner(), b(batchStats),
                a(nry)));
    }

    @Override
    public void dropoutForward(Tensor x, Tensor y, Tensor mask, double p, long seed) {
        String op = "dropoutForward";
        NativeTensor nx = t(op, x), ny = t(op, y), nm = t(op, mask);
        OpChecks.sameShape(op, "x", x, "y", y);
        OpChecks.sameShape(op, "x", x, "mask", mask);
        OpChecks.dropoutProbability(op, p);
        int dt = code(OpChecks.floating(op, x, y, mask));
        prepare();
        check("dropout_forward", ops.dropoutForward(dt, nx.address(), ny.address(), nm.address(), x.numel(), p,
                seed));
    }

    @Override
    public void multiply(Tensor a, Tensor b, Tensor out) {
        String op = "multiply";
        NativeTensor x = t(op, a), y = t(op, b), o = t(op, out);
        OpChecks.sameShape(op, "a", a, "b", b);
        OpChecks.sameShape(op, "a", a, "out", out);
        prepare();
        check(op, ops.multiply(code(OpChecks.floating(op, a, b, out)), x.address(), y.address(), o.address(),
                a.numel()));
    }

    @Override
    public void maxoutForward(Tensor x, Tensor y, Tensor argmax, int pieces) {
        String op = "maxoutForward";
        NativeTensor nx = t(op, x), ny = t(op, y), na = t(op, argmax);
        OpChecks.Channels s = OpChecks.maxout(op, x, y, argmax, pieces);
        int dt = code(OpChecks.floating(op, x, y));
        prepare();
        check("maxout_forward", ops.maxoutForward(dt, nx.address(), ny.address(), na.address(), s.outer(), s.channels(), s.inner(),
                pieces));
    }

    @Override
    public void maxoutBackward(Tensor dy, Tensor argmax, Tensor dx, int pieces) {
        String op = "maxoutBackward";
        NativeTensor ndy = t(op, dy), na = t(op, argmax), ndx = t(op, dx);
        OpChecks.Channels s = OpChecks.maxout(op, dx, dy, argmax, pieces);
        int dt = code(OpChecks.floating(op, dy, dx));
        prepare();
        check("maxout_backward", ops.maxoutBackward(dt, ndy.address(), na.address(), ndx.address(), s.outer(), s.channels(),
                s.inner(), pieces));
    }

    @Override
    public void copyChannels(Tensor src, int srcOffset, Tensor dst, int dstOffset, int count) {
        String op = "copyChannels";
        NativeTensor ns = t(op, src), nd = t(op, dst);
        OpChecks.ChannelCopy s = OpChecks.copyChannels(op, src, srcOffset, dst, dstOffset, count);
        prepare();
        check("copy_channels", ops.copyChannels(ns.address(), s.srcChannels(), srcOffset, nd.address(), s.dstChannels(), dstOffset, count,
                s.outer(), s.inner(), src.dtype().bytes()));
    }

    @Override
    public LossResult softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits) {
        String op = "softmaxCrossEntropy";
        NativeTensor nl = t(op, logits), nlab = t(op, labels), nd = t(op, dlogits);
        OpChecks.Rows nc = OpChecks.classification(op, logits, labels);
        if (dlogits != null) {
            OpChecks.shape(op, "dlogits", dlogits, logits.shape());
        }
        int dt = code(OpChecks.floating(op, logits, dlogits));
        double[] r = new double[3];
        prepare();
        int st = ops.softmaxCrossEntropy(dt, nl.address(), nlab.address(), a(nd), nc.rows(), nc.classes(), 1.0 / nc.rows(), r);
        if (st != 0 && r[2] >= 0) {
            int row = (int) r[2];
            throw new IllegalArgumentException("label " + labels.toIntArray()[row] + " at row " + row
                    + " is outside [0, " + nc.classes() + ")");
        }
        check("softmax_cross_entropy", st);
        return new LossResult(r[0] / nc.rows(), (int) r[1]);
    }

    @Override
    public void topK(Tensor logits, int k, Tensor out) {
        String op = "topK";
        NativeTensor nl = t(op, logits), no = t(op, out);
        OpChecks.Rows rc = OpChecks.topK(op, logits, k, out);
        int dt = code(OpChecks.floating(op, logits));
        prepare();
        check("top_k", ops.topK(dt, nl.address(), rc.rows(), rc.classes(), k, no.address()));
    }

    @Override
    public void sgdUpdate(Tensor param, Tensor grad, Tensor velocity, double lr, double momentum, double dampening,
                          boolean nesterov, double weightDecay, boolean firstStep) {
        String op = "sgdUpdate";
        NativeTensor p = t(op, param), g = t(op, grad), v = t(op, velocity);
        OpChecks.optimizerState(op, param, grad, OpChecks.SGD_STATE, velocity);
        int dt = code(OpChecks.floating(op, param, grad, velocity));
        prepare();
        check("sgd_update", ops.sgdUpdate(dt, p.address(), g.address(), a(v), param.numel(), lr,
                v == null ? 0 : momentum, dampening, b(nesterov), weightDecay, b(firstStep)));
    }

    @Override
    public void rmspropUpdate(Tensor param, Tensor grad, Tensor squareAvg, Tensor momentumBuffer, double lr,
                              double alpha, double eps, double weightDecay, double momentum) {
        String op = "rmspropUpdate";
        NativeTensor p = t(op, param), g = t(op, grad), s = t(op, squareAvg), mb = t(op, momentumBuffer);
        OpChecks.optimizerState(op, param, grad, OpChecks.RMSPROP_STATE, squareAvg, momentumBuffer);
        int dt = code(OpChecks.floating(op, param, grad, squareAvg, momentumBuffer));
        prepare();
        check("rmsprop_update", ops.rmspropUpdate(dt, p.address(), g.address(), s.address(), a(mb),
                param.numel(), lr, alpha, eps, weightDecay, mb == null ? 0 : momentum));
    }

    @Override
    public void adamUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2,
                           double eps, double weightDecay, boolean decoupled, long step) {
        String op = "adamUpdate";
        NativeTensor p = t(op, param), g = t(op, grad), nm = t(op, m), nv = t(op, v);
        OpChecks.optimizerState(op, param, grad, OpChecks.ADAM_STATE, m, v);
        OpChecks.adamStep(op, step);
        int dt = code(OpChecks.floating(op, param, grad, m, v));
        prepare();
        check("adam_update", ops.adamUpdate(dt, p.address(), g.address(), nm.address(), nv.address(),
                param.numel(), lr, beta1, beta2, eps, weightDecay, b(decoupled), step));
    }

}
