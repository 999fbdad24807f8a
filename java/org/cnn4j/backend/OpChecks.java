package org.cnn4j.backend;

import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.tensor.Window2d;

/**
 * Shape and type validation shared by every backend, run before each op touches storage,
 * so that a bad call fails with a message naming the op, the argument, the shape seen and the
 * shape expected (native kernels do not bounds-check).
 */
public final class OpChecks {
    /** Names of the optimizer state tensors, for messages. */
    public static final String[] SGD_STATE = {"velocity"};
    public static final String[] RMSPROP_STATE = {"squareAvg", "momentumBuffer"};
    public static final String[] ADAM_STATE = {"m", "v"};

    private OpChecks() {
    }

    /** The totals of a loss left on the device: FLOAT64 [3]. */
    public static void lossTotals(String op, Tensor totals) {
        shape(op, "totals", totals, Shape.of(3));
        if (totals.dtype() != DType.FLOAT64) {
            throw error(op, "totals must be FLOAT64, got " + totals.dtype());
        }
    }

    public static IllegalArgumentException error(String op, String message) {
        return new IllegalArgumentException(op + ": " + message);
    }

    public static void rank(String op, String name, Tensor t, int rank) {
        if (t.shape().rank() != rank) {
            throw error(op, name + " must have rank " + rank + ", got shape " + t.shape());
        }
    }

    public static void shape(String op, String name, Tensor t, Shape expected) {
        if (!t.shape().equals(expected)) {
            throw error(op, name + " has shape " + t.shape() + ", expected " + expected);
        }
    }

    public static void sameShape(String op, String nameA, Tensor a, String nameB, Tensor b) {
        if (!a.shape().equals(b.shape())) {
            throw error(op, nameA + " " + a.shape() + " and " + nameB + " " + b.shape() + " must have the same shape");
        }
    }

    public static void sameNumel(String op, String nameA, Tensor a, String nameB, Tensor b) {
        if (a.numel() != b.numel()) {
            throw error(op, nameA + " " + a.shape() + " and " + nameB + " " + b.shape()
                    + " must have the same number of elements");
        }
    }

    /** All floating tensors of an op share one dtype; returns it. Null tensors are skipped. */
    public static DType floating(String op, Tensor... ts) {
        DType dt = null;
        for (Tensor t : ts) {
            if (t == null) {
                continue;
            }
            if (!t.dtype().isFloating()) {
                throw error(op, "expected a floating tensor, got " + t.dtype() + " " + t.shape());
            }
            if (dt == null) {
                dt = t.dtype();
            } else if (dt != t.dtype()) {
                throw error(op, "mixed element types " + dt + " and " + t.dtype());
            }
        }
        return dt;
    }

    public static void int32(String op, String name, Tensor t) {
        if (t.dtype() != DType.INT32) {
            throw error(op, name + " must be INT32, got " + t.dtype());
        }
    }

    /** Validates a convolution's tensors and returns its sizes. */
    public static ConvDims conv2d(String op, Tensor x, Tensor w, Tensor bias, Tensor y, Window2d win, int groups) {
        rank(op, "input", x, 4);
        rank(op, "weight", w, 4);
        int n = x.shape().dim(0), c = x.shape().dim(1), h = x.shape().dim(2), wd = x.shape().dim(3);
        int k = w.shape().dim(0);
        if (groups < 1 || c % groups != 0 || k % groups != 0) {
            throw error(op, "groups=" + groups + " must divide input channels " + c + " and output channels " + k);
        }
        Shape wExpected = Shape.of(k, c / groups, win.kernelH(), win.kernelW());
        shape(op, "weight", w, wExpected);
        win.checkFits(h, wd, op);
        if (bias != null) {
            shape(op, "bias", bias, Shape.of(k));
        }
        int oh = win.outH(h), ow = win.outW(wd);
        shape(op, "output", y, Shape.of(n, k, oh, ow));
        return new ConvDims(n, c, h, wd, k, oh, ow, win, groups);
    }

    /** A pooling op's geometry: planes (batch x channels), input and output height and width. */
    public record Pool(int planes, int h, int w, int oh, int ow) {
    }

    /** Max pooling backward's geometry: planes and the input and output plane sizes. */
    public record PoolBackward(int planes, int inPlane, int outPlane) {
    }

    /** A tensor split at dimension 1: the product of the dimensions before it, its size, the product after it. */
    public record Channels(int outer, int channels, int inner) {
    }

    /** A matrix product's sizes: op(a) is m x k, op(b) is k x n. */
    public record Gemm(int m, int n, int k) {
    }

    /** Rows of scores and the number of classes. */
    public record Rows(int rows, int classes) {
    }

    /** A channel copy's geometry: outer and inner sizes shared by both tensors, and each one's channels. */
    public record ChannelCopy(int outer, int inner, int srcChannels, int dstChannels) {
    }

    /** Validates a pooling op's input and output. */
    public static Pool pool2d(String op, Tensor x, Tensor y, Window2d win) {
        rank(op, "input", x, 4);
        Shape s = x.shape();
        win.checkFits(s.dim(2), s.dim(3), op);
        int oh = win.outH(s.dim(2)), ow = win.outW(s.dim(3));
        shape(op, "output", y, Shape.of(s.dim(0), s.dim(1), oh, ow));
        return new Pool(s.dim(0) * s.dim(1), s.dim(2), s.dim(3), oh, ow);
    }

    /** The size of dimension 1 and the products of the dimensions before and after it. */
    public static Channels channelSplit(String op, Tensor y) {
        Shape s = y.shape();
        if (s.rank() < 2) {
            throw error(op, "tensor must have rank >= 2 (dimension 1 is the channel), got " + s);
        }
        int inner = 1;
        for (int i = 2; i < s.rank(); i++) {
            inner *= s.dim(i);
        }
        return new Channels(s.dim(0), s.dim(1), inner);
    }

    /** Validates matmul operands. */
    public static Gemm matmul(String op, Tensor a, boolean ta, Tensor b, boolean tb, Tensor c) {
        rank(op, "a", a, 2);
        rank(op, "b", b, 2);
        rank(op, "c", c, 2);
        int m = ta ? a.shape().dim(1) : a.shape().dim(0);
        int k = ta ? a.shape().dim(0) : a.shape().dim(1);
        int kb = tb ? b.shape().dim(1) : b.shape().dim(0);
        int n = tb ? b.shape().dim(0) : b.shape().dim(1);
        if (k != kb) {
            throw error(op, "inner dimensions differ: op(a) is " + m + "x" + k + " (a " + a.shape()
                    + (ta ? " transposed" : "") + "), op(b) is " + kb + "x" + n + " (b " + b.shape()
                    + (tb ? " transposed" : "") + ")");
        }
        shape(op, "c", c, Shape.of(m, n));
        return new Gemm(m, n, k);
    }

    /** Validates logits [N, classes] and labels [N]. */
    public static Rows classification(String op, Tensor logits, Tensor labels) {
        rank(op, "logits", logits, 2);
        int32(op, "labels", labels);
        shape(op, "labels", labels, Shape.of(logits.shape().dim(0)));
        return new Rows(logits.shape().dim(0), logits.shape().dim(1));
    }

    /** Validates max pooling forward (argmax may be null). */
    public static Pool maxPool2dForward(String op, Tensor x, Tensor y, Tensor argmax, Window2d win) {
        Pool p = pool2d(op, x, y, win);
        if (argmax != null) {
            int32(op, "argmax", argmax);
            shape(op, "argmax", argmax, y.shape());
        }
        return p;
    }

    /** Validates max pooling backward. */
    public static PoolBackward maxPool2dBackward(String op, Tensor dy, Tensor argmax, Tensor dx) {
        rank(op, "dy", dy, 4);
        rank(op, "dx", dx, 4);
        int32(op, "argmax", argmax);
        shape(op, "argmax", argmax, dy.shape());
        Shape s = dx.shape();
        if (s.dim(0) != dy.shape().dim(0) || s.dim(1) != dy.shape().dim(1)) {
            throw error(op, "dy " + dy.shape() + " and dx " + s + " differ in batch or channels");
        }
        return new PoolBackward(s.dim(0) * s.dim(1), s.dim(2) * s.dim(3), dy.shape().dim(2) * dy.shape().dim(3));
    }

    /** Validates top-k. */
    public static Rows topK(String op, Tensor logits, int k, Tensor out) {
        rank(op, "logits", logits, 2);
        int rows = logits.shape().dim(0), classes = logits.shape().dim(1);
        if (k < 1 || k > classes) {
            throw error(op, "k=" + k + " must be in [1, " + classes + "]");
        }
        int32(op, "out", out);
        shape(op, "out", out, Shape.of(rows, k));
        return new Rows(rows, classes);
    }

    /** Every non-null state tensor of an optimizer update has the parameter's shape. */
    public static void optimizerState(String op, Tensor param, Tensor grad, String[] names, Tensor... state) {
        sameShape(op, "param", param, "grad", grad);
        for (int i = 0; i < state.length; i++) {
            if (state[i] != null) {
                sameShape(op, "param", param, names[i], state[i]);
            }
        }
    }

    public static void adamStep(String op, long step) {
        if (step < 1) {
            throw error(op, "step must count from 1, got " + step);
        }
    }

    /** Batch norm's settings, the same on every backend: eps > 0 and finite, momentum in [0, 1]. */
    public static void batchNormSettings(String op, double momentum, double eps) {
        if (!(eps > 0) || Double.isInfinite(eps)) {
            throw error(op, "eps must be > 0, got " + eps);
        }
        if (!(momentum >= 0 && momentum <= 1)) {
            throw error(op, "momentum must be in [0, 1], got " + momentum);
        }
    }

    /** Validates batch norm's tensors. */
    public static Channels batchNorm(String op, Tensor x, Tensor y, Tensor... perChannel) {
        Channels s = channelSplit(op, x);
        if (y != null) {
            sameShape(op, "x", x, "y", y);
        }
        for (Tensor t : perChannel) {
            if (t != null) {
                shape(op, "per-channel tensor", t, Shape.of(s.channels()));
            }
        }
        return s;
    }

    /** Validates maxout's tensors; the channels are y's. */
    public static Channels maxout(String op, Tensor x, Tensor y, Tensor argmax, int pieces) {
        if (pieces < 1) {
            throw error(op, "pieces must be >= 1, got " + pieces);
        }
        Channels s = channelSplit(op, x);
        if (s.channels() % pieces != 0) {
            throw error(op, "input channels " + s.channels() + " are not a multiple of pieces=" + pieces);
        }
        int[] dims = x.shape().dims().clone();
        dims[1] = s.channels() / pieces;
        shape(op, "output", y, Shape.of(dims));
        int32(op, "argmax", argmax);
        shape(op, "argmax", argmax, y.shape());
        return new Channels(s.outer(), dims[1], s.inner());
    }

    /** Validates a channel copy. */
    public static ChannelCopy copyChannels(String op, Tensor src, int srcOffset, Tensor dst, int dstOffset, int count) {
        Channels a = channelSplit(op, src), b = channelSplit(op, dst);
        if (src.shape().rank() != dst.shape().rank() || a.outer() != b.outer() || a.inner() != b.inner()) {
            throw error(op, "src " + src.shape() + " and dst " + dst.shape() + " must agree in every dimension but 1");
        }
        if (count < 0 || srcOffset < 0 || dstOffset < 0 || srcOffset + count > a.channels() || dstOffset + count > b.channels()) {
            throw error(op, "channels [" + srcOffset + ", " + (srcOffset + count) + ") of src " + src.shape()
                    + " to [" + dstOffset + ", " + (dstOffset + count) + ") of dst " + dst.shape() + " are out of range");
        }
        if (src.dtype() != dst.dtype()) {
            throw error(op, "src is " + src.dtype() + ", dst is " + dst.dtype());
        }
        return new ChannelCopy(a.outer(), a.inner(), a.channels(), b.channels());
    }

    public static void dropoutProbability(String op, double p) {
        if (!(p >= 0 && p < 1)) {
            throw error(op, "p must be in [0, 1), got " + p);
        }
    }
}
