package org.cnn4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.cnn4j.NativeExpectation;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.CudaBackend;
import org.cnn4j.backend.NativeCpuBackend;
import org.cnn4j.data.DataLoader;
import org.cnn4j.data.Dataset;
import org.cnn4j.data.IdxDatasets;
import org.cnn4j.nn.Models;
import org.cnn4j.nn.Sequential;
import org.cnn4j.optim.Adam;
import org.cnn4j.optim.LrSchedule;
import org.junit.jupiter.api.Test;

/**
 * LeNet-5 on Fashion-MNIST with the CUDA backend, as {@code ./cnn4j train} does it (Adam 1e-3,
 * batch 64, seed 42, recorded steps replayed as CUDA graphs).
 * <ul>
 * <li>On a GPU: the whole data set, 3 epochs, at least 0.885 test accuracy, the bar of the CPU
 * backends.
 * <li>On the simulated device: the subset of {@link ConvergenceTest} (2,000 training images, 4
 * epochs, 1,000 test images), at least its bar of 0.76, and within 0.02 of the native CPU
 * backend trained the same way.
 * </ul>
 * Skipped where no CUDA device can be used, a failure with {@code -Dcnn4j.expectGpu=true}.
 */
class CudaConvergenceTest {

    private static double train(Backend b, Dataset train, Dataset test, int epochs, boolean cuda) {
        double[][] st = train.channelStats();
        try (Sequential m = Models.lenet5().initialize(b, 42);
             Adam opt = new Adam(m.parameters(), 1e-3);
             Trainer t = new Trainer(m, opt, LrSchedule.constant(1e-3));
             DataLoader tl = new DataLoader(train, 64, true, 42, st[0], st[1], 3);
             DataLoader vl = new DataLoader(test, 250, false, 0, st[0], st[1], 2)) {
            for (int e = 0; e < epochs; e++) {
                t.trainEpoch(tl, e, null);
            }
            if (cuda) {
                assertTrue(t.replaysDeviceGraph(64), "steps were not replayed: " + t.graphNote());
            }
            return t.evaluate(vl).accuracy();
        }
    }

    @Test
    void lenet5OnTheGpuReachesTheCpuBar() {
        NativeExpectation.requireGpu();
        Dataset train = IdxDatasets.load("fashion-mnist", ConvergenceTest.dataDir(), true);
        Dataset test = IdxDatasets.load("fashion-mnist", ConvergenceTest.dataDir(), false);
        if (!CudaBackend.simulated()) {
            double acc;
            try (CudaBackend b = CudaBackend.create(0)) {
                acc = train(b, train, test, 3, true);
            }
            assertTrue(acc >= 0.885, "test accuracy " + acc + " < 0.885");
            return;
        }
        Dataset sub = train.limit(2000), subTest = test.limit(1000);
        double acc, cpu;
        try (CudaBackend b = CudaBackend.create(0)) {
            acc = train(b, sub, subTest, 4, true);
        }
        try (NativeCpuBackend b = NativeCpuBackend.create(2)) {
            cpu = train(b, sub, subTest, 4, false);
        }
        assertTrue(acc >= 0.76, "test accuracy " + acc + " < 0.76 on the simulated device");
        assertEquals(cpu, acc, 0.02, "simulated CUDA device against the native CPU backend");
    }
}
