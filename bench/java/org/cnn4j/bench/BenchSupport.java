package org.cnn4j.bench;

import java.util.SplittableRandom;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.JavaBackend;
import org.cnn4j.backend.NativeCpuBackend;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;

/** Shared helpers of the JMH benchmarks: backend creation and synthetic data. */
final class BenchSupport {
    /**
     * Compute threads of every backend: 2 by default, or the forked JVM's system property
     * {@code cnn4j.bench.threads} (pass it with {@code -jvmArgsAppend -Dcnn4j.bench.threads=N}).
     */
    static final int THREADS = Integer.getInteger("cnn4j.bench.threads", 2);

    private BenchSupport() {
    }

    /**
     * {@code java}: the pure-Java backend; {@code cpu}: the native CPU backend; {@code cuda}:
     * GPU 0 (pass {@code -p backend=cuda} on a GPU machine).
     */
    static Backend backend(String name) {
        return switch (name) {
            case "java" -> new JavaBackend(THREADS);
            case "cpu" -> NativeCpuBackend.create(THREADS);
            case "cuda" -> org.cnn4j.backend.CudaBackend.create(0);
            default -> throw new IllegalArgumentException("unknown backend '" + name + "' (java, cpu or cuda)");
        };
    }

    /** A FLOAT32 tensor of uniform values in [-1, 1), reproducible from the seed. */
    static Tensor uniform(Backend be, Shape shape, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] v = new float[shape.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        Tensor t = be.zeros(shape);
        t.copyFrom(v);
        return t;
    }

    /** An INT32 tensor of labels in [0, classes), reproducible from the seed. */
    static Tensor labels(Backend be, int n, int classes, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[] v = new int[n];
        for (int i = 0; i < n; i++) {
            v[i] = rng.nextInt(classes);
        }
        Tensor t = be.zeros(Shape.of(n), DType.INT32);
        t.copyFrom(v);
        return t;
    }

    /** Closes whatever is not null, in order. */
    static void closeAll(AutoCloseable... resources) {
        for (AutoCloseable r : resources) {
            if (r != null) {
                try {
                    r.close();
                } catch (Exception e) {
                    throw new IllegalStateException("closing " + r, e);
                }
            }
        }
    }

    /** Waits for the GPU (its ops are queued asynchronously), so that an op is timed, not its launch. */
    static void sync(Backend be) {
        if (be instanceof org.cnn4j.backend.CudaBackend gpu) {
            gpu.synchronize();
        }
    }
}
