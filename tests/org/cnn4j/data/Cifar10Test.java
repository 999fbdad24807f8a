package org.cnn4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.cnn4j.tensor.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CIFAR-10 binary reader on files the test writes, whole and corrupt. */
class Cifar10Test {
    @TempDir
    Path dir;

    /** n records; record r has label (r + first) % 10 and pixel q = (r * 7 + q) % 256. */
    static byte[] records(int n, int first) {
        byte[] b = new byte[n * 3073];
        for (int r = 0; r < n; r++) {
            b[r * 3073] = (byte) ((r + first) % 10);
            for (int q = 0; q < 3072; q++) {
                b[r * 3073 + 1 + q] = (byte) ((r * 7 + q) % 256);
            }
        }
        return b;
    }

    private void writeAll() throws IOException {
        for (int i = 1; i <= 5; i++) {
            Files.write(dir.resolve("data_batch_" + i + ".bin"), records(3, i));
        }
        Files.write(dir.resolve("test_batch.bin"), records(4, 0));
    }

    @Test
    void readsBothSplits() throws IOException {
        writeAll();
        Dataset train = Cifar10.load(dir, true);
        Dataset test = Cifar10.load(dir, false);
        assertEquals(15, train.size());
        assertEquals(4, test.size());
        assertEquals(Shape.of(3, 32, 32), train.sampleShape());
        assertEquals(10, train.classes());
        // batch 2's first record comes fourth, label (0 + 2) % 10
        assertEquals(2, train.labels()[3]);
        assertArrayEquals(new int[] {0, 1, 2, 3}, test.labels());
        // record 1 of the test batch: the red plane starts at pixel value 7
        assertEquals(7, test.pixels()[3072] & 0xff);
        assertEquals((7 + 1024) % 256, test.pixels()[3072 + 1024] & 0xff, "green plane follows red");
    }

    @Test
    void truncatedRecordNamesFileAndRecord() throws IOException {
        writeAll();
        byte[] b = records(3, 0);
        Files.write(dir.resolve("data_batch_4.bin"), Arrays.copyOf(b, b.length - 100));
        DataFormatException e = assertThrows(DataFormatException.class, () -> Cifar10.load(dir, true));
        assertTrue(e.getMessage().contains("data_batch_4.bin"), e.getMessage());
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("record 2"), e.getMessage());
    }

    @Test
    void badLabelNamesFileAndRecord() throws IOException {
        writeAll();
        byte[] b = records(4, 0);
        b[2 * 3073] = 10;
        Files.write(dir.resolve("test_batch.bin"), b);
        DataFormatException e = assertThrows(DataFormatException.class, () -> Cifar10.load(dir, false));
        assertTrue(e.getMessage().contains("test_batch.bin") && e.getMessage().contains("record 2 has label 10"),
                e.getMessage());
    }

    @Test
    void missingAndEmptyFiles() throws IOException {
        DataFormatException missingDir = assertThrows(DataFormatException.class,
                () -> Cifar10.load(dir.resolve("nope"), true));
        assertTrue(missingDir.getMessage().contains("not found"), missingDir.getMessage());
        Files.write(dir.resolve("data_batch_1.bin"), records(1, 0));
        DataFormatException missing = assertThrows(DataFormatException.class, () -> Cifar10.load(dir, true));
        assertTrue(missing.getMessage().contains("data_batch_2.bin") && missing.getMessage().contains("missing"),
                missing.getMessage());
        Files.write(dir.resolve("test_batch.bin"), new byte[0]);
        DataFormatException empty = assertThrows(DataFormatException.class, () -> Cifar10.load(dir, false));
        assertTrue(empty.getMessage().contains("empty"), empty.getMessage());
    }
}
