package org.cnn4j.tensor;

/** Element types a tensor can hold. */
public enum DType {
    /** 32-bit float: training and inference. */
    FLOAT32(4),
    /** 64-bit float: gradient checks on the Java backend. */
    FLOAT64(8),
    /** 32-bit signed integer: labels and pooling arg-max indices. */
    INT32(4);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    public boolean isFloating() {
        return this != INT32;
    }
}
