package org.cnn4j.nn;

import org.cnn4j.backend.Activation;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Tensor;

/** Max pooling; backward routes each window's gradient to its arg-max (SPEC S2.5). */
public final class MaxPool2d extends Pool2d {
    private Tensor argmax;
    private Tensor input;
    private Tensor output;
    private boolean reluFirst;  // the ReLU before runs here, on the pooled values (Layers.fuse)

    /** kernel x kernel windows with stride = kernel. */
    public MaxPool2d(int kernel) {
        super(kernel);
    }

    public MaxPool2d stride(int s) {
        setStride(s);
        return this;
    }

    public MaxPool2d padding(int p) {
        setPadding(p);
        return this;
    }

    @Override
    public String type() {
        return "MaxPool2d";
    }

    /** Whether the ReLU before this layer runs here, after the pooling (see {@code Layers.fuse}). */
    public boolean reluFirst() {
        return reluFirst;
    }

    void reluFirst(boolean on) {
        reluFirst = on;
    }

    @Override
    public Tensor forward(Tensor x, boolean training) {
        checkInput(x);
        input = x;
        Tensor y = buffer("y", outputShape().withBatch(x.shape().dim(0)));
        argmax = training ? buffer("argmax", y.shape(), DType.INT32) : null;
        backend.maxPool2dForward(x, y, argmax, win);
        if (reluFirst) {
            backend.activationForward(Activation.RELU, 0, y, y);
        }
        output = y;
        return y;
    }

    @Override
    public Tensor backward(Tensor dy) {
        if (argmax == null) {
            throw new IllegalStateException(name() + ": backward() needs a forward pass in training mode");
        }
        if (reluFirst) {
            // the ReLU's mask: its output is positive exactly where its input is
            Tensor masked = buffer("dy_relu", dy.shape());
            backend.activationBackward(Activation.RELU, 0, output, output, dy, masked);
            dy = masked;
        }
        Tensor dx = buffer("dx", input.shape());
        backend.maxPool2dBackward(dy, argmax, dx);
        return dx;
    }
}
