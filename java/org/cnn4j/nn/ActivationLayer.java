package org.cnn4j.nn;

import java.util.Map;
import org.cnn4j.backend.Activation;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;

/** A point-wise activation layer (SPEC S3); ReLU, LeakyReLU, Sigmoid and Tanh are its kinds. */
public abstract class ActivationLayer extends Layer {
    private final Activation kind;
    private final double alpha;
    private Tensor input, output;
    // a ReLU run by the batch norm before it or the max pooling after it (Layers.fuse): passes through
    private boolean fused;

    protected ActivationLayer(Activation kind, double alpha) {
        this.kind = kind;
        this.alpha = alpha;
    }

    public Activation kind() {
        return kind;
    }

    @Override
    public Map<String, Object> config() {
        return kind == Activation.LEAKY_RELU ? configOf("negative_slope", alpha) : configOf();
    }

    @Override
    protected Shape inferOutputShape(Shape input) {
        return input;
    }

    /**
     * Whether a neighbouring layer computes this activation in its own passes: the batch norm
     * before it, or the max pooling after it.
     */
    public boolean fused() {
        return fused;
    }

    void fuse(boolean on) {
        fused = on;
    }

    @Override
    public Tensor forward(Tensor x, boolean training) {
        checkInput(x);
        if (fused) {
            return x;  // activated by the batch norm before, or by the max pooling after
        }
        input = x;
        output = buffer("y", x.shape());
        backend.activationForward(kind, alpha, x, output);
        return output;
    }

    @Override
    public Tensor backward(Tensor dy) {
        if (fused) {
            return dy;  // the neighbour's backward pass applies the activation's mask
        }
        Tensor dx = buffer("dx", input.shape());
        backend.activationBackward(kind, alpha, input, output, dy, dx);
        return dx;
    }
}
