package org.cnn4j.bench;

import java.util.concurrent.TimeUnit;
import org.cnn4j.backend.Backend;
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
 * The three convolution ops on the shapes that matter: primary result in ops/s (one op = one
 * whole batch), secondary result {@code :gflop} in GFLOP/s (see {@link FlopCounter}).
 *
 * <p>FLOP per op, counted as 2 * N * K * OH * OW * C * KH * KW (one multiply-add = 2 FLOP;
 * bias work not counted), the same for forward, backward-data and backward-filter:
 * <ul>
 *   <li>{@code lenet_conv1}: x [64,1,28,28], w [6,1,5,5], pad 2, y [64,6,28,28]: 15,052,800 FLOP (0.01505 GFLOP)</li>
 *   <li>{@code lenet_conv2}: x [64,6,14,14], w [16,6,5,5], no pad, y [64,16,10,10]: 30,720,000 FLOP (0.03072 GFLOP)</li>
 *   <li>{@code cifar_3x3_64}: x [32,64,32,32], w [64,64,3,3], pad 1, y [32,64,32,32]: 2,415,919,104 FLOP (2.416 GFLOP)</li>
 * </ul>
 * So GFLOP/s = ops/s * the GFLOP above, which is what the {@code :gflop} line shows.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ConvBench {

    @Param({"java", "cpu"})
    public String backend;

    @Param({"lenet_conv1", "lenet_conv2", "cifar_3x3_64"})
    public String shape;

    private Backend be;
    private Window2d win;
    private Tensor x, w, bias, y, dy, dx, dw, dbias;
    private double gflopPerOp;

    @Setup(Level.Trial)
    public void setUp() {
        // n, c, h, w, k (output channels), kernel, padding
        int[] g = switch (shape) {
            case "lenet_conv1" -> new int[] {64, 1, 28, 28, 6, 5, 2};
            case "lenet_conv2" -> new int[] {64, 6, 14, 14, 16, 5, 0};
            case "cifar_3x3_64" -> new int[] {32, 64, 32, 32, 64, 3, 1};
            default -> throw new IllegalArgumentException("unknown shape " + shape);
        };
        int n = g[0], c = g[1], h = g[2], wd = g[3], k = g[4], f = g[5], pad = g[6];
        win = Window2d.square(f, 1, pad);
        int oh = win.outH(h), ow = win.outW(wd);
        gflopPerOp = 2.0 * n * k * oh * ow * c * f * f / 1e9;
        be = BenchSupport.backend(backend);
        x = BenchSupport.uniform(be, Shape.of(n, c, h, wd), 1);
        w = BenchSupport.uniform(be, Shape.of(k, c, f, f), 2);
        bias = BenchSupport.uniform(be, Shape.of(k), 3);
        dy = BenchSupport.uniform(be, Shape.of(n, k, oh, ow), 4);
        y = be.zeros(Shape.of(n, k, oh, ow));
        dx = be.zeros(Shape.of(n, c, h, wd));
        dw = be.zeros(Shape.of(k, c, f, f));
        dbias = be.zeros(Shape.of(k));
    }

    /** backwardFilter accumulates into dw and dbias: start each iteration from zero. */
    @Setup(Level.Iteration)
    public void clearGradients() {
        be.fill(dw, 0);
        be.fill(dbias, 0);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        BenchSupport.closeAll(x, w, bias, y, dy, dx, dw, dbias, be);
    }

    @Benchmark
    public Tensor forward(FlopCounter flops) {
        be.conv2dForward(x, w, bias, y, win, 1);
        BenchSupport.sync(be);
        flops.gflop += gflopPerOp;
        return y;
    }

    @Benchmark
    public Tensor backwardData(FlopCounter flops) {
        be.conv2dBackwardData(dy, w, dx, win, 1);
        BenchSupport.sync(be);
        flops.gflop += gflopPerOp;
        return dx;
    }

    @Benchmark
    public Tensor backwardFilter(FlopCounter flops) {
        be.conv2dBackwardFilter(x, dy, dw, dbias, win, 1);
        BenchSupport.sync(be);
        flops.gflop += gflopPerOp;
        return dw;
    }
}
