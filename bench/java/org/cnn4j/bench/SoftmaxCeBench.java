package org.cnn4j.bench;

import java.util.concurrent.TimeUnit;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.LossResult;
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
 * The fused softmax + cross-entropy as training runs it: mean loss, top-1 count and the
 * gradient of the logits in one call. Shapes (batch x classes): {@code 64x10} (LeNet-5 on
 * MNIST) and {@code 256x1000} (an ImageNet-sized head). Primary result in ops/s, one op = one
 * whole batch.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SoftmaxCeBench {

    @Param({"java", "cpu"})
    public String backend;

    @Param({"64x10", "256x1000"})
    public String shape;

    private Backend be;
    private Tensor logits, labels, dlogits;

    @Setup(Level.Trial)
    public void setUp() {
        String[] parts = shape.split("x");
        int n = Integer.parseInt(parts[0]), classes = Integer.parseInt(parts[1]);
        be = BenchSupport.backend(backend);
        logits = BenchSupport.uniform(be, Shape.of(n, classes), 1);
        labels = BenchSupport.labels(be, n, classes, 2);
        dlogits = be.zeros(Shape.of(n, classes));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        BenchSupport.closeAll(logits, labels, dlogits, be);
    }

    @Benchmark
    public LossResult lossAndGradient() {
        return be.softmaxCrossEntropy(logits, labels, dlogits);
    }
}
