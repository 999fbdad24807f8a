package org.cnn4j.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.cnn4j.NativeExpectation;
import org.cnn4j.backend.FloatDoubleParityTest.ConvCfg;
import org.cnn4j.nn.Models;
import org.cnn4j.nn.Sequential;
import org.cnn4j.optim.Adam;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.tensor.Window2d;
import org.cnn4j.train.StepRunner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The simulated CUDA device itself (a build with {@code -Dcnn4j.cuda=SIM}): how it is selected,
 * that every allocation a backend makes is given back, that results do not depend on the order
 * in which a block's threads run, and that kernels really run on it. The CUDA suites
 * ({@code CudaParityTest}, {@code CudaRuntimeTest}, {@code CudaGradientCheckTest},
 * {@code CudaConvergenceTest}) run on it as on a GPU. Skipped, saying why, where the CUDA device
 * is not the simulated one.
 */
class SimulatedDeviceTest {

    private boolean ran;

    @BeforeEach
    void requireSimulator() {
        ran = false;
        NativeExpectation.requireGpu();
        org.junit.jupiter.api.Assumptions.assumeTrue(CudaBackend.simulated(),
                "checks the simulated CUDA device, and this build's device is a GPU");
        ran = true;
    }

    @AfterEach
    void defaults() {
        if (ran) {
            CudaBackend.configureSimulator(0, 0);
            CudaBackend.setPrecision(Precision.FP32);
        }
    }

    @Test
    void selectedByNameNeverByAuto() {
        try (CudaBackend b = CudaBackend.create(0)) {
            assertTrue(b.description().contains("simulated device"), b.description());
        }
        Backends.Choice auto = Backends.create("auto", 1);
        try (Backend b = auto.backend()) {
            assertNotEquals("cuda", b.name(), auto.reason());
            assertTrue(auto.reason().contains("simulated"), auto.reason());
        }
    }

    @Test
    void kernelsRunOnTheSimulator() {
        long[] before = CudaBackend.simulatorStats();
        try (CudaBackend b = CudaBackend.create(0); Tensor x = b.zeros(Shape.of(1000))) {
            b.fill(x, 2);
            assertEquals(2f, x.toFloatArray()[999]);
        }
        long[] after = CudaBackend.simulatorStats();
        assertTrue(after[2] > before[2], "no kernel ran");
        assertTrue(after[3] > before[3] && after[4] >= after[3], "no block or thread ran");
    }

    /** Tensors, uploaders, deferred reads and recorded steps give back all their memory. */
    @Test
    void everyAllocationIsGivenBack() {
        long[] before = CudaBackend.simulatorStats();
        try (CudaBackend b = CudaBackend.create(0)) {
            try (Sequential m = Models.lenet5().initialize(b, 3);
                 Adam opt = new Adam(m.parameters(), 1e-3);
                 StepRunner r = new StepRunner(m, opt)) {
                float[] xs = new float[28 * 28 * 8];
                int[] ys = new int[8];
                for (int s = 0; s < 4; s++) {
                    r.queue(xs, ys, 8, 1e-3);
                }
                r.drain();
                assertTrue(r.replaysDeviceGraph(8), "no graph: " + r.graphNote());
                assertTrue(CudaBackend.simulatorStats()[0] > before[0], "a model allocates nothing?");
            }
        }
        long[] after = CudaBackend.simulatorStats();
        assertEquals(before[0], after[0], "live allocations after every tensor, uploader, fetch, graph and backend closed");
        assertEquals(before[1], after[1], "live bytes");
    }

    /**
     * Each thread's arithmetic is fixed by its index, so no result may depend on the order in
     * which the threads of a block run: every seed gives bit-identical outputs, FP32 and TF32.
     */
    @Test
    void resultsDoNotDependOnThreadOrder() {
        ConvCfg cfg = new ConvCfg(3, 4, 13, 11, 6, new Window2d(3, 3, 2, 1, 1, 1, 0, 2, 1, 2), 2);
        for (Precision p : List.of(Precision.FP32, Precision.TF32)) {
            CudaBackend.setPrecision(p);
            double[][] first = null;
            for (long seed : new long[] {0, 5, 1234567}) {
                CudaBackend.configureSimulator(seed, 0);
                double[][] got;
                try (CudaBackend b = CudaBackend.create(0)) {
                    got = FloatDoubleParityTest.runConv(b, DType.FLOAT32, cfg, 31);
                    if (seed != 0) {
                        assertTrue(b.description().contains("seeded order"), b.description());
                    }
                }
                if (first == null) {
                    first = got;
                } else {
                    for (int i = 0; i < got.length; i++) {
                        assertArrayEquals(first[i], got[i], p + " output " + i + " with seed " + seed);
                    }
                }
            }
            assertFalse(first == null);
        }
    }
}
