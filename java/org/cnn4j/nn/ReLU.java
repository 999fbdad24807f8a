package org.cnn4j.nn;

import org.cnn4j.backend.Activation;

/** The ReLU activation (SPEC S3). */
public final class ReLU extends ActivationLayer {
    public ReLU() {
        super(Activation.RELU, 0);
    }

    @Override
    public String type() {
        return "ReLU";
    }
}
