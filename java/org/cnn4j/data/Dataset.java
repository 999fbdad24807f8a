package org.cnn4j.data;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.cnn4j.tensor.Shape;

/**
 * Labelled images held in memory as unsigned bytes, sample-major, each sample in CHW order,
 * with labels in [0, classes). Normalisation happens when batches are made: the data set
 * carries its {@link Normalization} (measured on itself unless one is given, as a test set is
 * given its training set's), and optionally its class names, which loaders and models take
 * over so that nobody passes them by hand.
 */
public record Dataset(String name, Shape sampleShape, int classes, byte[] pixels, int[] labels,
                      List<String> classNames, Normalization givenNormalization) {

    public Dataset {
        int n = labels.length;
        if ((long) n * sampleShape.numel() != pixels.length) {
            throw new IllegalArgumentException(name + ": " + pixels.length + " pixel bytes do not hold " + n
                    + " samples of " + sampleShape.toCompactString());
        }
        if (classNames != null) {
            classNames = List.copyOf(classNames);
            if (classNames.size() != classes) {
                throw new IllegalArgumentException(name + ": " + classNames.size() + " class names for " + classes
                        + " classes");
            }
        }
        if (givenNormalization != null && givenNormalization.channels() != sampleShape.dim(0)) {
            throw new IllegalArgumentException(name + ": a normalisation of " + givenNormalization.channels()
                    + " channels for images of " + sampleShape.dim(0));
        }
    }

    public Dataset(String name, Shape sampleShape, int classes, byte[] pixels, int[] labels) {
        this(name, sampleShape, classes, pixels, labels, null, null);
    }

    public int size() {
        return labels.length;
    }

    public int sampleSize() {
        return sampleShape.numel();
    }

    /** The normalisation given to this set, else its own per-channel statistics (measured on each call). */
    public Normalization normalization() {
        return givenNormalization != null ? givenNormalization : Normalization.of(this);
    }

    /** The same images with this normalisation (a test or validation set takes its training set's). */
    public Dataset withNormalization(Normalization n) {
        return new Dataset(name, sampleShape, classes, pixels, labels, classNames, n);
    }

    /** The same images with class names (in label order). */
    public Dataset withClassNames(List<String> names) {
        return new Dataset(name, sampleShape, classes, pixels, labels, names, givenNormalization);
    }

    /** The first {@code n} samples (all when n >= size). */
    public Dataset limit(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("limit must be >= 0, got " + n);
        }
        if (n >= size()) {
            return this;
        }
        return new Dataset(name, sampleShape, classes, Arrays.copyOf(pixels, n * sampleSize()),
                Arrays.copyOf(labels, n), classNames, givenNormalization);
    }

    /** A training set and the validation set held out of it. */
    public record Split(Dataset train, Dataset validation) {
    }

    /**
     * Holds out {@code fraction} of the samples (rounded, at least one and at most all but one)
     * chosen by a seeded shuffle, as the validation set; the rest, in their original order, is
     * the training set. Both carry the training part's normalisation (unless this set has one
     * given) and this set's class names. The same seed gives the same split.
     */
    public Split split(double fraction, long seed) {
        if (!(fraction > 0 && fraction < 1)) {
            throw new IllegalArgumentException("the validation fraction must be in (0, 1), got " + fraction);
        }
        int n = size();
        int nVal = (int) Math.round(n * fraction);
        if (n < 2 || nVal < 1 || nVal >= n) {
            throw new IllegalArgumentException(name + ": " + n + " samples cannot be split " + (1 - fraction) + " / "
                    + fraction + " with at least one sample on each side");
        }
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i;
        }
        SplittableRandom rng = new SplittableRandom(seed ^ 0x5DEECE66DL);
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        int[] val = Arrays.copyOf(idx, nVal);
        int[] tr = Arrays.copyOfRange(idx, nVal, n);
        Arrays.sort(val);
        Arrays.sort(tr);
        Dataset train = subset(name + " (training part)", tr, givenNormalization);
        Normalization norm = givenNormalization != null ? givenNormalization : Normalization.of(train);
        return new Split(train.withNormalization(norm), subset(name + " (validation part)", val, norm));
    }

    private Dataset subset(String label, int[] rows, Normalization norm) {
        int ss = sampleSize();
        byte[] px = new byte[rows.length * ss];
        int[] y = new int[rows.length];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(pixels, rows[i] * ss, px, i * ss, ss);
            y[i] = labels[rows[i]];
        }
        return new Dataset(label, sampleShape, classes, px, y, classNames, norm);
    }

    /** Per-channel mean and standard deviation of pixel/255 over the whole set: {mean[], std[]}. */
    public double[][] channelStats() {
        int c = sampleShape.dim(0);
        int plane = sampleSize() / c;
        long[] sum = new long[c];
        long[] sq = new long[c];
        for (int s = 0; s < size(); s++) {
            int base = s * sampleSize();
            for (int ch = 0; ch < c; ch++) {
                long a = 0, b = 0;
                int o = base + ch * plane;
                for (int i = 0; i < plane; i++) {
                    int v = pixels[o + i] & 0xff;
                    a += v;
                    b += v * v;
                }
                sum[ch] += a;
                sq[ch] += b;
            }
        }
        double[] mean = new double[c], std = new double[c];
        double count = (double) size() * plane;
        for (int ch = 0; ch < c; ch++) {
            double m = sum[ch] / count / 255.0;
            double var = sq[ch] / count / (255.0 * 255.0) - m * m;
            mean[ch] = m;
            std[ch] = Math.sqrt(Math.max(var, 1e-12));
        }
        return new double[][] {mean, std};
    }
}
