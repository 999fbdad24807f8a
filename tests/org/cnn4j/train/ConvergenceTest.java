package org.cnn4j.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.cnn4j.backend.JavaBackend;
import org.cnn4j.data.DataLoader;
import org.cnn4j.data.Dataset;
import org.cnn4j.data.IdxDatasets;
import org.cnn4j.nn.Models;
import org.cnn4j.nn.Sequential;
import org.cnn4j.optim.Adam;
import org.cnn4j.optim.LrSchedule;
import org.junit.jupiter.api.Test;

/**
 * LeNet-5 learns real data: on the first 2,000 Fashion-MNIST training images, 4 seeded epochs of
 * Adam (lr 1e-3, batch 64) reach at least 0.76 test accuracy on the first 1,000 test images
 * (chance is 0.10). The data set is required: a missing data set fails this test with the
 * command that installs it.
 */
class ConvergenceTest {

    static Path dataDir() {
        String p = System.getProperty("cnn4j.data");
        if (p == null || p.isBlank() || p.equals("null")) {
            p = System.getenv("CNN4J_DATA");
        }
        Path dir = p == null || p.isBlank() ? IdxDatasets.DEFAULT_FASHION_MNIST : Path.of(p);
        assertTrue(Files.isDirectory(dir), "Fashion-MNIST is required at " + dir
                + ": install it with 'apt-get install dataset-fashion-mnist' or set CNN4J_DATA");
        return dir;
    }

    @Test
    void lenet5LearnsFashionMnist() {
        Dataset train = IdxDatasets.load("fashion-mnist", dataDir(), true).limit(2000);
        Dataset test = IdxDatasets.load("fashion-mnist", dataDir(), false).limit(1000);
        double[][] st = train.channelStats();
        try (JavaBackend b = new JavaBackend(2);
             Sequential m = Models.lenet5().initialize(b, 42);
             Adam opt = new Adam(m.parameters(), 1e-3);
             Trainer t = new Trainer(m, opt, LrSchedule.constant(1e-3));
             DataLoader tl = new DataLoader(train, 64, true, 42, st[0], st[1], 2);
             DataLoader vl = new DataLoader(test, 250, false, 0, st[0], st[1], 0)) {
            double firstLoss = 0;
            Trainer.Result r = null;
            for (int e = 0; e < 4; e++) {
                r = t.trainEpoch(tl, e, null);
                if (e == 0) {
                    firstLoss = r.loss();
                }
            }
            Trainer.Result v = t.evaluate(vl);
            assertTrue(r.loss() < firstLoss * 0.6, "training loss fell from " + firstLoss + " to " + r.loss());
            assertTrue(v.accuracy() >= 0.76, "test accuracy " + v.accuracy() + " < 0.76");
        }
    }
}
