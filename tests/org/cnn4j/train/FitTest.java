package org.cnn4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.cnn4j.NativeExpectation;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.CudaBackend;
import org.cnn4j.backend.JavaBackend;
import org.cnn4j.backend.NativeCpuBackend;
import org.cnn4j.data.Augmentation;
import org.cnn4j.data.DataLoader;
import org.cnn4j.data.Dataset;
import org.cnn4j.data.SyntheticData;
import org.cnn4j.nn.BatchNorm2d;
import org.cnn4j.nn.Conv2d;
import org.cnn4j.nn.Dropout;
import org.cnn4j.nn.Flatten;
import org.cnn4j.nn.Linear;
import org.cnn4j.nn.MaxPool2d;
import org.cnn4j.nn.ReLU;
import org.cnn4j.nn.Sequential;
import org.cnn4j.optim.Adam;
import org.cnn4j.optim.Optimizer;
import org.cnn4j.optim.Schedule;
import org.cnn4j.optim.Sgd;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * fit(): a run interrupted mid-epoch and resumed from its checkpoint ends bit for bit where the
 * uninterrupted run ends (weights, batch-norm statistics, every epoch's figures), on the Java
 * backend, the native CPU backend and the CUDA backend (the simulated device in the test
 * build); early stopping restores the best epoch's weights; checkpoints are kept as asked.
 */
class FitTest {
    @TempDir
    Path tmp;

    static Dataset synthetic(int n, long seed, boolean randomLabels) {
        return SyntheticData.bands(n, seed, randomLabels);
    }

    static Sequential model(boolean dropout) {
        List<org.cnn4j.nn.Layer> l = new ArrayList<>(List.of(new Conv2d(6, 3).padding(1), new BatchNorm2d(), new ReLU(),
                new MaxPool2d(2), new Flatten(), new Linear(24), new ReLU()));
        if (dropout) {
            l.add(new Dropout(0.25));
        }
        l.add(new Linear(4));
        return new Sequential(Shape.of(1, 12, 12), false, l);
    }

    /** One complete training set-up; closing it frees everything. */
    record Run(Sequential model, Optimizer opt, Trainer trainer, DataLoader train, DataLoader val)
            implements AutoCloseable {
        static Run of(Backend b, Dataset data, boolean dropout) {
            Dataset.Split s = data.split(0.2, 5);
            Sequential m = FitTest.model(dropout).initialize(b, 11);
            Optimizer opt = new Adam(m.parameters(), 3e-3).clipGradNorm(2.0);
            Trainer t = new Trainer(m, opt, Schedule.cosine(60, 0.1).withWarmup(3));
            DataLoader train = DataLoader.builder(s.train()).batchSize(24).shuffle(3).prefetch(2)
                    .augment(List.of(Augmentation.horizontalFlip(0.5))).build();
            DataLoader val = DataLoader.builder(s.validation()).batchSize(50).build();
            return new Run(m, opt, t, train, val);
        }

        Fit fit(int epochs) {
            return Fit.of(train).validation(val).epochs(epochs).callbacks(new ReduceLrOnPlateau("train_loss", 0.5, 1),
                    new EarlyStopping("val_loss", 10, true));
        }

        Map<String, float[]> weights() {
            Map<String, float[]> w = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
                w.put(e.getKey(), e.getValue().toFloatArray());
            }
            return w;
        }

        @Override
        public void close() {
            val.close();
            train.close();
            trainer.close();
            opt.close();
            model.close();
        }
    }

    /** Thrown by a callback to kill a run at a chosen step. */
    static final class Killed extends RuntimeException {
        Killed() {
            super("killed");
        }
    }

    /** Kills the run when the totals of a step (1-based, in a 0-based epoch) come back; epoch -1: never. */
    record Killer(int epoch, int step) implements Callback {
        @Override
        public void onStep(Fit fit, int s, int steps, double loss, int images) {
            if (fit.epoch() == epoch && s == step) {
                throw new Killed();
            }
        }
    }

    private void resumesExactly(Supplier<Backend> backend, boolean dropout) throws Exception {
        Dataset data = synthetic(250, 1, false);  // 200 training images: 9 batches of 24 (the last of 8)
        Map<String, float[]> want;
        History full;
        try (Backend b = backend.get(); Run r = Run.of(b, data, dropout)) {
            full = r.trainer.fit(r.fit(3));
            want = r.weights();
        }
        Path ckpt = tmp.resolve("ckpt-" + dropout);
        try (Backend b = backend.get(); Run r = Run.of(b, data, dropout)) {
            // the totals of epoch 2's step 7 come back while step 8 (global 17) runs: after the checkpoint of step 15
            Fit f = r.fit(3).checkpoints(ckpt, Fit.Every.steps(5), 2).callbacks(new Killer(1, 7));
            assertThrows(Killed.class, () -> r.trainer.fit(f));
        }
        assertEquals(2, Checkpoint.list(ckpt).size(), "the last 2 checkpoints are kept");
        Checkpoint c = Checkpoint.read(ckpt);
        assertEquals(15, c.globalStep());
        assertEquals(1, c.epoch());
        assertEquals(6, c.batch(), "mid-epoch: 6 of epoch 2's 9 batches were done");
        try (Backend b = backend.get(); Run r = Run.of(b, data, dropout)) {
            Fit f = r.fit(3).resumeFrom(ckpt).callbacks(new Killer(-1, -1));  // the killed run's callbacks
            History resumed = r.trainer.fit(f);
            Map<String, float[]> got = r.weights();
            assertEquals(want.keySet(), got.keySet());
            for (String k : want.keySet()) {
                assertArrayEquals(want.get(k), got.get(k), k + " after resuming differs from the uninterrupted run");
            }
            assertEquals(full.epochs().size(), resumed.epochs().size());
            for (int i = 0; i < full.epochs().size(); i++) {
                EpochMetrics a = full.epochs().get(i), z = resumed.epochs().get(i);
                assertEquals(a.trainLoss(), z.trainLoss(), 0, "train loss of epoch " + (i + 1));
                assertEquals(a.trainAccuracy(), z.trainAccuracy(), 0);
                assertEquals(a.valLoss(), z.valLoss(), 0, "val loss of epoch " + (i + 1));
                assertEquals(a.valAccuracy(), z.valAccuracy(), 0);
                assertEquals(a.lr(), z.lr(), 0, "learning rate of epoch " + (i + 1));
            }
            assertEquals(full.last().trainLoss(), resumed.last().trainLoss(), 0);
        }
    }

    @Test
    void resumedRunIsBitIdenticalOnTheJavaBackend() throws Exception {
        resumesExactly(() -> new JavaBackend(2), true);
        resumesExactly(() -> new JavaBackend(2), false);
    }

    @Test
    void resumedRunIsBitIdenticalOnTheNativeCpuBackend() throws Exception {
        NativeExpectation.requireNative();
        resumesExactly(() -> NativeCpuBackend.create(2), true);
        resumesExactly(() -> NativeCpuBackend.create(2), false);
    }

    @Test
    void resumedRunIsBitIdenticalOnTheCudaBackend() throws Exception {
        NativeExpectation.requireGpu();
        resumesExactly(() -> CudaBackend.create(0), false);  // recorded steps replayed as device graphs
        resumesExactly(() -> CudaBackend.create(0), true);
    }

    @Test
    void resumingADifferentRunIsRefusedNamingTheDifference() throws Exception {
        Dataset data = synthetic(100, 2, false);
        Path ckpt = tmp.resolve("other");
        try (Backend b = new JavaBackend(1); Run r = Run.of(b, data, false)) {
            r.trainer.fit(r.fit(1).checkpoints(ckpt, Fit.Every.epochs(1), 1));
        }
        try (Backend b = new JavaBackend(1); Sequential m = model(false).initialize(b, 11);
             Optimizer opt = new Sgd(m.parameters(), 0.1); Trainer t = new Trainer(m, opt);
             DataLoader train = DataLoader.builder(data.split(0.2, 5).train()).batchSize(24).shuffle(3).build()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> t.fit(Fit.of(train).epochs(2).resumeFrom(ckpt)));
            assertTrue(e.getMessage().contains("optimizer differs (checkpoint: Adam, this run: Sgd)"), e.getMessage());
        }
    }

    @Test
    void earlyStoppingStopsAndRestoresTheBestEpochsWeights() {
        Dataset noise = synthetic(200, 3, true);  // random labels: validation loss rises as the model memorises
        List<Map<String, float[]>> perEpoch = new ArrayList<>();
        try (Backend b = new JavaBackend(2); Run r = Run.of(b, noise, false)) {
            EarlyStopping stop = new EarlyStopping("val_loss", 2, true);
            Callback snapshot = new Callback() {
                @Override
                public void onEpochEnd(Fit fit, EpochMetrics m) {
                    perEpoch.add(r.weights());
                }
            };
            History h = r.trainer.fit(Fit.of(r.train).validation(r.val).epochs(40).callbacks(snapshot, stop));
            assertTrue(h.stoppedEarly(), "random labels: the validation loss stops improving");
            assertEquals(h.epochs().size(), stop.stoppedEpoch());
            int best = stop.bestEpoch();
            assertEquals(h.best("val_loss").epoch(), best);
            assertEquals(best + 2, h.last().epoch(), "stops after 2 epochs without improvement");
            Map<String, float[]> now = r.weights();
            for (String k : now.keySet()) {
                assertArrayEquals(perEpoch.get(best - 1).get(k), now.get(k), k + " is the best epoch's");
            }
            assertFalse(java.util.Arrays.equals(perEpoch.get(h.epochs().size() - 1).get("0.weight"), now.get("0.weight")));
            assertEquals(h.best("val_loss").valLoss(), r.trainer.evaluate(r.val).loss(), 1e-6,
                    "the restored model measures the best validation loss again");
        }
    }

    @Test
    void bestModelAndMetricsLogWriteFiles() throws Exception {
        Dataset data = synthetic(150, 4, false);
        Path dir = tmp.resolve("run");
        try (Backend b = new JavaBackend(1); Run r = Run.of(b, data, false)) {
            BestModel best = new BestModel(dir.resolve("best"), "val_accuracy");
            Path stale = Files.createDirectories(dir.resolve("checkpoints")).resolve("checkpoint-000000000001.safetensors123.cnn4j-tmp");
            Files.writeString(stale, "half a checkpoint of a killed run");
            History h = r.trainer.fit(Fit.of(r.train).validation(r.val).epochs(3).callbacks(new MetricsLog(dir), best)
                    .checkpoints(dir.resolve("checkpoints"), Fit.Every.epochs(1), 2));
            List<String> csv = Files.readAllLines(dir.resolve("metrics.csv"));
            assertEquals(4, csv.size(), "a header and 3 epochs");
            assertTrue(csv.get(0).startsWith("epoch,train_loss,train_accuracy,val_loss,val_accuracy"), csv.get(0));
            assertTrue(Files.readString(dir.resolve("metrics.json")).contains("\"val_loss\""));
            assertTrue(Files.exists(dir.resolve("best/model.safetensors")));
            assertEquals(h.best("val_accuracy").epoch(), best.bestEpoch());
            assertEquals(2, Checkpoint.list(dir.resolve("checkpoints")).size());
            assertFalse(Files.exists(stale), "a killed writer's temporary file is removed");
            assertEquals(3, Checkpoint.read(dir).epoch(), "a run folder resolves to its newest checkpoint");
            // the model carries its normalisation and class names into the model file
            assertEquals(List.of("a", "b", "c", "d"), r.model.classNames());
            assertEquals(r.train.normalization(), r.model.normalization());
        }
    }

    /**
     * A diverged state never becomes a checkpoint (the good ones stay), a checkpoint holding a
     * value that is not finite is refused before anything of the run changes, and a metric the
     * fit cannot have is refused before training.
     */
    @Test
    void divergedStatesAndBadCheckpointsLeaveEverythingAsItWas() throws Exception {
        Dataset data = synthetic(100, 8, false);
        Path dir = tmp.resolve("diverged");
        try (Backend b = new JavaBackend(1); Run r = Run.of(b, data, false)) {
            Fit fit = r.fit(1).checkpoints(dir, Fit.Every.epochs(1), 2);
            r.trainer.fit(fit);
            List<Path> before = Checkpoint.list(dir);
            byte[] good = Files.readAllBytes(before.get(0));
            Tensor w = r.model.stateDict().get("0.weight");
            float[] nan = w.toFloatArray();
            nan[3] = Float.NaN;
            w.copyFrom(nan);
            r.trainer.setGlobalStep(r.trainer.globalStep() + 1);  // a later step, so a new file name
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> Checkpoint.write(dir, r.trainer, fit, 1, 0, new double[4]));
            assertTrue(e.getMessage().contains("model.0.weight[3] = NaN") && e.getMessage().contains("are kept"),
                    e.getMessage());
            assertEquals(before, Checkpoint.list(dir));
            assertArrayEquals(good, Files.readAllBytes(before.get(0)));

            // the good checkpoint with one optimizer value made NaN: refused, the run untouched
            org.cnn4j.io.SafeTensors.Contents c = org.cnn4j.io.SafeTensors.read(before.get(0));
            Map<String, org.cnn4j.io.SafeTensors.Entry> t = new LinkedHashMap<>(c.tensors());
            String key = t.keySet().stream().filter(k -> k.startsWith("optimizer.")).findFirst().orElseThrow();
            float[] v = t.get(key).data().clone();
            v[0] = Float.POSITIVE_INFINITY;
            t.put(key, new org.cnn4j.io.SafeTensors.Entry(t.get(key).shape(), v));
            Path bad = tmp.resolve("bad.safetensors");
            org.cnn4j.io.SafeTensors.write(bad, t, c.metadata());
            try (Run fresh = Run.of(b, data, false)) {
                Map<String, float[]> w0 = fresh.weights();
                org.cnn4j.data.DataFormatException d = assertThrows(org.cnn4j.data.DataFormatException.class,
                        () -> fresh.trainer.fit(fresh.fit(2).resumeFrom(bad)));
                assertTrue(d.getMessage().contains(key) && d.getMessage().contains("Infinity"), d.getMessage());
                Map<String, float[]> w1 = fresh.weights();
                for (String k : w0.keySet()) {
                    assertArrayEquals(w0.get(k), w1.get(k), k + " changed by a refused checkpoint");
                }
                assertEquals(0, fresh.trainer.globalStep());
            }
        }
        try (Backend b = new JavaBackend(1); Run r = Run.of(b, data, false)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> r.trainer.fit(
                    Fit.of(r.train).validation(r.val).callbacks(new EarlyStopping("val_top5", 2, false))));
            assertTrue(e.getMessage().contains("top-5 needs 5 or more"), e.getMessage());
            assertEquals(0, r.trainer.globalStep(), "refused before any training");
        }
    }

    @Test
    void gradientClippingBoundsTheGlobalNorm() {
        try (Backend b = new JavaBackend(1); Sequential m = new Sequential(Shape.of(2), new Linear(2)).initialize(b, 1)) {
            Sgd sgd = new Sgd(m.parameters(), 1.0);
            sgd.clipGradNorm(1.0);
            float[] w0 = m.parameters().get(0).value().toFloatArray();
            float[] b0 = m.parameters().get(1).value().toFloatArray();
            m.parameters().get(0).grad().copyFrom(new float[] {3, 0, 0, 0});
            m.parameters().get(1).grad().copyFrom(new float[] {0, 4});
            sgd.step();
            assertEquals(5.0, sgd.lastGradNorm(), 1e-9);
            float[] w1 = m.parameters().get(0).value().toFloatArray();
            float[] b1 = m.parameters().get(1).value().toFloatArray();
            assertEquals(w0[0] - 3 / (5 + 1e-6), w1[0], 1e-6, "the gradient was scaled by 1/5");
            assertEquals(w0[1], w1[1], 0);
            assertEquals(b0[1] - 4 / (5 + 1e-6), b1[1], 1e-6);
            // under the limit nothing is scaled
            m.parameters().get(0).grad().copyFrom(new float[] {0.3f, 0, 0, 0});
            m.parameters().get(1).grad().copyFrom(new float[] {0, 0});
            sgd.step();
            assertEquals(w1[0] - 0.3f, m.parameters().get(0).value().toFloatArray()[0], 1e-6);
            sgd.close();
        }
    }

    @Test
    void loaderStartsAnEpochAtAnyBatchWithTheSameBatches() {
        Dataset data = synthetic(70, 6, false);
        try (DataLoader a = DataLoader.builder(data).batchSize(16).shuffle(9).prefetch(2)
                .augment(Augmentation.standard(data.sampleShape())).build();
             DataLoader z = DataLoader.builder(data).batchSize(16).shuffle(9).prefetch(0)
                     .augment(Augmentation.standard(data.sampleShape())).build()) {
            List<float[]> full = new ArrayList<>();
            try (DataLoader.Epoch it = a.epoch(3)) {
                while (it.hasNext()) {
                    var bt = it.next();
                    full.add(java.util.Arrays.copyOf(bt.images(), bt.size() * data.sampleSize()));
                    bt.release();
                }
            }
            assertEquals(5, full.size());
            try (DataLoader.Epoch it = z.epoch(3, 2)) {
                for (int i = 2; i < 5; i++) {
                    var bt = it.next();
                    assertArrayEquals(full.get(i), java.util.Arrays.copyOf(bt.images(), bt.size() * data.sampleSize()));
                    bt.release();
                }
                assertFalse(it.hasNext());
            }
            assertThrows(IllegalArgumentException.class, () -> z.epoch(0, 6));
        }
    }

    @Test
    void splitIsSeededDisjointAndCarriesTheTrainingNormalisation() {
        Dataset d = synthetic(101, 7, false);
        Dataset.Split s = d.split(0.25, 1);
        Dataset.Split again = d.split(0.25, 1);
        assertEquals(25, s.validation().size());
        assertEquals(76, s.train().size());
        assertArrayEquals(s.validation().pixels(), again.validation().pixels());
        assertNotEquals(java.util.Arrays.toString(s.validation().labels()),
                java.util.Arrays.toString(d.split(0.25, 2).validation().labels()));
        assertEquals(s.train().normalization(), s.validation().normalization());
        assertEquals(org.cnn4j.data.Normalization.of(s.train()), s.validation().normalization());
        assertEquals(List.of("a", "b", "c", "d"), s.validation().classNames());
        assertThrows(IllegalArgumentException.class, () -> d.split(1.0, 1));
    }

    @Test
    void intervalsParse() {
        assertEquals(Fit.Every.epochs(1), Fit.Every.parse("1"));
        assertEquals(Fit.Every.epochs(2), Fit.Every.parse("2epochs"));
        assertEquals(Fit.Every.steps(500), Fit.Every.parse("500steps"));
        assertEquals(Fit.Every.steps(5), Fit.Every.parse("5s"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Fit.Every.parse("often"));
        assertTrue(e.getMessage().contains("'often'"));
        assertThrows(IllegalArgumentException.class, () -> Fit.Every.parse("0"));
    }
}
