package org.cnn4j.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.cnn4j.NativeExpectation;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.JavaBackend;
import org.cnn4j.backend.NativeCpuBackend;
import org.cnn4j.data.DataLoader;
import org.cnn4j.data.Dataset;
import org.cnn4j.data.SyntheticData;
import org.cnn4j.nn.Conv2d;
import org.cnn4j.nn.Flatten;
import org.cnn4j.nn.Linear;
import org.cnn4j.nn.MaxPool2d;
import org.cnn4j.nn.ReLU;
import org.cnn4j.nn.Sequential;
import org.cnn4j.optim.Sgd;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.train.Checkpoint;
import org.cnn4j.train.Fit;
import org.cnn4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data-parallel training is the same training: a group of ranks, each on its shard of every
 * global batch of B, ends with the weights that one process training on batches of B ends
 * with, on every rank, up to the changed summation order.
 *
 * <p>The tolerance. The two runs add the same per-image gradient terms, in different orders
 * (one process sums the B images; the ranks sum their shards, then the group adds the ranks'
 * sums, each weighted by its share of the batch). Each order is a float32 rounding of the
 * exact sum, off by at most about M u times the terms' magnitudes (M terms, u = 2^-24;
 * Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., section 4.2), and so is the
 * other: neither is closer to the exact training than float32 allows. That float32 error of the
 * whole training is measured here, as the largest difference e32 between the one-process run in
 * float32 and the same run in float64 (whose own error is some 10^-9 times smaller). Two float32
 * runs of that size of error are within 2 e32 of each other; the test allows 4 e32 (the two
 * orders need not err alike in size), and requires e32 to be small and non-zero, so that the
 * bound means something.
 */
class DataParallelTest {

    static Sequential model() {
        return new Sequential(Shape.of(1, 12, 12), false, List.of(new Conv2d(6, 3).padding(1), new ReLU(),
                new MaxPool2d(2), new Flatten(), new Linear(24), new ReLU(), new Linear(4)));
    }

    /** Trains the model for `epochs` on `data` in batches of `batch`, with SGD; rank of a group or alone (null). */
    static Map<String, float[]> train(Supplier<Backend> backend, DType dtype, Dataset data, int batch, int epochs,
                                      Collective group) {
        return train(backend, dtype, data, batch, epochs, group, 0);
    }

    /** As above, the gradients summed in buckets of about {@code bucketBytes} during the backward pass (0: after it). */
    static Map<String, float[]> train(Supplier<Backend> backend, DType dtype, Dataset data, int batch, int epochs,
                                      Collective group, long bucketBytes) {
        try (Backend b = backend.get();
             Sequential m = model().initialize(b, dtype, 7);
             Sgd opt = new Sgd(m.parameters(), 0.05, 0.9, 0, false, 0);
             Trainer t = new Trainer(m, opt);
             DataLoader loader = DataLoader.builder(data).batchSize(batch).shuffle(5).build()) {
            if (group != null) {
                DataParallel dp = new DataParallel(group, m).overlap(bucketBytes);
                if (bucketBytes == 400) {
                    // the model's 6 gradients (conv 54 + 6, linear 5,184 + 24, linear 96 + 4 floats)
                    // in buckets of at most 100 floats, or alone when larger: last layers first
                    assertArrayEquals(new int[] {100, 24, 5184, 60}, dp.bucketSizes());
                }
                t.setDataParallel(dp);
            }
            for (int e = 0; e < epochs; e++) {
                t.trainEpoch(loader, e, null);
            }
            assertEquals((long) epochs * ((data.size() + batch - 1) / batch), t.globalStep(), "optimizer steps");
            Map<String, float[]> w = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : m.stateDict().entrySet()) {
                w.put(e.getKey(), e.getValue().toFloatArray());
            }
            return w;
        }
    }

    static double maxDiff(Map<String, float[]> a, Map<String, float[]> b) {
        double d = 0;
        for (String k : a.keySet()) {
            float[] x = a.get(k), y = b.get(k);
            for (int i = 0; i < x.length; i++) {
                d = Math.max(d, Math.abs((double) x[i] - y[i]));
            }
        }
        return d;
    }

    private void sameTraining(Supplier<Backend> backend, int ranks, int batch) throws Exception {
        Dataset data = SyntheticData.bands(96, 3, false);
        int epochs = 2;
        Map<String, float[]> alone = train(backend, DType.FLOAT32, data, batch, epochs, null);
        Map<String, float[]> exact = train(() -> new JavaBackend(1), DType.FLOAT64, data, batch, epochs, null);
        double e32 = maxDiff(alone, exact);
        assertTrue(e32 > 0 && e32 < 1e-3, "float32 error of the training: " + e32);
        List<Map<String, float[]>> group = GlooCollectiveTest.group(ranks, java.time.Duration.ofSeconds(60),
                c -> train(backend, DType.FLOAT32, data, batch, epochs, c));
        Map<String, float[]> init = train(backend, DType.FLOAT32, data, batch, 0, null);
        assertTrue(maxDiff(alone, init) > 100 * e32, "training moved the weights");
        // the same in buckets of 400 bytes summed during the backward pass
        List<Map<String, float[]>> bucketed = GlooCollectiveTest.group(ranks, java.time.Duration.ofSeconds(60),
                c -> train(backend, DType.FLOAT32, data, batch, epochs, c, 400));
        for (List<Map<String, float[]>> g : List.of(group, bucketed)) {
            String how = g == group ? "one all-reduce" : "buckets";
            for (int r = 0; r < ranks; r++) {
                double d = maxDiff(g.get(r), alone);
                assertTrue(d <= 4 * e32, how + ": rank " + r + " of " + ranks + ", batch " + batch
                        + ": differs from one process by " + d + ", more than 4 x the float32 error " + e32);
                assertEquals(0.0, maxDiff(g.get(r), g.get(0)), how + ": rank " + r + " holds rank 0's weights");
            }
        }
    }

    @Test
    void twoRanksOnTheJavaBackendTrainAsOneProcess() throws Exception {
        NativeExpectation.requireNative();  // the group's transport is native
        sameTraining(() -> new JavaBackend(1), 2, 16);
    }

    @Test
    void threeRanksWithUnevenShardsOnTheNativeBackendTrainAsOneProcess() throws Exception {
        NativeExpectation.requireNative();
        // 96 images in batches of 20: shards of 6, 7 and 7, and a last batch of 16 (5, 5, 6)
        sameTraining(() -> NativeCpuBackend.create(1), 3, 20);
    }
    @TempDir
    Path tmp;

    /**
     * Local shards (a Spark task each): a checkpoint records every rank's data (seed and size),
     * and a rank that resumes it with other data is refused by name; every rank's long values
     * are gathered exactly.
     */
    @Test
    void localShardsCheckpointsRecordEveryRanksDataAndARankWithOtherDataIsRefused() throws Exception {
        NativeExpectation.requireNative();
        long[] values = {Long.MIN_VALUE + 3, 0x123456789abcdefL};
        Path dir = tmp.resolve("ck");
        List<String> first = GlooCollectiveTest.group(2, java.time.Duration.ofSeconds(60),
                c -> localFit(c, 6, dir, false, values));
        assertEquals(List.of("trained", "trained"), first);
        Path ck = Checkpoint.latest(dir);
        assertTrue(ck != null && ck.getFileName().toString().equals("checkpoint-000000000004.safetensors"), "" + ck);
        // resumed with rank 1's seed changed: rank 1 refuses, naming its seed; rank 0's next
        // all-reduce then fails
        List<String> second = GlooCollectiveTest.group(2, java.time.Duration.ofSeconds(60),
                c -> localFit(c, 7, dir, true, values));
        assertTrue(second.get(1).contains("data seed of rank 1 differs (checkpoint: 6, this run: 7)"), second.get(1));
        assertTrue(second.get(0).contains("all-reduce"), second.get(0));
    }

    /**
     * Local shards (uneven: 40 and 56 images) with the gradients summed in buckets during the
     * backward pass end where one all-reduce after it ends, bit for bit: with two ranks every
     * element is a sum of two terms, the same whatever the order (a bucket summed twice or
     * weighted wrongly moves the weights by 0.1 and more).
     */
    @Test
    void localShardsInBucketsTrainAsWithOneAllReduce() throws Exception {
        NativeExpectation.requireNative();
        List<Map<String, float[]>> runs = new java.util.ArrayList<>();
        for (long bytes : new long[] {0, 400}) {
            List<Map<String, float[]>> g = GlooCollectiveTest.group(2, java.time.Duration.ofSeconds(60), c -> {
                try (Backend b = NativeCpuBackend.create(1);
                     Sequential m = model().initialize(b, DType.FLOAT32, 7);
                     Sgd opt = new Sgd(m.parameters(), 0.05, 0.9, 0, false, 0);
                     Trainer t = new Trainer(m, opt);
                     DataLoader loader = DataLoader.builder(SyntheticData.bands(40 + 16 * c.rank(), 3, false))
                             .batchSize(8).shuffle(5 + c.rank()).build()) {
                    t.setDataParallel(DataParallel.localShards(c, m).overlap(bytes));
                    t.fit(Fit.of(loader).epochs(2));
                    Map<String, float[]> w = new LinkedHashMap<>();
                    m.stateDict().forEach((k, v) -> w.put(k, v.toFloatArray()));
                    return w;
                }
            });
            assertEquals(0.0, maxDiff(g.get(0), g.get(1)), "both ranks hold the same weights");
            runs.add(g.get(0));
        }
        double d = maxDiff(runs.get(0), runs.get(1));
        assertEquals(0.0, d, "buckets against one all-reduce");
    }

    // One rank: its own data (40 + 16 r images; loader seed 5 on rank 0, `seed` on rank 1), a fit
    // of 1 epoch with a checkpoint every 2 steps, from the newest checkpoint when resume.
    private static String localFit(Collective c, long seed, Path dir, boolean resume, long[] values) {
        int r = c.rank();
        try (Backend b = NativeCpuBackend.create(1);
             Sequential m = model().initialize(b, DType.FLOAT32, 7);
             Sgd opt = new Sgd(m.parameters(), 0.05, 0.9, 0, false, 0);
             Trainer t = new Trainer(m, opt);
             DataLoader loader = DataLoader.builder(SyntheticData.bands(40 + 16 * r, 3, false)).batchSize(8)
                     .shuffle(r == 0 ? 5 : seed).build()) {
            DataParallel dp = DataParallel.localShards(c, m);
            t.setDataParallel(dp);
            long[] all = dp.gatherLongs(values[r]);
            assertEquals(values[0], all[0]);
            assertEquals(values[1], all[1]);
            Fit fit = Fit.of(loader).epochs(1).checkpoints(dir, Fit.Every.steps(2), 1);
            if (resume) {
                fit.resumeFrom(dir);
            }
            t.fit(fit);
            return "trained";
        } catch (RuntimeException e) {
            return e.getMessage();
        }
    }
}
