package org.cnn4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.Backends;
import org.cnn4j.data.DataLoader;
import org.cnn4j.data.Dataset;
import org.cnn4j.data.IdxDatasets;
import org.cnn4j.data.Normalization;
import org.cnn4j.io.ModelFile;
import org.cnn4j.nn.Models;
import org.cnn4j.nn.Sequential;
import org.cnn4j.optim.Adam;
import org.cnn4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spark local mode with two barrier tasks trains LeNet-5 on a Fashion-MNIST subset to the
 * accuracy that one process reaches with the same global batch, epochs and seed. The images
 * are sorted by class before they are split into the two partitions, so that each task holds
 * only half of the classes: a task that did not share its gradients would know 5 classes of
 * 10 (at most 0.5 accuracy); the model rank 0 returns must know them all.
 */
class SparkTrainingTest {
    @TempDir
    Path tmp;

    static Path dataDir() {
        String d = System.getProperty("cnn4j.data");
        return d == null || d.isBlank() || d.startsWith("${") ? IdxDatasets.DEFAULT_FASHION_MNIST : Path.of(d);
    }

    @Test
    void twoBarrierTasksTrainLeNetToTheAccuracyOfOneProcess() throws Exception {
        Dataset train = IdxDatasets.load("fashion-mnist", dataDir(), true).limit(4096);
        Dataset test = IdxDatasets.load("fashion-mnist", dataDir(), false).limit(1000);
        Normalization norm = Normalization.of(train);
        Dataset testSet = test.withNormalization(norm);
        int epochs = 2, batch = 64;

        double alone;
        try (Backend be = Backends.create("auto", 1).backend();
             Sequential m = Models.create("lenet5", train.sampleShape(), 10).initialize(be, 42);
             Adam opt = new Adam(m.parameters(), 1e-3);
             Trainer t = new Trainer(m, opt);
             DataLoader loader = DataLoader.builder(train.withNormalization(norm)).batchSize(batch).shuffle(42).build();
             DataLoader tl = DataLoader.builder(testSet).batchSize(500).build()) {
            for (int e = 0; e < epochs; e++) {
                t.trainEpoch(loader, e, null);
            }
            alone = Trainer.evaluate(m, tl).accuracy();
        }

        int per = train.sampleSize();
        List<LabeledImage> rows = new ArrayList<>();
        for (int i = 0; i < train.size(); i++) {
            rows.add(new LabeledImage(Arrays.copyOfRange(train.pixels(), i * per, (i + 1) * per), train.labels()[i]));
        }
        rows.sort(java.util.Comparator.comparingInt(LabeledImage::label));
        SparkConf conf = new SparkConf().setMaster("local[2]").setAppName("cnn4j-spark-test")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1");
        byte[] model;
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            IllegalArgumentException empty = org.junit.jupiter.api.Assertions.assertThrows(
                    IllegalArgumentException.class, () -> SparkTraining.train(sc.parallelize(List.<LabeledImage>of(), 2),
                            train.sampleShape(), 10, SparkTraining.Config.of("lenet5", 1)));
            assertTrue(empty.getMessage().contains("holds no images"), empty.getMessage());
            JavaRDD<LabeledImage> rdd = sc.parallelize(rows, 2);
            model = SparkTraining.train(rdd, train.sampleShape(), 10, new SparkTraining.Config("lenet5", epochs, batch,
                    "adam", 1e-3, 0.9, 42, 1, Duration.ofMinutes(2)));
        }
        Path file = tmp.resolve("model.safetensors");
        Files.write(file, model);
        double spark;
        try (Backend be = Backends.create("auto", 1).backend()) {
            ModelFile.Loaded loaded = ModelFile.load(file, be);
            try (Sequential m = loaded.model(); DataLoader tl = DataLoader.builder(testSet).batchSize(500).build()) {
                assertEquals(norm.mean()[0], loaded.normalization().mean()[0], 1e-6, "the driver's normalisation");
                spark = Trainer.evaluate(m, tl).accuracy();
            }
        }
        assertTrue(alone > 0.7, "one process learns: " + alone);
        assertTrue(spark > 0.7, "the two tasks learned every class together: " + spark);
        assertTrue(Math.abs(spark - alone) <= 0.03, "two Spark tasks reach " + spark + ", one process " + alone);
    }
}
