package org.cnn4j.nn;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.tensor.Window2d;

/**
 * 2-D convolution (SPEC S1) with PyTorch semantics: weight [out, in/groups, kh, kw], bias
 * [out], stride, padding per side, dilation, groups. The input channel count is inferred
 * from the model; state it with {@link #inChannels(int)} to have it checked.
 */
public final class Conv2d extends Layer {
    private final int outChannels;
    private int inChannels = -1;
    private int kernelH, kernelW;
    private int strideH = 1, strideW = 1;
    private int padTop, padBottom, padLeft, padRight;
    private int dilationH = 1, dilationW = 1;
    private int groups = 1;
    private boolean bias = true;
    private Init init = Init.HE_UNIFORM;

    private Window2d win;
    private int cIn;
    private Parameter weight, biasParam;
    private Tensor input;

    /** {@code outChannels} filters of {@code kernel x kernel}, stride 1, no padding. */
    public Conv2d(int outChannels, int kernel) {
        this(outChannels, kernel, kernel);
    }

    public Conv2d(int outChannels, int kernelH, int kernelW) {
        if (outChannels < 1) {
            throw new IllegalArgumentException("Conv2d: output channels must be >= 1, got " + outChannels);
        }
        if (kernelH < 1 || kernelW < 1) {
            throw new IllegalArgumentException("Conv2d: kernel must be >= 1, got " + kernelH + "x" + kernelW);
        }
        this.outChannels = outChannels;
        this.kernelH = kernelH;
        this.kernelW = kernelW;
    }

    public Conv2d inChannels(int c) {
        this.inChannels = c;
        return this;
    }

    public Conv2d stride(int s) {
        return stride(s, s);
    }

    public Conv2d stride(int sh, int sw) {
        this.strideH = sh;
        this.strideW = sw;
        return this;
    }

    /** The same padding on every side. */
    public Conv2d padding(int p) {
        return padding(p, p, p, p);
    }

    public Conv2d padding(int top, int bottom, int left, int right) {
        this.padTop = top;
        this.padBottom = bottom;
        this.padLeft = left;
        this.padRight = right;
        return this;
    }

    public Conv2d dilation(int d) {
        return dilation(d, d);
    }

    public Conv2d dilation(int dh, int dw) {
        this.dilationH = dh;
        this.dilationW = dw;
        return this;
    }

    public Conv2d groups(int g) {
        this.groups = g;
        return this;
    }

    public Conv2d bias(boolean b) {
        this.bias = b;
        return this;
    }

    public Conv2d init(Init i) {
        this.init = i;
        return this;
    }

    public Window2d window() {
        return win;
    }

    public int groups() {
        return groups;
    }

    public Parameter weight() {
        return weight;
    }

    public Parameter biasParameter() {
        return biasParam;
    }

    @Override
    public String type() {
        return "Conv2d";
    }

    @Override
    public Map<String, Object> config() {
        return configOf("out_channels", outChannels, "in_channels", cIn, "kernel", List.of(kernelH, kernelW),
                "stride", List.of(strideH, strideW), "padding", List.of(padTop, padBottom, padLeft, padRight),
                "dilation", List.of(dilationH, dilationW), "groups", groups, "bias", bias, "init", init.name());
    }

    @Override
    protected Shape inferOutputShape(Shape in) {
        if (in.rank() != 3) {
            throw shapeError("expects a C x H x W input, got " + in.toCompactString());
        }
        cIn = in.dim(0);
        if (inChannels >= 0 && inChannels != cIn) {
            throw shapeError("declared " + inChannels + " input channels, but its input " + in.toCompactString()
                    + " has " + cIn);
        }
        if (groups < 1 || cIn % groups != 0 || outChannels % groups != 0) {
            throw shapeError("groups=" + groups + " must divide the input channels (" + cIn
                    + ") and the output channels (" + outChannels + ") (input " + in.toCompactString() + ")");
        }
        try {
            win = new Window2d(kernelH, kernelW, strideH, strideW, padTop, padBottom, padLeft, padRight,
                    dilationH, dilationW);
            win.checkFits(in.dim(1), in.dim(2), name());
        } catch (IllegalArgumentException e) {
            throw shapeError(e.getMessage() + " (input " + in.toCompactString() + ")");
        }
        return Shape.of(outChannels, win.outH(in.dim(1)), win.outW(in.dim(2)));
    }

    @Override
    public long parameterCount() {
        // SPEC S1.4: (F*F*C_in/groups + 1) * K
        return (long) outChannels * (cIn / groups) * kernelH * kernelW + (bias ? outChannels : 0);
    }

    @Override
    public List<String> warnings() {
        List<String> w = new ArrayList<>();
        int rows = win.unusedRows(inputShape().dim(1)), cols = win.unusedCols(inputShape().dim(2));
        if (rows > 0 || cols > 0) {
            w.add("stride " + strideH + "x" + strideW + " leaves the last " + rows + " input row(s) and " + cols
                    + " column(s) unused");
        }
        return w;
    }

    @Override
    public String details() {
        return cIn + "->" + outChannels + " " + win + (groups > 1 ? " g=" + groups : "") + (bias ? "" : " no-bias");
    }

    @Override
    protected void createParameters(SplittableRandom rng) {
        int fanIn = (cIn / groups) * kernelH * kernelW;
        int fanOut = (outChannels / groups) * kernelH * kernelW;
        Shape ws = Shape.of(outChannels, cIn / groups, kernelH, kernelW);
        double[] w = new double[ws.numel()];
        init.fill(w, fanIn, fanOut, rng);
        weight = addParameter("weight", ws, w);
        biasParam = bias ? addParameter("bias", Shape.of(outChannels), init.bias(outChannels, fanIn, rng)) : null;
    }

    @Override
    public Tensor forward(Tensor x, boolean training) {
        checkInput(x);
        input = x;
        Tensor y = buffer("y", outputShape().withBatch(x.shape().dim(0)));
        backend.conv2dForward(x, weight.value(), biasParam == null ? null : biasParam.value(), y, win, groups);
        return y;
    }

    @Override
    public Tensor backward(Tensor dy) {
        if (input == null) {
            throw new IllegalStateException(name() + ": backward() before forward()");
        }
        backend.conv2dBackwardFilter(input, dy, weight.grad(), biasParam == null ? null : biasParam.grad(), win,
                groups);
        if (!inputGradientRequired()) {
            return null;
        }
        Tensor dx = buffer("dx", input.shape());
        backend.conv2dBackwardData(dy, weight.value(), dx, win, groups);
        return dx;
    }
}
