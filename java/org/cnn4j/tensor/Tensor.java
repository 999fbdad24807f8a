package org.cnn4j.tensor;

import org.cnn4j.backend.Backend;

/**
 * An n-dimensional array whose storage lives on one backend's device. Tensors own their
 * storage and free it on {@link #close()}; a view ({@link #reshape}) shares its parent's
 * storage and frees nothing. Using a closed tensor is an error.
 */
public abstract class Tensor implements AutoCloseable {
    private final Shape shape;
    private final DType dtype;
    private boolean closed;

    protected Tensor(Shape shape, DType dtype) {
        this.shape = shape;
        this.dtype = dtype;
    }

    public final Shape shape() {
        return shape;
    }

    public final DType dtype() {
        return dtype;
    }

    public final int numel() {
        return shape.numel();
    }

    public abstract Backend backend();

    /** A tensor of another shape with the same number of elements, sharing this storage. */
    public abstract Tensor reshape(Shape newShape);

    /** Copies the contents to a new float array (converting if needed). */
    public abstract float[] toFloatArray();

    /**
     * Copies the contents (converted to float) into dst[0, numel()); a float tensor's copy
     * allocates nothing.
     */
    public void readInto(float[] dst) {
        if (dst.length < numel()) {
            throw new IllegalArgumentException("readInto: " + dst.length + " floats for a tensor of " + numel());
        }
        float[] f = toFloatArray();
        System.arraycopy(f, 0, dst, 0, f.length);
    }

    /** Copies the contents to a new double array (converting if needed). */
    public abstract double[] toDoubleArray();

    /** Copies the contents to a new int array; only for {@link DType#INT32}. */
    public abstract int[] toIntArray();

    /** Overwrites the contents from {@code src}, which must hold exactly numel() values. */
    public final void copyFrom(float[] src) {
        copyFrom(src, src.length);
    }

    public final void copyFrom(double[] src) {
        copyFrom(src, src.length);
    }

    public final void copyFrom(int[] src) {
        copyFrom(src, src.length);
    }

    /** Overwrites the contents from the first {@code length} values of src; length must be numel(). */
    public abstract void copyFrom(float[] src, int length);

    public abstract void copyFrom(double[] src, int length);

    public abstract void copyFrom(int[] src, int length);

    /** Frees the storage now. Idempotent. */
    @Override
    public final void close() {
        if (!closed) {
            closed = true;
            release();
        }
    }

    public final boolean isClosed() {
        return closed;
    }

    protected abstract void release();

    /** Throws if this tensor was closed. Backends call it before touching storage. */
    public final void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("tensor " + shape + " " + dtype + " was used after close()");
        }
    }

    protected final void checkLength(int arrayLength, int length) {
        if (length > arrayLength) {
            throw new IllegalArgumentException("copy of " + length + " values from an array of " + arrayLength);
        }
        if (length != numel()) {
            throw new IllegalArgumentException("array of " + length + " values does not fit tensor " + shape
                    + " (" + numel() + " values)");
        }
    }

    @Override
    public String toString() {
        return "Tensor" + shape + " " + dtype + " on " + backend().name();
    }
}
