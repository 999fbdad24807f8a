package org.cnn4j.optim;

/**
 * The learning rate as a function of the step (counted from 0 over the whole run). Schedules
 * are pure functions, so resuming at a step gives the same rate.
 */
@FunctionalInterface
public interface LrSchedule {
    double lr(long step);

    static LrSchedule constant(double lr) {
        return step -> lr;
    }

    /** Multiplies by {@code gamma} every {@code stepSize} steps (PyTorch's StepLR, counted in steps). */
    static LrSchedule step(double lr, long stepSize, double gamma) {
        if (stepSize < 1) {
            throw new IllegalArgumentException("step size must be >= 1, got " + stepSize);
        }
        return step -> lr * Math.pow(gamma, step / stepSize);
    }

    /** Cosine annealing from lr to minLr over totalSteps, then minLr. */
    static LrSchedule cosine(double lr, double minLr, long totalSteps) {
        if (totalSteps < 1) {
            throw new IllegalArgumentException("total steps must be >= 1, got " + totalSteps);
        }
        return step -> step >= totalSteps ? minLr
                : minLr + (lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * step / totalSteps));
    }

    /** Linear warm-up from lr/warmupSteps to the wrapped schedule's rate over warmupSteps steps. */
    static LrSchedule warmup(LrSchedule after, long warmupSteps) {
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warm-up steps must be >= 0, got " + warmupSteps);
        }
        return step -> step < warmupSteps ? after.lr(step) * (step + 1) / warmupSteps : after.lr(step);
    }
}
