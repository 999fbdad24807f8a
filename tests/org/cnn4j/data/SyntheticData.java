package org.cnn4j.data;

import java.util.List;
import java.util.SplittableRandom;
import org.cnn4j.tensor.Shape;

/** Small image sets made up for tests. */
public final class SyntheticData {
    private SyntheticData() {
    }

    /**
     * n 1x12x12 images of 4 classes with a learnable signal: class c brightens row band c;
     * noise elsewhere. With randomLabels the labels are drawn apart from the images.
     */
    public static Dataset bands(int n, long seed, boolean randomLabels) {
        SplittableRandom rng = new SplittableRandom(seed);
        int c = 4, h = 12, w = 12;
        byte[] px = new byte[n * h * w];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            int label = rng.nextInt(c);
            y[i] = randomLabels ? rng.nextInt(c) : label;
            for (int q = 0; q < h * w; q++) {
                int row = q / w;
                int v = rng.nextInt(90) + (row / 3 == label ? 140 : 0);
                px[i * h * w + q] = (byte) Math.min(255, v);
            }
        }
        return new Dataset("synthetic", Shape.of(1, h, w), c, px, y, List.of("a", "b", "c", "d"), null);
    }
}
