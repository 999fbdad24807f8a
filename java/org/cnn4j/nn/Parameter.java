package org.cnn4j.nn;

import org.cnn4j.tensor.Tensor;

/**
 * A learnable tensor and its gradient (same shape, same backend). Backward passes add into
 * {@link #grad()}; {@code zeroGrad} clears it.
 */
public final class Parameter implements AutoCloseable {
    private final String name;
    private final Tensor value;
    private final Tensor grad;

    public Parameter(String name, Tensor value, Tensor grad) {
        if (!value.shape().equals(grad.shape())) {
            throw new IllegalArgumentException("parameter " + name + ": value " + value.shape() + " and grad "
                    + grad.shape() + " differ");
        }
        this.name = name;
        this.value = value;
        this.grad = grad;
    }

    /** PyTorch-style state-dict name, e.g. {@code 0.weight}. */
    public String name() {
        return name;
    }

    public Tensor value() {
        return value;
    }

    public Tensor grad() {
        return grad;
    }

    @Override
    public void close() {
        value.close();
        grad.close();
    }
}
