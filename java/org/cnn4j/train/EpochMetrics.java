package org.cnn4j.train;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The figures of one epoch of {@link Trainer#fit}: training loss and accuracy over the epoch's
 * batches, validation loss, accuracy and top-5 (NaN without validation data, top-5 NaN with
 * fewer than 5 classes), the learning rate of the epoch's last step, throughput, seconds and the
 * process's resident memory at the epoch's end (-1 where the system does not say).
 */
public record EpochMetrics(int epoch, double trainLoss, double trainAccuracy, double valLoss, double valAccuracy,
                           double valTop5, double lr, double imagesPerSecond, double seconds, long residentBytes) {

    /** The metrics a callback can monitor. */
    public static final List<String> MONITORED = List.of("train_loss", "train_accuracy", "val_loss", "val_accuracy",
            "val_top5");

    /** A monitored metric by name ({@link #MONITORED}). */
    public double get(String metric) {
        return switch (metric) {
            case "train_loss" -> trainLoss;
            case "train_accuracy" -> trainAccuracy;
            case "val_loss" -> valLoss;
            case "val_accuracy" -> valAccuracy;
            case "val_top5" -> valTop5;
            default -> throw new IllegalArgumentException("unknown metric '" + metric + "'; choose one of " + MONITORED);
        };
    }

    /** Whether larger values of a metric are better (accuracies) or smaller (losses). */
    public static boolean higherIsBetter(String metric) {
        if (!MONITORED.contains(metric)) {
            throw new IllegalArgumentException("unknown metric '" + metric + "'; choose one of " + MONITORED);
        }
        return !metric.endsWith("_loss");
    }

    /**
     * The figures as a map with the validation columns named {@code prefix_...} ("val", or
     * "test" when the validation data is the test set); NaN figures are null.
     */
    public Map<String, Object> toMap(String prefix) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("epoch", epoch);
        m.put("train_loss", orNull(trainLoss));
        m.put("train_accuracy", orNull(trainAccuracy));
        m.put(prefix + "_loss", orNull(valLoss));
        m.put(prefix + "_accuracy", orNull(valAccuracy));
        m.put(prefix + "_top5", orNull(valTop5));
        m.put("lr", lr);
        m.put("train_images_per_s", Math.round(imagesPerSecond));
        m.put("seconds", seconds);
        m.put("resident_mb", residentBytes < 0 ? null : Math.round(residentBytes / 1048576.0));
        return m;
    }

    /** Reads {@link #toMap(String)} back (numbers as JSON gives them). */
    public static EpochMetrics fromMap(Map<String, Object> m, String prefix) {
        Object rss = m.get("resident_mb");
        return new EpochMetrics(num(m, "epoch").intValue(), d(m, "train_loss"), d(m, "train_accuracy"),
                d(m, prefix + "_loss"), d(m, prefix + "_accuracy"), d(m, prefix + "_top5"), d(m, "lr"),
                d(m, "train_images_per_s"), d(m, "seconds"),
                rss == null ? -1 : Math.round(((Number) rss).doubleValue() * 1048576.0));
    }

    private static Number num(Map<String, Object> m, String k) {
        Object v = m.get(k);
        if (!(v instanceof Number n)) {
            throw new IllegalArgumentException("epoch figures: '" + k + "' is missing or not a number: " + v);
        }
        return n;
    }

    private static double d(Map<String, Object> m, String k) {
        Object v = m.get(k);
        return v == null ? Double.NaN : num(m, k).doubleValue();
    }

    private static Object orNull(double v) {
        return Double.isNaN(v) ? null : v;
    }

    /** The resident memory of this process in bytes, or -1 where /proc does not say. */
    public static long measureResidentBytes() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    String[] f = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(f[0]) * 1024;
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
