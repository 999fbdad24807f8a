package org.cnn4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

public class IdxFileTest {
    @TempDir
    Path dir;

    /** An IDX file of unsigned bytes with the given dimensions and values. */
    public static byte[] idx(int[] dims, byte[] values) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + values.length);
        b.put((byte) 0).put((byte) 0).put((byte) 0x08).put((byte) dims.length);
        for (int d : dims) {
            b.putInt(d);
        }
        b.put(values);
        return b.array();
    }

    static byte[] gzip(byte[] raw) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(raw);
        }
        return out.toByteArray();
    }

    private Path write(String name, byte[] content) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, content);
        return p;
    }

    private static byte[] seq(int n) {
        byte[] v = new byte[n];
        for (int i = 0; i < n; i++) {
            v[i] = (byte) (i * 7);
        }
        return v;
    }

    @Test
    void readsRawAndGzipFilesAlike() throws IOException {
        byte[] content = idx(new int[] {3, 2, 4}, seq(24));
        IdxFile raw = IdxFile.read(write("a-idx3-ubyte", content));
        IdxFile gz = IdxFile.read(write("b.bin", gzip(content)));
        assertArrayEquals(new int[] {3, 2, 4}, raw.dims());
        assertArrayEquals(seq(24), raw.data());
        assertArrayEquals(raw.dims(), gz.dims());
        assertArrayEquals(raw.data(), gz.data());
    }

    @Test
    void emptyFile() throws IOException {
        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxFile.read(write("empty", new byte[0])));
        assertTrue(e.getMessage().contains("empty file"), e.getMessage());
        assertTrue(e.getMessage().contains("empty"), "names the file: " + e.getMessage());
    }

    @Test
    void wrongMagic() throws IOException {
        byte[] c = idx(new int[] {2}, seq(2));
        c[0] = 0x1;
        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxFile.read(write("bad", c)));
        assertTrue(e.getMessage().contains("bad magic number 0x01000801"), e.getMessage());
    }

    @Test
    void unsupportedType() throws IOException {
        byte[] c = idx(new int[] {2}, seq(2));
        c[2] = 0x0D;
        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxFile.read(write("float", c)));
        assertTrue(e.getMessage().contains("unsupported element type 0x0d"), e.getMessage());
    }

    @Test
    void truncatedHeader() throws IOException {
        byte[] c = Arrays.copyOf(idx(new int[] {5, 3, 3}, seq(45)), 9);
        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxFile.read(write("hdr", c)));
        assertTrue(e.getMessage().contains("truncated header: rank 3 needs 16 bytes, the file has 9"), e.getMessage());
    }

    @Test
    void truncatedData() throws IOException {
        byte[] c = idx(new int[] {5, 3, 3}, seq(45));
        byte[] cut = Arrays.copyOf(c, c.length - 10);
        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxFile.read(write("cut", cut)));
        assertTrue(e.getMessage().contains("truncated: the header declares [5, 3, 3] = 45 values, the file holds 35"),
                e.getMessage());
    }

    @Test
    void truncatedGzip() throws IOException {
        byte[] gz = gzip(idx(new int[] {50, 10}, seq(500)));
        byte[] cut = Arrays.copyOf(gz, gz.length / 2);
        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxFile.read(write("cut.gz", cut)));
        assertTrue(e.getMessage().contains("truncated gzip data") || e.getMessage().contains("corrupt gzip"),
                e.getMessage());
    }

    /**
     * A small gzip file that inflates far beyond what its header declares (here 64 MB of zeros
     * after a header of 4 values) is refused after the declared values and 1 MiB more, and a
     * header that declares more than 2^30 values is refused before anything is read.
     */
    @Test
    void decompressionIsBoundedByTheHeader() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(idx(new int[] {4}, seq(4)));
            byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < 64; i++) {
                gz.write(zeros);
            }
        }
        assertTrue(out.size() < 200_000, "the bomb is small: " + out.size());
        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxFile.read(write("bomb.gz", out.toByteArray())));
        assertTrue(e.getMessage().contains("more than 1048576 unexpected bytes after the 4 values"), e.getMessage());

        byte[] huge = idx(new int[] {65535, 65535, 65535}, new byte[0]);
        for (byte[] f : new byte[][] {huge, gzip(huge)}) {
            e = assertThrows(DataFormatException.class, () -> IdxFile.read(write("huge", f)));
            assertTrue(e.getMessage().contains("declares more than 1073741824 values"), e.getMessage());
        }
    }

    @Test
    void trailingBytes() throws IOException {
        byte[] c = idx(new int[] {4}, seq(6));
        c[7] = 4; // the header says 4 values, 6 follow
        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxFile.read(write("long", c)));
        assertTrue(e.getMessage().contains("2 unexpected bytes after the 4 values"), e.getMessage());
    }

    @Test
    void zeroDimension() throws IOException {
        DataFormatException e = assertThrows(DataFormatException.class,
                () -> IdxFile.read(write("zero", idx(new int[] {0, 3}, new byte[0]))));
        assertTrue(e.getMessage().contains("dimension 0 has size 0"), e.getMessage());
    }

    @Test
    void missingFile() {
        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxFile.read(dir.resolve("nope")));
        assertTrue(e.getMessage().endsWith("nope: file not found"), e.getMessage());
    }

    @Test
    void imageAndLabelCountsMustAgree() throws IOException {
        write("train-images-idx3-ubyte", idx(new int[] {3, 2, 2}, seq(12)));
        write("train-labels-idx1-ubyte", idx(new int[] {2}, new byte[] {1, 2}));
        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxDatasets.load("mnist", dir, true));
        assertTrue(e.getMessage().contains("holds 2 labels but"), e.getMessage());
        assertTrue(e.getMessage().contains("holds 3 images"), e.getMessage());
    }

    @Test
    void labelsMustBeBelowTheClassCount() throws IOException {
        write("t10k-images-idx3-ubyte", idx(new int[] {2, 2, 2}, seq(8)));
        write("t10k-labels-idx1-ubyte.gz", gzip(idx(new int[] {2}, new byte[] {3, 12})));
        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxDatasets.load("mnist", dir, false));
        assertTrue(e.getMessage().contains("label 12 at index 1 is not below the 10 classes"), e.getMessage());
    }

    @Test
    void imagesMustHaveRankThree() throws IOException {
        write("train-images-idx3-ubyte", idx(new int[] {3, 4}, seq(12)));
        write("train-labels-idx1-ubyte", idx(new int[] {3}, new byte[] {1, 2, 3}));
        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxDatasets.load("mnist", dir, true));
        assertTrue(e.getMessage().contains("expected images of rank 3"), e.getMessage());
    }

    @Test
    void loadsAPairAsADataset() throws IOException {
        write("train-images-idx3-ubyte.gz", gzip(idx(new int[] {3, 2, 2}, seq(12))));
        write("train-labels-idx1-ubyte", idx(new int[] {3}, new byte[] {9, 0, 4}));
        Dataset d = IdxDatasets.load("mnist", dir, true);
        assertEquals(3, d.size());
        assertEquals("[1, 2, 2]", d.sampleShape().toString());
        assertArrayEquals(new int[] {9, 0, 4}, d.labels());
        assertArrayEquals(seq(12), d.pixels());
    }

    @Test
    void missingFilesNameWhatIsMissingAndHowToGetIt() {
        DataFormatException e = assertThrows(DataFormatException.class,
                () -> IdxDatasets.load("fashion-mnist", dir, true));
        assertTrue(e.getMessage().contains("missing train-images-idx3-ubyte.gz"), e.getMessage());
        assertTrue(e.getMessage().contains("apt-get install dataset-fashion-mnist"), e.getMessage());
    }
}
