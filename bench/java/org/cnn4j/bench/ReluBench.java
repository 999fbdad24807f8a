package org.cnn4j.bench;

import java.util.concurrent.TimeUnit;
import org.cnn4j.backend.Activation;
import org.cnn4j.backend.Backend;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * ReLU forward (y = max(x, 0), out of place) and backward (dx = dy where x > 0) on uniform
 * [-1, 1) data, so about half the signs flip at random (the case a branchy kernel
 * mispredicts). Shapes: {@code 64x6x28x28} (LeNet-5's first activation, 301,056 elements) and
 * {@code 32x64x32x32} (a CIFAR-sized 64-channel activation, 2,097,152 elements). Primary
 * result in ops/s, one op = one whole tensor.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ReluBench {

    @Param({"java", "cpu"})
    public String backend;

    @Param({"64x6x28x28", "32x64x32x32"})
    public String shape;

    private Backend be;
    private Tensor x, y, dy, dx;

    @Setup(Level.Trial)
    public void setUp() {
        String[] parts = shape.split("x");
        int[] dims = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            dims[i] = Integer.parseInt(parts[i]);
        }
        Shape s = Shape.of(dims);
        be = BenchSupport.backend(backend);
        x = BenchSupport.uniform(be, s, 1);
        dy = BenchSupport.uniform(be, s, 2);
        y = be.zeros(s);
        dx = be.zeros(s);
        be.activationForward(Activation.RELU, 0, x, y);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        BenchSupport.closeAll(x, y, dy, dx, be);
    }

    @Benchmark
    public Tensor forward() {
        be.activationForward(Activation.RELU, 0, x, y);
        BenchSupport.sync(be);
        return y;
    }

    @Benchmark
    public Tensor backward() {
        be.activationBackward(Activation.RELU, 0, x, y, dy, dx);
        BenchSupport.sync(be);
        return dx;
    }
}
