package org.cnn4j.nn;

import org.cnn4j.backend.Activation;

/** The Tanh activation (SPEC S3). */
public final class Tanh extends ActivationLayer {
    public Tanh() {
        super(Activation.TANH, 0);
    }

    @Override
    public String type() {
        return "Tanh";
    }
}
