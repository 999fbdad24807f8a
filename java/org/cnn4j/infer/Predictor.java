package org.cnn4j.infer;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.Backends;
import org.cnn4j.data.DataLoader;
import org.cnn4j.data.ImageFolder;
import org.cnn4j.data.Images;
import org.cnn4j.io.ModelFile;
import org.cnn4j.nn.Sequential;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;

/**
 * Answers from a saved model: the most probable classes of images, by name, with their
 * probabilities. The input contract comes from the model file: the input shape, the
 * normalisation of training and the class names.
 *
 * <pre>{@code
 * try (Predictor p = Predictor.open(Path.of("runs/lenet5/model.safetensors"), "cpu", 4)) {
 *     for (Predictor.Prediction q : p.predict(Path.of("shoe.png"), 3)) {
 *         System.out.printf("%s %.3f%n", q.label(), q.probability());
 *     }
 * }
 * }</pre>
 *
 * <p><b>Thread safety.</b> A predictor is safe for any number of concurrent callers. Backends
 * and models are not (they reuse scratch buffers between ops), so the predictor keeps a pool of
 * replicas, each a backend of its own (one thread) with its own copy of the model, created as
 * callers need them, up to {@code maxConcurrency}; further callers wait for a free one. Each
 * replica computes exactly as the others: an answer does not depend on which one gives it.
 */
public final class Predictor implements AutoCloseable {

    /** A class index, its name and its probability. */
    public record Prediction(int index, String label, double probability) {
    }

    private final Path file;
    private final String backend;
    private final int maxConcurrency;
    private final Shape input;
    private final List<String> classes;
    private final float[][] lut;  // per channel, the normalised value of each pixel byte
    private final BlockingQueue<Replica> idle;
    private final List<Replica> all = new ArrayList<>();
    private volatile boolean closed;

    private record Replica(Backend backend, Sequential model) {
    }

    private Predictor(Path file, String backend, int maxConcurrency, Replica first, ModelFile.Loaded loaded) {
        this.file = file;
        this.backend = backend;
        this.maxConcurrency = maxConcurrency;
        this.input = first.model().inputShape();
        int n = first.model().outputShape().numel();
        List<String> names = loaded.classes();
        if (names == null) {
            String[] d = new String[n];
            for (int i = 0; i < n; i++) {
                d[i] = Integer.toString(i);
            }
            names = List.of(d);
        }
        this.classes = names;
        double[] mean = loaded.normalization().mean(), std = loaded.normalization().std();
        int c = input.dim(0);
        if (mean.length != c || std.length != c) {
            throw new IllegalArgumentException(file + ": the normalisation has " + mean.length + " channels, the model takes "
                    + c);
        }
        lut = DataLoader.normalization(mean, std, c);
        this.idle = new ArrayBlockingQueue<>(maxConcurrency);
        all.add(first);
        idle.add(first);
    }

    /**
     * Opens a saved model ({@code model.safetensors} or its folder) on backend {@code backend}
     * ({@code java}, {@code cpu}, {@code cuda} or {@code auto}) for up to {@code maxConcurrency}
     * concurrent callers.
     */
    public static Predictor open(Path modelFile, String backend, int maxConcurrency) {
        if (maxConcurrency < 1) {
            throw new IllegalArgumentException("maxConcurrency must be >= 1, got " + maxConcurrency);
        }
        Backend b = Backends.create(backend, 1).backend();
        try {
            ModelFile.Loaded loaded = ModelFile.load(modelFile, b);
            return new Predictor(modelFile, backend, maxConcurrency, new Replica(b, loaded.model()), loaded);
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
    }

    /** The input the model takes: C x H x W. */
    public Shape inputShape() {
        return input;
    }

    /** The class names, in label order ("0", "1", ... for a model saved without names). */
    public List<String> classes() {
        return classes;
    }

    /** The {@code k} most probable classes of an image file (PNG or JPEG), most probable first. */
    public List<Prediction> predict(Path image, int k) {
        return predict(Images.read(image), k);
    }

    /** The {@code k} most probable classes of an image, resized and converted as in training. */
    public List<Prediction> predict(BufferedImage image, int k) {
        return predictImages(List.of(image), k).get(0);
    }

    /** One answer per image, computed as one batch. */
    public List<List<Prediction>> predictImages(List<BufferedImage> images, int k) {
        int n = input.numel();
        byte[] px = new byte[Math.multiplyExact(images.size(), n)];
        for (int i = 0; i < images.size(); i++) {
            ImageFolder.toChw(images.get(i), input, px, i * n);
        }
        return predictPixels(px, images.size(), k);
    }

    /**
     * The {@code k} most probable classes of each of {@code count} inputs given as pixel bytes
     * (0-255), C x H x W each, one after the other: the form of the IDX and CIFAR-10 data sets.
     */
    public List<List<Prediction>> predictPixels(byte[] pixels, int count, int k) {
        int n = input.numel();
        if (count < 0 || pixels.length != (long) count * n) {
            throw new IllegalArgumentException(pixels.length + " pixel bytes are not " + count + " inputs of "
                    + input.toCompactString());
        }
        float[] x = new float[pixels.length];
        int plane = input.dim(1) * input.dim(2);
        for (int i = 0; i < pixels.length; i++) {
            x[i] = lut[(i % n) / plane][pixels[i] & 0xff];
        }
        return run(x, count, k);
    }

    private List<List<Prediction>> run(float[] x, int count, int k) {
        int classesN = classes.size();
        if (k < 1 || k > classesN) {
            throw new IllegalArgumentException("k must be 1 to " + classesN + ", got " + k);
        }
        if (count == 0) {
            return List.of();
        }
        float[] logits;
        Replica r = acquire();
        try (Tensor t = r.backend().zeros(input.withBatch(count))) {
            t.copyFrom(x);
            logits = r.model().forward(t, false).toFloatArray();
        } finally {
            idle.add(r);
        }
        List<List<Prediction>> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(top(logits, i * classesN, classesN, k));
        }
        return out;
    }

    /** Softmax in double, then the k largest (ties: the lower index first). */
    private List<Prediction> top(float[] l, int off, int n, int k) {
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < n; c++) {
            max = Math.max(max, l[off + c]);
        }
        double[] p = new double[n];
        double sum = 0;
        for (int c = 0; c < n; c++) {
            p[c] = Math.exp(l[off + c] - max);
            sum += p[c];
        }
        Integer[] order = new Integer[n];
        for (int c = 0; c < n; c++) {
            order[c] = c;
            p[c] /= sum;
        }
        Arrays.sort(order, (a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
        List<Prediction> out = new ArrayList<>(k);
        for (int i = 0; i < k; i++) {
            out.add(new Prediction(order[i], classes.get(order[i]), p[order[i]]));
        }
        return out;
    }

    private Replica acquire() {
        if (closed) {
            throw new IllegalStateException("predictor used after close()");
        }
        Replica r = idle.poll();
        if (r != null) {
            return r;
        }
        synchronized (all) {
            if (all.size() < maxConcurrency) {
                Backend b = Backends.create(backend, 1).backend();
                try {
                    Replica n = new Replica(b, ModelFile.load(file, b).model());
                    all.add(n);
                    return n;
                } catch (RuntimeException e) {
                    b.close();
                    throw e;
                }
            }
        }
        try {
            return idle.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a free model replica", e);
        }
    }

    /** Frees every replica; callers must have returned (calls after close fail). */
    @Override
    public void close() {
        closed = true;
        synchronized (all) {
            for (Replica r : all) {
                r.model().close();
                r.backend().close();
            }
            all.clear();
        }
    }
}
