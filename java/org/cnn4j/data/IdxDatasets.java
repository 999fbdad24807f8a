package org.cnn4j.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.cnn4j.tensor.Shape;

/** MNIST-layout data sets (MNIST, Fashion-MNIST): a pair of IDX files per split. */
public final class IdxDatasets {
    private IdxDatasets() {
    }

    /** Fashion-MNIST's published class names, in label order. */
    public static final java.util.List<String> FASHION_MNIST_CLASSES = java.util.List.of("T-shirt/top", "Trouser",
            "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");
    /** MNIST's classes: the digits. */
    public static final java.util.List<String> MNIST_CLASSES = java.util.List.of("0", "1", "2", "3", "4", "5", "6", "7",
            "8", "9");

    /** The class names of a data set loaded by name: fashion-mnist's or mnist's, else null. */
    public static java.util.List<String> classNames(String name) {
        return switch (name) {
            case "fashion-mnist" -> FASHION_MNIST_CLASSES;
            case "mnist" -> MNIST_CLASSES;
            default -> null;
        };
    }

    /** Where Debian's {@code dataset-fashion-mnist} package installs the files. */
    public static final Path DEFAULT_FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist");

    /**
     * Loads one split from {@code dir}: {@code train-images-idx3-ubyte[.gz]} and
     * {@code train-labels-idx1-ubyte[.gz]}, or the {@code t10k-} pair for the test split.
     */
    public static Dataset load(String name, Path dir, boolean train) {
        if (!Files.isDirectory(dir)) {
            throw new DataFormatException(dir, "data directory not found" + installHint(name));
        }
        String prefix = train ? "train" : "t10k";
        Path images = find(name, dir, prefix + "-images-idx3-ubyte");
        Path labels = find(name, dir, prefix + "-labels-idx1-ubyte");
        Dataset d = fromFiles(name + (train ? "/train" : "/test"), images, labels, 10);
        return classNames(name) == null ? d : d.withClassNames(classNames(name));
    }

    /** Pairs an image file [n, rows, cols] with a label file [n]; labels must be below {@code classes}. */
    public static Dataset fromFiles(String name, Path imagesFile, Path labelsFile, int classes) {
        IdxFile images = IdxFile.read(imagesFile);
        IdxFile labels = IdxFile.read(labelsFile);
        if (images.dims().length != 3) {
            throw new DataFormatException(imagesFile, "expected images of rank 3 [count, rows, cols], got dimensions "
                    + Arrays.toString(images.dims()));
        }
        if (labels.dims().length != 1) {
            throw new DataFormatException(labelsFile, "expected labels of rank 1 [count], got dimensions "
                    + Arrays.toString(labels.dims()));
        }
        if (images.count() != labels.count()) {
            throw new DataFormatException(labelsFile, "holds " + labels.count() + " labels but " + imagesFile
                    + " holds " + images.count() + " images");
        }
        int[] y = new int[labels.count()];
        byte[] raw = labels.data();
        for (int i = 0; i < y.length; i++) {
            y[i] = raw[i] & 0xff;
            if (y[i] >= classes) {
                throw new DataFormatException(labelsFile, "label " + y[i] + " at index " + i + " is not below the "
                        + classes + " classes");
            }
        }
        Shape sample = Shape.of(1, images.dims()[1], images.dims()[2]);
        return new Dataset(name, sample, classes, images.data(), y);
    }

    private static Path find(String name, Path dir, String base) {
        Path gz = dir.resolve(base + ".gz");
        if (Files.isRegularFile(gz)) {
            return gz;
        }
        Path raw = dir.resolve(base);
        if (Files.isRegularFile(raw)) {
            return raw;
        }
        throw new DataFormatException(dir, "missing " + base + ".gz (or " + base + ")" + installHint(name));
    }

    private static String installHint(String name) {
        return name.equals("fashion-mnist")
                ? "; install Fashion-MNIST with: apt-get install dataset-fashion-mnist (as root),"
                        + " or pass --data-dir DIR / set CNN4J_DATA"
                : "; pass --data-dir DIR or set CNN4J_DATA to the folder holding the IDX files";
    }
}
