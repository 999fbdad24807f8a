package org.cnn4j.bench;

import java.util.concurrent.TimeUnit;
import org.cnn4j.backend.Backend;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.tensor.Window2d;
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
 * 2x2 stride-2 max pooling (LeNet-5's first pool) on x [64,6,28,28] -> y [64,6,14,14], with
 * the argmax the backward pass needs. Primary result in ops/s, one op = one whole batch.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PoolBench {

    @Param({"java", "cpu"})
    public String backend;

    private Backend be;
    private final Window2d win = Window2d.square(2, 2, 0);
    private Tensor x, y, argmax, dy, dx;

    @Setup(Level.Trial)
    public void setUp() {
        be = BenchSupport.backend(backend);
        Shape in = Shape.of(64, 6, 28, 28);
        Shape out = Shape.of(64, 6, win.outH(28), win.outW(28));
        x = BenchSupport.uniform(be, in, 1);
        dy = BenchSupport.uniform(be, out, 2);
        y = be.zeros(out);
        argmax = be.zeros(out, DType.INT32);
        dx = be.zeros(in);
        be.maxPool2dForward(x, y, argmax, win); // a valid argmax for backward
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        BenchSupport.closeAll(x, y, argmax, dy, dx, be);
    }

    @Benchmark
    public Tensor forward() {
        be.maxPool2dForward(x, y, argmax, win);
        BenchSupport.sync(be);
        return y;
    }

    @Benchmark
    public Tensor backward() {
        be.maxPool2dBackward(dy, argmax, dx);
        BenchSupport.sync(be);
        return dx;
    }
}
