package org.cnn4j.cli;

import com.google.gson.Gson;
import com.google.gson.JsonParseException;
import com.google.gson.reflect.TypeToken;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.cnn4j.backend.Backends;
import org.cnn4j.data.DataLoader;
import org.cnn4j.data.Dataset;
import org.cnn4j.io.JsonDepth;
import org.cnn4j.io.ModelFile;
import org.cnn4j.report.Report;
import org.cnn4j.train.EpochMetrics;
import org.cnn4j.train.History;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code cnn4j report RUN_DIR}: rebuilds a run's report.html from its saved model and logged metrics. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Rebuild RUN_DIR/report.html from the run's model.safetensors and model.json (its metrics and "
                + "settings); the test data is the run's unless --data says otherwise.")
final class ReportCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "RUN_DIR", description = "A folder written by train.")
    Path runDir;

    @Mixin
    DataOptions data;

    @Mixin
    BackendOptions backendOptions;

    @Option(names = "--test-limit", description = "Use the first N test images (default: the run's --test-limit).")
    Integer testLimit;

    @Spec
    CommandSpec spec;

    /** model.json holds the architecture, settings and per-epoch figures: far below this. */
    static final long MAX_JSON_BYTES = 64L << 20;

    @Override
    public Integer call() throws Exception {
        Path json = runDir.resolve("model.json");
        if (!Files.isRegularFile(json)) {
            throw new IllegalArgumentException(runDir + " is not a run folder: it has no model.json");
        }
        if (Files.size(json) > MAX_JSON_BYTES) {
            throw new IllegalArgumentException(json + " holds " + Files.size(json) + " bytes; a run's model.json is read up to "
                    + MAX_JSON_BYTES);
        }
        String text = Files.readString(json, StandardCharsets.UTF_8);
        Map<String, Object> facts;
        try {
            JsonDepth.check(text, 64, "model.json");
            facts = new Gson().fromJson(text, new TypeToken<Map<String, Object>>() { }.getType());
        } catch (JsonParseException e) {
            throw new IllegalArgumentException(json + ": unreadable: " + e.getMessage(), e);
        }
        if (facts == null || !(facts.get("history") instanceof List<?> rows)) {
            throw new IllegalArgumentException(json + " holds no per-epoch history (a model saved before histories were kept)");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> settings = facts.get("settings") instanceof Map<?, ?> m ? (Map<String, Object>) m
                : new LinkedHashMap<>();
        var parsed = spec.commandLine().getParseResult();
        if (!parsed.hasMatchedOption("--data") && settings.get("--data") != null) {
            data.data = settings.get("--data").toString();
        }
        if (!parsed.hasMatchedOption("--data-dir") && settings.get("--data-dir") != null) {
            data.dataDir = Path.of(settings.get("--data-dir").toString());
        }
        int limit = testLimit != null ? testLimit
                : settings.get("--test-limit") instanceof Number n ? n.intValue() : 0;
        String prefix = "val";
        List<EpochMetrics> epochs = new ArrayList<>();
        for (Object r : rows) {
            if (!(r instanceof Map<?, ?> row)) {
                throw new IllegalArgumentException(json + ": a history entry is not an object: " + r);
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> mr = (Map<String, Object>) row;
            prefix = mr.containsKey("val_loss") ? "val" : "test";
            epochs.add(EpochMetrics.fromMap(mr, prefix));
        }
        History history = new History(epochs, facts.get("stopped_early") == null ? null : facts.get("stopped_early").toString());
        Backends.Choice choice = backendOptions.create();
        try (var be = choice.backend()) {
            ModelFile.Loaded loaded = ModelFile.load(runDir, be);
            try (var model = loaded.model()) {
                data.checkClasses(loaded.classes());
                Dataset test = data.load(false, model.inputShape());
                if (limit > 0) {
                    test = test.limit(limit);
                }
                if (!model.inputShape().equals(test.sampleShape())) {
                    throw new IllegalArgumentException("the model takes " + model.inputShape().toCompactString()
                            + " inputs, data set " + data.data + " has " + test.sampleShape().toCompactString());
                }
                test = test.withNormalization(loaded.normalization());
                try (DataLoader loader = DataLoader.builder(test).batchSize(256).build()) {
                    Path page = Report.write(runDir, model, history, prefix, loader, settings);
                    System.out.printf("result: report=%s epochs=%d%n", page, epochs.size());
                }
            }
        }
        return 0;
    }
}
