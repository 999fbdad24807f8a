package org.cnn4j.backend;

import org.cnn4j.nativelib.Cnn4jNative;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;

/**
 * A tensor of a native backend: raw memory of its device (64-byte aligned host memory for
 * the CPU backend, device memory for CUDA), freed by {@link #close()}. A view ({@link #reshape}) shares its
 * root's memory, frees nothing, and refuses to be used once the root is closed.
 */
final class NativeTensor extends Tensor {
    private final AbstractNativeBackend backend;
    private final NativeTensor root;
    private long address;

    NativeTensor(AbstractNativeBackend backend, Shape shape, DType dtype) {
        super(shape, dtype);
        this.backend = backend;
        this.root = null;
        long bytes = (long) shape.numel() * dtype.bytes();
        long[] out = new long[1];
        int st = backend.alloc(bytes, out);
        if (st != 0 || out[0] == 0) {
            throw new OutOfMemoryError("allocation of " + bytes + " bytes for tensor " + shape + " " + dtype + " on "
                    + backend.name() + " failed: " + backend.errorMessage(st));
        }
        this.address = out[0];
        try {
            backend.check("fill", Cnn4jNative.cnn4j_fill(backend.ctx, AbstractNativeBackend.code(dtype), address, numel(), 0));
        } catch (RuntimeException | Error e) {
            backend.free(address);
            address = 0;
            throw e;
        }
    }

    private NativeTensor(NativeTensor parent, Shape shape) {
        super(shape, parent.dtype());
        this.backend = parent.backend;
        this.root = parent.root != null ? parent.root : parent;
        this.address = parent.address;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    /** The address of the first element, after checking that the memory is still live. */
    long address() {
        ensureOpen();
        if (root != null && root.isClosed()) {
            throw new IllegalStateException("view " + shape() + " of a closed tensor " + root.shape() + " was used");
        }
        return address;
    }

    long bytes() {
        return (long) numel() * dtype().bytes();
    }

    @Override
    public Tensor reshape(Shape newShape) {
        ensureOpen();
        if (newShape.numel() != numel()) {
            throw new IllegalArgumentException("cannot reshape " + shape() + " (" + numel() + " elements) to "
                    + newShape + " (" + newShape.numel() + " elements)");
        }
        return new NativeTensor(this, newShape);
    }

    @Override
    public void readInto(float[] dst) {
        if (dtype() != DType.FLOAT32 || dst.length < numel()) {
            super.readInto(dst);
            return;
        }
        backend.check("copy", backend.copyOut(address(), dst, bytes()));
    }

    @Override
    public float[] toFloatArray() {
        switch (dtype()) {
            case FLOAT32 -> {
                float[] out = new float[numel()];
                backend.check("copy", backend.copyOut(address(), out, bytes()));
                return out;
            }
            case FLOAT64 -> {
                double[] d = toDoubleArray();
                float[] out = new float[d.length];
                for (int k = 0; k < d.length; k++) {
                    out[k] = (float) d[k];
                }
                return out;
            }
            default -> {
                int[] v = toIntArray();
                float[] out = new float[v.length];
                for (int k = 0; k < v.length; k++) {
                    out[k] = v[k];
                }
                return out;
            }
        }
    }

    @Override
    public double[] toDoubleArray() {
        if (dtype() == DType.FLOAT64) {
            double[] out = new double[numel()];
            backend.check("copy", backend.copyOut(address(), out, bytes()));
            return out;
        }
        float[] f = dtype() == DType.FLOAT32 ? toFloatArray() : null;
        int[] v = f == null ? toIntArray() : null;
        double[] out = new double[numel()];
        for (int k = 0; k < out.length; k++) {
            out[k] = f != null ? f[k] : v[k];
        }
        return out;
    }

    @Override
    public int[] toIntArray() {
        if (dtype() != DType.INT32) {
            throw new IllegalStateException("toIntArray on a " + dtype() + " tensor");
        }
        int[] out = new int[numel()];
        backend.check("copy", backend.copyOut(address(), out, bytes()));
        return out;
    }

    @Override
    public void copyFrom(float[] src, int length) {
        checkLength(src.length, length);
        switch (dtype()) {
            case FLOAT32 -> backend.check("copy", backend.copyIn(src, address(), bytes()));
            case FLOAT64 -> {
                double[] d = new double[length];
                for (int k = 0; k < length; k++) {
                    d[k] = src[k];
                }
                copyFrom(d, length);
            }
            default -> throw new IllegalStateException("copyFrom(float[]) into a " + dtype() + " tensor");
        }
    }

    @Override
    public void copyFrom(double[] src, int length) {
        checkLength(src.length, length);
        switch (dtype()) {
            case FLOAT64 -> backend.check("copy", backend.copyIn(src, address(), bytes()));
            case FLOAT32 -> {
                float[] f = new float[length];
                for (int k = 0; k < length; k++) {
                    f[k] = (float) src[k];
                }
                copyFrom(f, length);
            }
            default -> throw new IllegalStateException("copyFrom(double[]) into a " + dtype() + " tensor");
        }
    }

    @Override
    public void copyFrom(int[] src, int length) {
        checkLength(src.length, length);
        if (dtype() != DType.INT32) {
            throw new IllegalStateException("copyFrom(int[]) into a " + dtype() + " tensor");
        }
        backend.check("copy", backend.copyIn(src, address(), bytes()));
    }

    @Override
    protected void release() {
        if (root == null && address != 0) {
            backend.free(address);
        }
        address = 0;
    }
}
