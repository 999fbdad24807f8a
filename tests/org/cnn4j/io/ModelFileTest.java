package org.cnn4j.io;

import org.cnn4j.data.Normalization;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.cnn4j.backend.JavaBackend;
import org.cnn4j.data.DataFormatException;
import org.cnn4j.nn.Models;
import org.cnn4j.nn.Parameter;
import org.cnn4j.nn.Sequential;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelFileTest {
    @TempDir
    Path dir;

    @Test
    void savedModelComesBackWithTheSameWeightsAndOutputs() throws IOException {
        try (JavaBackend b = new JavaBackend(2); Sequential m = Models.lenet5().initialize(b, 3)) {
            Normalization norm = new Normalization(new double[] {0.29}, new double[] {0.35});
            Path f = ModelFile.save(dir, m, norm, Map.of("test_accuracy", 0.5));
            assertTrue(Files.exists(dir.resolve("model.json")));
            ModelFile.Loaded l = ModelFile.load(f, b);
            try (Sequential m2 = l.model(); Tensor x = b.zeros(Shape.of(2, 1, 28, 28))) {
                assertArrayEquals(new double[] {0.29}, l.normalization().mean());
                for (int i = 0; i < m.parameters().size(); i++) {
                    Parameter p = m.parameters().get(i), q = m2.parameters().get(i);
                    assertEquals(p.name(), q.name());
                    assertArrayEquals(p.value().toFloatArray(), q.value().toFloatArray(), 0f);
                }
                float[] xs = new float[x.numel()];
                for (int i = 0; i < xs.length; i++) {
                    xs[i] = (float) Math.sin(i);
                }
                x.copyFrom(xs);
                float[] y1 = m.forward(x, false).toFloatArray();
                float[] y2 = m2.forward(x, false).toFloatArray();
                assertArrayEquals(y1, y2, 0f);
            }
        }
    }

    /**
     * Weights that are not finite are never written (the file on disk stays as it was, and no
     * temporary file is left), and a file that holds them is refused when read.
     */
    @Test
    void nonFiniteWeightsAreNeitherSavedNorLoaded() throws IOException {
        try (JavaBackend b = new JavaBackend(1); Sequential m = Models.lenet5().initialize(b, 3)) {
            Normalization norm = new Normalization(new double[] {0}, new double[] {1});
            Path f = ModelFile.save(dir, m, norm, Map.of());
            byte[] before = Files.readAllBytes(f);
            Tensor w = m.parameters().get(2).value();
            float[] v = w.toFloatArray();
            v[7] = Float.NaN;
            w.copyFrom(v);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> ModelFile.save(dir, m, norm, Map.of()));
            assertTrue(e.getMessage().contains("not finite") && e.getMessage().contains("[7] = NaN")
                    && e.getMessage().contains("is kept"), e.getMessage());
            assertArrayEquals(before, Files.readAllBytes(f));
            // the same weights written past the check, as another tool might: refused on reading
            Map<String, SafeTensors.Entry> t = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> x : m.stateDict().entrySet()) {
                t.put(x.getKey(), new SafeTensors.Entry(x.getValue().shape(), x.getValue().toFloatArray()));
            }
            Path nan = dir.resolve("nan.safetensors");
            SafeTensors.write(nan, t, SafeTensors.read(f).metadata());
            DataFormatException d = assertThrows(DataFormatException.class, () -> ModelFile.load(nan, b));
            assertTrue(d.getMessage().contains("not finite") && d.getMessage().contains("diverged"), d.getMessage());
            try (var files = Files.list(dir)) {
                assertTrue(files.noneMatch(p -> p.toString().endsWith(SafeTensors.TMP_SUFFIX)), "temporary files left");
            }
        }
    }

    /**
     * Hostile model files end with a DataFormatException naming the problem: 10,000 nested
     * arrays in the header (a stack overflow for a recursive parser), an architecture nested as
     * deep, and bytes after the tensors that the header does not index.
     */
    @Test
    void hostileHeadersAreRefusedInBoundedWork() throws IOException {
        String nested = "[".repeat(10_000) + "]".repeat(10_000);
        byte[] json = ("{\"x\":" + nested + "}").getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).put(json);
        Path deep = Files.write(dir.resolve("deep.safetensors"), b.array());
        try (JavaBackend be = new JavaBackend(1)) {
            DataFormatException e = assertThrows(DataFormatException.class, () -> ModelFile.load(deep, be));
            assertTrue(e.getMessage().contains("nests 10001 levels deep"), e.getMessage());

            Map<String, String> meta = new LinkedHashMap<>();
            meta.put(ModelFile.ARCHITECTURE, "{\"layers\":" + nested + "}");
            Path arch = dir.resolve("arch.safetensors");
            SafeTensors.write(arch, new LinkedHashMap<>(), meta);
            e = assertThrows(DataFormatException.class, () -> ModelFile.load(arch, be));
            assertTrue(e.getMessage().contains("the architecture nests"), e.getMessage());

            try (Sequential m = Models.lenet5().initialize(be, 3)) {
                Path f = ModelFile.save(dir, m, new Normalization(new double[] {0}, new double[] {1}), Map.of());
                Path longer = dir.resolve("longer.safetensors");
                byte[] bytes = Files.readAllBytes(f);
                Files.write(longer, Arrays.copyOf(bytes, bytes.length + 12));
                e = assertThrows(DataFormatException.class, () -> ModelFile.load(longer, be));
                assertTrue(e.getMessage().contains("of the " + (bytes.length + 12 - 8 - ByteBuffer.wrap(bytes, 0, 8)
                        .order(ByteOrder.LITTLE_ENDIAN).getLong()) + " data bytes"), e.getMessage());
            }
        }
    }

    /** A temporary file that a killed writer left behind is removed by the next save. */
    @Test
    void staleTemporaryFilesAreRemoved() throws IOException {
        Path stale = Files.writeString(dir.resolve("model.safetensors123" + SafeTensors.TMP_SUFFIX), "partial");
        try (JavaBackend b = new JavaBackend(1); Sequential m = Models.lenet5().initialize(b, 3)) {
            ModelFile.save(dir, m, new Normalization(new double[] {0}, new double[] {1}), Map.of());
        }
        assertTrue(!Files.exists(stale));
        assertTrue(Files.exists(dir.resolve("model.safetensors")) && Files.exists(dir.resolve("model.json")));
    }

    @Test
    void safetensorsLayoutIsTheDocumentedOne() throws IOException {
        Map<String, SafeTensors.Entry> t = new LinkedHashMap<>();
        t.put("a", new SafeTensors.Entry(Shape.of(2), new float[] {1.5f, -2f}));
        Path f = dir.resolve("x.safetensors");
        SafeTensors.write(f, t, Map.of("k", "v"));
        byte[] b = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, (8 + n) % 8, "data starts 8-byte aligned");
        String header = new String(b, 8, (int) n, StandardCharsets.UTF_8).trim();
        assertEquals("{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", header);
        ByteBuffer data = ByteBuffer.wrap(b, (int) (8 + n), 8).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1.5f, data.getFloat());
        assertEquals(-2f, data.getFloat());
    }

    @Test
    void corruptFilesGiveSpecificErrors() throws IOException {
        try (JavaBackend b = new JavaBackend(1); Sequential m = Models.lenet5().initialize(b, 3)) {
            Path f = ModelFile.save(dir, m, new Normalization(new double[] {0}, new double[] {1}), Map.of());
            byte[] good = Files.readAllBytes(f);

            Path cut = dir.resolve("cut.safetensors");
            Files.write(cut, Arrays.copyOf(good, good.length - 100));
            DataFormatException e = assertThrows(DataFormatException.class, () -> ModelFile.load(cut, b));
            assertTrue(e.getMessage().contains("fall outside"), e.getMessage());

            Path tiny = dir.resolve("tiny.safetensors");
            Files.write(tiny, new byte[] {1, 2, 3});
            e = assertThrows(DataFormatException.class, () -> ModelFile.load(tiny, b));
            assertTrue(e.getMessage().contains("not a safetensors file"), e.getMessage());

            Path noArch = dir.resolve("plain.safetensors");
            SafeTensors.write(noArch, Map.of("w", new SafeTensors.Entry(Shape.of(1), new float[] {1})), Map.of());
            e = assertThrows(DataFormatException.class, () -> ModelFile.load(noArch, b));
            assertTrue(e.getMessage().contains("not a model saved by cnn4j"), e.getMessage());

            SafeTensors.Contents c = SafeTensors.read(f);
            Map<String, SafeTensors.Entry> fewer = new LinkedHashMap<>(c.tensors());
            fewer.remove("9.bias");
            Path missing = dir.resolve("missing.safetensors");
            SafeTensors.write(missing, fewer, c.metadata());
            e = assertThrows(DataFormatException.class, () -> ModelFile.load(missing, b));
            assertTrue(e.getMessage().contains("missing tensor 9.bias [84]"), e.getMessage());

            Map<String, SafeTensors.Entry> wrong = new LinkedHashMap<>(c.tensors());
            wrong.put("0.bias", new SafeTensors.Entry(Shape.of(7), new float[7]));
            Path badShape = dir.resolve("shape.safetensors");
            SafeTensors.write(badShape, wrong, c.metadata());
            e = assertThrows(DataFormatException.class, () -> ModelFile.load(badShape, b));
            assertTrue(e.getMessage().contains("tensor 0.bias has shape [7], the architecture needs [6]"), e.getMessage());
        }
    }
}
