package org.cnn4j.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.cnn4j.NativeExpectation;
import org.cnn4j.backend.FloatDoubleParityTest.ConvCfg;
import org.cnn4j.tensor.DType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.provider.Arguments;

/**
 * The base of the tests that compare the native CPU backend with the pure-Java reference: one
 * reference backend and native backends on 1, 2 and 3 threads for the whole class. Afterwards
 * the process-wide settings the tests change (the instruction set and the convolution
 * algorithm) are back at their defaults.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class NativeComparison {
    protected JavaBackend ref;
    /** natives[t - 1] runs on t threads. */
    protected NativeCpuBackend[] natives;

    @BeforeAll
    void openBackends() {
        NativeExpectation.requireNative();
        ref = new JavaBackend(1);
        natives = new NativeCpuBackend[] {NativeCpuBackend.create(1), NativeCpuBackend.create(2),
            NativeCpuBackend.create(3)};
    }

    /** Every instruction set this CPU has, paired with every shape: (isa, shape) test arguments. */
    static Stream<Arguments> onEveryIsa(List<?> shapes) {
        List<Arguments> out = new ArrayList<>();
        for (String isa : NativeParityTest.isas()) {
            for (Object shape : shapes) {
                out.add(Arguments.of(isa, shape));
            }
        }
        return out.stream();
    }

    /**
     * The convolution's passes in float on one thread under the current settings ({y, dx, dw,
     * dbias}, see {@link FloatDoubleParityTest#runConv}), after checking that 2 and 3 threads give
     * the same bits in the first {@code outputs.length} of them.
     */
    protected double[][] convOnEveryThreadCount(String what, ConvCfg cfg, long seed, String[] outputs) {
        double[][] one = FloatDoubleParityTest.runConv(natives[0], DType.FLOAT32, cfg, seed);
        for (int t = 2; t <= 3; t++) {
            double[][] again = FloatDoubleParityTest.runConv(natives[t - 1], DType.FLOAT32, cfg, seed);
            for (int i = 0; i < outputs.length; i++) {
                assertArrayEquals(one[i], again[i], what + " " + cfg + " " + outputs[i] + ": 1 thread against " + t);
            }
        }
        return one;
    }

    static final String[] CONV_OUTPUTS = {"forward y", "backward-data dx", "backward-filter dw", "dbias"};

    /**
     * Runs the convolution's passes in float under the algorithm {@code setting} on the
     * instruction set {@code isa} and returns them, after checking that they match the
     * pure-Java FLOAT64 result within the float parity tolerance, give the same bits on 1, 2 and
     * 3 threads, and differ from im2col + GEMM in the passes named in {@code differs} (f
     * forward, d backward-data, w backward-filter), so that {@code algorithm} really ran there.
     */
    protected double[][] checkConvAlgorithm(String isa, ConvCfg cfg, long seed, String setting, String differs,
                                            String algorithm) {
        NativeCpuBackend.setIsa(isa);
        try {
            double[][] exact = FloatDoubleParityTest.runConv(ref, DType.FLOAT64, cfg, seed);
            NativeCpuBackend.setConvAlgorithm(setting);
            double[][] got = convOnEveryThreadCount(isa, cfg, seed, CONV_OUTPUTS);
            NativeCpuBackend.setConvAlgorithm("gemm");
            double[][] gemm = FloatDoubleParityTest.runConv(natives[1], DType.FLOAT32, cfg, seed);
            for (int i = 0; i < CONV_OUTPUTS.length; i++) {
                String what = isa + " " + cfg + " " + CONV_OUTPUTS[i];
                FloatDoubleParityTest.assertClose(what, exact[i], got[i], NativeParityTest.F32_TOL);
                if (i < 3 && differs.indexOf("fdw".charAt(i)) >= 0) {
                    assertFalse(Arrays.equals(got[i], gemm[i]), what + ": " + algorithm + " did not run");
                }
            }
            return got;
        } finally {
            NativeCpuBackend.setConvAlgorithm("auto");
        }
    }

    @AfterAll
    void closeBackends() {
        if (ref == null) {
            return;
        }
        ref.close();
        for (NativeCpuBackend b : natives) {
            b.close();
        }
        NativeCpuBackend.setIsa(NativeCpuBackend.supportedIsa());
        NativeCpuBackend.setConvAlgorithm("auto");
    }
}
