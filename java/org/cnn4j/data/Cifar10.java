package org.cnn4j.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.cnn4j.tensor.Shape;

/**
 * CIFAR-10 in its binary format (the "CIFAR-10 binary version"): each record is one label
 * byte (0-9) followed by 3072 pixel bytes, the red, green and blue 32x32 planes in row-major
 * order (already CHW). The training split is {@code data_batch_1.bin} .. {@code data_batch_5.bin},
 * the test split {@code test_batch.bin}, all in one folder (the archive's
 * {@code cifar-10-batches-bin}).
 */
public final class Cifar10 {
    public static final int CLASSES = 10;
    /** CIFAR-10's published class names, in label order. */
    public static final List<String> CLASS_NAMES = List.of("airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
            "horse", "ship", "truck");
    public static final Shape SAMPLE = Shape.of(3, 32, 32);
    static final int RECORD = 1 + 3 * 32 * 32;

    private Cifar10() {
    }

    /** The files of a split, in order. */
    public static List<String> files(boolean train) {
        if (!train) {
            return List.of("test_batch.bin");
        }
        List<String> f = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            f.add("data_batch_" + i + ".bin");
        }
        return f;
    }

    /** Loads a split from {@code dir}; every file must be present and whole. */
    public static Dataset load(Path dir, boolean train) {
        if (!Files.isDirectory(dir)) {
            throw new DataFormatException(dir, "CIFAR-10 folder not found (expected the binary version's "
                    + "data_batch_1.bin .. data_batch_5.bin and test_batch.bin)");
        }
        List<byte[]> parts = new ArrayList<>();
        List<Path> paths = new ArrayList<>();
        long records = 0;
        for (String name : files(train)) {
            Path f = dir.resolve(name);
            if (!Files.isRegularFile(f)) {
                throw new DataFormatException(f, "missing CIFAR-10 batch file");
            }
            byte[] b;
            try {
                b = Files.readAllBytes(f);
            } catch (IOException e) {
                throw new DataFormatException(f, "cannot read: " + e.getMessage(), e);
            }
            parts.add(b);
            paths.add(f);
            records += b.length / RECORD;
        }
        return fromRecords("cifar10/" + (train ? "train" : "test"), parts, paths, (int) records);
    }

    /** Parses whole files of records; a partial record or a label above 9 names the file and record. */
    static Dataset fromRecords(String name, List<byte[]> parts, List<Path> paths, int records) {
        byte[] pixels = new byte[records * (RECORD - 1)];
        int[] labels = new int[records];
        int r = 0;
        for (int p = 0; p < parts.size(); p++) {
            byte[] b = parts.get(p);
            Path f = paths.get(p);
            if (b.length == 0) {
                throw new DataFormatException(f, "empty file: no CIFAR-10 records");
            }
            if (b.length % RECORD != 0) {
                throw new DataFormatException(f, "truncated: " + b.length + " bytes is " + b.length / RECORD
                        + " whole records of " + RECORD + " bytes and " + b.length % RECORD + " bytes of record "
                        + b.length / RECORD);
            }
            for (int i = 0; i < b.length / RECORD; i++, r++) {
                int label = b[i * RECORD] & 0xff;
                if (label >= CLASSES) {
                    throw new DataFormatException(f, "record " + i + " has label " + label + ", not in 0..9");
                }
                labels[r] = label;
                System.arraycopy(b, i * RECORD + 1, pixels, r * (RECORD - 1), RECORD - 1);
            }
        }
        return new Dataset(name, SAMPLE, CLASSES, pixels, labels, CLASS_NAMES, null);
    }
}
