package org.cnn4j.data;

import java.util.Arrays;
import org.cnn4j.tensor.Shape;

/**
 * Labelled images held in memory as unsigned bytes, sample-major, each sample in CHW order,
 * with labels in [0, classes). Normalisation happens when batches are made.
 */
public record Dataset(String name, Shape sampleShape, int classes, byte[] pixels, int[] labels) {

    public Dataset {
        int n = labels.length;
        if ((long) n * sampleShape.numel() != pixels.length) {
            throw new IllegalArgumentException(name + ": " + pixels.length + " pixel bytes do not hold " + n
                    + " samples of " + sampleShape.toCompactString());
        }
    }

    public int size() {
        return labels.length;
    }

    public int sampleSize() {
        return sampleShape.numel();
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
                Arrays.copyOf(labels, n));
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
