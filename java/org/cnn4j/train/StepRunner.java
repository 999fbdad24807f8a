package org.cnn4j.train;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.CudaBackend;
import org.cnn4j.backend.Fetch;
import org.cnn4j.backend.StepGraph;
import org.cnn4j.backend.Uploader;
import org.cnn4j.dist.DataParallel;
import org.cnn4j.nn.Sequential;
import org.cnn4j.optim.Optimizer;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;

/**
 * Training steps, queued without waiting for the device: upload of the batch, zero-grad,
 * forward, fused softmax-cross-entropy, backward, optimizer update. The batch goes up through
 * the backend's {@link Uploader} (on CUDA a page-locked copy on a second stream that overlaps
 * the step before it), and the step's two scalars (loss sum, correct count) come back
 * through a {@link Fetch} that is read only after the next step has been queued, so the
 * device is never left idle while the host reads. Tensors, uploaders and readers are planned
 * per batch size and reused: a steady-state step allocates nothing.
 *
 * <p>With graphs on (the default) and a {@linkplain Sequential#replayable() replayable}
 * model, the second step of each batch size records zero-grad, forward, loss and backward
 * with {@link Backend#record}; later steps of that size replay the recording (on CUDA, one
 * graph launch instead of a launch per kernel) and the optimizer update follows as usual.
 * If recording fails, steps go on without graphs and {@link #graphNote()} says why.
 */
public final class StepRunner implements AutoCloseable {

    /** What came back from one step: its batch size, loss sum and correct count. */
    public record Totals(long step, int n, double lossSum, double correct, double lr) {
        public double meanLoss() {
            return lossSum / n;
        }
    }

    /** The tensors, uploaders, readers and recording of one batch size. */
    private final class Plan implements AutoCloseable {
        final Tensor x, labels, dlogits, totals;
        final Uploader xUp, yUp;
        final Fetch[] fetch = new Fetch[2];
        int slot;
        int eagerSteps;
        StepGraph graph;

        Plan(int n) {
            List<AutoCloseable> made = new ArrayList<>();
            try {
                x = keep(made, backend.zeros(model.inputShape().withBatch(n), model.dtype()));
                labels = keep(made, backend.zeros(Shape.of(n), DType.INT32));
                dlogits = keep(made, backend.zeros(model.outputShape().withBatch(n), model.dtype()));
                totals = keep(made, backend.zeros(Shape.of(3), DType.FLOAT64));
                xUp = keep(made, backend.uploader(x));
                yUp = keep(made, backend.uploader(labels));
                fetch[0] = keep(made, backend.fetch(totals));
                fetch[1] = keep(made, backend.fetch(totals));
            } catch (RuntimeException | Error e) {
                closeAll(made, e);
                throw e;
            }
        }

        /** Zero-grad, forward, loss and backward of the uploaded batch: what a graph records. */
        void body() {
            optimizer.zeroGrad();
            Tensor logits = model.forward(x, true);
            backend.softmaxCrossEntropy(logits, labels, dlogits, totals);
            // data parallel in buckets: each layer's gradients start their sum as it is done
            model.backward(dlogits, dp != null && dp.overlapping() ? dp::layerDone : null);
        }

        void run() {
            if (graph != null) {
                graph.replay();
                return;
            }
            // The first step of a size runs as it is: it plans the layers' buffers, which must
            // exist before a recording refers to them.
            if (graphs && eagerSteps >= 1 && model.replayable()) {
                try {
                    graph = backend.record(this::body);
                } catch (IllegalStateException e) {
                    graphs = false;
                    graphNote = e.getMessage();
                    body();
                    return;
                }
                graph.replay();
                return;
            }
            body();
            eagerSteps++;
        }

        @Override
        public void close() {
            List<AutoCloseable> all = new ArrayList<>();
            all.add(graph);
            all.addAll(List.of(fetch[0], fetch[1], xUp, yUp, x, labels, dlogits, totals));
            closeAll(all, null);
        }
    }

    private record Pending(Fetch fetch, long step, int n, double lr) {
    }

    private final Sequential model;
    private final Optimizer optimizer;
    private final Backend backend;
    private final Map<Integer, Plan> planned = new HashMap<>();
    private DataParallel dp;
    private final double[] group = new double[4];  // data parallel: a step's totals summed over the group
    private boolean graphs = true;
    private String graphNote;
    private Pending pending;
    private long steps;

    public StepRunner(Sequential model, Optimizer optimizer) {
        if (model.backend() == null) {
            throw new IllegalArgumentException("initialize the model on a backend before training it");
        }
        this.model = model;
        this.optimizer = optimizer;
        this.backend = model.backend();
        model.setInputGradientRequired(false);
        if (!model.replayable()) {
            graphNote = "steps are not recorded: a layer takes new arguments every step (dropout's mask seed)";
        }
    }

    /**
     * Trains data-parallel (null: alone): each step's gradients are averaged over the group's
     * ranks before the optimizer update, and the step totals are the group's.
     */
    public StepRunner setDataParallel(DataParallel dp) {
        this.dp = dp;
        return this;
    }

    /** Turns recording and replaying on or off (default on); off drops the recordings made so far. */
    public StepRunner setGraphs(boolean on) {
        graphs = on;
        if (!on) {
            for (Plan p : planned.values()) {
                if (p.graph != null) {
                    p.graph.close();
                    p.graph = null;
                }
            }
        }
        return this;
    }

    /** Why steps are not replayed from a recording, or null when they are (or may be). */
    public String graphNote() {
        return graphNote;
    }

    /** Whether steps of batch size {@code n} are replayed from a device graph. */
    public boolean replaysDeviceGraph(int n) {
        Plan p = planned.get(n);
        return p != null && p.graph != null && p.graph.isDeviceGraph();
    }

    /**
     * Queues one training step on the first {@code n} images (model input layout) and labels,
     * with learning rate {@code lr}; the arrays may be reused as soon as this returns. Returns
     * the totals of the step queued before this one, or null for the first.
     *
     * @throws IllegalArgumentException when the step before had a label outside the classes
     */
    public Totals queue(float[] images, int[] labels, int n, double lr) {
        return queue(images, labels, n, lr, n);
    }

    /**
     * A step on this rank's shard of {@code n} images of a global batch of {@code total} (data
     * parallel; alone, total is n): the gradients become the global batch's mean.
     */
    public Totals queue(float[] images, int[] labels, int n, double lr, int total) {
        if (n < 1 || labels.length < n) {
            throw new IllegalArgumentException("a step needs 1 or more labelled images, got n=" + n + " and "
                    + labels.length + " labels");
        }
        Plan p = plan(n);
        p.xUp.upload(images, p.x.numel());
        p.yUp.upload(labels, n);
        optimizer.setLearningRate(lr);
        if (dp != null && dp.overlapping()) {
            if (graphs && backend instanceof CudaBackend) {
                // a device recording cannot hand gradients to the host halfway through
                setGraphs(false);
                graphNote = "steps are not recorded: the gradients' buckets are summed during the backward pass";
            }
            dp.beginStep(n, total);
            try {
                p.run();
            } catch (RuntimeException | Error e) {
                dp.abandonStep();
                throw e;
            }
            dp.finishStep();
        } else {
            p.run();
            if (dp != null && dp.local()) {
                dp.averageGradients(n);
            } else if (dp != null) {
                dp.averageGradients(n, total);
            }
        }
        optimizer.step();
        Fetch f = p.fetch[p.slot];
        p.slot ^= 1;
        f.start();
        Pending before = pending;
        pending = new Pending(f, steps++, n, lr);
        return before == null ? null : read(before);
    }

    /** The number of steps queued so far by this runner. */
    public long queued() {
        return steps;
    }

    /** Waits for the last queued step and returns its totals (null if none is outstanding). */
    public Totals drain() {
        Pending before = pending;
        pending = null;
        return before == null ? null : read(before);
    }

    private Totals read(Pending s) {
        double[] t = s.fetch().await();
        int n = s.n();
        double bad = t[2];
        if (dp != null) {
            // The group's totals; a bad label on any rank stops every rank.
            double[] g = group;
            g[0] = t[0];
            g[1] = t[1];
            g[2] = n;
            g[3] = bad >= 0 ? 1 : 0;
            dp.sum(g);
            t[0] = g[0];
            t[1] = g[1];
            n = (int) Math.round(g[2]);
            if (g[3] > 0 && bad < 0) {
                throw new IllegalArgumentException("a label of training step " + (s.step() + 1) + " on another rank is "
                        + "outside [0, " + model.outputShape().dim(0) + ")");
            }
        }
        if (bad >= 0) {
            throw new IllegalArgumentException("label at row " + (long) bad + " of training step " + (s.step() + 1)
                    + (dp != null ? " (rank " + dp.rank() + "'s shard)" : "") + " is outside [0, "
                    + model.outputShape().dim(0) + ")");
        }
        return new Totals(s.step(), n, t[0], t[1], s.lr());
    }

    private Plan plan(int n) {
        Plan p = planned.get(n);
        if (p == null) {
            p = new Plan(n);
            planned.put(n, p);
        }
        return p;
    }

    @Override
    public void close() {
        pending = null;
        List<AutoCloseable> all = new ArrayList<>(planned.values());
        planned.clear();
        closeAll(all, null);
    }

    private static <T extends AutoCloseable> T keep(List<AutoCloseable> made, T t) {
        made.add(t);
        return t;
    }

    /** Closes every non-null item, in order, even when one fails; rethrows the first failure. */
    private static void closeAll(List<AutoCloseable> items, Throwable primary) {
        RuntimeException first = null;
        for (AutoCloseable c : items) {
            if (c == null) {
                continue;
            }
            try {
                c.close();
            } catch (Exception e) {
                if (primary != null) {
                    primary.addSuppressed(e);
                } else if (first == null) {
                    first = e instanceof RuntimeException r ? r : new IllegalStateException(e);
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
