package org.cnn4j.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.cnn4j.NativeExpectation;
import org.cnn4j.backend.CudaBackend;
import org.cnn4j.data.DataLoader;
import org.cnn4j.data.Dataset;
import org.cnn4j.data.IdxDatasets;
import org.cnn4j.nn.Models;
import org.cnn4j.nn.Sequential;
import org.cnn4j.optim.Adam;
import org.cnn4j.optim.LrSchedule;
import org.junit.jupiter.api.Test;

/**
 * LeNet-5 on the whole of Fashion-MNIST with the CUDA backend, as {@code ./cnn4j train}
 * does it (Adam 1e-3, batch 64, seed 42, 3 epochs, recorded steps replayed as CUDA graphs):
 * at least 0.885 test accuracy, the bar of the CPU backends. Skipped where no GPU can be
 * used, a failure with {@code -Dcnn4j.expectGpu=true}.
 */
class CudaConvergenceTest {

    @Test
    void lenet5OnTheGpuReachesTheCpuBar() {
        NativeExpectation.requireGpu();
        Dataset train = IdxDatasets.load("fashion-mnist", ConvergenceTest.dataDir(), true);
        Dataset test = IdxDatasets.load("fashion-mnist", ConvergenceTest.dataDir(), false);
        double[][] st = train.channelStats();
        try (CudaBackend b = CudaBackend.create(0);
             Sequential m = Models.lenet5().initialize(b, 42);
             Adam opt = new Adam(m.parameters(), 1e-3);
             Trainer t = new Trainer(m, opt, LrSchedule.constant(1e-3));
             DataLoader tl = new DataLoader(train, 64, true, 42, st[0], st[1], 3);
             DataLoader vl = new DataLoader(test, 256, false, 0, st[0], st[1], 2)) {
            for (int e = 0; e < 3; e++) {
                t.trainEpoch(tl, e, null);
            }
            assertTrue(t.replaysDeviceGraph(64), "steps were not replayed: " + t.graphNote());
            Trainer.Result v = t.evaluate(vl);
            assertTrue(v.accuracy() >= 0.885, "test accuracy " + v.accuracy() + " < 0.885");
        }
    }
}
