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
 * The training loop: per batch, copy the batch into the model's input tensors, forward,
 * fused softmax-cross-entropy (loss and dlogits in one op), backward, optimizer step. Only
 * two scalars (mean loss, correct count) come back per step. Input, label and gradient
 * tensors are planned per batch shape and reused.
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
    private final Backend backend;
    private Tensor x, labels, dlogits;
    /** Input, label and dlogits tensors per batch size: planned once, reused every epoch. */
    private final java.util.Map<Integer, Tensor[]> planned = new java.util.HashMap<>();
    private long globalStep;

    public Trainer(Sequential model, Optimizer optimizer, LrSchedule schedule) {
        if (model.backend() == null) {
            throw new IllegalArgumentException("initialize the model on a backend before training it");
        }
        this.model = model;
        this.optimizer = optimizer;
        this.schedule = schedule;
        this.backend = model.backend();
        model.setInputGradientRequired(false);
    }

    public long globalStep() {
        return globalStep;
    }

    private void ensureBuffers(int n) {
        Tensor[] t = planned.computeIfAbsent(n, k -> new Tensor[] {
            backend.zeros(model.inputShape().withBatch(k), model.dtype()),
            backend.zeros(Shape.of(k), DType.INT32),
            backend.zeros(model.outputShape().withBatch(k), model.dtype())});
        x = t[0];
        labels = t[1];
        dlogits = t[2];
    }

    private void load(Batch b) {
        ensureBuffers(b.size());
        x.copyFrom(b.images(), x.numel());
        labels.copyFrom(b.labels(), b.size());
    }

    /** One epoch of training (epoch counts from 0 and selects the shuffle order). */
    public Result trainEpoch(DataLoader loader, int epoch, StepListener listener) {
        long t0 = System.nanoTime();
        double lossSum = 0;
        long correct = 0;
        int images = 0;
        int steps = loader.batchesPerEpoch();
        int step = 0;
        try (DataLoader.Epoch it = loader.epoch(epoch)) {
            while (it.hasNext()) {
                Batch b = it.next();
                int n = b.size();
                try {
                    load(b);
                } finally {
                    b.release();
                }
                optimizer.setLearningRate(schedule.lr(globalStep));
                optimizer.zeroGrad();
                Tensor logits = model.forward(x, true);
                LossResult r = backend.softmaxCrossEntropy(logits, labels, dlogits);
                if (!Double.isFinite(r.meanLoss())) {
                    throw new ArithmeticException("the training loss became " + r.meanLoss() + " at epoch "
                            + (epoch + 1) + ", step " + (step + 1) + " (learning rate " + optimizer.learningRate()
                            + "): lower the learning rate");
                }
                model.backward(dlogits);
                optimizer.step();
                globalStep++;
                step++;
                lossSum += r.meanLoss() * n;
                correct += r.correct();
                images += n;
                if (listener != null) {
                    listener.onStep(step, steps, r.meanLoss(), images);
                }
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        return new Result(lossSum / images, (double) correct / images, images, secs);
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

    private void closeBuffers() {
        for (Tensor[] t : planned.values()) {
            for (Tensor u : t) {
                u.close();
            }
        }
        planned.clear();
        x = labels = dlogits = null;
    }

    @Override
    public void close() {
        closeBuffers();
    }
}
