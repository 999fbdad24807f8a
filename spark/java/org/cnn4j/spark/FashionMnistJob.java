package org.cnn4j.spark;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.cnn4j.data.Dataset;
import org.cnn4j.data.IdxDatasets;
import org.cnn4j.io.SafeTensors;

/**
 * An example job: trains LeNet-5 on Fashion-MNIST with data-parallel workers on a Spark cluster
 * and writes the model file. Run it with spark-submit (README, "Training on Spark"):
 *
 * <pre>FashionMnistJob DATA_DIR WORKERS EPOCHS OUT_FILE [LIMIT [CHECKPOINTS]]</pre>
 *
 * DATA_DIR holds the IDX files (read on the driver); the images go to WORKERS partitions, one
 * barrier task each; LIMIT trains on the first LIMIT images only; CHECKPOINTS, a folder that
 * every executor sees, gets a checkpoint every 100 steps, from which a retried stage (or a
 * rerun of the job) goes on.
 */
public final class FashionMnistJob {
    private FashionMnistJob() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 4 || args.length > 6) {
            System.err.println("usage: FashionMnistJob DATA_DIR WORKERS EPOCHS OUT_FILE [LIMIT [CHECKPOINTS]]");
            System.exit(2);
        }
        Dataset train = IdxDatasets.load("fashion-mnist", Path.of(args[0]), true);
        if (args.length >= 5) {
            train = train.limit(Integer.parseInt(args[4]));
        }
        int workers = Integer.parseInt(args[1]);
        int epochs = Integer.parseInt(args[2]);
        int per = train.sampleSize();
        List<LabeledImage> rows = new ArrayList<>(train.size());
        for (int i = 0; i < train.size(); i++) {
            rows.add(new LabeledImage(Arrays.copyOfRange(train.pixels(), i * per, (i + 1) * per), train.labels()[i]));
        }
        try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setAppName("cnn4j fashion-mnist"))) {
            SparkTraining.Config config = new SparkTraining.Config("lenet5", epochs, 64, "adam", 1e-3, 0.9, 42, 1,
                    Duration.ofMinutes(10));
            if (args.length == 6) {
                config = config.withCheckpoints(args[5], 100);
            }
            byte[] model = SparkTraining.train(sc.parallelize(rows, workers), train.sampleShape(), train.classes(), config);
            // a temporary file renamed over OUT_FILE: a job that dies while writing leaves the old file whole
            Path out = Path.of(args[3]).toAbsolutePath();
            SafeTensors.commit(SafeTensors.writeTemporary(out, model), out);
            System.out.printf("trained lenet5 on %d images with %d workers for %d epochs: %s%n", train.size(), workers,
                    epochs, args[3]);
        }
    }
}
