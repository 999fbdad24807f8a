package org.cnn4j.cli;

import com.google.gson.Gson;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.LongSupplier;
import org.cnn4j.backend.Activation;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.CudaBackend;
import org.cnn4j.nn.Conv2d;
import org.cnn4j.nn.Layer;
import org.cnn4j.nn.Sequential;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.tensor.Window2d;

/**
 * {@code cnn4j bench --ops}: the kernels one by one, on one backend. Every distinct
 * convolution of a model at a batch size, forward, backward-data and backward-filter, in
 * TFLOP/s (2 x multiply-adds); and the memory-bound kernels (ReLU forward and backward, add,
 * 2x2 max pooling, the Adam update) on the model's largest activation, in GB/s of the bytes
 * they must read and write, beside a device-to-device copy of the same tensor. One JSON object per line (the PyTorch race reads
 * them and times PyTorch on the same shapes); each figure is the median of the repeats.
 */
final class OpBench {
    private final Backend be;
    private final int repeats;
    private final Gson gson = new Gson();
    private final SplittableRandom rng = new SplittableRandom(11);

    OpBench(Backend be, int repeats) {
        this.be = be;
        this.repeats = repeats;
    }

    /** A convolution shape: per-sample input, filters, window, groups. */
    private record Conv(Shape in, int k, Window2d win, int groups) {
    }

    private static void collect(List<Layer> layers, Set<Conv> out) {
        for (Layer l : layers) {
            if (l instanceof Conv2d c) {
                out.add(new Conv(c.inputShape(), c.outputShape().dim(0), c.window(), c.groups()));
            }
            collect(l.children(), out);
        }
    }

    void run(Sequential model, int batch) {
        Set<Conv> convs = new LinkedHashSet<>();
        collect(model.layers(), convs);
        for (Conv c : convs) {
            conv(c, batch);
        }
        // the memory-bound kernels on the model's largest image-shaped activation
        Shape largest = Shape.of(1, 2, 2);
        for (Layer l : model.layers()) {
            Shape o = l.outputShape();
            if (o.rank() == 3 && o.dim(1) >= 2 && o.dim(2) >= 2 && o.numel() > largest.numel()) {
                largest = o;
            }
        }
        memoryBound(largest.withBatch(batch));
    }

    private Tensor random(Shape s) {
        float[] v = new float[s.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        return be.fromArray(s, v);
    }

    private void conv(Conv c, int batch) {
        Shape xs = c.in().withBatch(batch);
        Window2d w = c.win();
        int oh = w.outH(c.in().dim(1)), ow = w.outW(c.in().dim(2));
        Shape ws = Shape.of(c.k(), c.in().dim(0) / c.groups(), w.kernelH(), w.kernelW());
        Shape ys = Shape.of(batch, c.k(), oh, ow);
        double flops = 2.0 * batch * c.k() * oh * ow * ws.dim(1) * w.kernelH() * w.kernelW();
        try (Tensor x = random(xs); Tensor wt = random(ws); Tensor bias = random(Shape.of(c.k()));
             Tensor y = be.zeros(ys); Tensor dy = random(ys); Tensor dx = be.zeros(xs); Tensor dw = be.zeros(ws)) {
            Map<String, Object> shape = new LinkedHashMap<>();
            shape.put("n", batch);
            shape.put("c", c.in().dim(0));
            shape.put("h", c.in().dim(1));
            shape.put("w", c.in().dim(2));
            shape.put("k", c.k());
            shape.put("kh", w.kernelH());
            shape.put("kw", w.kernelW());
            shape.put("sh", w.strideH());
            shape.put("sw", w.strideW());
            shape.put("ph", w.padTop());
            shape.put("pw", w.padLeft());
            shape.put("dh", w.dilationH());
            shape.put("dw", w.dilationW());
            shape.put("groups", c.groups());
            report("conv_forward", shape, "tflops",
                    flops / 1e12 / seconds(() -> be.conv2dForward(x, wt, bias, y, w, c.groups())));
            report("conv_backward_data", shape, "tflops",
                    flops / 1e12 / seconds(() -> be.conv2dBackwardData(dy, wt, dx, w, c.groups())));
            report("conv_backward_filter", shape, "tflops",
                    flops / 1e12 / seconds(() -> be.conv2dBackwardFilter(x, dy, dw, null, w, c.groups())));
        }
    }

    private void memoryBound(Shape s) {
        Window2d pool = Window2d.square(2, 2, 0);
        Shape ps = Shape.of(s.dim(0), s.dim(1), pool.outH(s.dim(2)), pool.outW(s.dim(3)));
        Map<String, Object> shape = new LinkedHashMap<>();
        shape.put("shape", new int[] {s.dim(0), s.dim(1), s.dim(2), s.dim(3)});
        try (Tensor a = random(s); Tensor b = random(s); Tensor c = be.zeros(s); Tensor d = be.zeros(s);
             Tensor p = be.zeros(ps); Tensor idx = be.zeros(ps, DType.INT32);
             Tensor m = be.zeros(s); Tensor v = be.zeros(s)) {
            double bytes = 4.0 * s.numel();
            double poolBytes = bytes + 8.0 * ps.numel();  // reads x, writes y and the arg-max
            report("copy", shape, "gbps", 2 * bytes / 1e9
                    / seconds(() -> be.copyChannels(a, 0, c, 0, s.dim(1))));
            report("relu_forward", shape, "gbps", 2 * bytes / 1e9
                    / seconds(() -> be.activationForward(Activation.RELU, 0, a, c)));
            report("relu_backward", shape, "gbps", 3 * bytes / 1e9
                    / seconds(() -> be.activationBackward(Activation.RELU, 0, a, c, b, d)));
            report("add", shape, "gbps", 3 * bytes / 1e9 / seconds(() -> be.add(a, b, c)));
            report("max_pool_forward", shape, "gbps", poolBytes / 1e9
                    / seconds(() -> be.maxPool2dForward(a, p, idx, pool)));
            long[] step = {0};
            // reads param, grad, m, v and writes param, m, v
            report("adam_update", shape, "gbps", 7 * bytes / 1e9 / seconds(() -> be.adamUpdate(c, b, m, v, 1e-9,
                    0.9, 0.999, 1e-8, 0, false, ++step[0])));
        }
    }

    private void report(String op, Map<String, Object> shape, String unit, double value) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("backend", be.name());
        line.put("op", op);
        line.putAll(shape);
        line.put(unit, Math.round(value * 1000) / 1000.0);
        System.out.println(gson.toJson(line));
    }

    private void sync() {
        if (be instanceof CudaBackend gpu) {
            gpu.synchronize();
        }
    }

    /**
     * Median seconds per call over the repeats, each repeat long enough to time (>= 20 ms),
     * after a warm-up of at least 3 calls and 150 ms (the JIT compiles the backend's code in
     * the first ops of a process, on the same cores).
     */
    private double seconds(Runnable op) {
        LongSupplier now = System::nanoTime;
        long warm = now.getAsLong();
        for (int i = 0; i < 3 || now.getAsLong() - warm < 150_000_000L; i++) {
            op.run();
            sync();
        }
        long t0 = now.getAsLong();
        op.run();
        sync();
        double one = Math.max(1e-7, (now.getAsLong() - t0) / 1e9);
        int calls = (int) Math.max(1, Math.min(1000, 0.02 / one));
        double[] per = new double[repeats];
        for (int r = 0; r < repeats; r++) {
            long s = now.getAsLong();
            for (int i = 0; i < calls; i++) {
                op.run();
            }
            sync();
            per[r] = (now.getAsLong() - s) / 1e9 / calls;
        }
        Arrays.sort(per);
        return per[repeats / 2];
    }

}
