package org.cnn4j.tensor;

import java.util.Arrays;

/**
 * An immutable list of dimension sizes. Activations are NCHW (batch, channels, rows,
 * columns); convolution weights are OIHW (output channels, input channels per group,
 * kernel rows, kernel columns); dense weights are (out features, in features), as in PyTorch.
 */
public final class Shape {
    private final int[] dims;

    private Shape(int[] dims) {
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0) {
                throw new IllegalArgumentException("negative dimension " + dims[i] + " at index " + i
                        + " in shape " + Arrays.toString(dims));
            }
        }
        this.dims = dims;
    }

    public static Shape of(int... dims) {
        return new Shape(dims.clone());
    }

    public int rank() {
        return dims.length;
    }

    public int dim(int i) {
        return dims[i < 0 ? dims.length + i : i];
    }

    public int[] dims() {
        return dims.clone();
    }

    /**
     * Number of elements; fails, naming the shape, if it does not fit an int (Java arrays and
     * the native kernels' element counts are int-indexed). The product is checked at every
     * step, so no size wraps around to a small or zero count.
     */
    public int numel() {
        long n = 1;
        for (int d : dims) {
            n *= d;  // each factor is below 2^31 and n stays at most 2^31 - 1 here: no long overflow
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("shape " + this + " has more than " + Integer.MAX_VALUE
                        + " elements, more than an array can hold");
            }
        }
        return (int) n;
    }

    /** The same shape with a leading batch dimension. */
    public Shape withBatch(int batch) {
        int[] d = new int[dims.length + 1];
        d[0] = batch;
        System.arraycopy(dims, 0, d, 1, dims.length);
        return new Shape(d);
    }

    /** This shape without its leading (batch) dimension. */
    public Shape dropBatch() {
        if (dims.length == 0) {
            throw new IllegalStateException("a scalar shape has no batch dimension");
        }
        return new Shape(Arrays.copyOfRange(dims, 1, dims.length));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    /** Written as {@code [64, 6, 28, 28]}. */
    @Override
    public String toString() {
        return Arrays.toString(dims);
    }

    /** Written as {@code 6x28x28} (used by summaries). */
    public String toCompactString() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < dims.length; i++) {
            if (i > 0) {
                sb.append('x');
            }
            sb.append(dims[i]);
        }
        return sb.toString();
    }
}
