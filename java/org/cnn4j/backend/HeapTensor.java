package org.cnn4j.backend;

import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;

/** A tensor of the pure-Java backend: a Java array of its element type. */
final class HeapTensor extends Tensor {
    private final JavaBackend backend;
    private final boolean view;
    float[] f;
    double[] d;
    int[] i;

    HeapTensor(JavaBackend backend, Shape shape, DType dtype) {
        super(shape, dtype);
        this.backend = backend;
        this.view = false;
        int n = shape.numel();
        switch (dtype) {
            case FLOAT32 -> f = new float[n];
            case FLOAT64 -> d = new double[n];
            case INT32 -> i = new int[n];
            default -> throw new IllegalArgumentException("unsupported dtype " + dtype);
        }
    }

    private HeapTensor(HeapTensor parent, Shape shape) {
        super(shape, parent.dtype());
        this.backend = parent.backend;
        this.view = true;
        this.f = parent.f;
        this.d = parent.d;
        this.i = parent.i;
    }

    @Override
    public JavaBackend backend() {
        return backend;
    }

    @Override
    public Tensor reshape(Shape newShape) {
        ensureOpen();
        if (newShape.numel() != numel()) {
            throw new IllegalArgumentException("cannot reshape " + shape() + " (" + numel() + " elements) to "
                    + newShape + " (" + newShape.numel() + " elements)");
        }
        return new HeapTensor(this, newShape);
    }

    @Override
    public void readInto(float[] dst) {
        if (dtype() != DType.FLOAT32 || dst.length < numel()) {
            super.readInto(dst);
            return;
        }
        ensureOpen();
        System.arraycopy(f, 0, dst, 0, numel());
    }

    @Override
    public float[] toFloatArray() {
        ensureOpen();
        int n = numel();
        float[] out = new float[n];
        switch (dtype()) {
            case FLOAT32 -> System.arraycopy(f, 0, out, 0, n);
            case FLOAT64 -> {
                for (int k = 0; k < n; k++) {
                    out[k] = (float) d[k];
                }
            }
            case INT32 -> {
                for (int k = 0; k < n; k++) {
                    out[k] = i[k];
                }
            }
            default -> throw new IllegalStateException();
        }
        return out;
    }

    @Override
    public double[] toDoubleArray() {
        ensureOpen();
        int n = numel();
        double[] out = new double[n];
        switch (dtype()) {
            case FLOAT32 -> {
                for (int k = 0; k < n; k++) {
                    out[k] = f[k];
                }
            }
            case FLOAT64 -> System.arraycopy(d, 0, out, 0, n);
            case INT32 -> {
                for (int k = 0; k < n; k++) {
                    out[k] = i[k];
                }
            }
            default -> throw new IllegalStateException();
        }
        return out;
    }

    @Override
    public int[] toIntArray() {
        ensureOpen();
        if (dtype() != DType.INT32) {
            throw new IllegalStateException("toIntArray on a " + dtype() + " tensor");
        }
        return i.clone();
    }

    @Override
    public void copyFrom(float[] src, int length) {
        ensureOpen();
        checkLength(src.length, length);
        switch (dtype()) {
            case FLOAT32 -> System.arraycopy(src, 0, f, 0, length);
            case FLOAT64 -> {
                for (int k = 0; k < length; k++) {
                    d[k] = src[k];
                }
            }
            default -> throw new IllegalStateException("copyFrom(float[]) into a " + dtype() + " tensor");
        }
    }

    @Override
    public void copyFrom(double[] src, int length) {
        ensureOpen();
        checkLength(src.length, length);
        switch (dtype()) {
            case FLOAT32 -> {
                for (int k = 0; k < length; k++) {
                    f[k] = (float) src[k];
                }
            }
            case FLOAT64 -> System.arraycopy(src, 0, d, 0, length);
            default -> throw new IllegalStateException("copyFrom(double[]) into a " + dtype() + " tensor");
        }
    }

    @Override
    public void copyFrom(int[] src, int length) {
        ensureOpen();
        checkLength(src.length, length);
        if (dtype() != DType.INT32) {
            throw new IllegalStateException("copyFrom(int[]) into a " + dtype() + " tensor");
        }
        System.arraycopy(src, 0, i, 0, length);
    }

    @Override
    protected void release() {
        if (!view) {
            f = null;
            d = null;
            i = null;
        }
    }
}
