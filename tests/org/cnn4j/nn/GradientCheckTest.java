package org.cnn4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.cnn4j.GradCheck;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.JavaBackend;
import org.cnn4j.backend.LossResult;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Gradient checks (SPEC S1.10, S2.5, S3, S4, S5) of every layer and op of the pure-Java backend
 * in FLOAT64 against central finite differences; see {@link GradCheck} for the metric and the
 * tolerance (max per-element |num - ana| / max(1e-4, |num| + |ana|) < 1e-6).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GradientCheckTest {
    /**
     * One thread: a check runs thousands of tiny forward passes, and a hand-off to a worker
     * thread per pass costs more than the pass itself. Multi-threaded kernels are compared with
     * the single-threaded ones in FloatDoubleParityTest; {@link #be2} runs one whole-model check.
     */
    private Backend be;
    private Backend be2;

    /** The backend under test; subclasses run every check through another backend. */
    protected Backend newBackend(int threads) {
        return new JavaBackend(threads);
    }

    /**
     * Called before each test: a subclass whose backend cannot run here aborts the test with the
     * reason (reported as skipped, test by test) or fails it when the backend is expected.
     */
    protected void requireBackend() {
    }

    @org.junit.jupiter.api.BeforeEach
    void checkBackend() {
        requireBackend();
    }

    @BeforeAll
    void start() {
        be = newBackend(1);
        be2 = newBackend(2);
    }

    @AfterAll
    void stop() {
        // null when the backend could not start (the JNI-free flavour skips the native subclass)
        if (be != null) {
            be.close();
        }
        if (be2 != null) {
            be2.close();
        }
    }

    // ---- convolution ----------------------------------------------------------------------

    /** One convolution configuration: input [n, c, h, w], k filters kh x kw and the window settings. */
    record ConvCase(int n, int c, int h, int w, int k, int kh, int kw, int sh, int sw,
                    int pt, int pb, int pl, int pr, int dh, int dw, int groups, boolean bias) {
        @Override
        public String toString() {
            return "x=" + n + "x" + c + "x" + h + "x" + w + " k=" + k + " " + kh + "x" + kw + " s=" + sh + "x" + sw
                    + " p=" + pt + "," + pb + "," + pl + "," + pr + " d=" + dh + "x" + dw + " g=" + groups
                    + (bias ? " bias" : " no-bias");
        }
    }

    static Stream<ConvCase> convCases() {
        List<ConvCase> cs = new ArrayList<>();
        //                   n  c  h  w  k kh kw sh sw pt pb pl pr dh dw  g  bias
        cs.add(new ConvCase(1, 3, 7, 9, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, true));   // plain 3x3, batch 1
        cs.add(new ConvCase(3, 3, 7, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, false));  // "same", batch 3
        cs.add(new ConvCase(1, 2, 7, 9, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, true));   // 1x1 (S1.7)
        cs.add(new ConvCase(3, 2, 7, 9, 4, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, true));   // 1x1 stride 2
        cs.add(new ConvCase(1, 3, 7, 9, 2, 2, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, true));   // 2x3 kernel
        cs.add(new ConvCase(3, 3, 7, 9, 2, 2, 3, 2, 3, 1, 0, 2, 1, 1, 1, 1, true));   // 2x3, stride 2x3, asymmetric pad
        cs.add(new ConvCase(1, 2, 7, 9, 3, 3, 3, 3, 3, 0, 0, 0, 0, 1, 1, 1, false));  // stride 3: last row unused (S1.6)
        cs.add(new ConvCase(3, 2, 7, 9, 3, 3, 3, 3, 2, 2, 1, 0, 2, 1, 1, 1, true));   // stride 3x2, asymmetric pad
        cs.add(new ConvCase(1, 3, 7, 9, 2, 3, 3, 1, 1, 0, 0, 0, 0, 2, 2, 1, true));   // dilation 2 (S1.8)
        cs.add(new ConvCase(3, 2, 7, 9, 2, 3, 3, 2, 1, 2, 2, 1, 1, 2, 2, 1, false));  // dilation 2, stride 2x1, pad
        cs.add(new ConvCase(1, 2, 7, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, true));   // groups 2 (S1.9)
        cs.add(new ConvCase(3, 4, 7, 9, 6, 3, 3, 2, 2, 1, 0, 0, 1, 1, 1, 2, false));  // groups 2, stride 2, asym pad
        cs.add(new ConvCase(1, 3, 7, 9, 3, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 3, true));   // groups 3 = depthwise
        cs.add(new ConvCase(3, 6, 7, 9, 3, 2, 3, 1, 2, 0, 1, 1, 0, 2, 1, 3, true));   // groups 3, 2x3, dilation 2x1
        cs.add(new ConvCase(3, 3, 7, 9, 6, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 3, true));   // 1x1 groups 3 stride 3 pad 1
        cs.add(new ConvCase(1, 2, 7, 9, 2, 3, 2, 1, 1, 0, 2, 2, 0, 1, 2, 2, false));  // dilation 1x2, groups 2
        cs.add(new ConvCase(3, 3, 5, 5, 2, 3, 3, 1, 1, 2, 2, 2, 2, 1, 1, 1, true));   // pad > (F-1)/2: output grows
        cs.add(new ConvCase(3, 2, 3, 3, 2, 3, 3, 1, 1, 1, 1, 1, 1, 2, 2, 1, true));   // dilated extent 5 on padded 5x5 -> 1x1
        cs.add(new ConvCase(1, 1, 4, 5, 2, 2, 2, 1, 1, 3, 0, 0, 3, 1, 1, 1, true));   // windows entirely in padding
        cs.add(new ConvCase(3, 6, 9, 7, 6, 3, 2, 2, 3, 1, 2, 0, 1, 2, 2, 3, true));   // everything at once
        return cs.stream();
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("convCases")
    void conv2d(ConvCase cc) {
        Conv2d conv = new Conv2d(cc.k(), cc.kh(), cc.kw()).stride(cc.sh(), cc.sw())
                .padding(cc.pt(), cc.pb(), cc.pl(), cc.pr()).dilation(cc.dh(), cc.dw()).groups(cc.groups())
                .bias(cc.bias());
        long seed = cc.toString().hashCode();
        try (Sequential m = GradCheck.single(be, Shape.of(cc.c(), cc.h(), cc.w()), conv, seed);
             Tensor x = GradCheck.tensor(be, Shape.of(cc.n(), cc.c(), cc.h(), cc.w()),
                     GradCheck.uniform(new SplittableRandom(seed), cc.n() * cc.c() * cc.h() * cc.w(), -1, 1))) {
            assertEquals(cc.bias() ? List.of("0.weight", "0.bias") : List.of("0.weight"),
                    GradCheck.parameterNames(m));
            assertEquals(Shape.of(cc.k(), cc.c() / cc.groups(), cc.kh(), cc.kw()), conv.weight().value().shape());
            GradCheck.Report r = GradCheck.check(m, x, seed).assertOk("Conv2d " + cc);
            assertTrue(r.maxAbsInputGradient() > 1e-3, "the output does not depend on the input");
            assertTrue(r.maxAbsParamGradient().get("0.weight") > 1e-3, "the output does not depend on the weights");
        }
    }

    /** Input rows that no window reaches (SPEC S1.6) get exactly zero gradient. */
    @Test
    void conv2dUnusedRowsGetZeroGradient() {
        // 7x7, 3x3, stride 3: rows/columns 0..5 are used, row/column 6 is not.
        Conv2d conv = new Conv2d(2, 3).stride(3);
        try (Sequential m = GradCheck.single(be, Shape.of(1, 7, 7), conv, 7);
             Tensor x = GradCheck.tensor(be, Shape.of(1, 1, 7, 7), GradCheck.uniform(new SplittableRandom(7), 49, -1, 1));
             Tensor dy = be.fromArray(Shape.of(1, 2, 2, 2), new double[] {1, 2, 3, 4, 5, 6, 7, 8})) {
            m.forward(x, true);
            double[] dx = m.backward(dy).toDoubleArray();
            for (int i = 0; i < 7; i++) {
                assertEquals(0.0, dx[6 * 7 + i], "row 6 is unused");
                assertEquals(0.0, dx[i * 7 + 6], "column 6 is unused");
            }
            assertTrue(GradCheck.maxAbs(dx) > 0);
        }
    }

    // ---- pooling --------------------------------------------------------------------------

    static Stream<Arguments> poolCases() {
        // kernel, stride, padding, batch
        return Stream.of(
                Arguments.of(3, 2, 0, 1),   // overlapping (S2.4)
                Arguments.of(3, 2, 0, 3),
                Arguments.of(2, 2, 0, 1),   // non-overlapping
                Arguments.of(2, 2, 0, 3),
                Arguments.of(3, 2, 1, 3),   // overlapping with padding
                Arguments.of(2, 2, 1, 1),   // non-overlapping with padding
                Arguments.of(3, 1, 1, 1),   // stride 1, padding 1 ("same")
                Arguments.of(3, 3, 0, 3));  // stride 3 on 7x9: leaves a row unused
    }

    @ParameterizedTest(name = "[{index}] max k={0} s={1} p={2} n={3}")
    @MethodSource("poolCases")
    void maxPool2d(int kernel, int stride, int padding, int batch) {
        MaxPool2d pool = new MaxPool2d(kernel).stride(stride).padding(padding);
        long seed = 31L * kernel + 7L * stride + padding + 1000L * batch;
        Shape in = Shape.of(2, 7, 9);
        try (Sequential m = GradCheck.single(be, in, pool, seed);
             Tensor x = GradCheck.tensor(be, in.withBatch(batch),
                     GradCheck.distinctValues(new SplittableRandom(seed), batch * in.numel()))) {
            assertTrue(GradCheck.kinkMargin(m, x) >= GradCheck.KINK_MARGIN, "windows must have distinct values");
            assertEquals(0, m.parameterCount());
            GradCheck.Report r = GradCheck.check(m, x, seed).assertOk("MaxPool2d " + pool.window());
            assertTrue(r.maxAbsInputGradient() > 1e-3);
        }
    }

    @ParameterizedTest(name = "[{index}] avg k={0} s={1} p={2} n={3}")
    @MethodSource("poolCases")
    void avgPool2d(int kernel, int stride, int padding, int batch) {
        for (boolean includePad : new boolean[] {true, false}) {
            AvgPool2d pool = new AvgPool2d(kernel).stride(stride).padding(padding).countIncludePad(includePad);
            long seed = 17L * kernel + 5L * stride + padding + 100L * batch + (includePad ? 1 : 0);
            Shape in = Shape.of(2, 7, 9);
            try (Sequential m = GradCheck.single(be, in, pool, seed);
                 Tensor x = GradCheck.tensor(be, in.withBatch(batch),
                         GradCheck.uniform(new SplittableRandom(seed), batch * in.numel(), -1, 1))) {
                GradCheck.Report r = GradCheck.check(m, x, seed)
                        .assertOk("AvgPool2d " + pool.window() + " countIncludePad=" + includePad);
                assertTrue(r.maxAbsInputGradient() > 1e-3);
            }
        }
    }

    /**
     * countIncludePad changes the divisor of border windows (hand-computed): a 2x2 input of
     * ones, 3x3 window, stride 1, pad 1: every window holds the 4 ones; with padding counted the
     * mean is 4/9, without it 4/4 = 1.
     */
    @Test
    void avgPoolCountIncludePadDivisor() {
        for (boolean includePad : new boolean[] {true, false}) {
            AvgPool2d pool = new AvgPool2d(3).stride(1).padding(1).countIncludePad(includePad);
            try (Sequential m = new Sequential(Shape.of(1, 2, 2), pool).initialize(be, DType.FLOAT64, 1);
                 Tensor x = be.fromArray(Shape.of(1, 1, 2, 2), new double[] {1, 1, 1, 1})) {
                double expected = includePad ? 4.0 / 9.0 : 1.0;
                assertArrayEquals(new double[] {expected, expected, expected, expected},
                        m.forward(x, true).toDoubleArray(), 1e-15);
            }
        }
    }

    // ---- activations ----------------------------------------------------------------------

    static Stream<Arguments> activations() {
        return Stream.of(
                Arguments.of("ReLU", Shape.of(3, 5, 7), 1),
                Arguments.of("ReLU", Shape.of(11), 4),
                Arguments.of("LeakyReLU", Shape.of(3, 5, 7), 2),
                Arguments.of("LeakyReLU(0.2)", Shape.of(11), 1),
                Arguments.of("Sigmoid", Shape.of(3, 5, 7), 2),
                Arguments.of("Sigmoid", Shape.of(11), 4),
                Arguments.of("Tanh", Shape.of(3, 5, 7), 1),
                Arguments.of("Tanh", Shape.of(11), 3));
    }

    private static Layer activation(String name) {
        return switch (name) {
            case "ReLU" -> new ReLU();
            case "LeakyReLU" -> new LeakyReLU();
            case "LeakyReLU(0.2)" -> new LeakyReLU(0.2);
            case "Sigmoid" -> new Sigmoid();
            case "Tanh" -> new Tanh();
            default -> throw new IllegalArgumentException(name);
        };
    }

    @ParameterizedTest(name = "[{index}] {0} on N x {1}")
    @MethodSource("activations")
    void activation(String name, Shape in, int batch) {
        long seed = name.hashCode() + 31L * in.numel() + batch;
        try (Sequential m = GradCheck.single(be, in, activation(name), seed);
             Tensor x = GradCheck.tensor(be, in.withBatch(batch),
                     // |x| in [0.05, 1] scaled by 3: away from ReLU's kink, through the curved part of sigmoid/tanh
                     scale(GradCheck.awayFromZero(new SplittableRandom(seed), batch * in.numel()), 3))) {
            assertTrue(GradCheck.kinkMargin(m, x) >= GradCheck.KINK_MARGIN);
            GradCheck.Report r = GradCheck.check(m, x, seed).assertOk(name);
            assertTrue(r.maxAbsInputGradient() > 1e-3);
        }
    }

    /** The negative slope really is used: a leaky ReLU's gradient at a negative input is the slope. */
    @Test
    void leakyReluSlopeOnNegativeInputs() {
        try (Sequential m = new Sequential(Shape.of(3), new LeakyReLU(0.2)).initialize(be, DType.FLOAT64, 1);
             Tensor x = be.fromArray(Shape.of(1, 3), new double[] {-2, 0.5, -0.25});
             Tensor dy = be.fromArray(Shape.of(1, 3), new double[] {1, 1, 4})) {
            assertArrayEquals(new double[] {-0.4, 0.5, -0.05}, m.forward(x, true).toDoubleArray(), 1e-15);
            assertArrayEquals(new double[] {0.2, 1, 0.8}, m.backward(dy).toDoubleArray(), 1e-15);
        }
    }

    // ---- dense and flatten ----------------------------------------------------------------

    @ParameterizedTest(name = "[{index}] Linear bias={0} batch={1}")
    @MethodSource("linearCases")
    void linear(boolean bias, int batch) {
        Linear lin = new Linear(5).bias(bias);
        long seed = 99 + batch + (bias ? 1000 : 0);
        try (Sequential m = GradCheck.single(be, Shape.of(7), lin, seed);
             Tensor x = GradCheck.tensor(be, Shape.of(batch, 7),
                     GradCheck.uniform(new SplittableRandom(seed), batch * 7, -1, 1))) {
            assertEquals(bias ? List.of("0.weight", "0.bias") : List.of("0.weight"), GradCheck.parameterNames(m));
            assertEquals(Shape.of(5, 7), lin.weight().value().shape());
            GradCheck.Report r = GradCheck.check(m, x, seed).assertOk("Linear bias=" + bias);
            assertTrue(r.maxAbsInputGradient() > 1e-3);
        }
    }

    static Stream<Arguments> linearCases() {
        return Stream.of(Arguments.of(true, 1), Arguments.of(true, 4), Arguments.of(false, 1),
                Arguments.of(false, 4));
    }

    @ParameterizedTest(name = "[{index}] Flatten batch={0}")
    @ValueSource(ints = {1, 3})
    void flatten(int batch) {
        Shape in = Shape.of(2, 3, 4);
        try (Sequential m = GradCheck.single(be, in, new Flatten(), batch);
             Tensor x = GradCheck.tensor(be, in.withBatch(batch),
                     GradCheck.uniform(new SplittableRandom(batch), batch * 24, -1, 1))) {
            assertEquals(Shape.of(24), m.outputShape());
            GradCheck.check(m, x, batch).assertOk("Flatten");
        }
        // Flatten between a convolution and a dense layer: the gradient must come back in NCHW order.
        try (Sequential m = new Sequential(in, new Conv2d(3, 2).padding(1, 0, 0, 1), new Flatten(), new Linear(4))
                .initialize(be, DType.FLOAT64, 5);
             Tensor x = GradCheck.tensor(be, in.withBatch(batch),
                     GradCheck.uniform(new SplittableRandom(batch + 10), batch * 24, -1, 1))) {
            GradCheck.randomizeParameters(m, 6, 0.5);
            GradCheck.check(m, x, batch + 10).assertOk("Conv2d-Flatten-Linear");
        }
    }

    // ---- softmax cross-entropy ------------------------------------------------------------

    @ParameterizedTest(name = "[{index}] softmaxCrossEntropy {0} rows")
    @ValueSource(ints = {1, 4, 7})
    void softmaxCrossEntropyGradient(int rows) {
        int classes = 5;
        SplittableRandom rng = new SplittableRandom(rows);
        double[] logits = GradCheck.uniform(rng, rows * classes, -3, 3);
        int[] labels = new int[rows];
        for (int i = 0; i < rows; i++) {
            labels[i] = rng.nextInt(classes);
        }
        Shape s = Shape.of(rows, classes);
        try (Tensor lab = be.fromArray(Shape.of(rows), labels);
             Tensor lt = be.fromArray(s, logits);
             Tensor d = be.zeros(s, DType.FLOAT64)) {
            LossResult res = be.softmaxCrossEntropy(lt, lab, d);
            double[] analytic = d.toDoubleArray();

            // The mean loss, computed here from its definition (S4.3).
            double expected = 0;
            int correct = 0;
            for (int r = 0; r < rows; r++) {
                double z = 0;
                int arg = 0;
                for (int c = 0; c < classes; c++) {
                    z += Math.exp(logits[r * classes + c]);
                    if (logits[r * classes + c] > logits[r * classes + arg]) {
                        arg = c;
                    }
                }
                expected += -Math.log(Math.exp(logits[r * classes + labels[r]]) / z);
                correct += arg == labels[r] ? 1 : 0;
            }
            assertEquals(expected / rows, res.meanLoss(), 1e-12);
            assertEquals(correct, res.correct());

            double[] numeric = GradCheck.numericGradient(v -> {
                try (Tensor t = be.fromArray(s, v)) {
                    return be.softmaxCrossEntropy(t, lab, null).meanLoss();
                }
            }, logits);
            double err = GradCheck.maxError(numeric, analytic);
            assertTrue(err < GradCheck.TOLERANCE, "softmax cross-entropy gradient error " + err);
            // The gradient of the mean carries the 1/N: each row's entries sum to 0 and the label's is negative.
            for (int r = 0; r < rows; r++) {
                double rowSum = 0;
                for (int c = 0; c < classes; c++) {
                    rowSum += analytic[r * classes + c];
                }
                assertEquals(0, rowSum, 1e-14);
                assertTrue(analytic[r * classes + labels[r]] < 0);
                assertTrue(analytic[r * classes + labels[r]] > -1.0 / rows);
            }
        }
    }

    /** Large logits must not overflow (numerically stable form). */
    @Test
    void softmaxCrossEntropyIsStable() {
        try (Tensor lt = be.fromArray(Shape.of(2, 3), new double[] {1000, 0, -1000, 800, 1000, 1000});
             Tensor lab = be.fromArray(Shape.of(2), new int[] {0, 0});
             Tensor d = be.zeros(Shape.of(2, 3), DType.FLOAT64)) {
            LossResult r = be.softmaxCrossEntropy(lt, lab, d);
            // row 0: loss ~ 0; row 1: -log(e^800 / (e^800 + 2 e^1000)) = 200 + log(2) (to double precision)
            assertEquals((200 + Math.log(2)) / 2, r.meanLoss(), 1e-9);
            for (double v : d.toDoubleArray()) {
                assertTrue(Double.isFinite(v));
            }
        }
    }

    // ---- whole models ---------------------------------------------------------------------

    /** Draws inputs until every ReLU input and max-pool window is at least KINK_MARGIN from a kink. */
    private static Tensor kinkFreeInput(Sequential m, Shape batchShape, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        for (int attempt = 0; attempt < 200; attempt++) {
            Tensor x = GradCheck.tensor(m.backend(), batchShape, GradCheck.uniform(rng, batchShape.numel(), -1, 1));
            if (GradCheck.kinkMargin(m, x) >= GradCheck.KINK_MARGIN) {
                return x;
            }
            x.close();
        }
        throw new AssertionError("no kink-free input found");
    }

    private static Sequential smallCnn() {
        // 2x7x9 -> conv 3x3 p1 -> 4x7x9 -> relu -> maxpool 2 -> 4x3x4 -> flatten 48 -> linear 5
        return new Sequential(Shape.of(2, 7, 9),
                new Conv2d(4, 3).padding(1), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(5));
    }

    static Stream<Arguments> batchAndThreads() {
        return Stream.of(Arguments.of(1, 1), Arguments.of(3, 1), Arguments.of(3, 2));
    }

    @ParameterizedTest(name = "[{index}] conv-relu-pool-flatten-linear, batch {0}, {1} thread(s)")
    @MethodSource("batchAndThreads")
    void sequentialWithLinearFunctional(int batch, int threads) {
        try (Sequential m = smallCnn().initialize(threads == 1 ? be : be2, DType.FLOAT64, 42)) {
            GradCheck.randomizeParameters(m, 43, 0.5);
            try (Tensor x = kinkFreeInput(m, m.inputShape().withBatch(batch), 44)) {
                GradCheck.Report r = GradCheck.check(m, x, 45).assertOk("small CNN");
                assertEquals(List.of("0.weight", "0.bias", "4.weight", "4.bias"),
                        List.copyOf(r.maxAbsParamGradient().keySet()));
                r.maxAbsParamGradient().forEach((k, v) -> assertTrue(v > 1e-3, k + " gradient is zero"));
            }
        }
    }

    @ParameterizedTest(name = "[{index}] conv-relu-pool-flatten-linear + softmax CE, batch {0}")
    @ValueSource(ints = {1, 4})
    void sequentialWithSoftmaxCrossEntropy(int batch) {
        try (Sequential m = smallCnn().initialize(be, DType.FLOAT64, 7)) {
            GradCheck.randomizeParameters(m, 8, 0.5);
            int[] labels = new int[batch];
            for (int i = 0; i < batch; i++) {
                labels[i] = (3 * i + 1) % 5;
            }
            try (Tensor x = kinkFreeInput(m, m.inputShape().withBatch(batch), 9)) {
                GradCheck.Head head = GradCheck.softmaxCrossEntropy(be, Shape.of(batch, 5), labels);
                GradCheck.Report r = GradCheck.check(m, x, head).assertOk("small CNN + softmax cross-entropy");
                assertTrue(r.maxAbsInputGradient() > 1e-4);
            }
        }
    }

    // ---- batch norm, residual blocks, maxout, dropout, global pooling (issue: seeds' architectures)

    @ParameterizedTest(name = "[{index}] BatchNorm2d training mode, batch {0}")
    @ValueSource(ints = {2, 5})
    void batchNormTrainingMode(int batch) {
        try (Sequential m = GradCheck.single(be, Shape.of(3, 4, 5), new BatchNorm2d(), 21 + batch);
             Tensor x = GradCheck.tensor(be, Shape.of(batch, 3, 4, 5),
                     GradCheck.uniform(new SplittableRandom(22), batch * 60, -2, 2))) {
            GradCheck.Report r = GradCheck.check(m, x, 23).assertOk("BatchNorm2d (batch statistics)");
            assertEquals(List.of("0.weight", "0.bias"), List.copyOf(r.maxAbsParamGradient().keySet()));
            assertTrue(r.maxAbsInputGradient() > 1e-3);
        }
    }

    @Test
    void batchNormOnFeatureVectors() {
        try (Sequential m = GradCheck.single(be, Shape.of(7), new BatchNorm2d(), 24);
             Tensor x = GradCheck.tensor(be, Shape.of(6, 7), GradCheck.uniform(new SplittableRandom(25), 42, -2, 2))) {
            GradCheck.check(m, x, 26).assertOk("BatchNorm over features");
        }
    }

    /**
     * Evaluation mode normalises with the running statistics, so it is a per-channel affine map:
     * its gradients are checked against finite differences of forward(x, false).
     */
    @Test
    void batchNormEvaluationMode() {
        BatchNorm2d bn = new BatchNorm2d().eps(1e-3);
        try (Sequential m = GradCheck.single(be, Shape.of(2, 3, 3), bn, 27);
             Tensor x = GradCheck.tensor(be, Shape.of(3, 2, 3, 3), GradCheck.uniform(new SplittableRandom(28), 54, -2, 2));
             Tensor dy = GradCheck.tensor(be, Shape.of(3, 2, 3, 3), GradCheck.uniform(new SplittableRandom(29), 54, -1, 1))) {
            bn.runningMean().copyFrom(new double[] {0.3, -0.2});
            bn.runningVar().copyFrom(new double[] {1.7, 0.4});
            double[] r = dy.toDoubleArray();
            double[] x0 = x.toDoubleArray();
            m.zeroGrad();
            m.forward(x, false);
            double[] dx = m.backward(dy).toDoubleArray();
            double[] numeric = GradCheck.numericGradient(v -> {
                x.copyFrom(v);
                double[] y = m.forward(x, false).toDoubleArray();
                double s = 0;
                for (int i = 0; i < y.length; i++) {
                    s += r[i] * y[i];
                }
                return s;
            }, x0);
            assertTrue(GradCheck.maxError(numeric, dx) < GradCheck.TOLERANCE, "eval-mode dx");
            // the running statistics are not touched in evaluation mode
            assertArrayEquals(new double[] {0.3, -0.2}, bn.runningMean().toDoubleArray(), 0);
            assertArrayEquals(new double[] {1.7, 0.4}, bn.runningVar().toDoubleArray(), 0);
        }
    }

    /** Training updates the running statistics as PyTorch does: momentum 0.1, unbiased variance. */
    @Test
    void batchNormRunningStatistics() {
        BatchNorm2d bn = new BatchNorm2d();
        try (Sequential m = new Sequential(Shape.of(1, 1, 2), bn).initialize(be, DType.FLOAT64, 1);
             Tensor x = be.fromArray(Shape.of(2, 1, 1, 2), new double[] {1, 2, 3, 6})) {
            double[] y = m.forward(x, true).toDoubleArray();
            // mean 3, biased variance 3.5, unbiased 14/3
            double inv = 1 / Math.sqrt(3.5 + 1e-5);
            assertArrayEquals(new double[] {-2 * inv, -inv, 0, 3 * inv}, y, 1e-12);
            assertArrayEquals(new double[] {0.3}, bn.runningMean().toDoubleArray(), 1e-12);
            assertArrayEquals(new double[] {0.9 + 0.1 * 14 / 3.0}, bn.runningVar().toDoubleArray(), 1e-12);
        }
    }

    /** Fan-out (SPEC S5.2): the identity shortcut's gradient adds to the body's. */
    @Test
    void residualIdentityShortcut() {
        try (Sequential m = new Sequential(Shape.of(3, 5, 4),
                Residual.identity(new Conv2d(3, 3).padding(1), new BatchNorm2d(), new Tanh(),
                        new Conv2d(3, 3).padding(1)),
                new Tanh()).initialize(be, DType.FLOAT64, 31)) {
            GradCheck.randomizeParameters(m, 32, 0.5);
            try (Tensor x = GradCheck.tensor(be, Shape.of(2, 3, 5, 4), GradCheck.uniform(new SplittableRandom(33), 120, -1, 1))) {
                GradCheck.Report r = GradCheck.check(m, x, 34).assertOk("residual block, identity shortcut");
                assertEquals(List.of("0.body.0.weight", "0.body.0.bias", "0.body.1.weight", "0.body.1.bias",
                        "0.body.3.weight", "0.body.3.bias"), List.copyOf(r.maxAbsParamGradient().keySet()));
            }
        }
    }

    private static Sequential bnActModel(java.util.function.Supplier<Layer> act) {
        return new Sequential(Shape.of(2, 5, 5), new Conv2d(4, 3).padding(1), new BatchNorm2d(), act.get(),
                Residual.identity(new Conv2d(4, 3).padding(1), new BatchNorm2d(), act.get()), new Flatten(),
                new Linear(3));
    }

    /**
     * ReLUs after residual blocks whose bodies end with a batch norm: an identity shortcut, and a
     * stride-2 body beside the option-A shortcut (subsample, zero channels).
     */
    private static Sequential residualActModel(java.util.function.Supplier<Layer> act) {
        return new Sequential(Shape.of(2, 5, 5), new Conv2d(4, 3).padding(1), new BatchNorm2d(), act.get(),
                Residual.identity(new Conv2d(4, 3).padding(1), new BatchNorm2d(), act.get(), new Conv2d(4, 3).padding(1),
                        new BatchNorm2d()),
                act.get(),
                new Residual(List.of(new Conv2d(6, 3).stride(2).padding(1), new BatchNorm2d()),
                        List.of(new AvgPool2d(1).stride(2), new ChannelPad(1, 1))),
                act.get(), new Flatten(), new Linear(3));
    }

    /** ReLUs before max poolings (2x2, overlapping 3x3 in a residual body) and one a batch norm claims first. */
    private static Sequential poolActModel(java.util.function.Supplier<Layer> act) {
        return new Sequential(Shape.of(2, 6, 6), new Conv2d(4, 3).padding(1), act.get(), new MaxPool2d(2),
                Residual.identity(new Conv2d(4, 3).padding(1), act.get(), new MaxPool2d(3).stride(1).padding(1)),
                new Conv2d(4, 1), new BatchNorm2d(), act.get(), new MaxPool2d(3), new Flatten(), new Linear(3));
    }

    /**
     * Fused neighbours (Layers.fuse): a batch norm directly followed by a ReLU runs the ReLU in
     * its own passes, a residual block ending with a batch norm and followed by a ReLU has the
     * batch norm add the shortcut and run the ReLU, and a ReLU directly followed by max pooling
     * runs after the pooling (at the top level and in a residual body; a ReLU after a batch norm
     * stays with the batch norm).
     * The gradients check out, and the model computes exactly what the layers compute one after
     * the other (a LeakyReLU of slope 0 fuses with neither): the same outputs in training and in
     * evaluation, the same gradients to the order of the sums.
     */
    @ParameterizedTest(name = "[{index}] ReLU fused with {0}")
    @ValueSource(strings = {"batch norm", "residual block", "max pooling"})
    void fusedRelu(String with) {
        boolean bn = with.equals("batch norm"), res = with.equals("residual block");
        java.util.function.Function<java.util.function.Supplier<Layer>, Sequential> model =
                bn ? GradientCheckTest::bnActModel : res ? GradientCheckTest::residualActModel : GradientCheckTest::poolActModel;
        Shape in = bn || res ? Shape.of(2, 5, 5) : Shape.of(2, 6, 6);
        try (Sequential fused = model.apply(ReLU::new).initialize(be, DType.FLOAT64, 71);
             Sequential plain = model.apply(() -> new LeakyReLU(0)).initialize(be, DType.FLOAT64, 71)) {
            List<Layer> top = fused.layers();
            if (bn) {
                BatchNorm2d inner = (BatchNorm2d) ((Residual) top.get(3)).body().get(1);
                assertTrue(((BatchNorm2d) top.get(1)).fusedRelu() && inner.fusedRelu() && ((ReLU) top.get(2)).fused(),
                        "fused");
                assertTrue(!((BatchNorm2d) plain.layers().get(1)).fusedRelu(), "a LeakyReLU does not fuse");
            } else if (res) {
                assertTrue(((Residual) top.get(3)).fusedRelu() && ((ReLU) top.get(4)).fused()
                        && ((Residual) top.get(5)).fusedRelu() && ((ReLU) top.get(6)).fused(), "fused");
                assertTrue(!((Residual) plain.layers().get(3)).fusedRelu(), "a LeakyReLU does not fuse");
            } else {
                MaxPool2d inner = (MaxPool2d) ((Residual) top.get(3)).body().get(2);
                assertTrue(((MaxPool2d) top.get(2)).reluFirst() && inner.reluFirst() && ((ReLU) top.get(1)).fused(),
                        "fused");
                assertTrue(((BatchNorm2d) top.get(5)).fusedRelu() && !((MaxPool2d) top.get(7)).reluFirst(),
                        "the batch norm keeps its ReLU");
                assertTrue(!((MaxPool2d) plain.layers().get(2)).reluFirst(), "a LeakyReLU does not fuse");
            }
            GradCheck.randomizeParameters(fused, 72, 0.5);
            GradCheck.randomizeParameters(plain, 72, 0.5);
            try (Tensor x = GradCheck.tensor(be, in.withBatch(3),
                    GradCheck.uniform(new SplittableRandom(73), 3 * in.numel(), -1, 1));
                 Tensor dy = GradCheck.tensor(be, Shape.of(3, 3), GradCheck.uniform(new SplittableRandom(74), 9, -1, 1))) {
                for (boolean training : new boolean[] {true, false}) {
                    double[] want = plain.forward(x, training).toDoubleArray();
                    assertArrayEquals(want, fused.forward(x, training).toDoubleArray(), 0, "output, training " + training);
                }
                for (Sequential m : List.of(fused, plain)) {
                    m.zeroGrad();
                    m.forward(x, true);
                    m.backward(dy);
                }
                // the same sums, which a vectorised native loop may add in another order: 1e-12
                List<Parameter> a = fused.parameters(), b = plain.parameters();
                for (int i = 0; i < a.size(); i++) {
                    assertArrayEquals(b.get(i).grad().toDoubleArray(), a.get(i).grad().toDoubleArray(), 1e-12,
                            "gradient of " + a.get(i).name());
                }
                GradCheck.check(fused, x, 75).assertOk("ReLU fused with " + with);
            }
        }
    }

    /** A projection shortcut (1x1 stride-2 conv + batch norm) and the parameter-free option-A one. */
    @ParameterizedTest(name = "[{index}] {0} shortcut")
    @ValueSource(strings = {"projection", "option A"})
    void residualDownsamplingShortcut(String kind) {
        List<Layer> shortcut = kind.equals("projection")
                ? List.of(new Conv2d(4, 1).stride(2).bias(false), new BatchNorm2d())
                : List.of(new AvgPool2d(1).stride(2), new ChannelPad(1, 1));
        Residual block = new Residual(List.of(new Conv2d(4, 3).stride(2).padding(1), new Sigmoid()), shortcut);
        try (Sequential m = new Sequential(Shape.of(2, 6, 6), block, new Flatten(), new Linear(3))
                .initialize(be, DType.FLOAT64, 41)) {
            GradCheck.randomizeParameters(m, 42, 0.5);
            try (Tensor x = GradCheck.tensor(be, Shape.of(3, 2, 6, 6), GradCheck.uniform(new SplittableRandom(43), 216, -1, 1))) {
                GradCheck.Report r = GradCheck.check(m, x, 44).assertOk("residual block, " + kind + " shortcut");
                assertTrue(r.maxAbsInputGradient() > 1e-3);
            }
        }
    }

    @ParameterizedTest(name = "[{index}] maxout after {0}")
    @ValueSource(strings = {"Conv2d", "Linear"})
    void maxout(String after) {
        Layer affine = after.equals("Conv2d") ? new Conv2d(6, 3).padding(1) : new Linear(6);
        Shape in = after.equals("Conv2d") ? Shape.of(2, 4, 3) : Shape.of(5);
        try (Sequential m = new Sequential(in, affine, new Maxout(3)).initialize(be, DType.FLOAT64, 51)) {
            GradCheck.randomizeParameters(m, 52, 0.5);
            assertEquals(after.equals("Conv2d") ? Shape.of(2, 4, 3) : Shape.of(2), m.outputShape());
            try (Tensor x = GradCheck.tensor(be, in.withBatch(3), GradCheck.uniform(new SplittableRandom(53), 3 * in.numel(), -1, 1))) {
                GradCheck.check(m, x, 54).assertOk("maxout after " + after);
            }
        }
    }

    @Test
    void dropoutWithAFixedMask() {
        Dropout d = new Dropout(0.4).fixMask(true);
        try (Sequential m = new Sequential(Shape.of(3, 4, 4), new Conv2d(3, 3).padding(1), d, new Tanh())
                .initialize(be, DType.FLOAT64, 61)) {
            GradCheck.randomizeParameters(m, 62, 0.5);
            try (Tensor x = GradCheck.tensor(be, Shape.of(2, 3, 4, 4), GradCheck.uniform(new SplittableRandom(63), 96, -1, 1))) {
                GradCheck.check(m, x, 64).assertOk("dropout with a fixed mask");
                double[] y = m.layers().get(1).forward(m.layers().get(0).forward(x, true), true).toDoubleArray();
                long zeros = java.util.Arrays.stream(y).filter(v -> v == 0).count();
                assertTrue(zeros > 0.2 * y.length && zeros < 0.6 * y.length, zeros + " of " + y.length + " dropped");
                // evaluation: the identity
                Tensor c = m.layers().get(0).forward(x, false);
                assertArrayEquals(c.toDoubleArray(), d.forward(c, false).toDoubleArray(), 0);
            }
        }
    }

    @Test
    void globalAveragePooling() {
        try (Sequential m = GradCheck.single(be, Shape.of(3, 5, 4), new GlobalAvgPool2d(), 71);
             Tensor x = GradCheck.tensor(be, Shape.of(2, 3, 5, 4), GradCheck.uniform(new SplittableRandom(72), 120, -1, 1))) {
            assertEquals(Shape.of(3, 1, 1), m.outputShape());
            GradCheck.check(m, x, 73).assertOk("global average pooling");
        }
    }

    /** A second model through the other ops: grouped dilated conv, leaky ReLU, average pooling, tanh, sigmoid. */
    @Test
    void sequentialWithOtherOps() {
        try (Sequential m = new Sequential(Shape.of(4, 9, 7),
                new Conv2d(6, 3).groups(2).dilation(2).padding(2, 1, 1, 2).stride(1, 2), new LeakyReLU(0.1),
                new AvgPool2d(3).stride(2).padding(1).countIncludePad(false), new Tanh(),
                new Conv2d(4, 1), new Sigmoid(), new Flatten(), new Linear(3).bias(false))
                .initialize(be, DType.FLOAT64, 11)) {
            GradCheck.randomizeParameters(m, 12, 0.5);
            try (Tensor x = kinkFreeInput(m, m.inputShape().withBatch(2), 13)) {
                GradCheck.check(m, x, 14).assertOk("grouped conv/leaky/avg/tanh/sigmoid model");
            }
        }
    }

    // ---- accumulation rule ----------------------------------------------------------------

    /** Parameter gradients add up over backward passes; the input gradient is overwritten (Backend contract). */
    @Test
    void parameterGradientsAccumulate() {
        try (Sequential m = smallCnn().initialize(be, DType.FLOAT64, 3)) {
            GradCheck.randomizeParameters(m, 4, 0.5);
            try (Tensor x = GradCheck.tensor(be, m.inputShape().withBatch(2),
                    GradCheck.uniform(new SplittableRandom(5), 2 * m.inputShape().numel(), -1, 1));
                 Tensor dy = GradCheck.tensor(be, Shape.of(2, 5),
                         GradCheck.uniform(new SplittableRandom(6), 10, -1, 1))) {
                m.zeroGrad();
                m.forward(x, true);
                double[] dx1 = m.backward(dy).toDoubleArray();
                List<double[]> once = new ArrayList<>();
                for (Parameter p : m.parameters()) {
                    once.add(p.grad().toDoubleArray());
                }
                m.forward(x, true);
                double[] dx2 = m.backward(dy).toDoubleArray();
                assertArrayEquals(dx1, dx2, 0.0);
                List<Parameter> ps = m.parameters();
                for (int i = 0; i < ps.size(); i++) {
                    double[] twice = ps.get(i).grad().toDoubleArray();
                    double[] expected = once.get(i).clone();
                    for (int j = 0; j < expected.length; j++) {
                        expected[j] *= 2;
                    }
                    assertArrayEquals(expected, twice, 1e-12, ps.get(i).name());
                }
                m.zeroGrad();
                for (Parameter p : m.parameters()) {
                    assertEquals(0.0, GradCheck.maxAbs(p.grad().toDoubleArray()));
                }
            }
        }
    }

    private static double[] scale(double[] v, double s) {
        for (int i = 0; i < v.length; i++) {
            v[i] *= s;
        }
        return v;
    }
}
