package org.cnn4j.backend;

import static org.cnn4j.backend.FloatDoubleParityTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.cnn4j.NativeExpectation;
import org.cnn4j.backend.FloatDoubleParityTest.ConvCfg;
import org.cnn4j.backend.FloatDoubleParityTest.PoolCfg;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Window2d;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every op of {@link CudaBackend} against the pure-Java backend in FLOAT64, on the same random
 * shapes as the CPU parity tests (odd sizes, every stride/padding/dilation/groups combination,
 * batch 1), in FLOAT32 (tolerance 1e-5 relative to max(1, max |reference|)) and FLOAT64
 * (1e-11). Skipped where no GPU can be used, a failure with {@code -Dcnn4j.expectGpu=true}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CudaParityTest {
    private JavaBackend ref;
    private CudaBackend gpu;

    @BeforeAll
    void start() {
        ref = new JavaBackend(1);
        gpu = NativeCpuBackend.isAvailable() && CudaBackend.isAvailable() ? CudaBackend.create(0) : null;
    }

    /** Each test is skipped, with the reason, where no GPU can be used (a failure when one is expected). */
    @org.junit.jupiter.api.BeforeEach
    void requireGpu() {
        NativeExpectation.requireGpu();
    }

    @AfterAll
    void stop() {
        if (gpu != null) {
            gpu.close();
        }
        ref.close();
    }

    private static double tol(DType dt) {
        return dt == DType.FLOAT32 ? NativeParityTest.F32_TOL : NativeParityTest.F64_TOL;
    }

    static Stream<ConvCfg> convCases() {
        return NativeParityTest.convCases().map(a -> (ConvCfg) a.get()[2]).distinct();
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("convCases")
    void convolution(ConvCfg cfg) {
        double[][] want = FloatDoubleParityTest.runConv(ref, DType.FLOAT64, cfg, 31);
        for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            double[][] got = FloatDoubleParityTest.runConv(gpu, dt, cfg, 31);
            for (int i = 0; i < want.length; i++) {
                assertClose("cuda " + dt + " conv " + cfg + " output " + i, want[i], got[i], tol(dt));
            }
        }
    }

    static Stream<PoolCfg> poolCases() {
        return NativeParityTest.poolCases().map(a -> (PoolCfg) a.get()[1]);
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("poolCases")
    void pooling(PoolCfg cfg) {
        double[][] want = FloatDoubleParityTest.runPool(ref, DType.FLOAT64, cfg, 5);
        for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            double[][] got = FloatDoubleParityTest.runPool(gpu, dt, cfg, 5);
            assertArrayEquals(want[0], got[0], 0.0, dt + " max y " + cfg);
            assertArrayEquals(want[1], got[1], 0.0, dt + " max argmax " + cfg);
            for (int i = 2; i < want.length; i++) {
                assertClose("cuda " + dt + " pool " + cfg + " output " + i, want[i], got[i], tol(dt));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void activations(Activation act) {
        for (Shape s : List.of(Shape.of(1, 3, 5, 7), Shape.of(7, 13), Shape.of(5, 4, 71, 73))) {
            double[][] want = FloatDoubleParityTest.runActivation(ref, DType.FLOAT64, act, s, 9);
            for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                double[][] got = FloatDoubleParityTest.runActivation(gpu, dt, act, s, 9);
                assertClose(dt + " " + act + " forward " + s, want[0], got[0], tol(dt));
                assertClose(dt + " " + act + " backward " + s, want[1], got[1], tol(dt));
            }
        }
    }

    static Stream<Arguments> matmulCases() {
        List<Arguments> out = new ArrayList<>();
        NativeParityTest.matmulCases().map(Arguments::get).filter(a -> a[0].equals(NativeParityTest.isas().get(0)))
                .forEach(a -> out.add(Arguments.of(a[2], a[3], a[4], a[5], a[6])));
        return out.stream();
    }

    @ParameterizedTest(name = "[{index}] m={0} n={1} k={2} ta={3} tb={4}")
    @MethodSource("matmulCases")
    void matmul(int m, int n, int k, boolean ta, boolean tb) {
        double[][] want = FloatDoubleParityTest.runMatmul(ref, DType.FLOAT64, m, n, k, ta, tb, 3);
        for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            double[][] got = FloatDoubleParityTest.runMatmul(gpu, dt, m, n, k, ta, tb, 3);
            assertClose(dt + " matmul", want[0], got[0], tol(dt));
            assertClose(dt + " matmul accumulate", want[1], got[1], tol(dt));
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void lossBiasElementwiseOptimizersNormDropoutMaxout(DType dt) {
        List<double[]> want = NativeParityTest.runLossBiasElementwiseOptimizers(ref, DType.FLOAT64);
        List<double[]> got = NativeParityTest.runLossBiasElementwiseOptimizers(gpu, dt);
        for (int i = 0; i < want.size(); i++) {
            assertClose("cuda " + dt + " " + NativeParityTest.LOSS_BIAS_ELEMENTWISE_OPTIMIZER_OUTPUTS[i], want.get(i), got.get(i), tol(dt) * 10);
        }
        for (Shape s : List.of(Shape.of(4, 6, 5, 3), Shape.of(9, 6), Shape.of(1, 6, 33, 31))) {
            List<double[]> w = NativeParityTest.runNormDropoutMaxout(ref, DType.FLOAT64, s);
            List<double[]> g = NativeParityTest.runNormDropoutMaxout(gpu, dt, s);
            for (int i = 0; i < w.size(); i++) {
                assertClose("cuda " + dt + " " + s + " " + NativeParityTest.NORM_DROPOUT_MAXOUT_OUTPUTS[i], w.get(i), g.get(i),
                        NativeParityTest.tolerance(NativeParityTest.NORM_DROPOUT_MAXOUT_OUTPUTS[i], dt));
            }
        }
    }

    @Test
    void describesItsDevice() {
        assertEquals("cuda", gpu.name());
        gpu.synchronize();
    }
}
