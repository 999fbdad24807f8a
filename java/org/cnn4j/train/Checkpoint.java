package org.cnn4j.train;

import com.google.gson.Gson;
import com.google.gson.JsonParseException;
import com.google.gson.reflect.TypeToken;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.cnn4j.data.DataFormatException;
import org.cnn4j.data.DataLoader;
import org.cnn4j.io.JsonDepth;
import org.cnn4j.io.ModelFile;
import org.cnn4j.io.SafeTensors;
import org.cnn4j.nn.Dropout;
import org.cnn4j.nn.Layer;
import org.cnn4j.nn.Sequential;
import org.cnn4j.optim.Optimizer;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Tensor;

/**
 * Everything a run needs to go on exactly where it was, in one safetensors file
 * ({@code checkpoint-<step>.safetensors}): the model's weights and batch-norm statistics
 * ({@code model.*}), the optimizer's moments ({@code optimizer.*}) and step count, the
 * schedule's position (the global step and the plateau factor), every random state (the
 * loader's seed fixes shuffling and augmentation per epoch and position; dropout's seeds and
 * counters are saved), the epoch, the batch within it and the epoch's running totals, the
 * history so far, the callbacks' state ({@code callback.<i>.*} tensors and JSON) and the
 * caller's settings. The metadata also holds the architecture, normalisation and class names,
 * as in a model file.
 *
 * <p>Files are written to a temporary name, forced to disk and renamed, so a run killed while
 * writing leaves the previous checkpoint whole. A resumed run continues bit for bit as the
 * uninterrupted one would have, on the same backend and thread count.
 */
public final class Checkpoint {
    /** The metadata key of the run's state (JSON). */
    public static final String STATE = "cnn4j.checkpoint";
    static final String PREFIX = "checkpoint-";
    static final String SUFFIX = ".safetensors";
    private static final Gson GSON = new Gson();

    private final Path file;
    private final Map<String, Object> state;
    private final Map<String, SafeTensors.Entry> tensors;

    private Checkpoint(Path file, Map<String, Object> state, Map<String, SafeTensors.Entry> tensors) {
        this.file = file;
        this.state = state;
        this.tensors = tensors;
    }

    public Path file() {
        return file;
    }

    /** The epoch in progress (0-based; equal to the epochs done when the checkpoint is at an epoch's end). */
    public int epoch() {
        return intOf("epoch");
    }

    /** Batches of {@link #epoch()} already trained. */
    public int batch() {
        return intOf("batch");
    }

    public long globalStep() {
        return (long) num("global_step");
    }

    /** The settings the run saved ({@link Fit#settings(Map)}), as JSON gives them back. */
    @SuppressWarnings("unchecked")
    public Map<String, Object> settings() {
        Object s = state.get("settings");
        return s instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
    }

    /** The per-epoch figures of the run up to the checkpoint. */
    public List<EpochMetrics> history() {
        List<EpochMetrics> h = new ArrayList<>();
        for (Map<String, Object> row : listOfMaps("history")) {
            h.add(EpochMetrics.fromMap(row, "val"));
        }
        return h;
    }

    /** The newest checkpoint in {@code dir} (by step), or null when there is none. */
    public static Path latest(Path dir) throws IOException {
        List<Path> all = list(dir);
        return all.isEmpty() ? null : all.get(all.size() - 1);
    }

    /** The checkpoints in {@code dir}, oldest first. */
    public static List<Path> list(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> {
                String n = p.getFileName().toString();
                return n.startsWith(PREFIX) && n.endsWith(SUFFIX);
            }).sorted().toList();
        }
    }

    /**
     * Reads a checkpoint: a checkpoint file, a folder of them (the newest), or a run folder
     * whose {@code checkpoints/} folder holds them. Errors name the file and the problem.
     */
    public static Checkpoint read(Path where) throws IOException {
        Path f = where;
        if (Files.isDirectory(where)) {
            f = latest(where);
            if (f == null && Files.isDirectory(where.resolve("checkpoints"))) {
                f = latest(where.resolve("checkpoints"));
            }
            if (f == null) {
                throw new IllegalArgumentException("no checkpoint in " + where + " (nor in " + where.resolve("checkpoints")
                        + "): train with --checkpoint-every to write some");
            }
        } else if (!Files.exists(where)) {
            throw new IllegalArgumentException("no checkpoint at " + where);
        }
        SafeTensors.Contents c = SafeTensors.read(f);
        String json = c.metadata().get(STATE);
        if (json == null) {
            throw new DataFormatException(f, "no " + STATE + " metadata: not a checkpoint written by cnn4j");
        }
        try {
            JsonDepth.check(json, 16, "the checkpoint state");
            Map<String, Object> s = GSON.fromJson(json, new TypeToken<Map<String, Object>>() { }.getType());
            if (s == null) {
                throw new DataFormatException(f, "the checkpoint state is empty");
            }
            Map<String, Object> withArch = new LinkedHashMap<>(s);
            withArch.put("architecture", c.metadata().get(ModelFile.ARCHITECTURE));
            return new Checkpoint(f, withArch, c.tensors());
        } catch (JsonParseException e) {
            throw new DataFormatException(f, "unreadable checkpoint state: " + e.getMessage(), e);
        }
    }

    /** Writes a checkpoint of a running fit at a position; returns its path and deletes checkpoints beyond the newest keep. */
    static Path write(Path dir, Trainer trainer, Fit fit, int epoch, int batch, double[] sums) throws IOException {
        Sequential model = trainer.model();
        Optimizer opt = trainer.optimizer();
        if (model.dtype() != DType.FLOAT32) {
            throw new IllegalStateException("checkpoints hold float32 models; this one is " + model.dtype());
        }
        Map<String, SafeTensors.Entry> t = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
            t.put("model." + e.getKey(), entry("model." + e.getKey(), e.getValue(), dir));
        }
        for (Map.Entry<String, Tensor> e : opt.stateTensors().entrySet()) {
            t.put("optimizer." + e.getKey(), entry("optimizer." + e.getKey(), e.getValue(), dir));
        }
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("version", 1);
        s.put("epoch", epoch);
        s.put("batch", batch);
        s.put("global_step", trainer.globalStep());
        s.put("optimizer", opt.getClass().getSimpleName());
        s.put("optimizer_steps", opt.steps());
        s.put("base_lr", opt.baseLearningRate());
        s.put("lr_scale", trainer.lrScale());
        s.put("sums", sums.clone());
        DataLoader train = fit.trainData();
        s.put("batch_size", train.batchSize());
        s.put("train_size", train.dataset().size());
        s.put("seed", Long.toString(train.seed()));
        s.put("shuffle", train.shuffles());
        long[][] shards = trainer.shards();
        if (shards != null) {
            // every rank's data (the seed and size above are this rank's, rank 0's)
            List<List<String>> each = new ArrayList<>();
            for (int r = 0; r < shards[0].length; r++) {
                each.add(List.of(Long.toString(shards[0][r]), Long.toString(shards[1][r])));
            }
            s.put("shards", each);
        }
        List<Map<String, Object>> hist = new ArrayList<>();
        for (EpochMetrics m : fit.historyList()) {
            hist.add(m.toMap("val"));
        }
        s.put("history", hist);
        Map<String, List<String>> drop = new LinkedHashMap<>();
        for (Layer l : model.allLayers()) {
            if (l instanceof Dropout d) {
                long[] r = d.randomState();
                drop.put(l.name(), List.of(Long.toString(r[0]), Long.toString(r[1])));
            }
        }
        s.put("dropout", drop);
        List<Map<String, Object>> cbs = new ArrayList<>();
        List<Callback> callbacks = fit.callbacks();
        for (int i = 0; i < callbacks.size(); i++) {
            Callback cb = callbacks.get(i);
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("type", cb.getClass().getName());
            one.put("state", cb.state());
            cbs.add(one);
            for (Map.Entry<String, SafeTensors.Entry> e : cb.stateTensors().entrySet()) {
                t.put("callback." + i + "." + e.getKey(), e.getValue());
            }
        }
        s.put("callbacks", cbs);
        s.put("stop_reason", fit.stopReason());
        s.put("settings", fit.settings());
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put(ModelFile.ARCHITECTURE, GSON.toJson(model.architecture()));
        if (model.normalization() != null) {
            Map<String, Object> n = new LinkedHashMap<>();
            n.put("mean", model.normalization().mean());
            n.put("std", model.normalization().std());
            meta.put(ModelFile.NORMALIZATION, GSON.toJson(n));
        }
        if (model.classNames() != null) {
            meta.put(ModelFile.CLASSES, GSON.toJson(model.classNames()));
        }
        meta.put(STATE, GSON.toJson(s));
        Files.createDirectories(dir);
        SafeTensors.removeStaleTemporaries(dir);  // what a run killed while writing left behind
        Path file = dir.resolve(String.format("%s%012d%s", PREFIX, trainer.globalStep(), SUFFIX));
        SafeTensors.write(file, t, meta);
        List<Path> all = list(dir);
        for (int i = 0; i < all.size() - fit.keep(); i++) {
            if (!all.get(i).equals(file)) {
                Files.deleteIfExists(all.get(i));
            }
        }
        return file;
    }

    /**
     * A tensor's values for the file; a value that is not finite stops the write before any file
     * is touched, so a diverged run never pushes the good checkpoints out.
     */
    private static SafeTensors.Entry entry(String name, Tensor t, Path dir) {
        float[] v = t.toFloatArray();
        int i = SafeTensors.firstNonFinite(v);
        if (i >= 0) {
            throw new IllegalStateException("no checkpoint written: " + name + "[" + i + "] = " + v[i]
                    + " (training diverged); the checkpoints in " + dir + " are kept");
        }
        return new SafeTensors.Entry(t.shape(), v);
    }

    /**
     * Puts the trainer, its model and optimizer, the fit's callbacks and history where the
     * checkpoint was. The run must be the same: architecture, optimizer, base learning rate,
     * batch size, training-set size and seed; anything else is an error naming the difference.
     */
    void restore(Trainer trainer, Fit fit) {
        Sequential model = trainer.model();
        Optimizer opt = trainer.optimizer();
        DataLoader train = fit.trainData();
        String arch = GSON.toJson(model.architecture());
        if (!arch.equals(state.get("architecture"))) {
            throw mismatch("the model's architecture", state.get("architecture"), arch);
        }
        same("optimizer", state.get("optimizer"), opt.getClass().getSimpleName());
        same("base learning rate", num("base_lr"), opt.baseLearningRate());
        same("batch size", intOf("batch_size"), train.batchSize());
        long[][] shards = trainer.shards();
        if (shards == null) {
            same("training-set size", intOf("train_size"), train.dataset().size());
            same("data seed", state.get("seed"), Long.toString(train.seed()));
        } else {
            // local shards: this rank's own data, as the checkpoint recorded every rank's
            int rank = trainer.dataParallel().rank();
            List<?> saved = state.get("shards") instanceof List<?> l ? l : List.of();
            same("number of workers", saved.size(), shards[0].length);
            List<?> mine = saved.get(rank) instanceof List<?> l && l.size() == 2 ? l : List.of("?", "?");
            same("training-set size of rank " + rank, mine.get(1), Long.toString(train.dataset().size()));
            same("data seed of rank " + rank, mine.get(0), Long.toString(train.seed()));
        }
        same("shuffling", state.get("shuffle"), train.shuffles());
        int epoch = epoch();
        int batch = batch();
        if (epoch < 0 || batch < 0 || batch > train.batchesPerEpoch()) {
            throw new DataFormatException(file, "position epoch " + epoch + " batch " + batch + " is outside the run");
        }
        // everything is checked before anything is applied: a bad file leaves the run as it was
        copyInto("model.", model.stateDict(), false);
        copyInto("optimizer.", opt.stateTensors(), false);
        @SuppressWarnings("unchecked")
        Map<String, Object> drop = state.get("dropout") instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
        Map<Dropout, long[]> dropout = new LinkedHashMap<>();
        for (Layer l : model.allLayers()) {
            if (l instanceof Dropout d) {
                Object r = drop.get(l.name());
                try {
                    if (!(r instanceof List<?> v) || v.size() != 2) {
                        throw new NumberFormatException("missing");
                    }
                    dropout.put(d, new long[] {Long.parseLong(v.get(0).toString()), Long.parseLong(v.get(1).toString())});
                } catch (NumberFormatException e) {
                    throw new DataFormatException(file, "no readable dropout state for layer " + l.name() + ": " + r);
                }
            }
        }
        List<Map<String, Object>> cbs = listOfMaps("callbacks");
        List<Callback> callbacks = fit.callbacks();
        if (cbs.size() != callbacks.size()) {
            throw mismatch("the callbacks", cbs.size() + " callbacks", callbacks.size() + " callbacks");
        }
        for (int i = 0; i < cbs.size(); i++) {
            same("callback " + i, cbs.get(i).get("type"), callbacks.get(i).getClass().getName());
        }
        double lrScale = num("lr_scale");
        if (!(lrScale > 0) || Double.isInfinite(lrScale)) {
            throw new DataFormatException(file, "learning-rate factor " + lrScale + " is not a positive number");
        }
        long optimizerSteps = (long) num("optimizer_steps");
        long step = globalStep();
        if (optimizerSteps < 0 || step < 0) {
            throw new DataFormatException(file, "negative step counts (optimizer " + optimizerSteps + ", run " + step + ")");
        }

        copyInto("model.", model.stateDict(), true);
        copyInto("optimizer.", opt.stateTensors(), true);
        opt.setSteps(optimizerSteps);
        trainer.setGlobalStep(step);
        trainer.setLrScale(lrScale);
        dropout.forEach((d, r) -> d.restoreRandomState(r[0], r[1]));
        for (int i = 0; i < cbs.size(); i++) {
            Map<String, SafeTensors.Entry> mine = new LinkedHashMap<>();
            String p = "callback." + i + ".";
            for (Map.Entry<String, SafeTensors.Entry> e : tensors.entrySet()) {
                if (e.getKey().startsWith(p)) {
                    mine.put(e.getKey().substring(p.length()), e.getValue());
                }
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> cs = cbs.get(i).get("state") instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
            callbacks.get(i).restore(cs, mine);
        }
        fit.historyList().clear();
        fit.historyList().addAll(history());
        Object why = state.get("stop_reason");
        if (why != null) {
            fit.stop(why.toString());
        }
    }

    /** The epoch's running totals at the checkpoint: loss sum, correct, images, seconds. */
    double[] sums() {
        Object v = state.get("sums");
        if (!(v instanceof List<?> l) || l.size() != 4) {
            throw new DataFormatException(file, "the checkpoint's epoch totals are missing");
        }
        double[] s = new double[4];
        for (int i = 0; i < 4; i++) {
            s[i] = ((Number) l.get(i)).doubleValue();
        }
        return s;
    }

    /** Checks the tensors saved under {@code prefix} against {@code dst}, and copies them when {@code apply}. */
    private void copyInto(String prefix, Map<String, Tensor> dst, boolean apply) {
        for (Map.Entry<String, Tensor> e : dst.entrySet()) {
            SafeTensors.Entry src = tensors.get(prefix + e.getKey());
            if (src == null) {
                throw new DataFormatException(file, "missing tensor " + prefix + e.getKey());
            }
            if (!src.shape().equals(e.getValue().shape())) {
                throw new DataFormatException(file, "tensor " + prefix + e.getKey() + " has shape " + src.shape()
                        + ", the run needs " + e.getValue().shape());
            }
            int i = SafeTensors.firstNonFinite(src.data());
            if (i >= 0) {
                throw new DataFormatException(file, "tensor " + prefix + e.getKey() + " holds " + src.data()[i] + " at " + i
                        + ": the checkpoint was written by a run that diverged");
            }
            if (apply) {
                e.getValue().copyFrom(src.data());
            }
        }
    }

    private void same(String what, Object saved, Object now) {
        boolean eq = saved instanceof Number a && now instanceof Number b ? a.doubleValue() == b.doubleValue()
                : String.valueOf(saved).equals(String.valueOf(now));
        if (!eq) {
            throw mismatch(what, saved, now);
        }
    }

    private IllegalArgumentException mismatch(String what, Object saved, Object now) {
        return new IllegalArgumentException("cannot resume from " + file + ": " + what + " differs (checkpoint: " + saved
                + ", this run: " + now + ")");
    }

    private double num(String key) {
        Object v = state.get(key);
        if (!(v instanceof Number n)) {
            throw new DataFormatException(file, "checkpoint state '" + key + "' is missing or not a number");
        }
        return n.doubleValue();
    }

    private int intOf(String key) {
        return (int) num(key);
    }

    @SuppressWarnings("unchecked")
    private List<Map<String, Object>> listOfMaps(String key) {
        Object v = state.get(key);
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> l)) {
            throw new DataFormatException(file, "checkpoint state '" + key + "' is not a list");
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object o : l) {
            if (!(o instanceof Map<?, ?> m)) {
                throw new DataFormatException(file, "checkpoint state '" + key + "' holds " + o);
            }
            out.add((Map<String, Object>) m);
        }
        return out;
    }
}
