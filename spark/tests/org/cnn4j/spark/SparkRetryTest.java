package org.cnn4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.cnn4j.data.Dataset;
import org.cnn4j.data.IdxDatasets;
import org.cnn4j.train.Callback;
import org.cnn4j.train.Checkpoint;
import org.cnn4j.train.Fit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker that dies mid-run fails the barrier stage; Spark retries the stage, and the retried
 * tasks go on from the last checkpoint: the model rank 0 returns is the uninterrupted run's,
 * byte for byte (nothing trained twice, nothing lost), and the retried stage started at the
 * checkpoint's step, not at the start.
 */
class SparkRetryTest {
    /** Where each (run, attempt) started: the global step its fit began at. */
    static final Map<String, Long> STARTS = new ConcurrentHashMap<>();

    @TempDir
    Path tmp;

    /** The callbacks of a task: record where the fit starts; rank 1 of attempt 0 of run "killed" dies at step 25. */
    static List<Callback> callbacks(String run, int rank, int attempt) {
        return List.of(new Callback() {
            @Override
            public void onFitStart(Fit fit) {
                if (rank == 0) {
                    STARTS.put(run + "/" + attempt, fit.trainer().globalStep());
                }
            }

            @Override
            public void onStep(Fit fit, int step, int steps, double loss, int images) {
                if (run.equals("killed") && rank == 1 && attempt == 0 && fit.trainer().globalStep() == 25) {
                    throw new IllegalStateException("worker 1 dies at step 25");
                }
            }
        });
    }

    static SparkTraining.TaskCallbacks of(String run) {
        return (rank, attempt) -> callbacks(run, rank, attempt);
    }

    @Test
    void aDeadWorkerFailsTheStageAndTheRetryGoesOnFromTheLastCheckpoint() throws Exception {
        Dataset train = IdxDatasets.load("fashion-mnist", SparkTrainingTest.dataDir(), true).limit(2048);
        int per = train.sampleSize();
        List<LabeledImage> rows = new ArrayList<>();
        for (int i = 0; i < train.size(); i++) {
            rows.add(new LabeledImage(Arrays.copyOfRange(train.pixels(), i * per, (i + 1) * per), train.labels()[i]));
        }
        rows.sort(Comparator.comparingInt(LabeledImage::label));
        // 1,024 images a task, 32 a step: 32 steps an epoch, 64 in all; a checkpoint every 10
        SparkTraining.Config base = new SparkTraining.Config("lenet5", 2, 64, "adam", 1e-3, 0.9, 7, 1,
                Duration.ofMinutes(2));
        SparkConf conf = new SparkConf().setMaster("local[2]").setAppName("cnn4j-spark-retry")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1");
        byte[] whole;
        byte[] retried;
        Path wholeDir = tmp.resolve("whole"), killedDir = tmp.resolve("killed");
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            JavaRDD<LabeledImage> rdd = sc.parallelize(rows, 2);
            whole = SparkTraining.train(rdd, train.sampleShape(), 10,
                    base.withCheckpoints(wholeDir.toString(), 10).withCallbacks(of("whole")));
            retried = SparkTraining.train(rdd, train.sampleShape(), 10,
                    base.withCheckpoints(killedDir.toString(), 10).withCallbacks(of("killed")));
        }
        assertEquals(0L, STARTS.get("whole/0"), "the uninterrupted run starts at step 0");
        assertFalse(STARTS.containsKey("whole/1"), "the uninterrupted run is not retried");
        assertEquals(0L, STARTS.get("killed/0"), "the first attempt starts at step 0");
        assertEquals(20L, STARTS.get("killed/1"), "the retried stage starts at the last checkpoint before step 25");
        assertArrayEquals(whole, retried, "the retried run's model is the uninterrupted one's");
        assertEquals("checkpoint-000000000060.safetensors", Checkpoint.latest(killedDir).getFileName().toString(),
                "rank 0 went on writing checkpoints after the retry");
    }
}
