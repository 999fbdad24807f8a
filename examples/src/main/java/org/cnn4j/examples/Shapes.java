package org.cnn4j.examples;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.Backends;
import org.cnn4j.data.DataLoader;
import org.cnn4j.data.Dataset;
import org.cnn4j.infer.Predictor;
import org.cnn4j.io.ModelFile;
import org.cnn4j.nn.Conv2d;
import org.cnn4j.nn.Flatten;
import org.cnn4j.nn.Linear;
import org.cnn4j.nn.MaxPool2d;
import org.cnn4j.nn.ReLU;
import org.cnn4j.nn.Sequential;
import org.cnn4j.optim.Adam;
import org.cnn4j.tensor.Shape;
import org.cnn4j.train.EarlyStopping;
import org.cnn4j.train.Fit;
import org.cnn4j.train.History;
import org.cnn4j.train.Trainer;

/**
 * Trains a small CNN on generated 16x16 images of four shapes (a horizontal bar, a vertical
 * bar, a square outline, a cross, each placed at random on noise), saves it, and predicts
 * new images with a {@link Predictor}. Exits with status 1 when the predictions are wrong
 * more often than 1 in 10.
 */
public final class Shapes {
    static final List<String> CLASSES = List.of("horizontal", "vertical", "square", "cross");
    static final int SIZE = 16;

    /** One image of a class, drawn at a random place over noise. */
    static byte[] draw(int cls, SplittableRandom rng) {
        byte[] px = new byte[SIZE * SIZE];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) rng.nextInt(60);
        }
        int x = 2 + rng.nextInt(6), y = 2 + rng.nextInt(6), n = 7;
        for (int i = 0; i < n; i++) {
            switch (cls) {
                case 0 -> set(px, x + i, y + 3);
                case 1 -> set(px, x + 3, y + i);
                case 2 -> {
                    set(px, x + i, y);
                    set(px, x + i, y + n - 1);
                    set(px, x, y + i);
                    set(px, x + n - 1, y + i);
                }
                default -> {
                    set(px, x + i, y + i);
                    set(px, x + n - 1 - i, y + i);
                }
            }
        }
        return px;
    }

    private static void set(byte[] px, int x, int y) {
        px[y * SIZE + x] = (byte) 230;
    }

    static Dataset generate(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        byte[] pixels = new byte[n * SIZE * SIZE];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = rng.nextInt(CLASSES.size());
            System.arraycopy(draw(labels[i], rng), 0, pixels, i * SIZE * SIZE, SIZE * SIZE);
        }
        return new Dataset("shapes", Shape.of(1, SIZE, SIZE), CLASSES.size(), pixels, labels, CLASSES, null);
    }

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("cnn4j-shapes");
        Dataset.Split data = generate(2400, 1).split(0.2, 7);
        Backends.Choice choice = Backends.create();
        try (Backend backend = choice.backend();
             Sequential model = new Sequential(Shape.of(1, SIZE, SIZE),
                     new Conv2d(8, 3).padding(1), new ReLU(), new MaxPool2d(2),
                     new Conv2d(16, 3).padding(1), new ReLU(), new MaxPool2d(2),
                     new Flatten(), new Linear(32), new ReLU(), new Linear(CLASSES.size()))
                     .initialize(backend, 42);
             Adam adam = new Adam(model.parameters(), 3e-3);
             Trainer trainer = new Trainer(model, adam);
             DataLoader train = DataLoader.builder(data.train()).batchSize(32).shuffle(42).build();
             DataLoader val = DataLoader.builder(data.validation()).batchSize(256).build()) {
            System.out.printf("backend: %s (%s)%n", backend.description(), choice.reason());
            History h = trainer.fit(Fit.of(train).validation(val).epochs(8)
                    .callbacks(new EarlyStopping("val_loss", 2, true)));
            h.epochs().forEach(m -> System.out.printf("epoch %d: train loss %.4f, val accuracy %.4f%n", m.epoch(),
                    m.trainLoss(), m.valAccuracy()));
            ModelFile.save(dir, model, Map.of("epochs", h.epochs().size()));
        }
        int right = 0, total = 200;
        SplittableRandom rng = new SplittableRandom(99);
        try (Predictor p = Predictor.open(dir.resolve("model.safetensors"), "auto", 2)) {
            for (int i = 0; i < total; i++) {
                int cls = rng.nextInt(CLASSES.size());
                byte[] px = draw(cls, rng);
                BufferedImage img = new BufferedImage(SIZE, SIZE, BufferedImage.TYPE_BYTE_GRAY);
                img.getRaster().setDataElements(0, 0, SIZE, SIZE, px);
                Predictor.Prediction top = p.predict(img, 1).get(0);
                if (top.label().equals(CLASSES.get(cls))) {
                    right++;
                }
            }
        }
        System.out.printf("predicted %d of %d new images right (%.1f%%)%n", right, total, 100.0 * right / total);
        System.exit(right >= 0.9 * total ? 0 : 1);
    }
}
