package org.cnn4j.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.cnn4j.io.ModelFile;

/**
 * Keeps the best model by a metric: whenever an epoch improves on it, the model is saved
 * (as a model file, for inference: {@code dir/model.safetensors} and {@code model.json})
 * atomically over the previous best. Its best value is saved in checkpoints.
 */
public final class BestModel implements Callback {
    private final Path dir;
    private final Monitor monitor;

    public BestModel(Path dir, String metric) {
        this.dir = dir;
        this.monitor = new Monitor(metric, 0);
    }

    @Override
    public void onFitStart(Fit fit) {
        monitor.check(fit, "the best-model callback");
    }

    @Override
    public void onEpochEnd(Fit fit, EpochMetrics m) {
        if (monitor.update(m)) {
            Map<String, Object> facts = new LinkedHashMap<>();
            facts.put("epoch", m.epoch());
            facts.put("monitor", monitor.metric);
            facts.put(monitor.metric, m.get(monitor.metric));
            facts.put("figures", m.toMap("val"));
            try {
                ModelFile.save(dir, fit.model(), facts);
            } catch (IOException e) {
                throw new UncheckedIOException("saving the best model in " + dir + ": " + e.getMessage(), e);
            }
        }
    }

    public Path dir() {
        return dir;
    }

    /** The best epoch so far (1-based; 0 before the first). */
    public int bestEpoch() {
        return monitor.bestEpoch;
    }

    @Override
    public Map<String, Object> state() {
        return monitor.state();
    }

    @Override
    public void restore(Map<String, Object> state, Map<String, org.cnn4j.io.SafeTensors.Entry> tensors) {
        monitor.restore(state);
    }
}
