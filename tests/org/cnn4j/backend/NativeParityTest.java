package org.cnn4j.backend;

import static org.cnn4j.backend.FloatDoubleParityTest.assertClose;
import static org.cnn4j.backend.FloatDoubleParityTest.data;
import static org.cnn4j.backend.FloatDoubleParityTest.make;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.cnn4j.backend.FloatDoubleParityTest.ConvCfg;
import org.cnn4j.backend.FloatDoubleParityTest.PoolCfg;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.tensor.Window2d;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every op of {@link NativeCpuBackend} against the pure-Java backend in FLOAT64 (the
 * reference), on random shapes (odd sizes, every stride/padding/dilation/groups combination
 * of the foundation's tests, batch 1), with every instruction-set path this CPU has
 * (AVX-512, AVX2, SSE2 baseline) and 1, 2 and 3 threads.
 *
 * <p>Tolerance: {@code max |native - reference| <= tol * max(1, max |reference|)} per output,
 * with tol = 1e-5 for native FLOAT32 (the kernels use FMA and another summation order than
 * Java) and 1e-11 for native FLOAT64. Max pooling's outputs and arg-max are compared exactly.
 */
class NativeParityTest extends NativeComparison {
    static final double F32_TOL = 1e-5;
    static final double F64_TOL = 1e-11;

    /** The instruction sets this CPU can run, widest first. */
    static List<String> isas() {
        if (!NativeCpuBackend.isAvailable()) {
            return List.of("unavailable");
        }
        List<String> out = new ArrayList<>();
        int top = List.of(NativeCpuBackend.ISA_NAMES).indexOf(NativeCpuBackend.supportedIsa());
        for (int i = top; i >= 0; i--) {
            out.add(NativeCpuBackend.ISA_NAMES[i]);
        }
        return out;
    }

    private NativeCpuBackend use(String isa, int threads) {
        NativeCpuBackend.setIsa(isa);
        return natives[threads - 1];
    }

    private static double tol(DType dt) {
        return dt == DType.FLOAT32 ? F32_TOL : F64_TOL;
    }

    /** Convolutions: the foundation's random settings, plus shapes large enough to use every thread. */
    static Stream<Arguments> convCases() {
        List<ConvCfg> cfgs = new ArrayList<>(FloatDoubleParityTest.randomConvs(2024, 16, 3));
        cfgs.addAll(FloatDoubleParityTest.randomConvs(99, 6, 5));
        cfgs.add(new ConvCfg(5, 4, 11, 9, 6, new Window2d(3, 3, 1, 2, 1, 0, 1, 1, 1, 2), 2));
        // batch 1, big enough to split the GEMM itself across threads
        cfgs.add(new ConvCfg(1, 16, 21, 19, 33, new Window2d(3, 3, 1, 1, 1, 1, 1, 1, 1, 1), 1));
        // images split across threads, private weight-gradient partials reduced
        cfgs.add(new ConvCfg(5, 12, 17, 15, 20, new Window2d(3, 3, 2, 1, 1, 2, 0, 1, 1, 2), 2));
        // 1x1 (no im2col), stride 1, and a LeNet-like first layer
        cfgs.add(new ConvCfg(3, 24, 9, 7, 40, new Window2d(1, 1, 1, 1, 0, 0, 0, 0, 1, 1), 1));
        cfgs.add(new ConvCfg(4, 1, 28, 28, 6, Window2d.square(5, 1, 2), 1));
        List<Arguments> out = new ArrayList<>();
        for (String isa : isas()) {
            for (int i = 0; i < cfgs.size(); i++) {
                out.add(Arguments.of(isa, 1 + i % 3, cfgs.get(i)));
            }
        }
        return out.stream();
    }

    private static final String[] CONV_OUTPUTS = {"forward y", "backward-data dx", "backward-filter dw",
        "backward-filter dbias"};

    @ParameterizedTest(name = "[{index}] {0} {1} thread(s) {2}")
    @MethodSource("convCases")
    void convolution(String isa, int threads, ConvCfg cfg) {
        NativeCpuBackend nb = use(isa, threads);
        double[][] want = FloatDoubleParityTest.runConv(ref, DType.FLOAT64, cfg, 31);
        for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            double[][] got = FloatDoubleParityTest.runConv(nb, dt, cfg, 31);
            for (int i = 0; i < want.length; i++) {
                assertClose(isa + " " + dt + " conv " + cfg + " " + CONV_OUTPUTS[i], want[i], got[i], tol(dt));
            }
        }
    }

    static Stream<Arguments> poolCases() {
        List<PoolCfg> cfgs = new ArrayList<>(FloatDoubleParityTest.randomPools(77, 9, 3));
        cfgs.add(new PoolCfg(3, 16, 23, 17, Window2d.square(3, 2, 1)));   // overlapping, padded, threaded
        cfgs.add(new PoolCfg(8, 32, 24, 24, Window2d.square(2, 2, 0)));   // LeNet-like, threaded
        cfgs.add(new PoolCfg(2, 3, 8, 71, Window2d.square(2, 2, 0)));     // rows of 35: two whole vectors and 3
        cfgs.add(new PoolCfg(2, 3, 9, 9, Window2d.square(2, 2, 0)));      // a last row and column no window reads
        cfgs.add(new PoolCfg(2, 3, 9, 11, new Window2d(3, 2, 2, 1, 1, 0, 1, 1, 2, 1)));  // dilated
        cfgs.add(new PoolCfg(4, 16, 16, 15, Window2d.square(1, 2, 0)));   // ResNet's shortcut subsample
        cfgs.add(new PoolCfg(3, 5, 6, 7, Window2d.square(3, 1, 0)));      // inside, overlapping
        cfgs.add(new PoolCfg(2, 4, 9, 9, new Window2d(2, 2, 3, 3, 0, 0, 0, 0, 2, 1)));  // inside, dilated, apart
        cfgs.add(new PoolCfg(65, 73, 8, 8, Window2d.square(8, 8, 0)));  // global: planes 8 at a time and 1, threaded
        cfgs.add(new PoolCfg(3, 7, 11, 10, new Window2d(3, 2, 3, 4, 0, 0, 0, 0, 1, 2)));  // narrow, strided, dilated, apart
        cfgs.add(new PoolCfg(2, 5, 9, 7, new Window2d(3, 3, 2, 1, 0, 0, 0, 0, 1, 1)));  // narrow, overlapping
        cfgs.add(new PoolCfg(3, 5, 6, 7, new Window2d(6, 7, 1, 1, 0, 0, 0, 0, 1, 1)));  // global with stride 1
        cfgs.add(new PoolCfg(3, 5, 8, 7, new Window2d(2, 7, 3, 1, 0, 0, 0, 0, 1, 1)));  // one window across, apart down
        List<Arguments> out = new ArrayList<>();
        for (int i = 0; i < cfgs.size(); i++) {
            out.add(Arguments.of(1 + i % 3, cfgs.get(i)));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "[{index}] {0} thread(s) {1}")
    @MethodSource("poolCases")
    void pooling(int threads, PoolCfg cfg) {
        double[][] want = FloatDoubleParityTest.runPool(ref, DType.FLOAT64, cfg, 5);
        for (String isa : isas()) {
            poolingOn(isa, use(isa, threads), want, cfg);
        }
    }

    private void poolingOn(String isa, NativeCpuBackend nb, double[][] want, PoolCfg cfg) {
        for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            String dt = isa + " " + type;
            double[][] got = FloatDoubleParityTest.runPool(nb, type, cfg, 5);
            assertArrayEquals(want[0], got[0], 0.0, dt + " max y " + cfg);
            assertArrayEquals(want[1], got[1], 0.0, dt + " max argmax " + cfg);
            for (int i = 2; i < want.length; i++) {
                assertClose(dt + " pool " + cfg + " output " + i, want[i], got[i], tol(type));
            }
            // inference: no arg-max output, same maxima
            SplittableRandom rng = new SplittableRandom(5);
            try (Tensor x = make(nb, type, cfg.x(), data(rng, cfg.x().numel(), -1, 1));
                 Tensor y = nb.zeros(cfg.y(), type)) {
                nb.maxPool2dForward(x, y, null, cfg.win());
                assertArrayEquals(want[0], y.toDoubleArray(), 0.0, dt + " max y without argmax " + cfg);
            }
        }
    }

    /**
     * The backward pass takes any arg-max in the plane, as dx[argmax] += dy says, not only
     * those inside their windows: here every third lies outside its window, the rest in it.
     */
    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("dtypes")
    void maxPoolingBackwardTakesAnyArgmax(DType dt) {
        Shape xs = Shape.of(2, 3, 6, 8), ys = Shape.of(2, 3, 3, 4);
        SplittableRandom rng = new SplittableRandom(9);
        int[] am = new int[ys.numel()];
        for (int q = 0; q < am.length; q++) {
            int i = q / 4 % 3, j = q % 4;
            am[q] = q % 3 == 0 ? rng.nextInt(48) : (2 * i + rng.nextInt(2)) * 8 + 2 * j + rng.nextInt(2);
        }
        double[] dyv = data(rng, ys.numel(), -1, 1);
        double[][] dx = new double[2][];
        Backend[] bs = {ref, use(NativeCpuBackend.supportedIsa(), 2)};
        for (int k = 0; k < 2; k++) {
            try (Tensor dy = make(bs[k], dt, ys, dyv); Tensor a = bs[k].zeros(ys, DType.INT32);
                 Tensor d = make(bs[k], dt, xs, data(rng, xs.numel(), -9, 9))) {
                a.copyFrom(am);
                bs[k].maxPool2dBackward(dy, a, d);
                dx[k] = d.toDoubleArray();
            }
        }
        assertClose(dt + " max pooling dx", dx[0], dx[1], tol(dt));
    }

    /**
     * NaNs propagate and ties go to the first maximum, exactly as in the Java backend, on every
     * path and instruction set (rows of 19 2x2 windows: a whole vector and a tail).
     */
    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("dtypes")
    void maxPoolingNaNsAndTies(DType dt) {
        for (String isa : isas()) {
            maxPoolingNaNsAndTiesOn(isa, use(isa, 2), dt);
        }
    }

    private void maxPoolingNaNsAndTiesOn(String isa, NativeCpuBackend nb, DType dt) {
        Window2d[] wins = {Window2d.square(2, 2, 0), Window2d.square(3, 1, 0), Window2d.square(3, 2, 1)};
        Shape xs = Shape.of(2, 3, 12, 38);
        SplittableRandom rng = new SplittableRandom(8);
        double[] v = new double[xs.numel()];
        for (int i = 0; i < v.length; i++) {
            int r = rng.nextInt(10);
            v[i] = r == 0 ? Double.NaN : r < 4 ? 1.0 : r - 4; // many ties, some NaNs
        }
        for (Window2d win : wins) {
            Shape ys = Shape.of(2, 3, win.outH(12), win.outW(38));
            double[][] out = new double[2][];
            double[][] idx = new double[2][];
            Backend[] bs = {ref, nb};
            for (int k = 0; k < 2; k++) {
                try (Tensor x = make(bs[k], dt, xs, v);
                     Tensor y = bs[k].zeros(ys, dt);
                     Tensor am = bs[k].zeros(ys, DType.INT32)) {
                    bs[k].maxPool2dForward(x, y, am, win);
                    out[k] = y.toDoubleArray();
                    idx[k] = am.toDoubleArray();
                }
            }
            assertArrayEquals(out[0], out[1], 0.0, isa + " " + dt + " max y " + win);
            assertArrayEquals(idx[0], idx[1], 0.0, isa + " " + dt + " argmax " + win);
        }
    }

    /** Batch norm (both modes), dropout masks, multiply, maxout and channel copies against Java. */
    @ParameterizedTest(name = "[{index}] {0} {1}")
    @MethodSource("normDropoutMaxoutShapes")
    void normalisationDropoutMaxout(DType dt, Shape s) {
        NativeCpuBackend nb = use(NativeCpuBackend.supportedIsa(), 2);
        List<double[]> want = runNormDropoutMaxout(ref, DType.FLOAT64, s);
        List<double[]> got = runNormDropoutMaxout(nb, dt, s);
        for (int i = 0; i < want.size(); i++) {
            assertClose(dt + " " + s + " " + NORM_DROPOUT_MAXOUT_OUTPUTS[i], want.get(i), got.get(i),
                    tolerance(NORM_DROPOUT_MAXOUT_OUTPUTS[i], dt));
        }
        double[] wm = want.get(4), gm = got.get(4);
        for (int i = 0; i < wm.length; i++) {
            assertEquals(wm[i] == 0, gm[i] == 0, dt + " " + s + " dropout mask element " + i);
        }
    }

    static Stream<Arguments> normDropoutMaxoutShapes() {
        List<Arguments> out = new ArrayList<>();
        for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            for (Shape s : List.of(Shape.of(4, 6, 5, 3), Shape.of(9, 6), Shape.of(1, 6, 33, 31))) {
                out.add(Arguments.of(dt, s));
            }
        }
        return out.stream();
    }

    static final String[] NORM_DROPOUT_MAXOUT_OUTPUTS = {"bn train y", "bn running stats", "bn train dx/dgamma/dbeta",
        "bn eval y and dx", "bn+relu train y, dx/dgamma/dbeta", "bn+relu eval y and dx", "bn+residual+relu train y",
        "bn+residual eval y", "dropout mask", "dropout y", "multiply", "maxout argmax", "maxout y", "maxout dx",
        "copyChannels"};

    /** Indices are exact (maxout's arg-max); values agree within ten times the type's tolerance. */
    static double tolerance(String output, DType dt) {
        return output.endsWith("argmax") ? 0 : tol(dt) * 10;
    }

    static List<double[]> runNormDropoutMaxout(Backend b, DType dt, Shape s) {
        SplittableRandom rng = new SplittableRandom(s.numel());
        int c = s.dim(1);
        Shape cs = Shape.of(c);
        List<double[]> out = new ArrayList<>();
        try (Tensor x = make(b, dt, s, data(rng, s.numel(), -2, 2));
             Tensor dy = make(b, dt, s, data(rng, s.numel(), -1, 1));
             Tensor g = make(b, dt, cs, data(rng, c, 0.5, 1.5));
             Tensor be = make(b, dt, cs, data(rng, c, -1, 1));
             Tensor rm = make(b, dt, cs, data(rng, c, -1, 1));
             Tensor rv = make(b, dt, cs, data(rng, c, 0.5, 2));
             Tensor y = b.zeros(s, dt);
             Tensor sm = b.zeros(cs, dt);
             Tensor si = b.zeros(cs, dt);
             Tensor dx = b.zeros(s, dt);
             Tensor dg = make(b, dt, cs, data(rng, c, -1, 1));
             Tensor db = make(b, dt, cs, data(rng, c, -1, 1))) {
            b.batchNormForward(x, g, be, rm, rv, y, sm, si, true, 0.1, 1e-5);
            out.add(y.toDoubleArray());
            out.add(concat(rm.toDoubleArray(), rv.toDoubleArray()));
            b.batchNormBackward(x, dy, g, sm, si, dx, dg, db, true);
            out.add(concat(dx.toDoubleArray(), concat(dg.toDoubleArray(), db.toDoubleArray())));
            b.batchNormForward(x, g, be, rm, rv, y, sm, si, false, 0.1, 1e-5);
            b.batchNormBackward(x, dy, g, sm, si, dx, dg, db, false);
            out.add(concat(y.toDoubleArray(), dx.toDoubleArray()));
            // the ReLU fused: dy counts where the output is positive
            b.batchNormForward(x, g, be, rm, rv, y, sm, si, true, 0.1, 1e-5, true);
            b.batchNormBackward(x, dy, g, sm, si, dx, dg, db, true, y);
            out.add(concat(y.toDoubleArray(), concat(dx.toDoubleArray(), concat(dg.toDoubleArray(), db.toDoubleArray()))));
            b.batchNormForward(x, g, be, rm, rv, y, sm, si, false, 0.1, 1e-5, true);
            b.batchNormBackward(x, dy, g, sm, si, dx, dg, db, false, y);
            out.add(concat(y.toDoubleArray(), dx.toDoubleArray()));
            // a residual block's shortcut added (dy stands for it), with and without the ReLU
            b.batchNormForward(x, g, be, rm, rv, y, sm, si, true, 0.1, 1e-5, true, dy);
            out.add(y.toDoubleArray());
            b.batchNormForward(x, g, be, rm, rv, y, sm, si, false, 0.1, 1e-5, false, dy);
            out.add(y.toDoubleArray());
            b.dropoutForward(x, y, dx, 0.3, 12345L);
            out.add(dx.toDoubleArray());
            out.add(y.toDoubleArray());
            b.multiply(x, dy, y);
            out.add(y.toDoubleArray());
            int[] d = s.dims().clone();
            d[1] /= 3;
            Shape ys = Shape.of(d);
            try (Tensor my = b.zeros(ys, dt);
                 Tensor am = b.zeros(ys, DType.INT32);
                 Tensor mdy = make(b, dt, ys, data(rng, ys.numel(), -1, 1));
                 Tensor mdx = b.zeros(s, dt);
                 Tensor wide = b.zeros(Shape.of(withChannels(s, c + 5)), dt)) {
                b.maxoutForward(x, my, am, 3);
                out.add(am.toDoubleArray());
                out.add(my.toDoubleArray());
                b.maxoutBackward(mdy, am, mdx, 3);
                out.add(mdx.toDoubleArray());
                b.fill(wide, 0.5);
                b.copyChannels(x, 1, wide, 3, c - 1);
                out.add(wide.toDoubleArray());
            }
        }
        return out;
    }

    private static int[] withChannels(Shape s, int c) {
        int[] d = s.dims().clone();
        d[1] = c;
        return d;
    }

    private static double[] concat(double[] a, double[] b) {
        double[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /**
     * Copy, add, axpy and scale on tensors large enough to run on several threads (each thread
     * a contiguous chunk; 600,001 elements, so the chunks end off the 64-element grain): every
     * element written, within the float tolerance of the reference, on 1, 2 and 3 threads.
     */
    @org.junit.jupiter.api.Test
    void largeElementWiseOpsSplitAcrossThreadsExactly() {
        Shape s = Shape.of(600_001);
        SplittableRandom rng = new SplittableRandom(9);
        double[] av = data(rng, s.numel(), -1, 1), bv = data(rng, s.numel(), -1, 1);
        for (int i = 0; i < av.length; i++) {  // float32 values, so float and double arithmetic agree
            av[i] = (float) av[i];
            bv[i] = Math.scalb(Math.rint(Math.scalb(bv[i], 10)), -10);
        }
        double[] want = null;
        for (int t = 0; t <= 3; t++) {
            Backend b = t == 0 ? ref : natives[t - 1];
            DType dt = t == 0 ? DType.FLOAT64 : DType.FLOAT32;
            try (Tensor a = make(b, dt, s, av); Tensor bb = make(b, dt, s, bv); Tensor c = b.zeros(s, dt);
                 Tensor d = b.zeros(s, dt)) {
                b.copy(a, c);          // c = a
                b.add(c, bb, d);       // d = a + b
                b.axpy(0.5, bb, d);    // d = a + 1.5 b
                b.scale(d, 0.25);      // d = (a + 1.5 b) / 4
                double[] got = concat(c.toDoubleArray(), d.toDoubleArray());
                if (t == 0) {
                    want = got;
                } else {
                    assertClose("copy, add, axpy, scale on " + t + " thread(s)", want, got, F32_TOL);
                }
            }
        }
    }

    /**
     * Batch-norm statistics of activations far from zero (mean 1000, spread 1, in a batch of
     * 64x32x32 per channel): the one-sweep moments must lose nothing to cancellation, and the
     * statistics must not depend on the thread count.
     */
    @org.junit.jupiter.api.Test
    void batchNormOfLargeOffsetsMatchesOnEveryThreadCount() {
        Shape s = Shape.of(64, 3, 32, 32), cs = Shape.of(3);
        SplittableRandom rng = new SplittableRandom(5);
        double[] xv = new double[s.numel()];
        for (int i = 0; i < xv.length; i++) {
            xv[i] = 1000 + rng.nextInt(-1024, 1025) / 1024.0;  // exact in float32
        }
        double[] dyv = data(rng, s.numel(), -1, 1);
        double[][] want = null;
        for (int t = 0; t <= 3; t++) {
            Backend b = t == 0 ? ref : natives[t - 1];
            DType dt = t == 0 ? DType.FLOAT64 : DType.FLOAT32;
            try (Tensor x = make(b, dt, s, xv);
                 Tensor dy = make(b, dt, s, dyv);
                 Tensor g = make(b, dt, cs, new double[] {1, 0.5, 2});
                 Tensor be = make(b, dt, cs, new double[] {0, 1, -1});
                 Tensor rm = b.zeros(cs, dt);
                 Tensor rv = make(b, dt, cs, new double[] {1, 1, 1});
                 Tensor y = b.zeros(s, dt);
                 Tensor sm = b.zeros(cs, dt);
                 Tensor si = b.zeros(cs, dt);
                 Tensor dx = b.zeros(s, dt);
                 Tensor dg = b.zeros(cs, dt);
                 Tensor db = b.zeros(cs, dt)) {
                b.batchNormForward(x, g, be, rm, rv, y, sm, si, true, 0.1, 1e-5);
                b.batchNormBackward(x, dy, g, sm, si, dx, dg, db, true);
                double[][] got = {y.toDoubleArray(), concat(rm.toDoubleArray(), rv.toDoubleArray()),
                    dx.toDoubleArray(), concat(dg.toDoubleArray(), db.toDoubleArray())};
                if (t == 0) {
                    want = got;
                    continue;
                }
                String[] what = {"y", "running mean and variance", "dx", "dgamma and dbeta"};
                for (int i = 0; i < got.length; i++) {
                    assertClose("batch norm, mean 1000, " + t + " thread(s): " + what[i], want[i], got[i], F32_TOL * 10);
                }
            }
        }
    }

    static Stream<Arguments> activationCases() {
        List<Arguments> out = new ArrayList<>();
        for (Activation act : Activation.values()) {
            for (Shape s : List.of(Shape.of(1, 3, 5, 7), Shape.of(7, 13), Shape.of(5, 4, 71, 73))) {
                out.add(Arguments.of(act, s));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "[{index}] {0} {1}")
    @MethodSource("activationCases")
    void activations(Activation act, Shape s) {
        for (int threads = 1; threads <= 3; threads++) {
            NativeCpuBackend nb = use(NativeCpuBackend.supportedIsa(), threads);
            double[][] want = FloatDoubleParityTest.runActivation(ref, DType.FLOAT64, act, s, 9);
            for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                double[][] got = FloatDoubleParityTest.runActivation(nb, dt, act, s, 9);
                assertClose(dt + " " + act + " forward " + s, want[0], got[0], tol(dt));
                assertClose(dt + " " + act + " backward " + s, want[1], got[1], tol(dt));
            }
        }
    }

    static Stream<Arguments> matmulCases() {
        int[][] mnk = {{1, 7, 5}, {1, 1, 1}, {13, 1, 9}, {5, 6, 1}, {37, 29, 23}, {1, 120, 400}, {100, 48, 40},
            {64, 120, 400}, {301, 33, 17}, {150, 64, 48}, {9, 700, 300}};
        List<Arguments> out = new ArrayList<>();
        for (String isa : isas()) {
            for (int[] s : mnk) {
                for (int t = 0; t < 4; t++) {
                    out.add(Arguments.of(isa, 1 + (s[0] + t) % 3, s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "[{index}] {0} {1} thread(s) m={2} n={3} k={4} ta={5} tb={6}")
    @MethodSource("matmulCases")
    void matmul(String isa, int threads, int m, int n, int k, boolean ta, boolean tb) {
        NativeCpuBackend nb = use(isa, threads);
        double[][] want = FloatDoubleParityTest.runMatmul(ref, DType.FLOAT64, m, n, k, ta, tb, 3);
        for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            double[][] got = FloatDoubleParityTest.runMatmul(nb, dt, m, n, k, ta, tb, 3);
            assertClose(isa + " " + dt + " matmul", want[0], got[0], tol(dt));
            assertClose(isa + " " + dt + " matmul accumulate", want[1], got[1], tol(dt));
        }
    }

    /** Softmax-CE, top-k, bias, element-wise ops, reductions and the three optimizers, in one sweep. */
    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("dtypes")
    void lossBiasElementwiseAndOptimizers(DType dt) {
        NativeCpuBackend nb = use(NativeCpuBackend.supportedIsa(), 2);
        for (Backend b : new Backend[] {ref, nb}) {
            assertEquals(b == ref ? "java" : "cpu", b.name());
        }
        List<double[]> want = runLossBiasElementwiseOptimizers(ref, DType.FLOAT64);
        List<double[]> got = runLossBiasElementwiseOptimizers(nb, dt);
        for (int i = 0; i < want.size(); i++) {
            assertClose(dt + " " + LOSS_BIAS_ELEMENTWISE_OPTIMIZER_OUTPUTS[i], want.get(i), got.get(i), tol(dt) * 10);
        }
    }

    static Stream<DType> dtypes() {
        return Stream.of(DType.FLOAT32, DType.FLOAT64);
    }

    static final String[] LOSS_BIAS_ELEMENTWISE_OPTIMIZER_OUTPUTS = {"loss/correct", "dlogits", "top-3", "biasAdd rank 4", "biasGrad rank 4",
        "biasAdd rank 2", "biasGrad rank 2", "add", "axpy", "scale", "sum/sumOfSquares", "fill/copy",
        "sgd", "sgd momentum", "sgd nesterov+wd", "rmsprop", "rmsprop momentum+wd", "adam", "adamw"};

    static List<double[]> runLossBiasElementwiseOptimizers(Backend b, DType dt) {
        SplittableRandom rng = new SplittableRandom(17);
        List<double[]> out = new ArrayList<>();
        int rows = 7, classes = 10;
        int[] labels = new int[rows];
        for (int i = 0; i < rows; i++) {
            labels[i] = rng.nextInt(classes);
        }
        try (Tensor logits = make(b, dt, Shape.of(rows, classes), data(rng, rows * classes, -5, 5));
             Tensor lab = b.fromArray(Shape.of(rows), labels);
             Tensor dl = b.zeros(Shape.of(rows, classes), dt);
             Tensor top = b.zeros(Shape.of(rows, 3), DType.INT32)) {
            LossResult r = b.softmaxCrossEntropy(logits, lab, dl);
            out.add(new double[] {r.meanLoss(), r.correct()});
            out.add(dl.toDoubleArray());
            b.topK(logits, 3, top);
            out.add(top.toDoubleArray());
            labels[3] = classes;
            lab.copyFrom(labels);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> b.softmaxCrossEntropy(logits, lab, dl));
            assertEquals("label 10 at row 3 is outside [0, 10)", e.getMessage());
        }
        for (Shape s : List.of(Shape.of(3, 5, 4, 7), Shape.of(6, 9))) {
            try (Tensor y = make(b, dt, s, data(rng, s.numel(), -1, 1));
                 Tensor bias = make(b, dt, Shape.of(s.dim(1)), data(rng, s.dim(1), -1, 1));
                 Tensor db = make(b, dt, Shape.of(s.dim(1)), data(rng, s.dim(1), -1, 1))) {
                b.biasAdd(y, bias);
                out.add(y.toDoubleArray());
                b.biasGrad(y, db);
                out.add(db.toDoubleArray());
            }
        }
        Shape s = Shape.of(1000, 3);
        try (Tensor x = make(b, dt, s, data(rng, s.numel(), -1, 1));
             Tensor y = make(b, dt, s, data(rng, s.numel(), -1, 1));
             Tensor z = b.zeros(s, dt)) {
            b.add(x, y, z);
            out.add(z.toDoubleArray());
            b.axpy(-0.75, x, y);
            out.add(y.toDoubleArray());
            b.scale(y, 1.5);
            out.add(y.toDoubleArray());
            out.add(new double[] {b.sum(y), b.sumOfSquares(y)});
            b.fill(z, 0.25);
            b.copy(z, x);
            out.add(x.toDoubleArray());
        }
        Shape ps = Shape.of(37, 11);
        double[] p0 = data(rng, ps.numel(), -1, 1);
        double[][] grads = {data(rng, ps.numel(), -1, 1), data(rng, ps.numel(), -1, 1), data(rng, ps.numel(), -1, 1)};
        for (int variant = 0; variant < 7; variant++) {
            try (Tensor p = make(b, dt, ps, p0);
                 Tensor g = b.zeros(ps, dt);
                 Tensor s1 = b.zeros(ps, dt);
                 Tensor s2 = b.zeros(ps, dt)) {
                for (int step = 1; step <= 3; step++) {
                    g.copyFrom(grads[step - 1]);
                    switch (variant) {
                        case 0 -> b.sgdUpdate(p, g, null, 0.1, 0, 0, false, 0, step == 1);
                        case 1 -> b.sgdUpdate(p, g, s1, 0.1, 0.9, 0.1, false, 0, step == 1);
                        case 2 -> b.sgdUpdate(p, g, s1, 0.1, 0.9, 0, true, 1e-2, step == 1);
                        case 3 -> b.rmspropUpdate(p, g, s1, null, 0.01, 0.99, 1e-8, 0, 0);
                        case 4 -> b.rmspropUpdate(p, g, s1, s2, 0.01, 0.9, 1e-8, 1e-2, 0.5);
                        case 5 -> b.adamUpdate(p, g, s1, s2, 1e-3, 0.9, 0.999, 1e-8, 1e-2, false, step);
                        default -> b.adamUpdate(p, g, s1, s2, 1e-3, 0.9, 0.999, 1e-8, 1e-2, true, step);
                    }
                }
                out.add(p.toDoubleArray());
            }
        }
        return out;
    }
}
