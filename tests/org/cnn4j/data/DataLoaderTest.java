package org.cnn4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.cnn4j.tensor.Shape;
import org.junit.jupiter.api.Test;

class DataLoaderTest {

    /** n samples of 1x2x2; sample i has all pixels = i and label i % 10. */
    static Dataset counting(int n) {
        byte[] px = new byte[n * 4];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            Arrays.fill(px, i * 4, i * 4 + 4, (byte) i);
            labels[i] = i % 10;
        }
        return new Dataset("counting", Shape.of(1, 2, 2), 10, px, labels);
    }

    private static List<Integer> epochSamples(DataLoader l, int epoch) {
        List<Integer> seen = new ArrayList<>();
        try (DataLoader.Epoch it = l.epoch(epoch)) {
            while (it.hasNext()) {
                Batch b = it.next();
                for (int i = 0; i < b.size(); i++) {
                    // pixel value v normalised with mean 0, std 1/255 gives back v
                    seen.add(Math.round(b.images()[i * 4]));
                    assertEquals(Math.round(b.images()[i * 4]) % 10, b.labels()[i]);
                }
                b.release();
            }
        }
        return seen;
    }

    @Test
    void everySampleOncePerEpochInASeededOrder() {
        Dataset d = counting(103);
        double[] mean = {0}, std = {1 / 255.0};
        try (DataLoader a = new DataLoader(d, 10, true, 5, mean, std, 2);
             DataLoader b = new DataLoader(d, 10, true, 5, mean, std, 0);
             DataLoader c = new DataLoader(d, 10, true, 6, mean, std, 2)) {
            assertEquals(11, a.batchesPerEpoch());
            List<Integer> e0 = epochSamples(a, 0);
            List<Integer> sorted = new ArrayList<>(e0);
            sorted.sort(null);
            List<Integer> all = new ArrayList<>();
            for (int i = 0; i < 103; i++) {
                all.add(i);
            }
            assertEquals(all, sorted, "each sample exactly once");
            assertEquals(e0, epochSamples(b, 0), "same seed and epoch, with or without prefetch: same order");
            assertFalse(e0.equals(epochSamples(a, 1)), "another epoch, another order");
            assertFalse(e0.equals(epochSamples(c, 0)), "another seed, another order");
            assertFalse(e0.equals(all), "shuffled");
        }
    }

    @Test
    void normalisesPerChannel() {
        Dataset d = counting(4);
        try (DataLoader l = new DataLoader(d, 4, false, 0, new double[] {0.5}, new double[] {0.25}, 0);
             DataLoader.Epoch it = l.epoch(0)) {
            Batch b = it.next();
            float[] expect = new float[16];
            for (int i = 0; i < 16; i++) {
                expect[i] = (float) (((i / 4) / 255.0 - 0.5) / 0.25);
            }
            assertArrayEquals(expect, Arrays.copyOf(b.images(), 16), 1e-6f);
            b.release();
        }
    }

    @Test
    void rejectsBadSettings() {
        Dataset d = counting(4);
        assertThrows(IllegalArgumentException.class, () -> new DataLoader(d, 0, false, 0, new double[] {0}, new double[] {1}, 0));
        assertThrows(IllegalArgumentException.class, () -> new DataLoader(d, 2, false, 0, new double[] {0, 0}, new double[] {1, 1}, 0));
        assertThrows(IllegalArgumentException.class, () -> new DataLoader(d, 2, false, 0, new double[] {0}, new double[] {0}, 0));
    }
}
