package org.cnn4j.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What {@link Trainer#fit} returns: the figures of every epoch run (a resumed run's history
 * includes the epochs before its checkpoint), and whether and why training stopped early.
 */
public record History(List<EpochMetrics> epochs, String stopReason) {

    public History {
        epochs = List.copyOf(epochs);
    }

    public EpochMetrics last() {
        if (epochs.isEmpty()) {
            throw new IllegalStateException("no epoch was run");
        }
        return epochs.get(epochs.size() - 1);
    }

    public boolean stoppedEarly() {
        return stopReason != null;
    }

    /** The epoch with the best value of a metric (the first of equals), or null without epochs. */
    public EpochMetrics best(String metric) {
        boolean higher = EpochMetrics.higherIsBetter(metric);
        EpochMetrics best = null;
        for (EpochMetrics m : epochs) {
            double v = m.get(metric);
            if (Double.isNaN(v)) {
                continue;
            }
            if (best == null || (higher ? v > best.get(metric) : v < best.get(metric))) {
                best = m;
            }
        }
        return best;
    }

    /** Every epoch as a map ({@link EpochMetrics#toMap(String)}). */
    public List<Map<String, Object>> rows(String prefix) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (EpochMetrics m : epochs) {
            rows.add(m.toMap(prefix));
        }
        return rows;
    }

    /** The history as CSV: a header line, then one line per epoch (empty cells for missing figures). */
    public String toCsv(String prefix) {
        StringBuilder b = new StringBuilder();
        List<Map<String, Object>> rows = rows(prefix);
        if (rows.isEmpty()) {
            return "";
        }
        b.append(String.join(",", rows.get(0).keySet())).append('\n');
        for (Map<String, Object> row : rows) {
            List<String> cells = new ArrayList<>();
            for (Object v : row.values()) {
                cells.add(v == null ? "" : v.toString());
            }
            b.append(String.join(",", cells)).append('\n');
        }
        return b.toString();
    }
}
