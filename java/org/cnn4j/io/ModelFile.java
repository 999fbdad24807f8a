package org.cnn4j.io;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import com.google.gson.reflect.TypeToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.cnn4j.backend.Backend;
import org.cnn4j.data.DataFormatException;
import org.cnn4j.data.Normalization;
import org.cnn4j.nn.Layers;
import org.cnn4j.nn.Parameter;
import org.cnn4j.nn.Sequential;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Tensor;

/**
 * A trained model on disk: one safetensors file whose tensors are the parameters, named as in
 * a PyTorch state dict ({@code 0.weight}, {@code 0.bias}, ...), and whose metadata holds the
 * architecture ({@code cnn4j.architecture}, JSON) and the input normalisation
 * ({@code cnn4j.normalization}). A readable copy of the architecture and the training facts is
 * written beside it as {@code model.json}.
 */
public final class ModelFile {
    private ModelFile() {
    }

    public static final String ARCHITECTURE = "cnn4j.architecture";
    public static final String NORMALIZATION = "cnn4j.normalization";
    /** The class names, in label order (a JSON array of strings). */
    public static final String CLASSES = "cnn4j.classes";

    /** A model read back, initialised on a backend with the saved weights. */
    public record Loaded(Sequential model, Normalization normalization, Map<String, String> metadata) {
        /** The class names saved with the model, in label order, or null for a model saved without them. */
        public List<String> classes() {
            return classesOf(metadata);
        }
    }

    static List<String> classesOf(Map<String, String> metadata) {
        String c = metadata.get(CLASSES);
        if (c == null) {
            return null;
        }
        try {
            String[] names = new Gson().fromJson(c, String[].class);
            return names == null ? null : List.of(names);
        } catch (JsonParseException | NullPointerException e) {
            throw new IllegalArgumentException("unreadable " + CLASSES + " metadata: " + e.getMessage(), e);
        }
    }

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    /**
     * Writes {@code dir/model.safetensors} and {@code dir/model.json}; returns the safetensors
     * path. Nothing is written unless every weight is finite (a diverged run never replaces the
     * model it would overwrite). Both files are written to temporary names, forced to disk and
     * then renamed over the old ones, the weights first; temporary files that a killed run left
     * behind are removed. Callers hold the folder ({@link OutputLock}) while they save.
     *
     * @throws IllegalStateException when a weight is NaN or infinite (nothing is written)
     */
    public static Path save(Path dir, Sequential model, Normalization norm, Map<String, Object> facts)
            throws IOException {
        return save(dir, model, norm, null, facts);
    }

    /**
     * Saves a model with the normalisation and class names it carries (training sets them from
     * its data; see {@link Sequential#normalization()}).
     *
     * @throws IllegalStateException when the model carries no normalisation
     */
    public static Path save(Path dir, Sequential model, Map<String, Object> facts) throws IOException {
        if (model.normalization() == null) {
            throw new IllegalStateException("the model carries no input normalisation: train it with fit(), or give one");
        }
        return save(dir, model, model.normalization(), model.classNames(), facts);
    }

    /**
     * As {@link #save(Path, Sequential, Normalization, Map)}, with the class names in label order
     * (null: none), which {@code eval} and {@code predict} read back.
     */
    public static Path save(Path dir, Sequential model, Normalization norm, List<String> classes,
            Map<String, Object> facts) throws IOException {
        if (classes != null && classes.size() != model.outputShape().numel()) {
            throw new IllegalArgumentException(classes.size() + " class names for a model with "
                    + model.outputShape().numel() + " outputs");
        }
        Map<String, SafeTensors.Entry> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
            float[] v = e.getValue().toFloatArray();
            int i = SafeTensors.firstNonFinite(v);
            if (i >= 0) {
                throw new IllegalStateException("the weights are not finite (" + e.getKey() + "[" + i + "] = " + v[i]
                        + "): training diverged; nothing was saved" + (Files.exists(dir.resolve("model.safetensors"))
                        ? " and the model in " + dir + " is kept" : ""));
            }
            tensors.put(e.getKey(), new SafeTensors.Entry(e.getValue().shape(), v));
        }
        Map<String, Object> normMap = new LinkedHashMap<>();
        normMap.put("mean", norm.mean());
        normMap.put("std", norm.std());
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put(ARCHITECTURE, new Gson().toJson(model.architecture()));
        meta.put(NORMALIZATION, new Gson().toJson(normMap));
        if (classes != null) {
            meta.put(CLASSES, new Gson().toJson(classes));
        }
        Map<String, Object> readable = new LinkedHashMap<>();
        readable.put("architecture", model.architecture());
        readable.put("normalization", normMap);
        if (classes != null) {
            readable.put("classes", classes);
        }
        readable.put("weights", "model.safetensors");
        readable.putAll(facts);
        String json;
        try {
            json = GSON.toJson(readable) + "\n";  // before any file is touched: a fact Gson refuses fails here
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("the run's figures cannot be written (" + e.getMessage() + "); nothing was saved",
                    e);
        }
        Files.createDirectories(dir);
        SafeTensors.removeStaleTemporaries(dir);
        Path file = dir.resolve("model.safetensors");
        Path jsonTmp = SafeTensors.writeTemporary(dir.resolve("model.json"), json.getBytes(StandardCharsets.UTF_8));
        try {
            SafeTensors.write(file, tensors, meta);
            SafeTensors.commit(jsonTmp, dir.resolve("model.json"));
        } finally {
            Files.deleteIfExists(jsonTmp);
        }
        return file;
    }

    /**
     * Builds the (uninitialised) model an architecture JSON describes, shapes checked; errors name
     * {@code f} and the problem.
     */
    public static Sequential architecture(Path f, String json) {
        try {
            JsonDepth.check(json, 64, "the architecture");
            Map<String, Object> a = new Gson().fromJson(json, new TypeToken<Map<String, Object>>() { }.getType());
            if (a == null) {
                throw new DataFormatException(f, "the architecture is empty");
            }
            return Layers.sequentialFromArchitecture(a);
        } catch (JsonParseException | IllegalArgumentException e) {
            throw new DataFormatException(f, "unreadable model description: " + e.getMessage(), e);
        } catch (RuntimeException e) {  // building a model from settings reads nothing else: the settings are wrong
            throw new DataFormatException(f, "unreadable model description (" + e + ")", e);
        }
    }

    /**
     * Reads a model: {@code file} is a {@code .safetensors} file or a folder holding
     * {@code model.safetensors}. Every parameter must be present with its shape; extra tensors
     * are an error too.
     */
    public static Loaded load(Path file, Backend backend) {
        Path f = Files.isDirectory(file) ? file.resolve("model.safetensors") : file;
        SafeTensors.Contents c = SafeTensors.read(f);
        String arch = c.metadata().get(ARCHITECTURE);
        if (arch == null) {
            throw new DataFormatException(f, "no " + ARCHITECTURE + " metadata: not a model saved by cnn4j");
        }
        Sequential model;
        Normalization norm;
        try {
            model = architecture(f, arch);
            String n = c.metadata().get(NORMALIZATION);
            if (n == null) {
                throw new DataFormatException(f, "no " + NORMALIZATION + " metadata");
            }
            Map<String, double[]> nm = new Gson().fromJson(n, new TypeToken<Map<String, double[]>>() { }.getType());
            if (nm == null || nm.get("mean") == null || nm.get("std") == null
                    || nm.get("mean").length != nm.get("std").length) {
                throw new DataFormatException(f, NORMALIZATION + " needs a mean and a std per channel");
            }
            norm = new Normalization(nm.get("mean"), nm.get("std"));
            if (norm.channels() != model.inputShape().dim(0)) {
                throw new DataFormatException(f, NORMALIZATION + " has " + norm.channels() + " channels, the model's input "
                        + model.inputShape().dim(0));
            }
        } catch (JsonParseException | IllegalArgumentException | ClassCastException e) {
            throw new DataFormatException(f, "unreadable model description: " + e.getMessage(), e);
        }
        try {
            List<String> classes = classesOf(c.metadata());
            if (classes != null && classes.size() != model.outputShape().numel()) {
                throw new DataFormatException(f, classes.size() + " class names for " + model.outputShape().numel()
                        + " outputs");
            }
        } catch (IllegalArgumentException e) {
            throw new DataFormatException(f, e.getMessage(), e);
        }
        model.initialize(backend, DType.FLOAT32, 0);
        Set<String> used = new HashSet<>();
        try {
            for (Map.Entry<String, Tensor> want : model.stateDict().entrySet()) {
                String name = want.getKey();
                Tensor t = want.getValue();
                SafeTensors.Entry e = c.tensors().get(name);
                if (e == null) {
                    throw new DataFormatException(f, "missing tensor " + name + " " + t.shape());
                }
                if (!e.shape().equals(t.shape())) {
                    throw new DataFormatException(f, "tensor " + name + " has shape " + e.shape()
                            + ", the architecture needs " + t.shape());
                }
                float[] v = e.data();
                int i = SafeTensors.firstNonFinite(v);
                if (i >= 0) {
                    throw new DataFormatException(f, "tensor " + name + " holds a value that is not finite (" + v[i]
                            + " at " + i + "): the model was saved from a run that diverged");
                }
                t.copyFrom(v);
                used.add(name);
            }
            for (String name : c.tensors().keySet()) {
                if (!used.contains(name)) {
                    throw new DataFormatException(f, "unexpected tensor " + name + " (not a parameter or state of the architecture)");
                }
            }
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        model.setNormalization(norm);
        model.setClassNames(classesOf(c.metadata()));
        return new Loaded(model, norm, c.metadata());
    }
}
