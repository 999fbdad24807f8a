package org.cnn4j.optim;

/**
 * How the learning rate changes over a run, as a factor of the optimizer's own rate (the rate
 * is stated once, to the optimizer): {@code lr(step) = optimizer.baseLearningRate() *
 * factor(step)}, the step counted from 0 over the whole run. Schedules are pure functions of
 * the step, so a resumed run gets the rates it would have had.
 */
@FunctionalInterface
public interface Schedule {
    double factor(long step);

    /** The optimizer's rate throughout. */
    static Schedule constant() {
        return step -> 1;
    }

    /** Multiplies by {@code gamma} every {@code stepSize} steps (PyTorch's StepLR, counted in steps). */
    static Schedule step(long stepSize, double gamma) {
        if (stepSize < 1) {
            throw new IllegalArgumentException("step size must be >= 1, got " + stepSize);
        }
        if (!(gamma > 0) || Double.isInfinite(gamma)) {
            throw new IllegalArgumentException("gamma must be > 0, got " + gamma);
        }
        return step -> Math.pow(gamma, step / stepSize);
    }

    /** Cosine annealing from 1 to {@code minFactor} over {@code totalSteps}, then minFactor. */
    static Schedule cosine(long totalSteps, double minFactor) {
        if (totalSteps < 1) {
            throw new IllegalArgumentException("total steps must be >= 1, got " + totalSteps);
        }
        if (!(minFactor >= 0 && minFactor <= 1)) {
            throw new IllegalArgumentException("the final factor must be in [0, 1], got " + minFactor);
        }
        return step -> step >= totalSteps ? minFactor
                : minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * step / totalSteps));
    }

    /** Linear warm-up: {@code (step+1)/warmupSteps} of this schedule's factor for the first warmupSteps steps. */
    default Schedule withWarmup(long warmupSteps) {
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warm-up steps must be >= 0, got " + warmupSteps);
        }
        return step -> step < warmupSteps ? factor(step) * (step + 1) / warmupSteps : factor(step);
    }

    /** This schedule applied to a base rate. */
    default LrSchedule times(double lr) {
        return step -> lr * factor(step);
    }
}
