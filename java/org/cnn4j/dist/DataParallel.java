package org.cnn4j.dist;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.cnn4j.backend.Backend;
import org.cnn4j.nn.Layer;
import org.cnn4j.nn.Parameter;
import org.cnn4j.nn.Sequential;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Tensor;

/**
 * Data-parallel training of one model over a {@link Collective} group, as PyTorch's
 * DistributedDataParallel does it:
 * <ul>
 *   <li>every rank holds the whole model; rank 0's parameters and batch-norm statistics are
 *       copied to the others when training starts ({@link #broadcastState()});</li>
 *   <li>each rank takes its shard of every global batch ({@link #shardStart}, {@link #shardEnd}):
 *       rows [n r / size, n (r + 1) / size);</li>
 *   <li>after the backward pass the gradients are summed across the ranks, each rank's
 *       weighted by its share of the batch, so that every rank holds the gradient of the mean
 *       loss over the global batch ({@link #averageGradients}); the optimizer steps then stay
 *       identical on every rank;</li>
 *   <li>batch norm normalises with each rank's own batch statistics and updates each rank's
 *       running statistics from them, as DDP does without SyncBatchNorm; rank 0's running
 *       statistics are the model's (DDP's {@code broadcast_buffers}): {@link #broadcastState()}
 *       copies them to every rank before an evaluation.</li>
 * </ul>
 * The gradients go through one host buffer of all of them: one all-reduce per step after the
 * backward pass, or ({@link #overlap}) one per bucket of about a given size, each started as
 * soon as the backward pass has made its gradients, on a thread of the group's own, while the
 * layers before go on (DDP's gradient buckets, last layers first). Driven by the thread that
 * trains, like the model; the group is used by one thread at a time (the bucket thread while a
 * step's buckets are in flight).
 * On GPUs with an {@link NcclCollective} on the model's backend, the gradients are summed
 * where they lie, in one grouped call after the backward pass.
 */
public final class DataParallel {

    private final Collective group;
    private final NcclCollective gpus;  // the group when its ranks' GPUs sum the gradients where they lie
    private final Sequential model;
    private final boolean local;
    private final List<Tensor> grads = new ArrayList<>();
    private final float[][] host;
    private final float[] bucket;
    private float[] small = new float[4];  // sum(): reused, so that a step allocates nothing
    private final int[] offsets;  // each gradient's place in the bucket, then the gradients' end
    private final int[] layerOf;  // each gradient's layer (index in the model's layers)
    // Overlap (0 buckets: off): bucket b is gradients [lo[b], hi[b]), started once layer
    // readyAt[b] is done; buckets in start order, last layers first.
    private int[] lo = new int[0];
    private int[] hi = new int[0];
    private int[] readyAt = new int[0];
    private ExecutorService bucketThread;
    private final List<Future<?>> inFlight = new ArrayList<>();
    private int nextBucket = -1;  // the next bucket to start; -1: no step open
    private float stepWeight;

    /**
     * Data-parallel training of {@code model} (initialised on its backend) over {@code group},
     * every rank reading the same global batches and taking its shard of each.
     */
    public DataParallel(Collective group, Sequential model) {
        this(group, model, false);
    }

    /**
     * Data-parallel training where every rank reads data of its own (a partition of a data set,
     * as a Spark task has): each rank's batches are its share of the step, the gradients are
     * weighted by the ranks' batch sizes, and an epoch has as many steps as the rank with the
     * fewest batches ({@link #agreeOnSteps}); the others' remaining batches are left out.
     */
    public static DataParallel localShards(Collective group, Sequential model) {
        return new DataParallel(group, model, true);
    }

    private DataParallel(Collective group, Sequential model, boolean local) {
        this.local = local;
        if (model.backend() == null) {
            throw new IllegalArgumentException("initialize the model on a backend before training it data-parallel");
        }
        this.group = group;
        this.gpus = group instanceof NcclCollective n && n.backend() == model.backend() ? n : null;
        this.model = model;
        long total = 0;
        for (Parameter p : model.parameters()) {
            grads.add(p.grad());
            total += p.grad().numel();
        }
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("a model of " + total + " parameters is too large for one gradient buffer");
        }
        host = new float[grads.size()][];
        offsets = new int[grads.size() + 1];
        for (int i = 0; i < host.length; i++) {
            host[i] = new float[grads.get(i).numel()];
            offsets[i + 1] = offsets[i] + host[i].length;
        }
        layerOf = new int[grads.size()];
        List<Layer> layers = model.layers();
        for (int l = 0, i = 0; l < layers.size(); l++) {
            for (int k = 0; k < layers.get(l).parameters().size(); k++) {
                layerOf[i++] = l;
            }
        }
        bucket = new float[(int) total + 1];  // + the rank's batch size (local shards)
    }

    /**
     * Sums the gradients in buckets of about {@code bucketBytes} during the backward pass (0:
     * one all-reduce after it, the default): a bucket's all-reduce starts, on a thread of the
     * group's own, as soon as the layers that hold its gradients are done, last layers first,
     * while the backward pass goes on (where the sums take as long as the backward pass, they
     * then cost little more than the last bucket's). Every rank must choose the same size. The
     * sums differ from one all-reduce's in rounding only (the same ranks added per element,
     * in another order); a run is reproducible with the same size. Not with NCCL (its sums
     * follow the backward pass on the device's stream).
     */
    public DataParallel overlap(long bucketBytes) {
        if (bucketBytes < 0) {
            throw new IllegalArgumentException("a bucket of " + bucketBytes + " bytes");
        }
        if (nextBucket >= 0) {
            throw new IllegalStateException("the bucket size changes between steps only");
        }
        if (bucketBytes == 0 || gpus != null) {
            lo = hi = readyAt = new int[0];
            return this;
        }
        long cap = Math.max(1, bucketBytes / Float.BYTES);
        List<int[]> made = new ArrayList<>();
        int end = grads.size();
        while (end > 0) {
            int start = end - 1;
            long floats = host[start].length;
            while (start > 0 && floats + host[start - 1].length <= cap) {
                floats += host[--start].length;
            }
            made.add(new int[] {start, end, layerOf[start]});
            end = start;
        }
        lo = new int[made.size()];
        hi = new int[made.size()];
        readyAt = new int[made.size()];
        for (int b = 0; b < made.size(); b++) {
            lo[b] = made.get(b)[0];
            hi[b] = made.get(b)[1];
            readyAt[b] = made.get(b)[2];
        }
        return this;
    }

    /** Whether the gradients are summed in buckets during the backward pass ({@link #overlap}). */
    public boolean overlapping() {
        return lo.length > 0;
    }

    /** The buckets' sizes in floats, in the order they start (overlap on), else empty. */
    public int[] bucketSizes() {
        int[] sizes = new int[lo.length];
        for (int b = 0; b < lo.length; b++) {
            sizes[b] = offsets[hi[b]] - offsets[lo[b]];
        }
        return sizes;
    }

    /**
     * Overlap on: opens a step, before its backward pass, whose gradients (each a mean over
     * this rank's {@code shard} images) become the global batch of {@code total}'s mean
     * ({@link #averageGradients(int, int)}); local shards: {@code shard} is the rank's batch
     * and {@code total} is ignored ({@link #averageGradients(int)}). Then {@link #layerDone}
     * for each layer as the backward pass finishes it, and {@link #finishStep()}.
     */
    public void beginStep(int shard, int total) {
        if (!overlapping()) {
            throw new IllegalStateException("no buckets: call overlap first");
        }
        if (nextBucket >= 0) {
            throw new IllegalStateException("a step is already open");
        }
        if (local ? shard < 1 : shard < 0 || total < 1 || shard > total) {
            throw new IllegalArgumentException("a shard of " + shard + " images of a batch of " + total);
        }
        stepWeight = local ? shard : (float) ((double) shard / total);
        nextBucket = 0;
    }

    /** The backward pass has finished layer {@code layer}: starts the buckets it completes. */
    public void layerDone(int layer) {
        while (nextBucket >= 0 && nextBucket < lo.length && readyAt[nextBucket] >= layer) {
            start(nextBucket++);
        }
    }

    /** Waits for the step's buckets (starting any not started) and puts the sums in the gradients. */
    public void finishStep() {
        if (nextBucket < 0) {
            throw new IllegalStateException("no step is open");
        }
        try {
            while (nextBucket < lo.length) {
                start(nextBucket++);
            }
            for (Future<?> f : inFlight) {
                f.get();
            }
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new CollectiveException(e.getCause().toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CollectiveException("interrupted while the gradients were summed");
        } finally {
            abandonStep();
        }
        int n = bucket.length - 1;
        scatter(local ? (float) (1.0 / bucket[n]) : 1f);
    }

    /**
     * Closes an open step without using its sums (its backward pass failed): waits for the
     * buckets in flight, whatever became of them, so that the group is free again.
     */
    public void abandonStep() {
        for (Future<?> f : inFlight) {
            try {
                f.get();
            } catch (ExecutionException e) {
                // the step is given up: its caller reports its own failure
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        inFlight.clear();
        nextBucket = -1;
    }

    // Bucket b's gradients times the step's weight into its part of the host buffer, then its
    // all-reduce on the bucket thread (with local shards, the last bucket's is followed by the
    // sum of the ranks' batch sizes, the buffer's last float).
    private void start(int b) {
        gather(lo[b], hi[b], stepWeight);
        int from = offsets[lo[b]];
        int to = offsets[hi[b]];
        boolean count = lo[b] == 0 && local;
        if (count) {
            bucket[bucket.length - 1] = stepWeight;
        }
        if (bucketThread == null) {
            // one thread, in submission order (the ranks' all-reduces must match), gone when idle
            bucketThread = new ThreadPoolExecutor(0, 1, 10, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
                Thread t = new Thread(r, "cnn4j-gradient-buckets");
                t.setDaemon(true);
                return t;
            });
        }
        int length = to - from;
        inFlight.add(bucketThread.submit(() -> {
            group.allReduceSum(bucket, from, length);
            if (count) {
                group.allReduceSum(bucket, bucket.length - 1, 1);
            }
        }));
    }

    /** Whether every rank reads data of its own ({@link #localShards}). */
    public boolean local() {
        return local;
    }

    /** The number of steps every rank takes in an epoch: the fewest batches any rank has. */
    public int agreeOnSteps(int batches) {
        float[] counts = new float[group.size()];
        counts[group.rank()] = batches;
        group.allReduceSum(counts, 0, counts.length);
        int min = batches;
        for (float c : counts) {
            min = Math.min(min, (int) c);
        }
        return min;
    }

    public Collective group() {
        return group;
    }

    public int rank() {
        return group.rank();
    }

    public int size() {
        return group.size();
    }

    /** The first row of this rank's shard of a global batch of {@code n}. */
    public int shardStart(int n) {
        return (int) ((long) n * group.rank() / group.size());
    }

    /** One past the last row of this rank's shard of a global batch of {@code n}. */
    public int shardEnd(int n) {
        return (int) ((long) n * (group.rank() + 1) / group.size());
    }

    /** Rank 0's parameters and persistent state (batch norm's running statistics) on every rank. */
    public void broadcastState() {
        for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
            if (e.getValue().dtype() != DType.FLOAT32) {
                throw new IllegalArgumentException("data-parallel training needs float32 state; " + e.getKey() + " is "
                        + e.getValue().dtype());
            }
        }
        if (gpus != null) {
            gpus.broadcast(List.copyOf(model.stateDict().values()), 0);
            return;
        }
        for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
            Tensor t = e.getValue();
            float[] v = new float[t.numel()];
            t.readInto(v);
            group.broadcast(v, 0, v.length, 0);
            t.copyFrom(v);
        }
    }

    /**
     * Replaces every rank's gradients (each a mean over its {@code shard} images) by the mean
     * over the global batch of {@code total} images: the sum over the ranks of shard / total
     * times their gradient.
     */
    public void averageGradients(int shard, int total) {
        if (shard < 0 || total < 1 || shard > total) {
            throw new IllegalArgumentException("a shard of " + shard + " images of a batch of " + total);
        }
        if (gpus != null) {
            onDevice((double) shard / total, 1);
            return;
        }
        int n = host.length;
        gather(0, n, (float) ((double) shard / total));
        group.allReduceSum(bucket, 0, offsets[n]);
        scatter(1f);
    }

    /**
     * Local shards: replaces every rank's gradient (a mean over its batch of {@code images}) by
     * the mean over all the ranks' images of the step: the sum of images x gradient over the
     * ranks, over the sum of images (summed in the same all-reduce).
     */
    public void averageGradients(int images) {
        if (images < 1) {
            throw new IllegalArgumentException("a step needs 1 or more images, got " + images);
        }
        if (gpus != null) {
            float[] count = {images};
            group.allReduceSum(count, 0, 1);
            onDevice(images, 1.0 / count[0]);
            return;
        }
        int n = offsets[host.length];
        gather(0, host.length, images);
        bucket[n] = images;
        group.allReduceSum(bucket, 0, n + 1);
        scatter((float) (1.0 / bucket[n]));
    }

    // On the GPUs (NCCL): every gradient times w, summed over the ranks where it lies, times after.
    private void onDevice(double w, double after) {
        Backend be = model.backend();
        if (w != 1) {
            for (Tensor g : grads) {
                be.scale(g, w);
            }
        }
        gpus.allReduceSum(grads);
        if (after != 1) {
            for (Tensor g : grads) {
                be.scale(g, after);
            }
        }
    }

    // Gradients [from, to) times w into their places in the bucket.
    private void gather(int from, int to, float w) {
        for (int i = from; i < to; i++) {
            float[] h = host[i];
            grads.get(i).readInto(h);
            int off = offsets[i];
            for (int k = 0; k < h.length; k++) {
                bucket[off + k] = h[k] * w;
            }
        }
    }

    // The bucket times w back into the gradients.
    private void scatter(float w) {
        for (int i = 0; i < host.length; i++) {
            float[] h = host[i];
            int off = offsets[i];
            for (int k = 0; k < h.length; k++) {
                h[k] = bucket[off + k] * w;
            }
            grads.get(i).copyFrom(h);
        }
    }

    /**
     * Every rank's {@code value}, indexed by rank (collective; exact for any long: each travels
     * as four 16-bit pieces, which float sums hold exactly).
     */
    public long[] gatherLongs(long value) {
        int n = group.size();
        float[] f = new float[4 * n];
        for (int i = 0; i < 4; i++) {
            f[4 * group.rank() + i] = (value >>> (16 * i)) & 0xffff;
        }
        group.allReduceSum(f, 0, f.length);
        long[] out = new long[n];
        for (int r = 0; r < n; r++) {
            for (int i = 0; i < 4; i++) {
                out[r] |= ((long) f[4 * r + i]) << (16 * i);
            }
        }
        return out;
    }

    /** Sums {@code values} across the ranks (in float: step totals for reporting). */
    public void sum(double[] values) {
        if (small.length < values.length) {
            small = new float[values.length];
        }
        float[] f = small;
        for (int i = 0; i < values.length; i++) {
            f[i] = (float) values[i];
        }
        group.allReduceSum(f, 0, values.length);
        for (int i = 0; i < values.length; i++) {
            values[i] = f[i];
        }
    }
}
