package org.cnn4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.cnn4j.backend.JavaBackend;
import org.cnn4j.nn.Conv2d;
import org.cnn4j.nn.Flatten;
import org.cnn4j.nn.Layer;
import org.cnn4j.nn.Linear;
import org.cnn4j.nn.MaxPool2d;
import org.cnn4j.nn.Models;
import org.cnn4j.nn.Sequential;
import org.cnn4j.nn.ShapeException;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.tensor.Window2d;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The worked examples E1-E11 of SPEC.md and the LeNet-5 of SPEC S7.1. */
class SpecExamplesTest {
    private static JavaBackend be;

    @BeforeAll
    static void start() {
        be = new JavaBackend(2);
    }

    @AfterAll
    static void stop() {
        be.close();
    }

    private static Shape outputOf(Shape input, Layer... layers) {
        return new Sequential(input, layers).outputShape();
    }

    private static List<String> flaggedLines(String summary) {
        return summary.lines().filter(l -> l.startsWith("!")).toList();
    }

    // ---- E1, E2 ---------------------------------------------------------------------------

    // SPEC E1: 7x7 input, 3x3 filter: stride 1 -> 5x5, stride 2 -> 3x3, stride 3 does not fit.
    @Test
    void e1StrideOutputSizes() {
        assertEquals(5, Window2d.square(3, 1, 0).outH(7));
        assertEquals(3, Window2d.square(3, 2, 0).outH(7));
        assertEquals(0, Window2d.square(3, 1, 0).unusedRows(7));
        assertEquals(0, Window2d.square(3, 2, 0).unusedRows(7));
        // (7 - 3) / 3 + 1 = 2.33: floors to 2 and the last row and column stay unused (S1.6)
        assertEquals(2, Window2d.square(3, 3, 0).outH(7));
        assertEquals(1, Window2d.square(3, 3, 0).unusedRows(7));
        assertEquals(1, Window2d.square(3, 3, 0).unusedCols(7));

        assertEquals(Shape.of(1, 5, 5), outputOf(Shape.of(1, 7, 7), new Conv2d(1, 3)));
        assertEquals(Shape.of(1, 3, 3), outputOf(Shape.of(1, 7, 7), new Conv2d(1, 3).stride(2)));
        assertEquals(Shape.of(1, 2, 2), outputOf(Shape.of(1, 7, 7), new Conv2d(1, 3).stride(3)));
    }

    // SPEC E1 (S1.6): stride 3 on 7x7 is flagged in the summary and rejected in strict mode.
    @Test
    void e1StrideThreeIsFlaggedAndStrictModeRejectsIt() {
        Sequential loose = new Sequential(Shape.of(1, 7, 7), new Conv2d(1, 3).stride(3));
        List<String> flagged = flaggedLines(loose.summary());
        assertEquals(1, flagged.size(), loose.summary());
        assertTrue(flagged.get(0).contains("0") && flagged.get(0).contains("Conv2d"), flagged.get(0));
        assertFalse(loose.layers().get(0).warnings().isEmpty());

        ShapeException e = assertThrows(ShapeException.class,
                () -> Sequential.strict(Shape.of(1, 7, 7), new Conv2d(1, 3).stride(3)));
        assertTrue(e.getMessage().contains("0 (Conv2d)"), e.getMessage());

        // in a deeper model the message names the offending layer's index
        ShapeException deep = assertThrows(ShapeException.class,
                () -> Sequential.strict(Shape.of(1, 9, 9), new Conv2d(2, 3), new Conv2d(2, 3).stride(3)));
        assertTrue(deep.getMessage().startsWith("1 (Conv2d)"), deep.getMessage());

        // strides 1 and 2 fit 7x7 exactly: nothing flagged, strict mode accepts them
        for (int s : new int[] {1, 2}) {
            final int stride = s;
            Sequential ok = assertDoesNotThrow(() -> Sequential.strict(Shape.of(1, 7, 7), new Conv2d(1, 3).stride(stride)));
            assertTrue(flaggedLines(ok.summary()).isEmpty(), ok.summary());
        }
    }

    // SPEC E2: 7x7 input, 3x3 filter, stride 1, pad 1 -> 7x7.
    @Test
    void e2SamePadding() {
        assertEquals(7, Window2d.square(3, 1, 1).outH(7));
        assertEquals(Shape.of(1, 7, 7), outputOf(Shape.of(1, 7, 7), new Conv2d(1, 3).padding(1)));
    }

    // ---- E3 - E8 --------------------------------------------------------------------------

    // SPEC E3: 32x32x3, 10 filters 5x5, stride 1, pad 2 -> 32x32x10; 76 parameters per filter, 760 in all.
    @Test
    void e3ParametersPerFilterAndLayer() {
        Sequential m = new Sequential(Shape.of(3, 32, 32), new Conv2d(10, 5).padding(2));
        assertEquals(Shape.of(10, 32, 32), m.outputShape());
        assertEquals(760, m.parameterCount());
        assertEquals(76, new Sequential(Shape.of(3, 32, 32), new Conv2d(1, 5).padding(2)).parameterCount());
        // the allocated tensors hold exactly that many values
        m.initialize(be, 1);
        assertEquals(760, m.parameters().stream().mapToInt(p -> p.value().numel()).sum());
        assertTrue(m.summary().contains("760"), m.summary());
        m.close();
    }

    // SPEC E4: 39x39x3 -> 37x37x10 (280 params) -> f5 s2 -> 17x17x20 -> f5 s2 -> 7x7x40 = 1960 features.
    @Test
    void e4SeedNetwork() {
        Conv2d c1 = new Conv2d(10, 3), c2 = new Conv2d(20, 5).stride(2), c3 = new Conv2d(40, 5).stride(2);
        Flatten flat = new Flatten();
        Sequential m = Sequential.strict(Shape.of(3, 39, 39), c1, c2, c3, flat);
        assertEquals(Shape.of(10, 37, 37), c1.outputShape());
        assertEquals(Shape.of(20, 17, 17), c2.outputShape());
        assertEquals(Shape.of(40, 7, 7), c3.outputShape());
        assertEquals(Shape.of(1960), flat.outputShape());
        assertEquals(Shape.of(1960), m.outputShape());
        assertEquals(280, c1.parameterCount());
        assertEquals((5 * 5 * 10 + 1) * 20, c2.parameterCount());
        assertEquals((5 * 5 * 20 + 1) * 40, c3.parameterCount());
        assertEquals(280 + 5020 + 20040, m.parameterCount());
        assertTrue(flaggedLines(m.summary()).isEmpty(), m.summary());
        assertTrue(m.summary().contains("40x7x7"), m.summary());
    }

    // SPEC E5: 56x56x64 through 32 1x1 filters -> 56x56x32.
    @Test
    void e5OneByOne() {
        Sequential m = new Sequential(Shape.of(64, 56, 56), new Conv2d(32, 1));
        assertEquals(Shape.of(32, 56, 56), m.outputShape());
        assertEquals((64 + 1) * 32, m.parameterCount());
    }

    // SPEC E6: 32x32 through 5x5 valid convolutions: 32 -> 28 -> 24.
    @Test
    void e6ValidShrinks() {
        Conv2d a = new Conv2d(6, 5), b = new Conv2d(6, 5);
        new Sequential(Shape.of(1, 32, 32), a, b);
        assertEquals(Shape.of(6, 28, 28), a.outputShape());
        assertEquals(Shape.of(6, 24, 24), b.outputShape());
    }

    // SPEC E7: parameter sharing.
    @Test
    void e7ParameterSharing() {
        // fully connected 32x32x3 (3,072) -> 28x28x6 (4,704): 14,450,688 weights
        Sequential fc = new Sequential(Shape.of(3, 32, 32), new Flatten(), new Linear(4704).bias(false));
        assertEquals(Shape.of(3072), fc.layers().get(0).outputShape());
        assertEquals(14_450_688L, fc.parameterCount());
        // six 5x5 filters on one channel: (5*5+1)*6 = 156, producing 28x28x6 = 4,704 values
        Sequential conv1 = new Sequential(Shape.of(1, 32, 32), new Conv2d(6, 5));
        assertEquals(156, conv1.parameterCount());
        assertEquals(4704, conv1.outputShape().numel());
        // the same six filters on three channels: (5*5*3+1)*6 = 456
        Sequential conv3 = new Sequential(Shape.of(3, 32, 32), new Conv2d(6, 5));
        assertEquals(456, conv3.parameterCount());
        assertEquals(Shape.of(6, 28, 28), conv3.outputShape());
    }

    // SPEC E8: two stacked 3x3 convolutions see 5x5 with 18 weights per channel pair, one 5x5 needs 25.
    @Test
    void e8StackedThreeByThree() {
        Sequential two = new Sequential(Shape.of(1, 5, 5), new Conv2d(1, 3).bias(false), new Conv2d(1, 3).bias(false));
        Sequential one = new Sequential(Shape.of(1, 5, 5), new Conv2d(1, 5).bias(false));
        assertEquals(18, two.parameterCount());
        assertEquals(25, one.parameterCount());
        assertEquals(Shape.of(1, 1, 1), two.outputShape());
        assertEquals(Shape.of(1, 1, 1), one.outputShape());
        // per channel pair with C channels in and out: 2*9*C*C vs 25*C*C
        Sequential twoC = new Sequential(Shape.of(4, 5, 5), new Conv2d(4, 3).bias(false), new Conv2d(4, 3).bias(false));
        assertEquals(2 * 9 * 16, twoC.parameterCount());

        // The stacked pair's single output really sees all 25 input pixels: its gradient
        // with respect to every input pixel is non-zero.
        try (Sequential m = two.initialize(be, DType.FLOAT64, 3);
             Tensor x = be.fromArray(Shape.of(1, 1, 5, 5), GradCheck.uniform(new SplittableRandom(1), 25, -1, 1));
             Tensor dy = be.fromArray(Shape.of(1, 1, 1, 1), new double[] {1})) {
            GradCheck.randomizeParameters(m, 4, 1.0);
            m.forward(x, true);
            double[] dx = m.backward(dy).toDoubleArray();
            for (int i = 0; i < 25; i++) {
                assertTrue(dx[i] != 0, "input pixel " + i + " is outside the receptive field");
            }
        }
    }

    // ---- E9, E10 --------------------------------------------------------------------------

    // SPEC E9: 4x4 input, max pool f=2 s=2 -> 2x2; values computed by hand.
    @Test
    void e9MaxPoolFourByFour() {
        MaxPool2d pool = new MaxPool2d(2).stride(2);
        try (Sequential m = new Sequential(Shape.of(1, 4, 4), pool).initialize(be, DType.FLOAT64, 1);
             Tensor x = be.fromArray(Shape.of(1, 1, 4, 4), new double[] {
                 1, 1, 2, 4,
                 5, 6, 7, 8,
                 3, 2, 1, 0,
                 1, 2, 3, 4});
             Tensor dy = be.fromArray(Shape.of(1, 1, 2, 2), new double[] {10, 20, 30, 40})) {
            assertEquals(Shape.of(1, 2, 2), m.outputShape());
            assertEquals(Window2d.square(2, 2, 0), pool.window());
            assertArrayEquals(new double[] {6, 8, 3, 4}, m.forward(x, true).toDoubleArray(), 0.0);
            // the max gate routes each window's gradient to its winner (S2.5)
            assertArrayEquals(new double[] {
                0, 0, 0, 0,
                0, 10, 0, 20,
                30, 0, 0, 0,
                0, 0, 0, 40}, m.backward(dy).toDoubleArray(), 0.0);
        }
    }

    // SPEC E10: 5x5 input, max pool f=3 s=1 -> 3x3 (overlapping windows); values computed by hand.
    @Test
    void e10MaxPoolFiveByFive() {
        try (Sequential m = new Sequential(Shape.of(1, 5, 5), new MaxPool2d(3).stride(1))
                .initialize(be, DType.FLOAT32, 1);
             Tensor x = be.fromArray(Shape.of(1, 1, 5, 5), new float[] {
                 1, 0, 2, 0, 1,
                 0, 3, 0, 1, 0,
                 2, 0, 1, 0, 4,
                 0, 1, 0, 5, 0,
                 1, 0, 0, 0, 1});
             Tensor dy = be.fromArray(Shape.of(1, 1, 3, 3), new float[] {1, 1, 1, 1, 1, 1, 1, 1, 1})) {
            assertEquals(Shape.of(1, 3, 3), m.outputShape());
            assertArrayEquals(new float[] {
                3, 3, 4,
                3, 5, 5,
                2, 5, 5}, m.forward(x, true).toFloatArray(), 0f);
            // overlapping windows add up at their shared winner: the 5 wins 4 windows, the 3 wins 3
            assertArrayEquals(new float[] {
                0, 0, 0, 0, 0,
                0, 3, 0, 0, 0,
                1, 0, 0, 0, 1,
                0, 0, 0, 4, 0,
                0, 0, 0, 0, 0}, m.backward(dy).toFloatArray(), 0f);
        }
    }

    // ---- E11 ------------------------------------------------------------------------------

    // SPEC E11: f(x, W) = ||W x||^2 through a bias-free Linear(2), upstream dL/dq = 2q.
    @Test
    void e11ComputationalGraph() {
        Linear lin = new Linear(2).bias(false);
        try (Sequential m = new Sequential(Shape.of(2), lin).initialize(be, DType.FLOAT64, 1);
             Tensor x = be.fromArray(Shape.of(1, 2), new double[] {0.2, 0.4})) {
            assertEquals(1, m.parameters().size());
            lin.weight().value().copyFrom(new double[] {0.1, 0.5, -0.3, 0.8});
            m.zeroGrad();
            double[] q = m.forward(x, true).toDoubleArray();
            assertArrayEquals(new double[] {0.22, 0.26}, q, 1e-9);
            double f = q[0] * q[0] + q[1] * q[1];
            assertEquals(0.116, f, 1e-9);
            try (Tensor dq = be.fromArray(Shape.of(1, 2), new double[] {2 * q[0], 2 * q[1]})) {
                double[] dx = m.backward(dq).toDoubleArray();
                assertArrayEquals(new double[] {-0.112, 0.636}, dx, 1e-9);
                assertArrayEquals(new double[] {0.088, 0.176, 0.104, 0.208}, lin.weight().grad().toDoubleArray(), 1e-9);
                // S5.4: the gradient of a variable has the variable's shape
                assertEquals(Shape.of(2, 2), lin.weight().grad().shape());
            }
        }
    }

    // ---- LeNet-5 (S7.1) -------------------------------------------------------------------

    /** Output shape after each layer of both LeNet-5 variants (S7.1): the same from conv1 on. */
    private static final List<Shape> LENET5_STAGES = List.of(
            Shape.of(6, 28, 28), Shape.of(6, 28, 28), Shape.of(6, 14, 14),
            Shape.of(16, 10, 10), Shape.of(16, 10, 10), Shape.of(16, 5, 5),
            Shape.of(400),
            Shape.of(120), Shape.of(120),
            Shape.of(84), Shape.of(84),
            Shape.of(10));

    @Test
    void lenet5Classic() {
        Sequential m = Models.lenet5();
        assertEquals(61_706, m.parameterCount());
        assertEquals(Shape.of(1, 28, 28), m.inputShape());
        assertEquals(LENET5_STAGES, m.layers().stream().map(Layer::outputShape).toList());
        assertTrue(m.summary().contains("61,706"), m.summary());
        assertTrue(flaggedLines(m.summary()).isEmpty());
        // it runs: a batch of 2 images gives 2 x 10 finite scores
        try (Sequential init = m.initialize(be, 1);
             Tensor x = be.zeros(Shape.of(2, 1, 28, 28), DType.FLOAT32)) {
            x.copyFrom(GradCheck.uniform(new SplittableRandom(2), 2 * 784, 0, 1));
            Tensor y = init.forward(x, false);
            assertEquals(Shape.of(2, 10), y.shape());
            for (float v : y.toFloatArray()) {
                assertTrue(Float.isFinite(v));
            }
        }
    }

    // SPEC S7.1: the seed's LeNet-5 on 32x32x3: 32 -> 28 -> 14 -> 10 -> 5, 5x5x16 = 400 features.
    @Test
    void lenet5Rgb32() {
        Sequential m = Models.create("lenet5-32x32x3");
        assertEquals(Shape.of(3, 32, 32), m.inputShape());
        assertEquals(LENET5_STAGES, m.layers().stream().map(Layer::outputShape).toList());
        // first convolution sees 3 channels: (5*5*3+1)*6 = 456 instead of 156
        assertEquals(61_706 - 156 + 456, m.parameterCount());
        assertTrue(Models.names().contains("lenet5"));
        assertTrue(Models.names().contains("lenet5-32x32x3"));
        assertEquals(61_706, Models.create("lenet5").parameterCount());
        assertThrows(IllegalArgumentException.class, () -> Models.create("no-such-model"));
    }
}
