package org.cnn4j.train;

import java.util.Map;
import org.cnn4j.io.SafeTensors;

/**
 * Hooks into {@link Trainer#fit}: called on the training thread, in the order the callbacks
 * were given. A callback may stop training ({@link Fit#stop(String)}) or scale the learning
 * rate ({@link Trainer#setLrScale(double)}). A callback with state (a best value, a counter,
 * saved weights) returns it from {@link #state()} and {@link #stateTensors()}, and checkpoints
 * save it so that a resumed run decides as the uninterrupted one would.
 */
public interface Callback {

    /** Before the first epoch (of this call: after a resume, the checkpoint's state is already restored). */
    default void onFitStart(Fit fit) {
    }

    /**
     * After a training step's loss came back (one step after it was queued): the step's number in
     * its epoch (from 1), the epoch's step count, the step's mean loss and the images so far in
     * the epoch.
     */
    default void onStep(Fit fit, int step, int steps, double loss, int images) {
    }

    /** After an epoch's training and validation, once its figures are in the history. */
    default void onEpochEnd(Fit fit, EpochMetrics metrics) {
    }

    /** After the last epoch, or after an early stop. */
    default void onFitEnd(Fit fit, History history) {
    }

    /** Numbers and strings to save in a checkpoint (JSON). */
    default Map<String, Object> state() {
        return Map.of();
    }

    /** Tensors to save in a checkpoint. */
    default Map<String, SafeTensors.Entry> stateTensors() {
        return Map.of();
    }

    /** Restores what {@link #state()} and {@link #stateTensors()} returned (numbers come back as doubles). */
    default void restore(Map<String, Object> state, Map<String, SafeTensors.Entry> tensors) {
    }

    /** Reads a count of a restored state (0 when absent). */
    static int count(Map<String, Object> state, String key) {
        double v = number(state, key);
        return Double.isNaN(v) ? 0 : (int) v;
    }

    /** Reads a number of a restored state. */
    static double number(Map<String, Object> state, String key) {
        Object v = state.get(key);
        if (v == null) {
            return Double.NaN;
        }
        if (!(v instanceof Number n)) {
            throw new IllegalArgumentException("checkpoint: callback state '" + key + "' is not a number: " + v);
        }
        return n.doubleValue();
    }
}
