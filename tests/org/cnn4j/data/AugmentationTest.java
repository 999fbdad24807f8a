package org.cnn4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.cnn4j.tensor.Shape;
import org.junit.jupiter.api.Test;

/** Augmentation (SPEC S6.3): seeded, size-preserving, in range. */
class AugmentationTest {
    private static Augmentation.Image ramp(Shape s) {
        Augmentation.Image img = new Augmentation.Image(s);
        for (int i = 0; i < img.data.length; i++) {
            img.data[i] = (i % 251) / 250f;
        }
        return img;
    }

    @Test
    void flipTwiceIsTheIdentity() {
        Augmentation.Image img = ramp(Shape.of(3, 5, 7));
        float[] before = img.data.clone();
        Augmentation.flip(img);
        assertFalse(Arrays.equals(before, img.data));
        assertEquals(before[6], img.data[0], "the last column comes first");
        Augmentation.flip(img);
        assertArrayEquals(before, img.data);
    }

    @Test
    void cropsStayInBoundsAndKeepTheSize() {
        Shape s = Shape.of(1, 8, 8);
        Augmentation.Transform crop = Augmentation.randomCrop(2);
        Augmentation.Transform resized = Augmentation.randomResizedCrop(0.08, 1, 3 / 4.0, 4 / 3.0);
        SplittableRandom rng = new SplittableRandom(3);
        for (int t = 0; t < 200; t++) {
            for (Augmentation.Transform tr : List.of(crop, resized)) {
                Augmentation.Image img = ramp(s);
                tr.apply(img, rng);
                assertEquals(64, img.data.length);
                for (float v : img.data) {
                    assertTrue(v >= 0 && v <= 1, "value " + v + " out of [0, 1]");
                }
            }
        }
        // a shift by the full padding moves the image and fills with zeros
        Augmentation.Image img = ramp(s);
        float[] before = img.data.clone();
        Augmentation.shift(img, 2, -2);
        assertEquals(0, img.data[0], "left columns come from the zero padding");
        assertEquals(before[2 * 8], img.data[2], "out(0, 2) = in(2, 0)");
    }

    @Test
    void colourJitterKeepsPixelsInRange() {
        Augmentation.Image img = ramp(Shape.of(3, 6, 6));
        Augmentation.colorJitter(0.8, 0.8, 0.8).apply(img, new SplittableRandom(5));
        for (float v : img.data) {
            assertTrue(v >= 0 && v <= 1);
        }
    }

    /** The same seed gives the same augmented batches, however many batches are prefetched. */
    @Test
    void loaderAugmentationIsDeterministicUnderASeed() {
        int n = 40;
        byte[] px = new byte[n * 3 * 8 * 8];
        int[] labels = new int[n];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) (i * 37);
        }
        Dataset d = new Dataset("synthetic", Shape.of(3, 8, 8), 10, px, labels);
        double[] mean = {0.5, 0.5, 0.5}, std = {0.25, 0.25, 0.25};
        float[][] runs = new float[3][];
        int[] prefetch = {0, 3, 3};
        long[] seeds = {9, 9, 10};
        for (int r = 0; r < 3; r++) {
            try (DataLoader l = new DataLoader(d, 16, true, seeds[r], mean, std, prefetch[r])
                    .augment(Augmentation.standard(d.sampleShape()))) {
                float[] all = new float[n * 192];
                int off = 0;
                try (DataLoader.Epoch e = l.epoch(1)) {
                    while (e.hasNext()) {
                        Batch b = e.next();
                        System.arraycopy(b.images(), 0, all, off, b.size() * 192);
                        off += b.size() * 192;
                        b.release();
                    }
                }
                runs[r] = all;
            }
        }
        assertArrayEquals(runs[0], runs[1], 0f, "same seed, prefetch 0 and 3");
        assertFalse(Arrays.equals(runs[0], runs[2]), "another seed augments differently");
    }
}
