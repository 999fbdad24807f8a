package org.cnn4j.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * An IDX file (the MNIST format): a 4-byte magic number {@code 0x00 0x00 TYPE RANK}, RANK
 * big-endian 32-bit dimension sizes, then the values in row-major order. Only unsigned bytes
 * (TYPE 0x08), the type of MNIST and Fashion-MNIST, are supported. Gzip-compressed files are
 * recognised by their content, whatever their name.
 */
public record IdxFile(Path path, int[] dims, byte[] data) {

    /** The element type code of unsigned bytes. */
    public static final int TYPE_UBYTE = 0x08;

    public int count() {
        return dims[0];
    }

    /** Reads and validates a whole file. */
    public static IdxFile read(Path path) {
        return read(path, null);
    }

    /** Reads and validates IDX content (raw or gzipped) from {@code in}, or from the file when null; {@code path} names it. */
    public static IdxFile read(Path path, InputStream in) {
        try {
            if (in != null) {
                return readStream(path, in);
            }
            try (InputStream file = Files.newInputStream(path)) {
                return readStream(path, file);
            }
        } catch (NoSuchFileException e) {
            throw new DataFormatException(path, "file not found");
        } catch (ZipException e) {
            throw new DataFormatException(path, "corrupt gzip data (" + e.getMessage() + ")", e);
        } catch (java.io.EOFException e) {
            throw new DataFormatException(path, "truncated gzip data", e);
        } catch (IOException e) {
            throw new DataFormatException(path, "cannot read: " + e, e);
        }
    }

    /** The most values a file may declare: 1 GiB of bytes (Fashion-MNIST's largest file holds 47 MB). */
    static final long MAX_VALUES = 1L << 30;

    /**
     * Reads a raw or gzipped stream, bounded by its header: the header is read first, then
     * exactly the values it declares (at most {@link #MAX_VALUES}) straight into the array that
     * the result keeps; a stream that goes on is an error, so a small file that inflates to
     * gigabytes is refused after one byte too many.
     */
    static IdxFile readStream(Path path, InputStream source) throws IOException {
        InputStream file = new java.io.BufferedInputStream(source, 1 << 16);
        file.mark(2);
        int a = file.read(), b = file.read();
        file.reset();
        InputStream in = a == 0x1f && b == 0x8b ? new GZIPInputStream(file, 1 << 16) : file;
        byte[] head = in.readNBytes(4);
        if (head.length < 4 || head[0] != 0 || head[1] != 0 || (head[2] & 0xff) != TYPE_UBYTE || (head[3] & 0xff) < 1
                || (head[3] & 0xff) > 4) {
            return parse(path, head);  // names what is wrong
        }
        int rank = head[3] & 0xff;
        byte[] header = Arrays.copyOf(head, 4 + 4 * rank);
        int got = in.readNBytes(header, 4, 4 * rank);
        if (got < 4 * rank) {
            return parse(path, Arrays.copyOf(header, 4 + got));  // a truncated header
        }
        int[] dims = new int[rank];
        long total = 1;
        for (int i = 0; i < rank; i++) {
            int o = 4 + 4 * i;
            long d = ((long) (header[o] & 0xff) << 24) | ((header[o + 1] & 0xff) << 16) | ((header[o + 2] & 0xff) << 8)
                    | (header[o + 3] & 0xff);
            if (d == 0 || d > Integer.MAX_VALUE) {
                throw new DataFormatException(path, "dimension " + i + " has size " + d);
            }
            if (total > MAX_VALUES / d) {
                throw new DataFormatException(path, "the header declares more than " + MAX_VALUES
                        + " values; files of at most that many are read");
            }
            dims[i] = (int) d;
            total *= d;
        }
        byte[] data = new byte[(int) total];
        int n = in.readNBytes(data, 0, data.length);
        if (n < total) {
            throw new DataFormatException(path, "truncated: the header declares " + Arrays.toString(dims) + " = "
                    + total + " values, the file holds " + n);
        }
        long extra = in.skip(1 << 20);
        while (extra < (1 << 20) && in.read() != -1) {
            extra++;
            extra += in.skip((1 << 20) - extra);
        }
        if (extra >= 1 << 20 && in.read() != -1) {
            throw new DataFormatException(path, "more than " + (1 << 20) + " unexpected bytes after the " + total
                    + " values the header declares");
        }
        if (extra > 0) {
            throw new DataFormatException(path, extra + " unexpected bytes after the " + total
                    + " values the header " + Arrays.toString(dims) + " declares");
        }
        return new IdxFile(path, dims, data);
    }

    /** Parses IDX content read from {@code path}. */
    public static IdxFile parse(Path path, byte[] b) {
        if (b.length == 0) {
            throw new DataFormatException(path, "empty file");
        }
        if (b.length < 4) {
            throw new DataFormatException(path, "truncated header: " + b.length + " bytes, an IDX magic number needs 4");
        }
        if (b[0] != 0 || b[1] != 0) {
            throw new DataFormatException(path, String.format(
                    "bad magic number 0x%02x%02x%02x%02x: not an IDX file (expected 0x0000 then type and rank)",
                    b[0], b[1], b[2], b[3]));
        }
        int type = b[2] & 0xff;
        int rank = b[3] & 0xff;
        if (type != TYPE_UBYTE) {
            throw new DataFormatException(path, String.format("unsupported element type 0x%02x (only unsigned bytes,"
                    + " 0x08, are supported)", type));
        }
        if (rank < 1 || rank > 4) {
            throw new DataFormatException(path, "unsupported rank " + rank + " (expected 1 to 4)");
        }
        int header = 4 + 4 * rank;
        if (b.length < header) {
            throw new DataFormatException(path, "truncated header: rank " + rank + " needs " + header
                    + " bytes, the file has " + b.length);
        }
        int[] dims = new int[rank];
        long total = 1;
        for (int i = 0; i < rank; i++) {
            int o = 4 + 4 * i;
            long d = ((long) (b[o] & 0xff) << 24) | ((b[o + 1] & 0xff) << 16) | ((b[o + 2] & 0xff) << 8) | (b[o + 3] & 0xff);
            if (d == 0 || d > Integer.MAX_VALUE) {
                throw new DataFormatException(path, "dimension " + i + " has size " + d);
            }
            dims[i] = (int) d;
            if (total > MAX_VALUES / d) {
                throw new DataFormatException(path, "the header declares more than " + MAX_VALUES
                        + " values; files of at most that many are read");
            }
            total *= d;
        }
        long have = b.length - header;
        if (have < total) {
            throw new DataFormatException(path, "truncated: the header declares " + Arrays.toString(dims) + " = "
                    + total + " values, the file holds " + have);
        }
        if (have > total) {
            throw new DataFormatException(path, (have - total) + " unexpected bytes after the " + total
                    + " values the header " + Arrays.toString(dims) + " declares");
        }
        return new IdxFile(path, dims, Arrays.copyOfRange(b, header, b.length));
    }
}
