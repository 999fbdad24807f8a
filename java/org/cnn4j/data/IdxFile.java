package org.cnn4j.data;

import java.io.ByteArrayOutputStream;
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
        byte[] bytes;
        try {
            bytes = readMaybeGzip(path);
        } catch (NoSuchFileException e) {
            throw new DataFormatException(path, "file not found");
        } catch (ZipException e) {
            throw new DataFormatException(path, "corrupt gzip data (" + e.getMessage() + ")", e);
        } catch (java.io.EOFException e) {
            throw new DataFormatException(path, "truncated gzip data", e);
        } catch (IOException e) {
            throw new DataFormatException(path, "cannot read: " + e, e);
        }
        return parse(path, bytes);
    }

    static byte[] readMaybeGzip(Path path) throws IOException {
        byte[] raw = Files.readAllBytes(path);
        if (raw.length >= 2 && (raw[0] & 0xff) == 0x1f && (raw[1] & 0xff) == 0x8b) {
            try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(raw), 1 << 16)) {
                ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length * 4);
                in.transferTo(out);
                return out.toByteArray();
            }
        }
        return raw;
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
