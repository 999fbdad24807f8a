package org.cnn4j.backend;

/** The point-wise activations every backend implements (SPEC S3). */
public enum Activation {
    RELU, LEAKY_RELU, SIGMOID, TANH
}
