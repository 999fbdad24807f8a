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
 * retries the whole stage (barrier stages are retried together), which trains again from the
 * start. The data set's normalisation is computed once, on the driver.
 */
public final class SparkTraining {
    private SparkTraining() {
    }

    /** What to train; the same on every task. */
    public record Config(String model, int epochs, int batch, String optimizer, double lr, double momentum, long seed,
                         int threads, Duration timeout) implements Serializable {
        public Config {
            if (epochs < 1 || batch < 1 || !(lr > 0) || threads < 0) {
                throw new IllegalArgumentException("epochs, batch >= 1, lr > 0 and threads >= 0 are needed");
            }
            if (!optimizer.equals("sgd") && !optimizer.equals("adam")) {
                throw new IllegalArgumentException("optimizer sgd or adam, got " + optimizer);
            }
        }

        /** LeNet-5-sized defaults: Adam 1e-3, batch 64, 1 thread a task, a 10-minute wait for a peer. */
        public static Config of(String model, int epochs) {
            return new Config(model, epochs, 64, "adam", 1e-3, 0.9, 42, 1, Duration.ofMinutes(10));
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
        List<byte[]> out = new JavaRDD<>(data.rdd().barrier().mapPartitions(task, false, tag), tag).collect();
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
            m.setNormalization(d.normalization());
            for (int e = 0; e < c.epochs(); e++) {
                t.trainEpoch(loader, e, null);
            }
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
