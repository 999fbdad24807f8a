package org.cnn4j.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The best value so far of a monitored metric and how many epochs passed without improving
 * on it by more than {@code minDelta}: what early stopping, the plateau rule and the best
 * checkpoint share.
 */
final class Monitor {
    final String metric;
    private final boolean higher;
    private final double minDelta;
    double best = Double.NaN;
    int bestEpoch;
    int wait;

    Monitor(String metric, double minDelta) {
        this.higher = EpochMetrics.higherIsBetter(metric);
        if (!(minDelta >= 0) || Double.isInfinite(minDelta)) {
            throw new IllegalArgumentException("min delta must be >= 0, got " + minDelta);
        }
        this.metric = metric;
        this.minDelta = minDelta;
    }

    /**
     * Fails, before any training, when the metric will not exist in this fit: a val_ metric
     * without validation data, top-5 with fewer than 5 classes.
     */
    void check(Fit fit, String who) {
        if (metric.startsWith("val_") && fit.validationData() == null) {
            throw new IllegalArgumentException(who + " monitors " + metric + " but the fit has no validation data");
        }
        int classes = fit.model().outputShape().numel();
        if (metric.endsWith("_top5") && classes < 5) {
            throw new IllegalArgumentException(who + " monitors " + metric + " but the model has " + classes
                    + " classes (top-5 needs 5 or more)");
        }
    }

    /** Records an epoch; returns whether it improved on the best. */
    boolean update(EpochMetrics m) {
        double v = m.get(metric);
        if (Double.isNaN(v)) {
            throw new IllegalStateException(metric + " is not available at epoch " + m.epoch());
        }
        boolean better = Double.isNaN(best) || (higher ? v > best + minDelta : v < best - minDelta);
        if (better) {
            best = v;
            bestEpoch = m.epoch();
            wait = 0;
        } else {
            wait++;
        }
        return better;
    }

    Map<String, Object> state() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("best", Double.isNaN(best) ? null : best);
        s.put("best_epoch", bestEpoch);
        s.put("wait", wait);
        return s;
    }

    void restore(Map<String, Object> s) {
        best = Callback.number(s, "best");
        bestEpoch = Callback.count(s, "best_epoch");
        wait = Callback.count(s, "wait");
    }
}
