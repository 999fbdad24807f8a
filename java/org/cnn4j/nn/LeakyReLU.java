package org.cnn4j.nn;

import org.cnn4j.backend.Activation;

/** Leaky ReLU: x for x > 0, negativeSlope * x otherwise. */
public final class LeakyReLU extends ActivationLayer {
    private final double negativeSlope;

    /** PyTorch's default slope, 0.01. */
    public LeakyReLU() {
        this(0.01);
    }

    public LeakyReLU(double negativeSlope) {
        super(Activation.LEAKY_RELU, negativeSlope);
        this.negativeSlope = negativeSlope;
    }

    public double negativeSlope() {
        return negativeSlope;
    }

    @Override
    public String type() {
        return "LeakyReLU";
    }

    @Override
    public String details() {
        return "slope=" + negativeSlope;
    }
}
