package org.cnn4j.data;

import java.util.Arrays;

/**
 * The input normalisation of a model: per channel, the mean and standard deviation of
 * {@code pixel/255}, so that the network sees {@code (pixel/255 - mean[c]) / std[c]}. It is
 * measured on the training data ({@link #of(Dataset)}), travels with the data set into its
 * loaders, and is saved with the model so that evaluation and prediction normalise as
 * training did.
 */
public record Normalization(double[] mean, double[] std) {

    public Normalization {
        if (mean == null || std == null || mean.length != std.length || mean.length == 0) {
            throw new IllegalArgumentException("a normalisation needs one mean and one std per channel, got "
                    + (mean == null ? "none" : mean.length) + " and " + (std == null ? "none" : std.length));
        }
        for (int c = 0; c < std.length; c++) {
            if (!Double.isFinite(mean[c]) || !(std[c] > 0) || Double.isInfinite(std[c])) {
                throw new IllegalArgumentException("channel " + c + ": the mean must be finite and the std > 0, got "
                        + mean[c] + " and " + std[c]);
            }
        }
        mean = mean.clone();
        std = std.clone();
    }

    /** The per-channel statistics of a whole data set. */
    public static Normalization of(Dataset data) {
        double[][] s = data.channelStats();
        return new Normalization(s[0], s[1]);
    }

    /** The identity on pixel/255 (mean 0, std 1) for {@code channels} channels. */
    public static Normalization none(int channels) {
        double[] m = new double[channels];
        double[] s = new double[channels];
        Arrays.fill(s, 1);
        return new Normalization(m, s);
    }

    public int channels() {
        return mean.length;
    }

    @Override
    public double[] mean() {
        return mean.clone();
    }

    @Override
    public double[] std() {
        return std.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Normalization n && Arrays.equals(mean, n.mean) && Arrays.equals(std, n.std);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(mean) + Arrays.hashCode(std);
    }

    @Override
    public String toString() {
        return "Normalization[mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + "]";
    }
}
