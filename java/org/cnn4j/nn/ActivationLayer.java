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

    @Override
    public Tensor forward(Tensor x, boolean training) {
        checkInput(x);
        input = x;
        output = buffer("y", x.shape());
        backend.activationForward(kind, alpha, x, output);
        return output;
    }

    @Override
    public Tensor backward(Tensor dy) {
        Tensor dx = buffer("dx", input.shape());
        backend.activationBackward(kind, alpha, input, output, dy, dx);
        return dx;
    }
}
