package org.cnn4j.train;

import java.util.LinkedHashMap;
import java.util.Map;
import org.cnn4j.io.SafeTensors;
import org.cnn4j.tensor.Tensor;

/**
 * Stops a fit when a metric has not improved (by more than {@code minDelta}) for
 * {@code patience} epochs, as Keras's EarlyStopping. With {@code restoreBest}, a copy of the
 * weights and batch-norm statistics of the best epoch is kept in host memory and put back
 * into the model when the fit ends, if a later epoch was worse. Its state (best value,
 * epoch, counter and the best weights) is saved in checkpoints.
 */
public final class EarlyStopping implements Callback {
    private final Monitor monitor;
    private final int patience;
    private final boolean restoreBest;
    private Map<String, float[]> bestWeights;
    private int stoppedAt;

    public EarlyStopping(String metric, int patience, boolean restoreBest) {
        this(metric, patience, 0, restoreBest);
    }

    public EarlyStopping(String metric, int patience, double minDelta, boolean restoreBest) {
        if (patience < 1) {
            throw new IllegalArgumentException("early stopping needs a patience of at least 1 epoch, got " + patience);
        }
        this.monitor = new Monitor(metric, minDelta);
        this.patience = patience;
        this.restoreBest = restoreBest;
    }

    @Override
    public void onFitStart(Fit fit) {
        monitor.check(fit, "early stopping");
    }

    @Override
    public void onEpochEnd(Fit fit, EpochMetrics m) {
        if (monitor.update(m)) {
            if (restoreBest) {
                bestWeights = new LinkedHashMap<>();
                for (Map.Entry<String, Tensor> e : fit.model().stateDict().entrySet()) {
                    bestWeights.put(e.getKey(), e.getValue().toFloatArray());
                }
            }
        } else if (monitor.wait >= patience) {
            stoppedAt = m.epoch();
            fit.stop(monitor.metric + " did not improve for " + patience + " epochs (best " + monitor.best + " at epoch "
                    + monitor.bestEpoch + ")");
        }
    }

    @Override
    public void onFitEnd(Fit fit, History history) {
        if (restoreBest && bestWeights != null && monitor.bestEpoch != history.last().epoch()) {
            for (Map.Entry<String, Tensor> e : fit.model().stateDict().entrySet()) {
                float[] v = bestWeights.get(e.getKey());
                if (v != null) {
                    e.getValue().copyFrom(v);
                }
            }
        }
    }

    /** The epoch with the best value (1-based; 0 before the first epoch). */
    public int bestEpoch() {
        return monitor.bestEpoch;
    }

    public double bestValue() {
        return monitor.best;
    }

    /** The epoch after which training stopped (0 when it did not stop early). */
    public int stoppedEpoch() {
        return stoppedAt;
    }

    @Override
    public Map<String, Object> state() {
        Map<String, Object> s = monitor.state();
        s.put("stopped_at", stoppedAt);
        return s;
    }

    @Override
    public Map<String, SafeTensors.Entry> stateTensors() {
        Map<String, SafeTensors.Entry> t = new LinkedHashMap<>();
        if (bestWeights == null) {
            return t;
        }
        // shapes are not kept with the host copy: save flat, restore by element count
        for (Map.Entry<String, float[]> e : bestWeights.entrySet()) {
            t.put(e.getKey(), new SafeTensors.Entry(org.cnn4j.tensor.Shape.of(e.getValue().length), e.getValue()));
        }
        return t;
    }

    @Override
    public void restore(Map<String, Object> state, Map<String, SafeTensors.Entry> tensors) {
        monitor.restore(state);
        stoppedAt = Callback.count(state, "stopped_at");
        if (!tensors.isEmpty()) {
            bestWeights = new LinkedHashMap<>();
            for (Map.Entry<String, SafeTensors.Entry> e : tensors.entrySet()) {
                bestWeights.put(e.getKey(), e.getValue().data());
            }
        }
    }
}
