package org.cnn4j.bench;

import java.util.concurrent.TimeUnit;
import org.cnn4j.backend.Backend;
import org.cnn4j.nn.Models;
import org.cnn4j.nn.Sequential;
import org.cnn4j.optim.Adam;
import org.cnn4j.optim.Optimizer;
import org.cnn4j.optim.Sgd;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One whole LeNet-5 training step at batch 64 on synthetic data, the same step as
 * {@code cnn4j bench} (org.cnn4j.cli.BenchCommand): zero the gradients, forward in training
 * mode, fused softmax + cross-entropy, backward (no input gradient), optimizer step. The
 * primary result is in images/s ({@code @OperationsPerInvocation(64)}: one op = one image), so
 * {@code optimizer=adam} is directly comparable with {@code cnn4j bench}'s figure; at about
 * 2.5 MFLOP per image (bench/README.md), GFLOP/s is about images/s * 0.0025.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class TrainStepBench {
    static final int BATCH = 64;

    @Param({"java", "cpu"})
    public String backend;

    /** {@code sgd}: plain SGD, lr 0.01; {@code adam}: Adam, lr 1e-3 (what {@code cnn4j bench} uses). */
    @Param({"sgd", "adam"})
    public String optimizer;

    private Backend be;
    private Sequential model;
    private Optimizer opt;
    private Tensor x, labels, dlogits;

    @Setup(Level.Trial)
    public void setUp() {
        be = BenchSupport.backend(backend);
        model = Models.create("lenet5").initialize(be, 1);
        model.setInputGradientRequired(false);
        opt = switch (optimizer) {
            case "sgd" -> new Sgd(model.parameters(), 0.01);
            case "adam" -> new Adam(model.parameters(), 1e-3);
            default -> throw new IllegalArgumentException("unknown optimizer " + optimizer + " (sgd or adam)");
        };
        x = BenchSupport.uniform(be, model.inputShape().withBatch(BATCH), 7);
        labels = BenchSupport.labels(be, BATCH, model.outputShape().dim(0), 8);
        dlogits = be.zeros(model.outputShape().withBatch(BATCH));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        BenchSupport.closeAll(x, labels, dlogits, opt, model, be);
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public double step() {
        opt.zeroGrad();
        Tensor logits = model.forward(x, true);
        double loss = be.softmaxCrossEntropy(logits, labels, dlogits).meanLoss();
        model.backward(dlogits);
        opt.step();
        return loss;
    }
}
