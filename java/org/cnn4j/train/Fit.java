package org.cnn4j.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.cnn4j.data.DataLoader;
import org.cnn4j.nn.Sequential;
import org.cnn4j.optim.Optimizer;

/**
 * A run of {@link Trainer#fit(Fit)}: what to train on and for how long, the callbacks, the
 * checkpoints, and while it runs, what callbacks see of it (the trainer, the history so far)
 * and how they stop it. Made with {@link #of(DataLoader)}; used by one thread.
 *
 * <pre>{@code
 * History h = trainer.fit(Fit.of(train).validation(val).epochs(20)
 *         .callbacks(new EarlyStopping("val_loss", 3, true))
 *         .checkpoints(Path.of("run/checkpoints"), Fit.Every.epochs(1), 3));
 * }</pre>
 */
public final class Fit {

    /** How often checkpoints are written: every N training steps or every N epochs. */
    public record Every(int count, boolean steps) {
        public Every {
            if (count < 1) {
                throw new IllegalArgumentException("checkpoints need an interval of at least 1, got " + count);
            }
        }

        public static Every steps(int n) {
            return new Every(n, true);
        }

        public static Every epochs(int n) {
            return new Every(n, false);
        }

        /**
         * Parses {@code N}, {@code Nepochs} or {@code Nsteps} (also {@code Ne}, {@code Ns},
         * {@code Nepoch}, {@code Nstep}); a bare number counts epochs.
         */
        public static Every parse(String s) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d{1,9})\\s*(e|epochs?|s|steps?)?")
                    .matcher(s.trim());
            if (!m.matches()) {
                throw new IllegalArgumentException("'" + s + "' is not an interval: write N (epochs), Nepochs or Nsteps");
            }
            int n = Integer.parseInt(m.group(1));
            return new Every(n, m.group(2) != null && m.group(2).startsWith("s"));
        }

        @Override
        public String toString() {
            return count + (steps ? " steps" : " epochs");
        }
    }

    private final DataLoader train;
    private DataLoader validation;
    private int epochs = 1;
    private final List<Callback> callbacks = new ArrayList<>();
    private Path checkpointDir;
    private Every every;
    private int keep = 3;
    private Path resume;
    private final Map<String, Object> settings = new LinkedHashMap<>();

    // while running
    private Trainer trainer;
    private final List<EpochMetrics> history = new ArrayList<>();
    private String stopReason;
    private int epoch;
    private Path lastCheckpoint;

    private Fit(DataLoader train) {
        this.train = train;
    }

    /** A run over {@code train} (1 epoch, no validation, no callbacks until said otherwise). */
    public static Fit of(DataLoader train) {
        if (train == null) {
            throw new IllegalArgumentException("fit needs training data");
        }
        return new Fit(train);
    }

    /** Data evaluated after every epoch (the {@code val_} figures); null for none. */
    public Fit validation(DataLoader v) {
        this.validation = v;
        return this;
    }

    /** The total number of epochs (a resumed run counts the ones before its checkpoint). */
    public Fit epochs(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("epochs must be >= 1, got " + n);
        }
        this.epochs = n;
        return this;
    }

    public Fit callbacks(Callback... cbs) {
        return callbacks(List.of(cbs));
    }

    public Fit callbacks(List<Callback> cbs) {
        callbacks.addAll(cbs);
        return this;
    }

    /**
     * Writes a checkpoint into {@code dir} every {@code every} and keeps the newest {@code keep}
     * (older ones are deleted once a newer one is on disk).
     */
    public Fit checkpoints(Path dir, Every every, int keep) {
        if (keep < 1) {
            throw new IllegalArgumentException("keep at least 1 checkpoint, got " + keep);
        }
        this.checkpointDir = dir;
        this.every = every;
        this.keep = keep;
        return this;
    }

    /** Continues from a checkpoint file, or from the newest checkpoint in a folder. */
    public Fit resumeFrom(Path checkpoint) {
        this.resume = checkpoint;
        return this;
    }

    /** Facts saved in every checkpoint (a command line's settings, say), read back with {@link Checkpoint#settings()}. */
    public Fit settings(Map<String, Object> s) {
        settings.putAll(s);
        return this;
    }

    public DataLoader trainData() {
        return train;
    }

    public DataLoader validationData() {
        return validation;
    }

    public int epochs() {
        return epochs;
    }

    public List<Callback> callbacks() {
        return List.copyOf(callbacks);
    }

    Path checkpointDir() {
        return checkpointDir;
    }

    Every every() {
        return every;
    }

    int keep() {
        return keep;
    }

    Path resume() {
        return resume;
    }

    Map<String, Object> settings() {
        return settings;
    }

    // ---- what callbacks see while the run goes on

    void start(Trainer t) {
        if (trainer != null) {
            throw new IllegalStateException("a Fit runs once; make a new one");
        }
        this.trainer = t;
    }

    public Trainer trainer() {
        return trainer;
    }

    public Sequential model() {
        return trainer.model();
    }

    public Optimizer optimizer() {
        return trainer.optimizer();
    }

    /** The epoch running (0-based). */
    public int epoch() {
        return epoch;
    }

    void setEpoch(int e) {
        this.epoch = e;
    }

    /** The figures of the epochs so far. */
    public List<EpochMetrics> history() {
        return List.copyOf(history);
    }

    List<EpochMetrics> historyList() {
        return history;
    }

    /** Stops training after the current epoch, for a reason the history keeps. */
    public void stop(String reason) {
        if (stopReason == null) {
            stopReason = reason;
        }
    }

    public boolean stopRequested() {
        return stopReason != null;
    }

    String stopReason() {
        return stopReason;
    }

    /** The newest checkpoint written by this run, or null. */
    public Path lastCheckpoint() {
        return lastCheckpoint;
    }

    void setLastCheckpoint(Path p) {
        lastCheckpoint = p;
    }
}
