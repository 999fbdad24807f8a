package org.cnn4j.io;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.cnn4j.data.DataFormatException;
import org.cnn4j.tensor.Shape;

/**
 * The safetensors format (also read by PyTorch through the {@code safetensors} package):
 * an unsigned 64-bit little-endian header length N, N bytes of UTF-8 JSON mapping each tensor
 * name to {@code {"dtype", "shape", "data_offsets": [begin, end]}} (offsets into the data that
 * follows) plus an optional {@code "__metadata__"} map of strings, then the raw little-endian
 * data. cnn4j writes F32 tensors only and reads F32 tensors.
 */
public final class SafeTensors {
    private SafeTensors() {
    }

    /** A named float tensor. */
    public record Entry(Shape shape, float[] data) {
    }

    /** What a file holds. */
    public record Contents(Map<String, Entry> tensors, Map<String, String> metadata) {
    }

    /** Writes atomically (to a temporary file, then renamed), so a failed write loses nothing. */
    public static void write(Path file, Map<String, Entry> tensors, Map<String, String> metadata) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) {
            header.put("__metadata__", metadata);
        }
        long offset = 0;
        for (Map.Entry<String, Entry> e : tensors.entrySet()) {
            Entry t = e.getValue();
            if (t.data().length != t.shape().numel()) {
                throw new IllegalArgumentException("tensor " + e.getKey() + ": " + t.data().length
                        + " values do not fit shape " + t.shape());
            }
            Map<String, Object> h = new LinkedHashMap<>();
            h.put("dtype", "F32");
            List<Integer> dims = new ArrayList<>();
            for (int d : t.shape().dims()) {
                dims.add(d);
            }
            h.put("shape", dims);
            long bytes = 4L * t.data().length;
            h.put("data_offsets", List.of(offset, offset + bytes));
            header.put(e.getKey(), h);
            offset += bytes;
        }
        byte[] json = new Gson().toJson(header).getBytes(StandardCharsets.UTF_8);
        int pad = (8 - json.length % 8) % 8;
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = newTemporary(dir, file);
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
                 OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16)) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length + pad);
                out.write(len.array());
                out.write(json);
                for (int i = 0; i < pad; i++) {
                    out.write(' ');
                }
                for (Entry t : tensors.values()) {
                    ByteBuffer buf = ByteBuffer.allocate(4 * t.data().length).order(ByteOrder.LITTLE_ENDIAN);
                    buf.asFloatBuffer().put(t.data());
                    out.write(buf.array());
                }
                out.flush();
                ch.force(true);
            }
            commit(tmp, file);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    static final String TMP_SUFFIX = ".cnn4j-tmp";

    /** The index of the first NaN or infinite value, or -1 when every value is finite. */
    public static int firstNonFinite(float[] v) {
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                return i;
            }
        }
        return -1;
    }

    /** Writes {@code bytes} to a new temporary file beside {@code file}, forced to disk; returns it. */
    public static Path writeTemporary(Path file, byte[] bytes) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = newTemporary(dir, file);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        return tmp;
    }

    /**
     * A new empty temporary file beside {@code file}, readable by everyone as a file the user
     * wrote would be ({@code rw-r--r--}; temporary files start private).
     */
    private static Path newTemporary(Path dir, Path file) throws IOException {
        Path tmp = Files.createTempFile(dir, file.getFileName().toString(), TMP_SUFFIX);
        try {
            Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: its defaults apply
        }
        return tmp;
    }

    /** Renames a temporary file over {@code file} in one step and forces the folder's entry to disk. */
    public static void commit(Path tmp, Path file) throws IOException {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        try (FileChannel d = FileChannel.open(file.toAbsolutePath().getParent(), StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // some file systems cannot force a folder; the rename itself is atomic
        }
    }

    /** Removes the temporary files a killed writer left in {@code dir} (the caller holds the folder). */
    public static void removeStaleTemporaries(Path dir) throws IOException {
        try (var s = Files.newDirectoryStream(dir, "*" + TMP_SUFFIX)) {
            for (Path p : s) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Reads and validates a whole file; errors name the file and the problem. */
    public static Contents read(Path file) {
        byte[] b;
        try {
            b = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new DataFormatException(file, "file not found");
        } catch (IOException e) {
            throw new DataFormatException(file, "cannot read: " + e, e);
        }
        return parse(file, b);
    }

    /** Parses and validates the bytes of a safetensors file; {@code file} names it in errors. */
    public static Contents parse(Path file, byte[] b) {
        if (b.length < 8) {
            throw new DataFormatException(file, "not a safetensors file: " + b.length + " bytes, the header length alone needs 8");
        }
        long n = ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (n < 2 || n > b.length - 8) {
            throw new DataFormatException(file, "not a safetensors file: header length " + n + " does not fit a file of "
                    + b.length + " bytes");
        }
        JsonObject header;
        try {
            String text = new String(b, 8, (int) n, StandardCharsets.UTF_8);
            JsonDepth.check(text, MAX_HEADER_DEPTH, "the header");
            JsonElement el = JsonParser.parseString(text);
            if (!el.isJsonObject()) {
                throw new DataFormatException(file, "the header is not a JSON object");
            }
            header = el.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new DataFormatException(file, "the header is not valid JSON: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new DataFormatException(file, e.getMessage(), e);
        }
        long dataStart = 8 + n;
        long dataLen = b.length - dataStart;
        Map<String, String> meta = new LinkedHashMap<>();
        Map<String, Entry> tensors = new LinkedHashMap<>();
        long indexed = 0;
        for (Map.Entry<String, JsonElement> e : header.entrySet()) {
            String name = e.getKey();
            if (name.equals("__metadata__")) {
                if (!e.getValue().isJsonObject()) {
                    throw new DataFormatException(file, "__metadata__ is not a JSON object");
                }
                for (Map.Entry<String, JsonElement> m : e.getValue().getAsJsonObject().entrySet()) {
                    if (!m.getValue().isJsonPrimitive() || !m.getValue().getAsJsonPrimitive().isString()) {
                        throw new DataFormatException(file, "metadata " + m.getKey() + " is not a string");
                    }
                    meta.put(m.getKey(), m.getValue().getAsString());
                }
                continue;
            }
            try {
                JsonObject t = e.getValue().getAsJsonObject();
                String dtype = t.get("dtype").getAsString();
                if (!dtype.equals("F32")) {
                    throw new DataFormatException(file, "tensor " + name + " has dtype " + dtype + "; only F32 is supported");
                }
                var shapeArr = t.getAsJsonArray("shape");
                int[] dims = new int[shapeArr.size()];
                for (int i = 0; i < dims.length; i++) {
                    dims[i] = shapeArr.get(i).getAsInt();
                }
                Shape shape = Shape.of(dims);
                var off = t.getAsJsonArray("data_offsets");
                long begin = off.get(0).getAsLong(), end = off.get(1).getAsLong();
                if (begin < 0 || end < begin || end > dataLen) {
                    throw new DataFormatException(file, "tensor " + name + ": data offsets [" + begin + ", " + end
                            + "] fall outside the " + dataLen + " data bytes (truncated file?)");
                }
                if (end - begin != 4L * shape.numel()) {
                    throw new DataFormatException(file, "tensor " + name + ": " + (end - begin) + " bytes do not hold shape "
                            + shape + " of F32");
                }
                indexed += end - begin;
                float[] data = new float[shape.numel()];
                ByteBuffer.wrap(b, (int) (dataStart + begin), (int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN)
                        .asFloatBuffer().get(data);
                tensors.put(name, new Entry(shape, data));
            } catch (RuntimeException ex) {
                if (ex instanceof DataFormatException dfe) {
                    throw dfe;
                }
                throw new DataFormatException(file, "tensor " + name + " has a malformed header entry: " + ex.getMessage(), ex);
            }
        }
        if (indexed != dataLen) {
            throw new DataFormatException(file, "the tensors index " + indexed + " of the " + dataLen
                    + " data bytes (a safetensors buffer holds its tensors and nothing else)");
        }
        return new Contents(tensors, meta);
    }

    /** Header nesting: an object of tensor objects holding arrays, metadata strings: 3 levels. */
    static final int MAX_HEADER_DEPTH = 8;
}
