package org.cnn4j.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.LossResult;
import org.cnn4j.data.Batch;
import org.cnn4j.data.DataLoader;
import org.cnn4j.dist.DataParallel;
import org.cnn4j.nn.Sequential;
import org.cnn4j.optim.LrSchedule;
import org.cnn4j.optim.Optimizer;
import org.cnn4j.optim.Schedule;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;

/**
 * The training loop: per batch, a {@link StepRunner} step (upload, forward, fused
 * softmax-cross-entropy, backward, optimizer update, all queued without waiting for the
 * device), the learning rate from the schedule, and the step's loss and correct count
 * summed once they come back. Listeners hear of a step one step late, when its two scalars
 * arrive; a non-finite loss stops training then, naming the step.
 *
 * <p>{@link #fit(Fit)} runs the whole loop: epochs, validation, callbacks (early stopping,
 * best checkpoint, learning rate on a plateau, metrics log), checkpoints and exact resume.
 * The learning rate of a step is the optimizer's base rate times the schedule's factor times
 * the plateau factor ({@link #setLrScale(double)}). A trainer, like its model and backend, is
 * driven by one thread.
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
    private final Optimizer optimizer;
    private final LrSchedule schedule;
    private final StepRunner runner;
    private long globalStep;
    private double lrScale = 1;
    private DataParallel dp;
    private long[][] shards;
    private float[] shardImages;
    private int[] shardLabels;

    /** Trains at the optimizer's learning rate throughout. */
    public Trainer(Sequential model, Optimizer optimizer) {
        this(model, optimizer, Schedule.constant());
    }

    /** Trains at the optimizer's learning rate times the schedule's factor. */
    public Trainer(Sequential model, Optimizer optimizer, Schedule schedule) {
        this(model, optimizer, schedule.times(optimizer.baseLearningRate()));
    }

    /** Trains at the rates of an absolute schedule (the optimizer's own rate is then unused). */
    public Trainer(Sequential model, Optimizer optimizer, LrSchedule schedule) {
        this.runner = new StepRunner(model, optimizer);
        this.model = model;
        this.optimizer = optimizer;
        this.schedule = schedule;
    }

    public Sequential model() {
        return model;
    }

    /**
     * Trains data-parallel over dp's group (null: alone). Rank 0's parameters and statistics
     * are copied to every rank now; from then on each rank trains on its shard of every batch
     * (a batch with fewer images than ranks is skipped by all), the optimizer steps are the same
     * on every rank, the reported totals are the group's, and rank 0's batch-norm statistics
     * are copied to every rank before each evaluation of {@link #fit(Fit)}, so that every rank
     * evaluates the same model and its callbacks decide alike. Every rank runs the same fit;
     * only rank 0 writes checkpoints (a resumed run reads the same checkpoint on every rank).
     * Callbacks run on every rank: give the ones that write files to rank 0 alone.
     */
    public Trainer setDataParallel(DataParallel dp) {
        if (dp != null) {
            dp.broadcastState();
        }
        this.dp = dp;
        runner.setDataParallel(dp);
        return this;
    }

    /** The data-parallel group this trainer trains in, or null when alone. */
    public DataParallel dataParallel() {
        return dp;
    }

    /**
     * Local shards ({@link DataParallel#localShards}): every rank's training-data seed and size,
     * gathered when a fit starts, so that a checkpoint records each rank's data and a resumed
     * rank checks its own (null otherwise).
     */
    long[][] shards() {
        return shards;
    }

    /** Whether this process writes the run's files (alone, or rank 0 of a group). */
    public boolean writes() {
        return dp == null || dp.rank() == 0;
    }

    public Optimizer optimizer() {
        return optimizer;
    }

    public long globalStep() {
        return globalStep;
    }

    /** Sets the step count of the run (the schedule's position), as a resumed run does. */
    public void setGlobalStep(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("the global step must be >= 0, got " + step);
        }
        this.globalStep = step;
    }

    /** The factor on the schedule's rate (1 unless a plateau callback lowered it). */
    public double lrScale() {
        return lrScale;
    }

    public void setLrScale(double s) {
        if (!(s > 0) || Double.isInfinite(s)) {
            throw new IllegalArgumentException("the learning-rate factor must be > 0, got " + s);
        }
        this.lrScale = s;
    }

    /** The learning rate of global step {@code step}. */
    public double learningRate(long step) {
        return schedule.lr(step) * lrScale;
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
        return runEpoch(loader, epoch, 0, new double[4], listener, null);
    }

    /** Trains for {@code epochs} epochs with validation after each and the callbacks; see {@link #fit(Fit)}. */
    public History fit(DataLoader train, DataLoader validation, int epochs, Callback... callbacks) {
        return fit(Fit.of(train).validation(validation).epochs(epochs).callbacks(callbacks));
    }

    /**
     * Runs a fit: from its checkpoint when it resumes one, epochs until the last or until a
     * callback stops it, each followed by validation (when given), the callbacks and, when due,
     * a checkpoint. The model takes the training data's normalisation and class names, so it
     * saves with them. Returns the history (a resumed run's includes the epochs before).
     *
     * @throws ArithmeticException when the training loss becomes NaN or infinite (naming the step)
     * @throws UncheckedIOException when a checkpoint cannot be written or read
     */
    public History fit(Fit fit) {
        fit.start(this);
        DataLoader train = fit.trainData();
        model.setNormalization(train.normalization());
        if (train.dataset().classNames() != null) {
            model.setClassNames(train.dataset().classNames());
        }
        int startEpoch = 0;
        int startBatch = 0;
        double[] sums = new double[4];
        shards = dp != null && dp.local()
                ? new long[][] {dp.gatherLongs(train.seed()), dp.gatherLongs(train.dataset().size())} : null;
        try {
            if (fit.resume() != null) {
                Checkpoint c = Checkpoint.read(fit.resume());
                c.restore(this, fit);
                startEpoch = c.epoch();
                startBatch = c.batch();
                sums = c.sums();
            }
            for (Callback cb : fit.callbacks()) {
                cb.onFitStart(fit);
            }
            for (int e = startEpoch; e < fit.epochs() && !fit.stopRequested(); e++) {
                fit.setEpoch(e);
                Result r = runEpoch(train, e, startBatch, sums, null, fit);
                startBatch = 0;
                if (dp != null && fit.validationData() != null) {
                    dp.broadcastState();
                }
                Result v = fit.validationData() != null ? evaluate(fit.validationData()) : null;
                EpochMetrics m = new EpochMetrics(e + 1, r.loss(), r.accuracy(), v != null ? v.loss() : Double.NaN,
                        v != null ? v.accuracy() : Double.NaN, v != null ? v.top5() : Double.NaN,
                        learningRate(globalStep - 1), r.imagesPerSecond(), r.seconds(), EpochMetrics.measureResidentBytes());
                fit.historyList().add(m);
                for (Callback cb : fit.callbacks()) {
                    cb.onEpochEnd(fit, m);
                }
                sums = new double[4];
                Fit.Every every = fit.every();
                if (fit.checkpointDir() != null && writes() && !every.steps() && (e + 1) % every.count() == 0) {
                    fit.setLastCheckpoint(Checkpoint.write(fit.checkpointDir(), this, fit, e + 1, 0, sums));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("checkpoint: " + e.getMessage(), e);
        }
        History h = new History(fit.history(), fit.stopReason());
        for (Callback cb : fit.callbacks()) {
            cb.onFitEnd(fit, h);
        }
        return h;
    }

    /**
     * One epoch from batch {@code startBatch}, adding to {@code sums} (loss sum, correct,
     * images, seconds: a resumed epoch's totals go on from its checkpoint). With a fit, steps
     * go to its callbacks and step checkpoints are written when due.
     */
    private Result runEpoch(DataLoader loader, int epoch, int startBatch, double[] sums, StepListener listener,
                            Fit fit) throws UncheckedIOException {
        long t0 = System.nanoTime();
        double before = sums[3];
        int steps = loader.batchesPerEpoch();
        long runnerBase = runner.queued() - startBatch;
        StepListener hear = listener;
        if (fit != null) {
            hear = (step, n, loss, images) -> {
                for (Callback cb : fit.callbacks()) {
                    cb.onStep(fit, step, n, loss, images);
                }
            };
        }
        // Data parallel, every rank drains at a step checkpoint (the totals are summed over the
        // group, in the same order on every rank); rank 0 alone writes it.
        Fit.Every every = fit != null && fit.checkpointDir() != null ? fit.every() : null;
        // Local shards: every rank takes as many steps as the rank with the fewest batches.
        int last = dp != null && dp.local() ? dp.agreeOnSteps(steps) : Integer.MAX_VALUE;
        try (DataLoader.Epoch it = loader.epoch(epoch, startBatch)) {
            int done = startBatch;
            while (it.hasNext() && done < last) {
                Batch b = it.next();
                double lr = learningRate(globalStep);
                // Data parallel, a batch of fewer images than ranks is skipped by every rank alike.
                boolean skip = dp != null && !dp.local() && b.size() < dp.size();
                StepRunner.Totals finished = null;
                try {
                    if (dp == null || dp.local()) {
                        finished = runner.queue(b.images(), b.labels(), b.size(), lr);
                    } else if (!skip) {
                        finished = queueShard(b, loader.dataset().sampleSize(), lr);
                    }
                } finally {
                    b.release();
                }
                if (skip) {
                    done++;
                    continue;
                }
                globalStep++;
                done++;
                report(finished, sums, epoch, runnerBase, steps, hear);
                if (every != null && every.steps() && globalStep % every.count() == 0) {
                    report(runner.drain(), sums, epoch, runnerBase, steps, hear);
                    sums[3] = before + (System.nanoTime() - t0) / 1e9;
                    try {
                        if (writes()) {
                            fit.setLastCheckpoint(Checkpoint.write(fit.checkpointDir(), this, fit, epoch, done, sums));
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException("checkpoint: " + e.getMessage(), e);
                    }
                }
            }
            report(runner.drain(), sums, epoch, runnerBase, steps, hear);
        }
        sums[3] = before + (System.nanoTime() - t0) / 1e9;
        int images = (int) sums[2];
        return new Result(images > 0 ? sums[0] / images : Double.NaN, images > 0 ? sums[1] / images : Double.NaN,
                images, sums[3]);
    }

    // This rank's rows of the batch, copied into arrays kept for the next steps.
    private StepRunner.Totals queueShard(Batch b, int per, double lr) {
        int n = b.size();
        int lo = dp.shardStart(n), hi = dp.shardEnd(n);
        if (shardImages == null || shardImages.length < (hi - lo) * per) {
            shardImages = new float[(hi - lo) * per];
            shardLabels = new int[hi - lo];
        }
        System.arraycopy(b.images(), lo * per, shardImages, 0, (hi - lo) * per);
        System.arraycopy(b.labels(), lo, shardLabels, 0, hi - lo);
        return runner.queue(shardImages, shardLabels, hi - lo, lr, n);
    }

    private void report(StepRunner.Totals t, double[] sums, int epoch, long runnerBase, int steps,
                        StepListener listener) {
        if (t == null) {
            return;
        }
        int stepInEpoch = (int) (t.step() - runnerBase) + 1;
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

    /** What {@link #forEachBatch} shows of each batch. */
    @FunctionalInterface
    public interface BatchVisitor {
        /**
         * @param logits the model's output for the batch (owned by the model, valid until the next batch)
         * @param labels the labels on the backend
         * @param y      the labels on the host (the first n)
         * @param first  the batch's first position in the loader's epoch order
         */
        void visit(Tensor logits, Tensor labels, int[] y, int n, int first);
    }

    /**
     * Runs {@code model} in inference mode over one pass of {@code loader} (epoch 0's order),
     * batch by batch; the input and label tensors are planned per batch size and freed at the
     * end, on error too.
     */
    public static void forEachBatch(Sequential model, DataLoader loader, BatchVisitor visitor) {
        Backend backend = model.backend();
        Tensor x = null, labels = null;
        int first = 0;
        try (DataLoader.Epoch it = loader.epoch(0)) {
            while (it.hasNext()) {
                Batch b = it.next();
                int n = b.size();
                Shape xs = model.inputShape().withBatch(n);
                if (x == null || !x.shape().equals(xs)) {
                    if (x != null) {
                        x.close();
                        labels.close();
                    }
                    x = backend.zeros(xs, model.dtype());
                    labels = backend.zeros(Shape.of(n), DType.INT32);
                }
                int[] y = java.util.Arrays.copyOf(b.labels(), n);
                try {
                    x.copyFrom(b.images(), x.numel());
                    labels.copyFrom(b.labels(), n);
                } finally {
                    b.release();
                }
                visitor.visit(model.forward(x, false), labels, y, n, first);
                first += n;
            }
        } finally {
            if (x != null) {
                x.close();
                labels.close();
            }
        }
    }

    /**
     * Loss, top-1 and (with at least 5 classes) top-5 accuracy of {@code model} over
     * {@code loader}, in inference mode (SPEC S4.4).
     */
    public static Result evaluate(Sequential model, DataLoader loader) {
        Backend backend = model.backend();
        long t0 = System.nanoTime();
        int classes = model.outputShape().dim(0);
        double[] sums = new double[4];  // loss sum, correct, top-5 correct, images
        Tensor[] top = new Tensor[1];
        try {
            forEachBatch(model, loader, (logits, labels, y, n, first) -> {
                LossResult r = backend.softmaxCrossEntropy(logits, labels, null);
                sums[0] += r.meanLoss() * n;
                sums[1] += r.correct();
                sums[3] += n;
                if (classes < 5) {
                    return;
                }
                if (top[0] == null || top[0].shape().dim(0) != n) {
                    if (top[0] != null) {
                        top[0].close();
                    }
                    top[0] = null;  // a failed allocation leaves nothing to close twice
                    top[0] = backend.zeros(Shape.of(n, 5), DType.INT32);
                }
                backend.topK(logits, 5, top[0]);
                int[] t = top[0].toIntArray();
                for (int i = 0; i < n; i++) {
                    for (int k = 0; k < 5; k++) {
                        if (t[i * 5 + k] == y[i]) {
                            sums[2]++;
                            break;
                        }
                    }
                }
            });
        } finally {
            if (top[0] != null) {
                top[0].close();
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        int images = (int) sums[3];
        return new Result(sums[0] / images, sums[1] / images, images, secs,
                classes >= 5 ? sums[2] / images : Double.NaN);
    }

    @Override
    public void close() {
        runner.close();
    }
}
