package org.cnn4j.infer;

import org.cnn4j.data.Normalization;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.cnn4j.NativeExpectation;
import org.cnn4j.backend.JavaBackend;
import org.cnn4j.data.ImageFolder;
import org.cnn4j.io.ModelFile;
import org.cnn4j.nn.Models;
import org.cnn4j.nn.Sequential;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The inference API: names and probabilities from a saved model, the same answers from any number of threads. */
class PredictorTest {
    @TempDir
    Path dir;

    static final List<String> NAMES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
            "Sneaker", "Bag", "Ankle boot");

    private Path saved() throws IOException {
        try (JavaBackend b = new JavaBackend(1); Sequential m = Models.lenet5().initialize(b, 11)) {
            return ModelFile.save(dir, m, new Normalization(new double[] {0.28}, new double[] {0.35}), NAMES,
                    Map.of());
        }
    }

    private static byte[] inputs(int count, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] px = new byte[count * 784];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) r.nextInt(256);
        }
        return px;
    }

    @Test
    void namesProbabilitiesAndImagesAsInTraining() throws IOException {
        try (Predictor p = Predictor.open(saved(), "java", 2)) {
            assertEquals(NAMES, p.classes());
            assertEquals("1x28x28", p.inputShape().toCompactString());
            byte[] px = inputs(1, 5);
            List<Predictor.Prediction> all = p.predictPixels(px, 1, 10).get(0);
            double sum = 0;
            for (int i = 0; i < all.size(); i++) {
                sum += all.get(i).probability();
                assertEquals(NAMES.get(all.get(i).index()), all.get(i).label());
                if (i > 0) {
                    assertTrue(all.get(i).probability() <= all.get(i - 1).probability(), "sorted");
                }
            }
            assertEquals(1.0, sum, 1e-9);
            // an image goes through the preprocessing of training: the same bytes, the same answer
            BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
            for (int y = 0; y < 28; y++) {
                for (int x = 0; x < 28; x++) {
                    int v = px[y * 28 + x] & 0xff;
                    img.setRGB(x, y, (v << 16) | (v << 8) | v);
                }
            }
            byte[] back = new byte[784];
            ImageFolder.toChw(img, p.inputShape(), back, 0);
            assertEquals(p.predictPixels(back, 1, 3).get(0), p.predict(img, 3));
            assertThrows(IllegalArgumentException.class, () -> p.predictPixels(px, 1, 11));
            assertThrows(IllegalArgumentException.class, () -> p.predictPixels(px, 2, 1));
        }
    }

    /** 8 threads share one predictor and make 10,000 predictions: exactly the single-threaded answers. */
    @ParameterizedTest
    @ValueSource(strings = {"java", "cpu"})
    void eightThreadsGetTheSingleThreadedAnswers(String backend) throws Exception {
        if (backend.equals("cpu")) {
            NativeExpectation.requireNative();
        }
        int distinct = 300;
        byte[] px = inputs(distinct, 9);
        try (Predictor p = Predictor.open(saved(), backend, 8)) {
            List<List<Predictor.Prediction>> want = new ArrayList<>();
            for (int i = 0; i < distinct; i++) {
                want.add(p.predictPixels(java.util.Arrays.copyOfRange(px, i * 784, (i + 1) * 784), 1, 3).get(0));
            }
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<Integer>> done = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    final int first = t;
                    done.add(pool.submit(() -> {
                        int same = 0;
                        for (int i = first; i < 10_000; i += 8) {
                            int j = (i * 7) % distinct;
                            List<Predictor.Prediction> got =
                                    p.predictPixels(java.util.Arrays.copyOfRange(px, j * 784, (j + 1) * 784), 1, 3).get(0);
                            same += got.equals(want.get(j)) ? 1 : 0;
                        }
                        return same;
                    }));
                }
                int same = 0;
                for (Future<Integer> f : done) {
                    same += f.get();
                }
                assertEquals(10_000, same, "predictions equal to the single-threaded ones");
            } finally {
                pool.shutdown();
            }
        }
    }
}
