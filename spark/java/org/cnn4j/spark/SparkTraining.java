package org.cnn4j.spark;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.Backends;
import org.cnn4j.data.DataLoader;
import org.cnn4j.data.Dataset;
import org.cnn4j.data.Normalization;
import org.cnn4j.dist.Collective;
import org.cnn4j.dist.DataParallel;
import org.cnn4j.dist.GlooCollective;
import org.cnn4j.io.ModelFile;
import org.cnn4j.nn.Models;
import org.cnn4j.nn.Sequential;
import org.cnn4j.optim.Adam;
import org.cnn4j.optim.Optimizer;
import org.cnn4j.optim.Sgd;
import org.cnn4j.tensor.Shape;
import org.cnn4j.train.Callback;
import org.cnn4j.train.Checkpoint;
import org.cnn4j.train.Fit;
import org.cnn4j.train.Trainer;
import scala.Function1;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * Data-parallel training on Apache Spark, the way PyTorch's TorchDistributor runs on it: one
 * barrier stage over the data's partitions, a task per worker (Spark starts them together and
 * their rendezvous is {@link BarrierTaskContext#allGather}), each task training the same model
 * on its partition while cnn4j's collective layer (Gloo over TCP) sums the gradients after
 * every backward pass ({@link DataParallel#localShards}: each task's batches are its share of
 * the step; an epoch has as many steps as the partition with the fewest batches). Every task
 * starts from the same weights (the seed, then rank 0's copied to all); rank 0 returns the
 * trained model as a cnn4j model file.
 *
 * <p>A task that fails fails the stage: the other tasks' next all-reduce fails, and Spark
 * retries the whole stage (barrier stages are retried together). With a checkpoint folder
 * ({@link Config#withCheckpoints}) rank 0 writes a checkpoint every so many steps and a
 * retried stage goes on from the newest one, as the run without the failure would have (every
 * task reads that checkpoint: the folder must be one that every executor sees, a shared file
 * system on a cluster); without one, a retried stage trains again from the start. A folder that
 * holds checkpoints when a job starts resumes them too. The data set's normalisation is
 * computed once, on the driver.
 */
public final class SparkTraining {
    private SparkTraining() {
    }

    /**
     * The callbacks of a task's fit, made on the task (callbacks are not serializable): given
     * the task's rank and the stage's attempt number (0, then 1, ... for retries).
     */
    @FunctionalInterface
    public interface TaskCallbacks extends Serializable {
        List<Callback> create(int rank, int attempt);
    }

    /**
     * What to train; the same on every task. {@code checkpoints}: a folder every task sees, or
     * null for none; {@code checkpointSteps}: steps between checkpoints; {@code callbacks}: null
     * for none.
     */
    public record Config(String model, int epochs, int batch, String optimizer, double lr, double momentum, long seed,
                         int threads, Duration timeout, String checkpoints, int checkpointSteps,
                         TaskCallbacks callbacks) implements Serializable {
        public Config {
            if (epochs < 1 || batch < 1 || !(lr > 0) || threads < 0) {
                throw new IllegalArgumentException("epochs, batch >= 1, lr > 0 and threads >= 0 are needed");
            }
            if (!optimizer.equals("sgd") && !optimizer.equals("adam")) {
                throw new IllegalArgumentException("optimizer sgd or adam, got " + optimizer);
            }
            if (checkpoints != null && checkpointSteps < 1) {
                throw new IllegalArgumentException("checkpoints every " + checkpointSteps + " steps: at least 1 is needed");
            }
        }

        public Config(String model, int epochs, int batch, String optimizer, double lr, double momentum, long seed,
                      int threads, Duration timeout) {
            this(model, epochs, batch, optimizer, lr, momentum, seed, threads, timeout, null, 0, null);
        }

        /** LeNet-5-sized defaults: Adam 1e-3, batch 64, 1 thread a task, a 10-minute wait for a peer. */
        public static Config of(String model, int epochs) {
            return new Config(model, epochs, 64, "adam", 1e-3, 0.9, 42, 1, Duration.ofMinutes(10));
        }

        /** This configuration with a checkpoint every {@code everySteps} steps in {@code folder} (see the class). */
        public Config withCheckpoints(String folder, int everySteps) {
            return new Config(model, epochs, batch, optimizer, lr, momentum, seed, threads, timeout, folder, everySteps,
                    callbacks);
        }

        /** This configuration with callbacks in every task's fit. */
        public Config withCallbacks(TaskCallbacks made) {
            return new Config(model, epochs, batch, optimizer, lr, momentum, seed, threads, timeout, checkpoints,
                    checkpointSteps, made);
        }
    }

    /**
     * Trains on {@code data} (images of {@code sampleShape}, {@code classes} classes) as one
     * barrier stage with a task per partition (the workers: repartition to choose their number;
     * the cluster needs that many task slots free at once) and returns rank 0's trained model file
     * (write it out and read it with {@code ModelFile.load}).
     */
    public static byte[] train(JavaRDD<LabeledImage> data, Shape sampleShape, int classes, Config config) {
        int channels = sampleShape.dim(0);
        double[] sum = data.map(im -> moments(im.pixels(), channels)).fold(new double[2 * channels + 1],
                SparkTraining::add);
        double count = sum[2 * channels];
        if (count == 0) {
            throw new IllegalArgumentException("the data set holds no images to train on");
        }
        double[] mean = new double[channels], std = new double[channels];
        for (int c = 0; c < channels; c++) {
            mean[c] = sum[c] / count / 255.0;
            std[c] = Math.sqrt(Math.max(1e-12, sum[channels + c] / count / (255.0 * 255.0) - mean[c] * mean[c]));
        }
        int partitions = data.getNumPartitions();
        int[] dims = {sampleShape.dim(0), sampleShape.dim(1), sampleShape.dim(2)};
        Function1<scala.collection.Iterator<LabeledImage>, scala.collection.Iterator<byte[]>> task =
                (Function1<scala.collection.Iterator<LabeledImage>, scala.collection.Iterator<byte[]>> & Serializable)
                        it -> CollectionConverters.asScala(runTask(CollectionConverters.asJava(it), dims, classes, mean,
                                std, config));
        ClassTag<byte[]> tag = ClassTag$.MODULE$.apply(byte[].class);
        // A shuffle after the barrier stage makes it a map stage, which Spark retries when a task
        // fails (a failed barrier result stage is not retried: its output may be committed).
        List<byte[]> out = new JavaRDD<>(data.rdd().barrier().mapPartitions(task, false, tag), tag).repartition(1)
                .collect();
        if (out.size() != 1) {
            throw new IllegalStateException("the stage of " + partitions + " tasks returned " + out.size() + " models");
        }
        return out.get(0);
    }

    // Per image: the sum of each channel's pixels, of their squares, and the pixel count per channel.
    private static double[] moments(byte[] px, int channels) {
        double[] m = new double[2 * channels + 1];
        int per = px.length / channels;
        for (int c = 0; c < channels; c++) {
            for (int i = c * per; i < (c + 1) * per; i++) {
                double v = px[i] & 0xff;
                m[c] += v;
                m[channels + c] += v * v;
            }
        }
        m[2 * channels] = per;
        return m;
    }

    private static double[] add(double[] a, double[] b) {
        double[] s = a.clone();
        for (int i = 0; i < s.length; i++) {
            s[i] += b[i];
        }
        return s;
    }

    // One worker: its partition as a data set, the model, the group, the epochs.
    private static Iterator<byte[]> runTask(Iterator<LabeledImage> rows, int[] dims, int classes, double[] mean,
                                            double[] std, Config c) {
        BarrierTaskContext ctx = BarrierTaskContext.get();
        SparkRendezvous rendezvous = new SparkRendezvous(ctx);
        int rank = rendezvous.rank();
        Shape shape = Shape.of(dims[0], dims[1], dims[2]);
        int per = dims[0] * dims[1] * dims[2];
        List<LabeledImage> mine = new ArrayList<>();
        rows.forEachRemaining(mine::add);
        if (mine.isEmpty()) {
            throw new IllegalArgumentException("partition " + rank + " holds no images: every worker needs data");
        }
        byte[] px = new byte[mine.size() * per];
        int[] y = new int[mine.size()];
        for (int i = 0; i < y.length; i++) {
            byte[] p = mine.get(i).pixels();
            if (p.length != per) {
                throw new IllegalArgumentException("an image of partition " + rank + " has " + p.length + " bytes, not "
                        + per + " (" + shape + ")");
            }
            System.arraycopy(p, 0, px, i * per, per);
            y[i] = mine.get(i).label();
        }
        Dataset d = new Dataset("partition-" + rank, shape, classes, px, y).withNormalization(new Normalization(mean, std));
        int size = rendezvous.size();
        try (Backend be = Backends.create("auto", c.threads()).backend();
             Sequential m = Models.create(c.model(), shape, classes).initialize(be, c.seed());
             Optimizer opt = c.optimizer().equals("sgd") ? new Sgd(m.parameters(), c.lr(), c.momentum(), 0, false, 0)
                     : new Adam(m.parameters(), c.lr());
             Trainer t = new Trainer(m, opt);
             DataLoader loader = DataLoader.builder(d).batchSize(Math.max(1, c.batch() / size)).shuffle(c.seed() + rank)
                     .build();
             Collective group = GlooCollective.join(rendezvous, rendezvous.host(), c.timeout())) {
            t.setDataParallel(DataParallel.localShards(group, m));
            Fit fit = Fit.of(loader).epochs(c.epochs());
            if (c.callbacks() != null) {
                fit.callbacks(c.callbacks().create(rank, ctx.stageAttemptNumber()));
            }
            if (c.checkpoints() != null) {
                Path dir = Path.of(c.checkpoints());
                fit.checkpoints(dir, Fit.Every.steps(c.checkpointSteps()), 2);
                // The newest checkpoint as rank 0 sees it, the same for every task.
                Path newest = rank == 0 ? Checkpoint.latest(dir) : null;
                String chosen = ctx.allGather(newest == null ? "" : newest.toString())[0];
                if (!chosen.isEmpty()) {
                    fit.resumeFrom(Path.of(chosen));
                    // in the executor's log
                    System.err.printf("cnn4j-spark: rank %d of %d (stage attempt %d) resumes from %s%n", rank, size,
                            ctx.stageAttemptNumber(), chosen);
                }
            }
            t.fit(fit);
            if (rank != 0) {
                return List.<byte[]>of().iterator();
            }
            Path dir = Files.createTempDirectory("cnn4j-spark-model");
            try {
                Path file = ModelFile.save(dir, m, Map.of("model", c.model(), "epochs", c.epochs(), "batch", c.batch(),
                        "workers", size));
                return List.of(Files.readAllBytes(file)).iterator();
            } finally {
                try (var files = Files.list(dir)) {
                    for (Path f : files.toList()) {
                        Files.deleteIfExists(f);
                    }
                }
                Files.deleteIfExists(dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
