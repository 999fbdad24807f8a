package org.cnn4j.backend;

import static org.cnn4j.backend.FloatDoubleParityTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.cnn4j.NativeExpectation;
import org.cnn4j.backend.FloatDoubleParityTest.ConvCfg;
import org.cnn4j.nn.Models;
import org.cnn4j.nn.Parameter;
import org.cnn4j.nn.Sequential;
import org.cnn4j.optim.Adam;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.tensor.Window2d;
import org.cnn4j.train.StepRunner;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CUDA runtime beyond single ops: the TF32 tensor-core path, deterministic weight
 * gradients, page-locked uploads across two streams, deferred reads, CUDA graphs, the caching
 * pool, and training steps replayed from a graph giving the same weights as steps launched
 * one by one. Skipped where no GPU can be used, a failure with {@code -Dcnn4j.expectGpu=true}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CudaRuntimeTest {
    /** TF32 keeps 10 mantissa bits: products are good to ~1e-3 relative, sums of them as well. */
    static final double TF32_TOL = 5e-3;

    private JavaBackend ref;
    private CudaBackend gpu;

    @BeforeAll
    void start() {
        ref = new JavaBackend(1);
        gpu = NativeCpuBackend.isAvailable() && CudaBackend.isAvailable() ? CudaBackend.create(0) : null;
    }

    @BeforeEach
    void requireGpu() {
        NativeExpectation.requireGpu();
    }

    @AfterEach
    void fp32Again() {
        if (gpu != null) {
            CudaBackend.setPrecision(Precision.FP32);
        }
    }

    @AfterAll
    void stop() {
        if (gpu != null) {
            gpu.close();
        }
        ref.close();
    }

    static Stream<ConvCfg> convCases() {
        return CudaParityTest.convCases();
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("convCases")
    void tf32ConvolutionMatchesWithinTf32Rounding(ConvCfg cfg) {
        double[][] want = FloatDoubleParityTest.runConv(ref, DType.FLOAT64, cfg, 31);
        CudaBackend.setPrecision(Precision.TF32);
        assertEquals(Precision.TF32, CudaBackend.precision());
        double[][] got = FloatDoubleParityTest.runConv(gpu, DType.FLOAT32, cfg, 31);
        double[][] got64 = FloatDoubleParityTest.runConv(gpu, DType.FLOAT64, cfg, 31);
        for (int i = 0; i < want.length; i++) {
            assertClose("tf32 conv " + cfg + " output " + i, want[i], got[i], TF32_TOL);
            assertClose("float64 under tf32 " + cfg + " output " + i, want[i], got64[i], NativeParityTest.F64_TOL);
        }
    }

    @Test
    void tf32MatmulRoundsItsInputsAndFp32DoesNot() {
        int m = 67, n = 45, k = 300;
        double[][] want = FloatDoubleParityTest.runMatmul(ref, DType.FLOAT64, m, n, k, false, true, 3);
        double[][] fp32 = FloatDoubleParityTest.runMatmul(gpu, DType.FLOAT32, m, n, k, false, true, 3);
        CudaBackend.setPrecision(Precision.TF32);
        double[][] tf32 = FloatDoubleParityTest.runMatmul(gpu, DType.FLOAT32, m, n, k, false, true, 3);
        assertClose("fp32 matmul", want[0], fp32[0], NativeParityTest.F32_TOL);
        assertClose("tf32 matmul", want[0], tf32[0], TF32_TOL);
        // the tensor-core path really ran: its rounding is far above FP32's
        double worst = 0;
        for (int i = 0; i < want[0].length; i++) {
            worst = Math.max(worst, Math.abs(want[0][i] - tf32[0][i]));
        }
        assertTrue(worst > 1e-4, "tf32 results are as exact as fp32 (max difference " + worst + ")");
    }

    /**
     * What the collective layer over NCCL takes from the backend: its stream and a float32
     * tensor's device address (the same memory the tensor reads back), and refusals by name.
     */
    @Test
    void theStreamAndDeviceAddressesForTheCollectiveLayer() {
        assertTrue(gpu.stream() != 0, "a stream of cnn4j's own, not CUDA's default one");
        assertEquals(gpu.stream(), gpu.stream());
        assertTrue(CudaBackend.deviceCount() >= 1);
        try (Tensor a = gpu.zeros(Shape.of(4)); Tensor v = a.reshape(Shape.of(2, 2));
             Tensor i = gpu.zeros(Shape.of(4), DType.INT32);
             JavaBackend java = new JavaBackend(1); Tensor h = java.zeros(Shape.of(4))) {
            assertTrue(gpu.deviceAddress(a) != 0);
            assertEquals(gpu.deviceAddress(a), gpu.deviceAddress(v), "a view shares its tensor's memory");
            IllegalArgumentException wrongType = assertThrows(IllegalArgumentException.class, () -> gpu.deviceAddress(i));
            assertTrue(wrongType.getMessage().contains("INT32"), wrongType.getMessage());
            IllegalArgumentException other = assertThrows(IllegalArgumentException.class, () -> gpu.deviceAddress(h));
            assertTrue(other.getMessage().contains("another backend (java)"), other.getMessage());
        }
    }

    @Test
    void weightGradientsAreBitIdenticalRunToRun() {
        // a small output tile over a long pixel axis: the pixel axis is split in many parts
        ConvCfg cfg = new ConvCfg(64, 3, 32, 32, 8, Window2d.square(3, 1, 1), 1);
        for (Precision p : Precision.values()) {
            CudaBackend.setPrecision(p);
            double[][] a = FloatDoubleParityTest.runConv(gpu, DType.FLOAT32, cfg, 5);
            double[][] b = FloatDoubleParityTest.runConv(gpu, DType.FLOAT32, cfg, 5);
            assertArrayEquals(a[2], b[2], 0.0, p + " dw");
            assertArrayEquals(a[3], b[3], 0.0, p + " dbias");
        }
    }

    @Test
    void uploadsArriveInOrderWhileKernelsAreQueued() {
        int n = 1 << 18;
        List<float[]> batches = new ArrayList<>();
        SplittableRandom rng = new SplittableRandom(1);
        for (int i = 0; i < 7; i++) {
            float[] b = new float[n];
            for (int j = 0; j < n; j++) {
                b[j] = (float) rng.nextDouble();
            }
            batches.add(b);
        }
        List<Tensor> copies = new ArrayList<>();
        try (Tensor x = gpu.zeros(Shape.of(n)); Tensor zero = gpu.zeros(Shape.of(n));
             Uploader up = gpu.uploader(x)) {
            for (float[] b : batches) {
                up.upload(b, n);
                Tensor c = gpu.zeros(Shape.of(n));
                gpu.add(x, zero, c);  // reads x after the upload, before the next one overwrites it
                copies.add(c);
            }
            for (int i = 0; i < batches.size(); i++) {
                assertArrayEquals(batches.get(i), copies.get(i).toFloatArray(), "batch " + i);
            }
            assertThrows(IllegalArgumentException.class, () -> up.upload(new float[n + 1], n + 1));
            assertThrows(IllegalArgumentException.class, () -> up.upload(new int[n], n));
        } finally {
            copies.forEach(Tensor::close);
        }
    }

    @Test
    void deviceLossTotalsMatchTheWaitingLossAndNameABadLabel() {
        int rows = 37, classes = 11;
        SplittableRandom rng = new SplittableRandom(2);
        float[] l = new float[rows * classes];
        for (int i = 0; i < l.length; i++) {
            l[i] = (float) (rng.nextDouble() * 6 - 3);
        }
        int[] y = new int[rows];
        for (int i = 0; i < rows; i++) {
            y[i] = rng.nextInt(classes);
        }
        try (Tensor logits = gpu.fromArray(Shape.of(rows, classes), l);
             Tensor labels = gpu.fromArray(Shape.of(rows), y);
             Tensor d1 = gpu.zeros(Shape.of(rows, classes)); Tensor d2 = gpu.zeros(Shape.of(rows, classes));
             Tensor totals = gpu.zeros(Shape.of(3), DType.FLOAT64);
             Fetch f = gpu.fetch(totals)) {
            LossResult r = gpu.softmaxCrossEntropy(logits, labels, d1);
            gpu.softmaxCrossEntropy(logits, labels, d2, totals);
            f.start();
            double[] t = f.await();
            assertEquals(r.meanLoss() * rows, t[0], 1e-9);
            assertEquals(r.correct(), t[1]);
            assertEquals(-1, t[2]);
            assertArrayEquals(d1.toFloatArray(), d2.toFloatArray());
            y[13] = classes;
            labels.copyFrom(y);
            gpu.softmaxCrossEntropy(logits, labels, d2, totals);
            f.start();
            assertEquals(13, f.await()[2]);
            float[] g = d2.toFloatArray();
            for (int c = 0; c < classes; c++) {
                assertEquals(0f, g[13 * classes + c], "the bad row's gradient is zero");
            }
        }
    }

    @Test
    void aRecordedGraphReplaysItsOpsAndARecordingThatWaitsFails() {
        try (Tensor x = gpu.fromArray(Shape.of(1000), new float[1000]); Tensor one = gpu.zeros(Shape.of(1000))) {
            gpu.fill(one, 1);
            try (StepGraph g = gpu.record(() -> gpu.axpy(2, one, x))) {
                assertTrue(g.isDeviceGraph());
                assertEquals(0f, x.toFloatArray()[0], "recording ran the op");
                for (int i = 0; i < 3; i++) {
                    g.replay();
                }
            }
            assertEquals(6f, x.toFloatArray()[999]);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> gpu.record(() -> x.toFloatArray()));
            assertTrue(e.getMessage().contains("could not be recorded"), e.getMessage());
            gpu.axpy(1, one, x);  // the backend works after a failed recording
            assertEquals(7f, x.toFloatArray()[5]);
            IllegalStateException alloc = assertThrows(IllegalStateException.class,
                    () -> gpu.record(() -> gpu.zeros(Shape.of(10)).close()));
            assertTrue(alloc.getMessage().contains("recorded"), alloc.getMessage());
            gpu.axpy(1, one, x);
            assertEquals(8f, x.toFloatArray()[5]);
        }
    }

    /** The weights after some steps of LeNet-5 and of ResNet-20, with graphs on and off. */
    private static List<float[]> train(Backend b, String model, Shape in, boolean graphs, int steps) {
        try (Sequential m = Models.create(model, in, 10).initialize(b, 3);
             Adam opt = new Adam(m.parameters(), 1e-3);
             StepRunner r = new StepRunner(m, opt).setGraphs(graphs)) {
            SplittableRandom rng = new SplittableRandom(4);
            int batch = 16;
            float[] xs = new float[in.numel() * batch];
            int[] ys = new int[batch];
            for (int s = 0; s < steps; s++) {
                for (int i = 0; i < xs.length; i++) {
                    xs[i] = (float) rng.nextGaussian();
                }
                for (int i = 0; i < batch; i++) {
                    ys[i] = rng.nextInt(10);
                }
                r.queue(xs, ys, batch, 1e-3);
            }
            r.drain();
            if (graphs && b instanceof CudaBackend) {
                assertTrue(r.replaysDeviceGraph(batch), "no device graph: " + r.graphNote());
            }
            List<float[]> w = new ArrayList<>();
            for (Parameter p : m.parameters()) {
                w.add(p.value().toFloatArray());
            }
            return w;
        }
    }

    @Test
    void stepsReplayedFromAGraphGiveTheWeightsOfStepsLaunchedOneByOne() {
        for (String model : List.of("lenet5", "resnet20")) {
            Shape in = model.equals("lenet5") ? Shape.of(1, 28, 28) : Shape.of(3, 32, 32);
            List<float[]> eager = train(gpu, model, in, false, 6);
            List<float[]> graph = train(gpu, model, in, true, 6);
            for (int i = 0; i < eager.size(); i++) {
                assertArrayEquals(eager.get(i), graph.get(i), model + " parameter " + i);
            }
            // Against the Java backend: within 1e-3, or for ResNet-20 (where Adam's first steps,
            // about lr times the sign of each gradient, turn rounding differences of near-zero
            // gradients into whole steps) within twice the native CPU backend's own distance.
            List<float[]> java = train(ref, model, in, false, 6);
            List<float[]> cpu;
            try (NativeCpuBackend c = NativeCpuBackend.create(1)) {
                cpu = train(c, model, in, false, 6);
            }
            for (int i = 0; i < eager.size(); i++) {
                double[] a = new double[java.get(i).length], g = new double[a.length];
                double cpuSpread = 0;
                for (int j = 0; j < a.length; j++) {
                    a[j] = java.get(i)[j];
                    g[j] = graph.get(i)[j];
                    cpuSpread = Math.max(cpuSpread, Math.abs(java.get(i)[j] - cpu.get(i)[j]));
                }
                double tol = model.equals("lenet5") ? 1e-3 : Math.max(1e-3, 2 * cpuSpread);
                assertClose(model + " parameter " + i + " cuda vs java (cpu vs java " + cpuSpread + ")", a, g, tol);
                if (model.equals("lenet5")) {
                    double[] c = new double[a.length];
                    for (int j = 0; j < a.length; j++) {
                        c[j] = cpu.get(i)[j];
                    }
                    assertClose(model + " parameter " + i + " cuda vs native cpu", c, g, 1e-3);
                }
            }
        }
    }

    @Test
    void aSteadyStateStepTakesNoNewDeviceMemory() {
        try (Sequential m = Models.lenet5().initialize(gpu, 3);
             Adam opt = new Adam(m.parameters(), 1e-3);
             StepRunner r = new StepRunner(m, opt)) {
            float[] xs = new float[28 * 28 * 32];
            int[] ys = new int[32];
            for (int s = 0; s < 5; s++) {
                r.queue(xs, ys, 32, 1e-3);
            }
            r.drain();
            long[] before = gpu.poolBytes();
            for (int s = 0; s < 20; s++) {
                r.queue(xs, ys, 32, 1e-3);
            }
            r.drain();
            long[] after = gpu.poolBytes();
            assertEquals(before[0], after[0], "pool reserved bytes grew");
            assertEquals(before[1], after[1], "bytes in use changed");
        }
    }

    /**
     * Every op of a closed backend is refused with the same message before anything reaches the
     * device: element-wise, reductions, bias gradient, dropout, maxout, loss, top-k and the three
     * optimizer updates as much as convolutions.
     */
    @Test
    void everyOpRefusesAClosedBackend() {
        CudaBackend b = CudaBackend.create(0);
        try (Tensor x = b.zeros(Shape.of(2, 4)); Tensor y = b.zeros(Shape.of(2, 4)); Tensor m = b.zeros(Shape.of(2, 4));
             Tensor v = b.zeros(Shape.of(2, 4)); Tensor bias = b.zeros(Shape.of(4)); Tensor half = b.zeros(Shape.of(2, 2));
             Tensor labels = b.zeros(Shape.of(2), DType.INT32); Tensor idx = b.zeros(Shape.of(2, 2), DType.INT32)) {
            b.close();
            List<Runnable> ops = List.of(() -> b.fill(x, 1), () -> b.copy(x, y), () -> b.add(x, y, m),
                    () -> b.axpy(2, x, y), () -> b.scale(x, 2), () -> b.sum(x), () -> b.sumOfSquares(x),
                    () -> b.biasGrad(x, bias), () -> b.dropoutForward(x, y, m, 0.5, 1), () -> b.multiply(x, y, m),
                    () -> b.maxoutForward(x, half, idx, 2), () -> b.maxoutBackward(half, idx, x, 2),
                    () -> b.softmaxCrossEntropy(x, labels, y), () -> b.topK(x, 2, idx),
                    () -> b.sgdUpdate(x, y, m, 0.1, 0.9, 0, false, 0, true),
                    () -> b.rmspropUpdate(x, y, m, v, 0.1, 0.99, 1e-8, 0, 0.9),
                    () -> b.adamUpdate(x, y, m, v, 0.1, 0.9, 0.999, 1e-8, 0, false, 1));
            for (int i = 0; i < ops.size(); i++) {
                IllegalStateException e = assertThrows(IllegalStateException.class, ops.get(i)::run, "op " + i);
                assertTrue(e.getMessage().contains("used after close()"), "op " + i + ": " + e.getMessage());
            }
        }
    }
}
