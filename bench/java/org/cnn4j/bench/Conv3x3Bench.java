package org.cnn4j.bench;

import java.util.concurrent.TimeUnit;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.NativeCpuBackend;
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
 * The 3x3 convolutions of ResNet-20 and VGG-11 at batch 128 on the native CPU backend, each
 * pass with {@code algorithm = gemm} (im2col and GEMM, the native backend's first form),
 * {@code direct} (the blocked direct kernels where they apply, else GEMM) and {@code auto}
 * (Winograd where the shape suits it, else as direct), so the algorithms are measured side by
 * side in one run. Primary
 * result in ops/s (one op = one batch); {@code :gflop} is the direct convolution's FLOP count
 * (2 * N * K * OH * OW * C * 9) per second, the same yardstick for both algorithms.
 *
 * <p>Shapes ({@code n x c x h x w -> k}, padding 1): {@code r20_3} 128x3x32x32 -> 16 (the
 * first layer), {@code r20_16} 128x16x32x32 -> 16,
 * {@code r20_32} 128x32x16x16 -> 32, {@code r20_64} 128x64x8x8 -> 64, {@code r20_16s2}
 * 128x16x32x32 -> 32 stride 2, {@code r20_32s2} 128x32x16x16 -> 64 stride 2, {@code vgg_64}
 * 128x64x16x16 -> 128, {@code vgg_128} 128x128x8x8 -> 256, {@code vgg_256} 128x256x8x8 -> 256,
 * {@code vgg_256s} 128x256x4x4 -> 512, {@code vgg_512} 128x512x4x4 -> 512, {@code vgg_512s}
 * 128x512x2x2 -> 512.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class Conv3x3Bench {

    @Param({"gemm", "direct", "auto"})
    public String algorithm;

    @Param({"r20_3", "r20_16", "r20_32", "r20_64", "r20_16s2", "r20_32s2", "vgg_64", "vgg_128", "vgg_256", "vgg_256s",
        "vgg_512", "vgg_512s"})
    public String shape;

    private Backend be;
    private Window2d win;
    private Tensor x, w, bias, y, dy, dx, dw, dbias;
    private double gflopPerOp;

    @Setup(Level.Trial)
    public void setUp() {
        // c, h (= w), k, stride
        int[] g = switch (shape) {
            case "r20_3" -> new int[] {3, 32, 16, 1};
            case "r20_16" -> new int[] {16, 32, 16, 1};
            case "r20_32" -> new int[] {32, 16, 32, 1};
            case "r20_64" -> new int[] {64, 8, 64, 1};
            case "r20_16s2" -> new int[] {16, 32, 32, 2};
            case "r20_32s2" -> new int[] {32, 16, 64, 2};
            case "vgg_64" -> new int[] {64, 16, 128, 1};
            case "vgg_128" -> new int[] {128, 8, 256, 1};
            case "vgg_256" -> new int[] {256, 8, 256, 1};
            case "vgg_256s" -> new int[] {256, 4, 512, 1};
            case "vgg_512" -> new int[] {512, 4, 512, 1};
            case "vgg_512s" -> new int[] {512, 2, 512, 1};
            default -> throw new IllegalArgumentException("unknown shape " + shape);
        };
        int n = 128, c = g[0], h = g[1], k = g[2];
        win = Window2d.square(3, g[3], 1);
        int oh = win.outH(h), ow = win.outW(h);
        gflopPerOp = 2.0 * n * k * oh * ow * c * 9 / 1e9;
        be = BenchSupport.backend("cpu");
        NativeCpuBackend.setConvAlgorithm(algorithm);
        x = BenchSupport.uniform(be, Shape.of(n, c, h, h), 1);
        w = BenchSupport.uniform(be, Shape.of(k, c, 3, 3), 2);
        bias = BenchSupport.uniform(be, Shape.of(k), 3);
        dy = BenchSupport.uniform(be, Shape.of(n, k, oh, ow), 4);
        y = be.zeros(Shape.of(n, k, oh, ow));
        dx = be.zeros(Shape.of(n, c, h, h));
        dw = be.zeros(Shape.of(k, c, 3, 3));
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
        NativeCpuBackend.setConvAlgorithm("auto");
        BenchSupport.closeAll(x, w, bias, y, dy, dx, dw, dbias, be);
    }

    @Benchmark
    public Tensor forward(FlopCounter flops) {
        be.conv2dForward(x, w, bias, y, win, 1);
        flops.gflop += gflopPerOp;
        return y;
    }

    @Benchmark
    public Tensor backwardData(FlopCounter flops) {
        be.conv2dBackwardData(dy, w, dx, win, 1);
        flops.gflop += gflopPerOp;
        return dx;
    }

    @Benchmark
    public Tensor backwardFilter(FlopCounter flops) {
        be.conv2dBackwardFilter(x, dy, dw, dbias, win, 1);
        flops.gflop += gflopPerOp;
        return dw;
    }
}
