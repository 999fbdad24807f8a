package org.cnn4j.nn;

import org.cnn4j.backend.Activation;

/** The Sigmoid activation (SPEC S3). */
public final class Sigmoid extends ActivationLayer {
    public Sigmoid() {
        super(Activation.SIGMOID, 0);
    }

    @Override
    public String type() {
        return "Sigmoid";
    }
}
