package org.cnn4j.optim;

/**
 * The learning rate as a function of the step (counted from 0 over the whole run), in absolute
 * terms. {@link Schedule} states the same as a factor of the optimizer's rate, so that the rate
 * is given once; these factories are that with the rate given here. Schedules are pure
 * functions, so resuming at a step gives the same rate.
 */
@FunctionalInterface
public interface LrSchedule {
    double lr(long step);

    static LrSchedule constant(double lr) {
        return step -> lr;
    }

    /** Multiplies by {@code gamma} every {@code stepSize} steps (PyTorch's StepLR, counted in steps). */
    static LrSchedule step(double lr, long stepSize, double gamma) {
        return Schedule.step(stepSize, gamma).times(lr);
    }

    /** Cosine annealing from lr to minLr over totalSteps, then minLr. */
    static LrSchedule cosine(double lr, double minLr, long totalSteps) {
        return Schedule.cosine(totalSteps, minLr / lr).times(lr);
    }

    /** Linear warm-up from lr/warmupSteps to the wrapped schedule's rate over warmupSteps steps. */
    static LrSchedule warmup(LrSchedule after, long warmupSteps) {
        Schedule ramp = Schedule.constant().withWarmup(warmupSteps);
        return step -> after.lr(step) * ramp.factor(step);
    }
}
