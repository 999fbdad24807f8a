package org.cnn4j.train;

import org.cnn4j.backend.Backend;
import org.cnn4j.backend.LossResult;
import org.cnn4j.data.Batch;
import org.cnn4j.data.DataLoader;
import org.cnn4j.nn.Sequential;
import org.cnn4j.optim.LrSchedule;
import org.cnn4j.optim.Optimizer;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;

/**
 * The training loop: per batch, a {@link StepRunner} step (upload, forward, fused
 * softmax-cross-entropy, backward, optimizer update, all queued without waiting for the
 * device), the learning rate from the schedule, and the step's loss and correct count
 * summed once they come back. Listeners hear of a step one step late, when its two scalars
 * arrive; a non-finite loss stops training then, naming the step.
 */
public final class Trainer implements AutoCloseable {

    /** Called after every training step. */
    @FunctionalInterface
    public interface StepListener {
        void onStep(int stepInEpoch, int stepsInEpoch, double loss, int images);
    }

    /** Totals of one pass over a loader. */
    public record Result(double loss, double accuracy, int images, double seconds, double top5) {
        public Result(double loss, double accuracy, int images, double seconds) {
            this(loss, accuracy, images, seconds, Double.NaN);
        }

        public double imagesPerSecond() {
            return seconds > 0 ? images / seconds : 0;
        }
    }

    private final Sequential model;
    private final LrSchedule schedule;
    private final StepRunner runner;
    private long globalStep;

    public Trainer(Sequential model, Optimizer optimizer, LrSchedule schedule) {
        this.runner = new StepRunner(model, optimizer);
        this.model = model;
        this.schedule = schedule;
    }

    public long globalStep() {
        return globalStep;
    }

    /** Turns recording and replaying of training steps on or off (default on). */
    public Trainer setGraphs(boolean on) {
        runner.setGraphs(on);
        return this;
    }

    /** Why steps are not replayed from a recording, or null when they are (or may be). */
    public String graphNote() {
        return runner.graphNote();
    }

    /** Whether steps of batch size {@code n} are replayed from a device graph. */
    public boolean replaysDeviceGraph(int n) {
        return runner.replaysDeviceGraph(n);
    }

    /** One epoch of training (epoch counts from 0 and selects the shuffle order). */
    public Result trainEpoch(DataLoader loader, int epoch, StepListener listener) {
        long t0 = System.nanoTime();
        double[] sums = new double[3];  // loss sum, correct, images
        int steps = loader.batchesPerEpoch();
        long firstStep = globalStep;
        try (DataLoader.Epoch it = loader.epoch(epoch)) {
            while (it.hasNext()) {
                Batch b = it.next();
                double lr = schedule.lr(globalStep);
                StepRunner.Totals done;
                try {
                    done = runner.queue(b.images(), b.labels(), b.size(), lr);
                } finally {
                    b.release();
                }
                globalStep++;
                report(done, sums, epoch, firstStep, steps, listener);
            }
            report(runner.drain(), sums, epoch, firstStep, steps, listener);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        int images = (int) sums[2];
        return new Result(sums[0] / images, sums[1] / images, images, secs);
    }

    private void report(StepRunner.Totals t, double[] sums, int epoch, long firstStep, int steps,
                        StepListener listener) {
        if (t == null) {
            return;
        }
        int stepInEpoch = (int) (t.step() - firstStep) + 1;
        double mean = t.meanLoss();
        if (!Double.isFinite(mean)) {
            throw new ArithmeticException("the training loss became " + mean + " at epoch " + (epoch + 1)
                    + ", step " + stepInEpoch + " (learning rate " + t.lr() + "): lower the learning rate");
        }
        sums[0] += t.lossSum();
        sums[1] += t.correct();
        sums[2] += t.n();
        if (listener != null) {
            listener.onStep(stepInEpoch, steps, mean, (int) sums[2]);
        }
    }

    /** Loss and top-1 accuracy over a loader, in inference mode. */
    public Result evaluate(DataLoader loader) {
        return evaluate(model, loader);
    }

    /**
     * Loss, top-1 and (with at least 5 classes) top-5 accuracy of {@code model} over
     * {@code loader}, in inference mode (SPEC S4.4).
     */
    public static Result evaluate(Sequential model, DataLoader loader) {
        Backend backend = model.backend();
        long t0 = System.nanoTime();
        double lossSum = 0;
        long correct = 0;
        long correct5 = 0;
        int images = 0;
        int classes = model.outputShape().dim(0);
        Tensor x = null, labels = null, top = null;
        try (DataLoader.Epoch it = loader.epoch(0)) {
            while (it.hasNext()) {
                Batch b = it.next();
                int n = b.size();
                Shape xs = model.inputShape().withBatch(n);
                if (x == null || !x.shape().equals(xs)) {
                    if (x != null) {
                        x.close();
                        labels.close();
                        if (top != null) {
                            top.close();
                        }
                    }
                    x = backend.zeros(xs, model.dtype());
                    labels = backend.zeros(Shape.of(n), DType.INT32);
                    top = classes >= 5 ? backend.zeros(Shape.of(n, 5), DType.INT32) : null;
                }
                int[] y = java.util.Arrays.copyOf(b.labels(), n);
                try {
                    x.copyFrom(b.images(), x.numel());
                    labels.copyFrom(b.labels(), n);
                } finally {
                    b.release();
                }
                Tensor logits = model.forward(x, false);
                LossResult r = backend.softmaxCrossEntropy(logits, labels, null);
                lossSum += r.meanLoss() * n;
                correct += r.correct();
                images += n;
                if (top != null) {
                    backend.topK(logits, 5, top);
                    int[] t = top.toIntArray();
                    for (int i = 0; i < n; i++) {
                        for (int k = 0; k < 5; k++) {
                            if (t[i * 5 + k] == y[i]) {
                                correct5++;
                                break;
                            }
                        }
                    }
                }
            }
        } finally {
            if (x != null) {
                x.close();
                labels.close();
            }
            if (top != null) {
                top.close();
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        return new Result(lossSum / images, (double) correct / images, images, secs,
                classes >= 5 ? (double) correct5 / images : Double.NaN);
    }

    @Override
    public void close() {
        runner.close();
    }
}
