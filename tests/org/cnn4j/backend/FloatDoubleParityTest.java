package org.cnn4j.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.tensor.Window2d;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The FLOAT32 path of {@link JavaBackend} ({@code Float*Kernels}) agrees with its FLOAT64 path
 * (the generated {@code Double*Kernels}) on the same inputs, and results do not depend on the
 * thread count.
 *
 * <p>Inputs are drawn in double and rounded to float, so both paths see exactly the same values.
 * Tolerance: {@code max |a - b| <= tol * max(1, max |reference|)} per output tensor, with
 * tol = 1e-5 for float results (float32 has a 6e-8 unit round-off; sums of a few hundred terms
 * stay well inside) and 1e-12 for double results.
 */
class FloatDoubleParityTest {
    static final double FLOAT_TOL = 1e-5;
    static final double DOUBLE_TOL = 1e-12;

    private static JavaBackend be;
    private static JavaBackend[] byThreads;

    @BeforeAll
    static void start() {
        be = new JavaBackend(2);
        byThreads = new JavaBackend[] {new JavaBackend(1), new JavaBackend(2), new JavaBackend(3)};
    }

    @AfterAll
    static void stop() {
        be.close();
        for (JavaBackend b : byThreads) {
            b.close();
        }
    }

    // ---- helpers --------------------------------------------------------------------------

    /** Uniform values in [lo, hi), rounded to float precision. */
    static double[] data(SplittableRandom rng, int n, double lo, double hi) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (lo + (hi - lo) * rng.nextDouble());
        }
        return v;
    }

    static Tensor make(Backend b, DType dt, Shape s, double[] v) {
        Tensor t = b.zeros(s, dt);
        t.copyFrom(v);
        return t;
    }

    static double maxAbs(double[] v) {
        double m = 0;
        for (double d : v) {
            m = Math.max(m, Math.abs(d));
        }
        return m;
    }

    /** Asserts max |got - ref| <= tol * max(1, max |ref|). */
    static void assertClose(String what, double[] ref, double[] got, double tol) {
        assertEquals(ref.length, got.length, what + ": length");
        double scale = Math.max(1, maxAbs(ref));
        double worst = 0;
        int at = -1;
        for (int i = 0; i < ref.length; i++) {
            double d = Math.abs(ref[i] - got[i]);
            if (!(d <= worst)) {
                worst = d;
                at = i;
            }
        }
        final double w = worst;
        final int a = at;
        assertTrue(worst <= tol * scale, () -> what + ": max difference " + w + " at " + a + " (reference "
                + ref[a] + ", got " + got[a] + "), allowed " + tol * scale);
    }

    static double tol(DType dt) {
        return dt == DType.FLOAT32 ? FLOAT_TOL : DOUBLE_TOL;
    }

    // ---- convolution ----------------------------------------------------------------------

    record ConvCfg(int n, int c, int h, int w, int k, Window2d win, int groups) {
        Shape x() {
            return Shape.of(n, c, h, w);
        }

        Shape wt() {
            return Shape.of(k, c / groups, win.kernelH(), win.kernelW());
        }

        Shape y() {
            return Shape.of(n, k, win.outH(h), win.outW(w));
        }

        @Override
        public String toString() {
            return "x=" + x() + " w=" + wt() + " " + win + " g=" + groups;
        }
    }

    /** Random convolution settings; the first of each four has batch 1. */
    static List<ConvCfg> randomConvs(long seed, int count, int maxBatch) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<ConvCfg> out = new ArrayList<>();
        while (out.size() < count) {
            int groups = 1 + rng.nextInt(3);
            int c = groups * (1 + rng.nextInt(2));
            int k = groups * (1 + rng.nextInt(3));
            int n = out.size() % 4 == 0 ? 1 : 1 + rng.nextInt(maxBatch);
            int h = 3 + rng.nextInt(10), w = 3 + rng.nextInt(10);
            Window2d win = new Window2d(1 + rng.nextInt(3), 1 + rng.nextInt(3), 1 + rng.nextInt(3),
                    1 + rng.nextInt(3), rng.nextInt(3), rng.nextInt(3), rng.nextInt(3), rng.nextInt(3),
                    1 + rng.nextInt(2), 1 + rng.nextInt(2));
            if (win.outH(h) >= 1 && win.outW(w) >= 1) {
                out.add(new ConvCfg(n, c, h, w, k, win, groups));
            }
        }
        return out;
    }

    static Stream<ConvCfg> convConfigs() {
        return randomConvs(2024, 16, 3).stream();
    }

    /** Runs forward, backward-data and backward-filter; returns {y, dx, dw, dbias}. */
    static double[][] runConv(Backend b, DType dt, ConvCfg cfg, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        try (Tensor x = make(b, dt, cfg.x(), data(rng, cfg.x().numel(), -1, 1));
             Tensor w = make(b, dt, cfg.wt(), data(rng, cfg.wt().numel(), -1, 1));
             Tensor bias = make(b, dt, Shape.of(cfg.k()), data(rng, cfg.k(), -1, 1));
             Tensor y = b.zeros(cfg.y(), dt);
             Tensor dy = make(b, dt, cfg.y(), data(rng, cfg.y().numel(), -1, 1));
             Tensor dx = make(b, dt, cfg.x(), data(rng, cfg.x().numel(), -9, 9)); // overwritten
             Tensor dw = make(b, dt, cfg.wt(), data(rng, cfg.wt().numel(), -1, 1)); // accumulated into
             Tensor db = make(b, dt, Shape.of(cfg.k()), data(rng, cfg.k(), -1, 1))) {
            b.conv2dForward(x, w, bias, y, cfg.win(), cfg.groups());
            b.conv2dBackwardData(dy, w, dx, cfg.win(), cfg.groups());
            b.conv2dBackwardFilter(x, dy, dw, db, cfg.win(), cfg.groups());
            return new double[][] {y.toDoubleArray(), dx.toDoubleArray(), dw.toDoubleArray(), db.toDoubleArray()};
        }
    }

    private static final String[] CONV_OUTPUTS = {"forward y", "backward-data dx", "backward-filter dw",
        "backward-filter dbias"};

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("convConfigs")
    void convFloatMatchesDouble(ConvCfg cfg) {
        double[][] d = runConv(be, DType.FLOAT64, cfg, cfg.hashCode());
        double[][] f = runConv(be, DType.FLOAT32, cfg, cfg.hashCode());
        for (int i = 0; i < d.length; i++) {
            assertClose("conv " + cfg + " " + CONV_OUTPUTS[i], d[i], f[i], FLOAT_TOL);
        }
    }

    // ---- pooling --------------------------------------------------------------------------

    record PoolCfg(int n, int c, int h, int w, Window2d win) {
        Shape x() {
            return Shape.of(n, c, h, w);
        }

        Shape y() {
            return Shape.of(n, c, win.outH(h), win.outW(w));
        }

        @Override
        public String toString() {
            return "x=" + x() + " " + win;
        }
    }

    static List<PoolCfg> randomPools(long seed, int count, int maxBatch) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<PoolCfg> out = new ArrayList<>();
        while (out.size() < count) {
            int kernel = 2 + rng.nextInt(2);
            Window2d win = Window2d.square(kernel, 1 + rng.nextInt(3), rng.nextInt(kernel / 2 + 1));
            int n = out.size() % 3 == 0 ? 1 : 1 + rng.nextInt(maxBatch);
            int h = 4 + rng.nextInt(8), w = 4 + rng.nextInt(8);
            out.add(new PoolCfg(n, 1 + rng.nextInt(3), h, w, win));
        }
        return out;
    }

    static Stream<PoolCfg> poolConfigs() {
        return randomPools(77, 9, 3).stream();
    }

    /** Returns {maxY, argmax (as doubles), maxDx, avgY(incl), avgDx(incl), avgY(excl), avgDx(excl)}. */
    static double[][] runPool(Backend b, DType dt, PoolCfg cfg, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        try (Tensor x = make(b, dt, cfg.x(), data(rng, cfg.x().numel(), -1, 1));
             Tensor dy = make(b, dt, cfg.y(), data(rng, cfg.y().numel(), -1, 1));
             Tensor y = b.zeros(cfg.y(), dt);
             Tensor am = b.zeros(cfg.y(), DType.INT32);
             Tensor dx = make(b, dt, cfg.x(), data(rng, cfg.x().numel(), -9, 9))) {
            List<double[]> out = new ArrayList<>();
            b.maxPool2dForward(x, y, am, cfg.win());
            out.add(y.toDoubleArray());
            out.add(am.toDoubleArray());
            b.maxPool2dBackward(dy, am, dx);
            out.add(dx.toDoubleArray());
            for (boolean include : new boolean[] {true, false}) {
                b.avgPool2dForward(x, y, cfg.win(), include);
                out.add(y.toDoubleArray());
                b.avgPool2dBackward(dy, dx, cfg.win(), include);
                out.add(dx.toDoubleArray());
            }
            return out.toArray(new double[0][]);
        }
    }

    private static final String[] POOL_OUTPUTS = {"max y", "max argmax", "max dx", "avg y (countIncludePad)",
        "avg dx (countIncludePad)", "avg y (no pad count)", "avg dx (no pad count)"};

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("poolConfigs")
    void poolingFloatMatchesDouble(PoolCfg cfg) {
        double[][] d = runPool(be, DType.FLOAT64, cfg, cfg.hashCode());
        double[][] f = runPool(be, DType.FLOAT32, cfg, cfg.hashCode());
        // The max of identical (float-exact) values is exact, and so is its position.
        assertArrayEquals(d[0], f[0], 0.0, "max y " + cfg);
        assertArrayEquals(d[1], f[1], 0.0, "max argmax " + cfg);
        for (int i = 2; i < d.length; i++) {
            assertClose("pool " + cfg + " " + POOL_OUTPUTS[i], d[i], f[i], FLOAT_TOL);
        }
    }

    // ---- activations ----------------------------------------------------------------------

    /** Returns {y, dx}. */
    static double[][] runActivation(Backend b, DType dt, Activation act, Shape s, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        try (Tensor x = make(b, dt, s, data(rng, s.numel(), -4, 4));
             Tensor dy = make(b, dt, s, data(rng, s.numel(), -1, 1));
             Tensor y = b.zeros(s, dt);
             Tensor dx = make(b, dt, s, data(rng, s.numel(), -9, 9))) {
            b.activationForward(act, 0.1, x, y);
            b.activationBackward(act, 0.1, x, y, dy, dx);
            return new double[][] {y.toDoubleArray(), dx.toDoubleArray()};
        }
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void activationsFloatMatchDouble(Activation act) {
        for (Shape s : List.of(Shape.of(1, 3, 5, 7), Shape.of(4, 2, 6, 5), Shape.of(1, 10), Shape.of(7, 13))) {
            double[][] d = runActivation(be, DType.FLOAT64, act, s, s.hashCode());
            double[][] f = runActivation(be, DType.FLOAT32, act, s, s.hashCode());
            assertClose(act + " forward " + s, d[0], f[0], FLOAT_TOL);
            assertClose(act + " backward " + s, d[1], f[1], FLOAT_TOL);
        }
    }

    // ---- matmul ---------------------------------------------------------------------------

    static Stream<Arguments> matmulCases() {
        List<Arguments> out = new ArrayList<>();
        int[][] mnk = {{1, 7, 5}, {1, 1, 1}, {13, 1, 9}, {5, 6, 1}, {37, 29, 23}, {1, 120, 400}, {100, 48, 40}};
        for (int[] s : mnk) {
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    out.add(Arguments.of(s[0], s[1], s[2], ta, tb));
                }
            }
        }
        return out.stream();
    }

    /** Returns {overwritten c, accumulated c}. */
    static double[][] runMatmul(Backend b, DType dt, int m, int n, int k, boolean ta, boolean tb, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Shape as = ta ? Shape.of(k, m) : Shape.of(m, k);
        Shape bs = tb ? Shape.of(n, k) : Shape.of(k, n);
        double[] c0 = data(rng, m * n, -1, 1);
        try (Tensor a = make(b, dt, as, data(rng, as.numel(), -1, 1));
             Tensor bb = make(b, dt, bs, data(rng, bs.numel(), -1, 1));
             Tensor c1 = make(b, dt, Shape.of(m, n), c0);
             Tensor c2 = make(b, dt, Shape.of(m, n), c0)) {
            b.matmul(a, ta, bb, tb, c1, false);
            b.matmul(a, ta, bb, tb, c2, true);
            return new double[][] {c1.toDoubleArray(), c2.toDoubleArray()};
        }
    }

    /** The same product computed here, naively, in double. */
    static double[][] referenceMatmul(int m, int n, int k, boolean ta, boolean tb, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[] c0 = data(rng, m * n, -1, 1);
        double[] a = data(rng, m * k, -1, 1);
        double[] b = data(rng, k * n, -1, 1);
        double[] c = new double[m * n];
        double[] acc = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    double av = ta ? a[p * m + i] : a[i * k + p];
                    double bv = tb ? b[j * k + p] : b[p * n + j];
                    s += av * bv;
                }
                c[i * n + j] = s;
                acc[i * n + j] = c0[i * n + j] + s;
            }
        }
        return new double[][] {c, acc};
    }

    @ParameterizedTest(name = "[{index}] m={0} n={1} k={2} transA={3} transB={4}")
    @MethodSource("matmulCases")
    void matmulFloatMatchesDouble(int m, int n, int k, boolean ta, boolean tb) {
        long seed = 1000L * m + 100L * n + k + (ta ? 7 : 0) + (tb ? 13 : 0);
        double[][] ref = referenceMatmul(m, n, k, ta, tb, seed);
        double[][] d = runMatmul(be, DType.FLOAT64, m, n, k, ta, tb, seed);
        double[][] f = runMatmul(be, DType.FLOAT32, m, n, k, ta, tb, seed);
        String what = "matmul " + m + "x" + n + "x" + k + " ta=" + ta + " tb=" + tb;
        assertClose(what + " (double vs reference)", ref[0], d[0], DOUBLE_TOL);
        assertClose(what + " accumulate (double vs reference)", ref[1], d[1], DOUBLE_TOL);
        assertClose(what + " (float vs double)", d[0], f[0], FLOAT_TOL);
        assertClose(what + " accumulate (float vs double)", d[1], f[1], FLOAT_TOL);
    }

    // ---- loss -----------------------------------------------------------------------------

    @Test
    void softmaxCrossEntropyFloatMatchesDouble() {
        for (int rows : new int[] {1, 6}) {
            SplittableRandom rng = new SplittableRandom(rows);
            Shape s = Shape.of(rows, 10);
            double[] logits = data(rng, s.numel(), -5, 5);
            int[] labels = new int[rows];
            for (int i = 0; i < rows; i++) {
                labels[i] = rng.nextInt(10);
            }
            double[] loss = new double[2];
            int[] correct = new int[2];
            double[][] grads = new double[2][];
            DType[] dts = {DType.FLOAT64, DType.FLOAT32};
            for (int i = 0; i < 2; i++) {
                try (Tensor l = make(be, dts[i], s, logits);
                     Tensor lab = be.fromArray(Shape.of(rows), labels);
                     Tensor d = be.zeros(s, dts[i])) {
                    LossResult r = be.softmaxCrossEntropy(l, lab, d);
                    loss[i] = r.meanLoss();
                    correct[i] = r.correct();
                    grads[i] = d.toDoubleArray();
                }
            }
            assertEquals(loss[0], loss[1], FLOAT_TOL * Math.max(1, loss[0]));
            assertEquals(correct[0], correct[1]);
            assertClose("softmaxCrossEntropy dlogits", grads[0], grads[1], FLOAT_TOL);
        }
    }

    // ---- thread-count independence --------------------------------------------------------

    static Stream<Arguments> threadConvConfigs() {
        List<Arguments> out = new ArrayList<>();
        for (ConvCfg c : randomConvs(99, 6, 5)) {
            out.add(Arguments.of(c, DType.FLOAT32));
            out.add(Arguments.of(c, DType.FLOAT64));
        }
        // a batch of 5 on 3 threads splits unevenly (2/2/1 or similar)
        out.add(Arguments.of(new ConvCfg(5, 4, 11, 9, 6, new Window2d(3, 3, 1, 2, 1, 0, 1, 1, 1, 2), 2),
                DType.FLOAT32));
        return out.stream();
    }

    @ParameterizedTest(name = "[{index}] {0} {1}")
    @MethodSource("threadConvConfigs")
    void convIndependentOfThreadCount(ConvCfg cfg, DType dt) {
        double[][] ref = runConv(byThreads[0], dt, cfg, 5);
        for (int t = 1; t < byThreads.length; t++) {
            double[][] got = runConv(byThreads[t], dt, cfg, 5);
            for (int i = 0; i < ref.length; i++) {
                assertClose("conv " + cfg + " " + CONV_OUTPUTS[i] + " with " + byThreads[t].threads()
                        + " threads vs 1", ref[i], got[i], tol(dt));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void poolingAndActivationsIndependentOfThreadCount(DType dt) {
        // Enough planes and elements that every backend splits the work across all its threads.
        PoolCfg cfg = new PoolCfg(3, 16, 23, 17, Window2d.square(3, 2, 1));
        Shape big = Shape.of(5, 4, 71, 73); // 103,660 elements: 3 element-wise chunks
        double[][] refPool = runPool(byThreads[0], dt, cfg, 3);
        for (int t = 1; t < byThreads.length; t++) {
            double[][] got = runPool(byThreads[t], dt, cfg, 3);
            for (int i = 0; i < refPool.length; i++) {
                assertClose(POOL_OUTPUTS[i] + " with " + byThreads[t].threads() + " threads", refPool[i], got[i],
                        tol(dt));
            }
        }
        for (Activation act : Activation.values()) {
            double[][] ref = runActivation(byThreads[0], dt, act, big, 4);
            for (int t = 1; t < byThreads.length; t++) {
                double[][] got = runActivation(byThreads[t], dt, act, big, 4);
                assertClose(act + " forward with " + byThreads[t].threads() + " threads", ref[0], got[0], tol(dt));
                assertClose(act + " backward with " + byThreads[t].threads() + " threads", ref[1], got[1], tol(dt));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void matmulIndependentOfThreadCount(DType dt) {
        int[][] mnk = {{150, 64, 48}, {1, 120, 400}, {301, 33, 17}};
        for (int[] s : mnk) {
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    double[][] ref = runMatmul(byThreads[0], dt, s[0], s[1], s[2], ta, tb, 8);
                    for (int t = 1; t < byThreads.length; t++) {
                        double[][] got = runMatmul(byThreads[t], dt, s[0], s[1], s[2], ta, tb, 8);
                        String what = "matmul " + s[0] + "x" + s[1] + "x" + s[2] + " ta=" + ta + " tb=" + tb
                                + " with " + byThreads[t].threads() + " threads";
                        assertClose(what, ref[0], got[0], tol(dt));
                        assertClose(what + " accumulate", ref[1], got[1], tol(dt));
                    }
                }
            }
        }
    }

    /** For a fixed thread count the backward filter is bit-for-bit repeatable (documented in FloatConvKernels). */
    @Test
    void backwardFilterIsDeterministicForFixedThreadCount() {
        ConvCfg cfg = new ConvCfg(5, 4, 11, 9, 6, new Window2d(3, 3, 1, 2, 1, 0, 1, 1, 1, 2), 2);
        double[][] first = runConv(byThreads[2], DType.FLOAT32, cfg, 12);
        for (int rep = 0; rep < 3; rep++) {
            double[][] again = runConv(byThreads[2], DType.FLOAT32, cfg, 12);
            for (int i = 0; i < first.length; i++) {
                assertArrayEquals(first[i], again[i], 0.0, CONV_OUTPUTS[i]);
            }
        }
    }
}
