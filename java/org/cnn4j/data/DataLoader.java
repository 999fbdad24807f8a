package org.cnn4j.data;

import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Makes batches from a {@link Dataset}: seeded shuffling (the order of epoch e depends only on
 * the seed and e), normalisation {@code (pixel/255 - mean[c]) / std[c]}, and a background
 * thread that prepares the next batches while the model trains on the current one. The last
 * batch of an epoch may be smaller. Batch buffers are pooled, so a steady-state epoch
 * allocates nothing. Build one with {@link #builder(Dataset)}; the normalisation is the data
 * set's own ({@link Dataset#normalization()}) unless another is given.
 *
 * <p>The order of every epoch and every augmentation draw are functions of the seed, the
 * epoch and the sample's position, so {@link #epoch(int, int)} can start an epoch at any
 * batch and deliver exactly what an uninterrupted epoch would have delivered from there.
 * A loader serves one consumer thread at a time.
 */
public final class DataLoader implements AutoCloseable {
    private final Dataset data;
    private final int batchSize;
    private final boolean shuffle;
    private final long seed;
    private final float[][] lut;
    private final int prefetch;
    private final BlockingQueue<Batch> pool;
    private Epoch running;
    private List<Augmentation.Transform> transforms = List.of();
    private Augmentation.Image image;
    private double[] mean;
    private double[] std;
    private final Normalization norm;

    /** Settings of a loader; {@link #build()} makes it. */
    public static final class Builder {
        private final Dataset data;
        private int batchSize = 64;
        private boolean shuffle;
        private long seed;
        private Normalization normalization;
        private int prefetch = 2;
        private List<Augmentation.Transform> augment = List.of();

        private Builder(Dataset data) {
            this.data = data;
        }

        /** Images per batch (default 64). */
        public Builder batchSize(int n) {
            this.batchSize = n;
            return this;
        }

        /** Shuffles every epoch in an order drawn from {@code seed} and the epoch (default: in order). */
        public Builder shuffle(long seed) {
            this.shuffle = true;
            this.seed = seed;
            return this;
        }

        /** Seeds the augmentation draws without shuffling. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** The normalisation (default: the data set's, {@link Dataset#normalization()}). */
        public Builder normalization(Normalization n) {
            this.normalization = n;
            return this;
        }

        /** Batches prepared ahead on a background thread (default 2; 0: on the caller's thread). */
        public Builder prefetch(int n) {
            this.prefetch = n;
            return this;
        }

        /** Augmentation applied to every image, in order, before normalisation (default none). */
        public Builder augment(List<Augmentation.Transform> t) {
            this.augment = List.copyOf(t);
            return this;
        }

        public DataLoader build() {
            Normalization n = normalization != null ? normalization : data.normalization();
            DataLoader l = new DataLoader(data, batchSize, shuffle, seed, n.mean(), n.std(), prefetch);
            return augment.isEmpty() ? l : l.augment(augment);
        }
    }

    /** A builder of a loader over {@code data}. */
    public static Builder builder(Dataset data) {
        return new Builder(data);
    }

    /**
     * @param mean     per-channel mean of pixel/255 (one value per channel)
     * @param std      per-channel standard deviation of pixel/255
     * @param prefetch batches prepared ahead (0: batches are made on the caller's thread)
     */
    public DataLoader(Dataset data, int batchSize, boolean shuffle, long seed, double[] mean, double[] std,
                      int prefetch) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        if (data.size() == 0) {
            throw new IllegalArgumentException(data.name() + ": the data set is empty");
        }
        int channels = data.sampleShape().dim(0);
        if (mean.length != channels || std.length != channels) {
            throw new IllegalArgumentException("normalisation needs " + channels + " mean and std values, got "
                    + mean.length + " and " + std.length);
        }
        this.data = data;
        this.batchSize = batchSize;
        this.shuffle = shuffle;
        this.seed = seed;
        this.prefetch = Math.max(0, prefetch);
        this.lut = normalization(mean, std, channels);
        this.mean = mean.clone();
        this.std = std.clone();
        this.norm = new Normalization(mean, std);
        int buffers = this.prefetch + 2;
        this.pool = new ArrayBlockingQueue<>(buffers);
        for (int i = 0; i < buffers; i++) {
            pool.add(new Batch(this, batchSize, data.sampleSize()));
        }
    }

    /**
     * Augments every image with these transforms (in order) before normalisation, on the
     * loader's thread; an empty list turns augmentation off. Seeded by the loader's seed.
     */
    public DataLoader augment(List<Augmentation.Transform> t) {
        this.transforms = List.copyOf(t);
        this.image = t.isEmpty() ? null : new Augmentation.Image(data.sampleShape());
        return this;
    }

    public Dataset dataset() {
        return data;
    }

    /** The normalisation this loader applies. */
    public Normalization normalization() {
        return norm;
    }

    public long seed() {
        return seed;
    }

    public boolean shuffles() {
        return shuffle;
    }

    public int batchSize() {
        return batchSize;
    }

    public int batchesPerEpoch() {
        return (data.size() + batchSize - 1) / batchSize;
    }

    /** The sample order of epoch {@code epoch} (0-based). */
    public int[] order(int epoch) {
        int n = data.size();
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i;
        }
        if (shuffle) {
            SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch);
            for (int i = n - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
            }
        }
        return idx;
    }

    /** Iterates the batches of one epoch; close it (try-with-resources) to stop early. */
    public Epoch epoch(int epoch) {
        return epoch(epoch, 0);
    }

    /**
     * Iterates the batches of one epoch from batch {@code startBatch} on (0-based): the batches
     * an uninterrupted epoch delivers from there, augmentation included.
     */
    public Epoch epoch(int epoch, int startBatch) {
        if (startBatch < 0 || startBatch > batchesPerEpoch()) {
            throw new IllegalArgumentException("epoch " + epoch + " has " + batchesPerEpoch()
                    + " batches; cannot start at batch " + startBatch);
        }
        if (running != null) {
            running.close();
        }
        running = new Epoch(order(epoch), epoch, startBatch);
        return running;
    }

    void recycle(Batch b) {
        pool.offer(b);
    }

    private void fill(Batch b, int[] order, int start, int epoch) {
        int n = Math.min(batchSize, order.length - start);
        int ss = data.sampleSize();
        int channels = lut.length;
        int plane = ss / channels;
        byte[] px = data.pixels();
        for (int i = 0; i < n; i++) {
            int s = order[start + i];
            b.labels[i] = data.labels()[s];
            int src = s * ss, dst = i * ss;
            if (image != null) {
                float[] img = image.data();
                for (int q = 0; q < ss; q++) {
                    img[q] = (px[src + q] & 0xff) / 255f;
                }
                java.util.SplittableRandom rng = Augmentation.streamFor(seed, epoch, start + i);
                for (Augmentation.Transform t : transforms) {
                    t.apply(image, rng);
                }
                img = image.data();
                for (int c = 0; c < channels; c++) {
                    float m = (float) mean[c], inv = (float) (1 / std[c]);
                    int so = c * plane, d = dst + c * plane;
                    for (int q = 0; q < plane; q++) {
                        b.images[d + q] = (img[so + q] - m) * inv;
                    }
                }
                continue;
            }
            for (int c = 0; c < channels; c++) {
                float[] l = lut[c];
                int so = src + c * plane, d = dst + c * plane;
                for (int q = 0; q < plane; q++) {
                    b.images[d + q] = l[px[so + q] & 0xff];
                }
            }
        }
        b.size = n;
    }

    private Batch take() {
        try {
            Batch b = pool.poll(60, TimeUnit.SECONDS);
            if (b == null) {
                throw new IllegalStateException("no free batch buffer for 60 s: release() each batch after use");
            }
            return b;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a batch buffer", e);
        }
    }

    /** One pass over the data. */
    public final class Epoch implements Iterator<Batch>, AutoCloseable {
        private final int[] order;
        private final int epochIndex;
        private int next;
        private int delivered;
        private final BlockingQueue<Object> ready;
        private final Thread worker;
        private volatile boolean stopped;

        private final int first;

        Epoch(int[] order, int epochIndex, int startBatch) {
            this.order = order;
            this.epochIndex = epochIndex;
            this.first = startBatch * batchSize;
            this.next = first;
            this.delivered = startBatch;
            if (prefetch == 0) {
                ready = null;
                worker = null;
                return;
            }
            ready = new ArrayBlockingQueue<>(prefetch + 1);
            worker = new Thread(this::produce, "cnn4j-loader");
            worker.setDaemon(true);
            worker.start();
        }

        private void produce() {
            try {
                for (int start = first; start < order.length && !stopped; start += batchSize) {
                    Batch b = take();
                    fill(b, order, start, epochIndex);
                    ready.put(b);
                }
            } catch (Throwable t) {
                if (!stopped) {
                    ready.offer(t);
                }
            }
        }

        @Override
        public boolean hasNext() {
            return delivered < batchesPerEpoch();
        }

        @Override
        public Batch next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            delivered++;
            if (ready == null) {
                Batch b = take();
                fill(b, order, next, epochIndex);
                next += batchSize;
                return b;
            }
            try {
                Object o = ready.take();
                if (o instanceof Throwable t) {
                    throw new IllegalStateException("the data loader failed: " + t, t);
                }
                return (Batch) o;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the next batch", e);
            }
        }

        @Override
        public void close() {
            stopped = true;
            if (worker != null) {
                worker.interrupt();
                try {
                    worker.join(5000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                Object o;
                while ((o = ready.poll()) != null) {
                    if (o instanceof Batch b) {
                        recycle(b);
                    }
                }
            }
        }
    }

    @Override
    public void close() {
        if (running != null) {
            running.close();
            running = null;
        }
    }

    /**
     * The normalisation of training as a table: for each channel, the value {@code (v/255 -
     * mean[c]) / std[c]} of every pixel byte v. The data loader and the predictor share it, so
     * an image is normalised the same way in both.
     */
    public static float[][] normalization(double[] mean, double[] std, int channels) {
        if (mean.length < channels || std.length < channels) {
            throw new IllegalArgumentException("normalisation for " + channels + " channels needs as many means and stds, got "
                    + mean.length + " and " + std.length);
        }
        float[][] lut = new float[channels][256];
        for (int c = 0; c < channels; c++) {
            if (!(std[c] > 0)) {
                throw new IllegalArgumentException("std of channel " + c + " must be > 0, got " + std[c]);
            }
            for (int v = 0; v < 256; v++) {
                lut[c][v] = (float) ((v / 255.0 - mean[c]) / std[c]);
            }
        }
        return lut;
    }
}
