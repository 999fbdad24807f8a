package org.cnn4j.train;

import java.util.Map;

/**
 * Multiplies the learning rate by {@code factor} when a metric has not improved for
 * {@code patience} epochs (PyTorch's ReduceLROnPlateau, in epochs), down to
 * {@code minScale} times the schedule's rate; after a reduction it waits {@code patience}
 * epochs again. The factor lives in the trainer ({@link Trainer#lrScale()}) and is saved in
 * checkpoints with this callback's counters.
 */
public final class ReduceLrOnPlateau implements Callback {
    private final Monitor monitor;
    private final double factor;
    private final int patience;
    private final double minScale;
    private int reductions;

    public ReduceLrOnPlateau(String metric, double factor, int patience) {
        this(metric, factor, patience, 0, 1e-3);
    }

    public ReduceLrOnPlateau(String metric, double factor, int patience, double minDelta, double minScale) {
        if (!(factor > 0 && factor < 1)) {
            throw new IllegalArgumentException("the plateau factor must be in (0, 1), got " + factor);
        }
        if (patience < 1) {
            throw new IllegalArgumentException("the plateau patience must be >= 1 epoch, got " + patience);
        }
        if (!(minScale > 0 && minScale <= 1)) {
            throw new IllegalArgumentException("the smallest learning-rate factor must be in (0, 1], got " + minScale);
        }
        this.monitor = new Monitor(metric, minDelta);
        this.factor = factor;
        this.patience = patience;
        this.minScale = minScale;
    }

    @Override
    public void onFitStart(Fit fit) {
        monitor.check(fit, "the plateau rule");
    }

    @Override
    public void onEpochEnd(Fit fit, EpochMetrics m) {
        if (!monitor.update(m) && monitor.wait >= patience) {
            Trainer t = fit.trainer();
            double next = Math.max(t.lrScale() * factor, minScale);
            if (next < t.lrScale()) {
                t.setLrScale(next);
                reductions++;
            }
            monitor.wait = 0;
        }
    }

    /** How many times the rate was lowered. */
    public int reductions() {
        return reductions;
    }

    @Override
    public Map<String, Object> state() {
        Map<String, Object> s = monitor.state();
        s.put("reductions", reductions);
        return s;
    }

    @Override
    public void restore(Map<String, Object> state, Map<String, org.cnn4j.io.SafeTensors.Entry> tensors) {
        monitor.restore(state);
        reductions = Callback.count(state, "reductions");
    }
}
