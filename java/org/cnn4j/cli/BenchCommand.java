package org.cnn4j.cli;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.Backends;
import org.cnn4j.nn.Models;
import org.cnn4j.nn.Sequential;
import org.cnn4j.train.StepRunner;
import org.cnn4j.optim.Adam;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code cnn4j bench}: training-step throughput on synthetic data, with the training loop's own
 * steps (the batch uploaded every step, forward, fused loss, backward, Adam update, the loss
 * read a step late, recorded steps replayed), repeated, median reported. Reading and
 * decoding data are not included; the {@code train_images_per_s} of {@code train} includes
 * them. With {@code --ops}, the kernels one by one ({@link OpBench}).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure training steps per second on synthetic data; the last line is 'result: ...'.")
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--model", defaultValue = "lenet5", description = "Zoo model (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--batch", defaultValue = "64", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Mixin
    ModelShapeOptions shape;

    @Option(names = "--backend", description = "Backends to compare, comma-separated (default: $CNN4J_BACKEND or auto).")
    String backends;

    @Option(names = "--threads", defaultValue = "0", description = "Compute threads (default: one per processor).")
    int threads;

    @Option(names = "--steps", defaultValue = "100", description = "Steps per repeat (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--warmup", defaultValue = "50", description = "Warm-up steps before timing (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--repeats", defaultValue = "5", description = "Timed repeats; the median is reported (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--graphs", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Record the training step once and replay it (a CUDA graph on the GPU; default: on).")
    boolean graphs;

    @Option(names = "--ops", description = "Time the kernels one by one instead of training steps: every "
            + "convolution of the model (TFLOP/s) and the memory-bound kernels (GB/s), one JSON line each.")
    boolean ops;

    @Option(names = "--precision", description = "cuda: fp32 or tf32 for float32 convolutions and matmuls (default: fp32).")
    String precision;

    @Option(names = "--allreduce", description = "Time Gloo's all-reduce between --ranks ranks on loopback for arrays of "
            + "64 KiB to 64 MiB, against a plain socket copy (2 ranks); one JSON line per size.")
    boolean allreduce;

    @Option(names = "--ranks", defaultValue = "2", description = "--allreduce: ranks (default: ${DEFAULT-VALUE}).")
    int ranks;

    @Override
    public Integer call() throws Exception {
        if (batch < 1 || steps < 1 || repeats < 1 || warmup < 0) {
            throw new IllegalArgumentException("--batch, --steps and --repeats must be >= 1, --warmup >= 0");
        }
        if (allreduce) {
            if (ranks < 2 || ranks > 64) {
                throw new IllegalArgumentException("--ranks must be in [2, 64], got " + ranks);
            }
            CommBench.run(ranks, repeats);
            return 0;
        }
        String names = backends != null ? backends : Backends.defaultName();
        StringBuilder result = new StringBuilder("result: bench=train_step model=" + model + " batch=" + batch);
        if (precision != null) {
            result.append(" precision=").append(BackendOptions.applyPrecision(precision, names));
        }
        for (String name : names.split(",")) {
            Backends.Choice choice = Backends.create(name.trim(), threads);
            try (Backend be = choice.backend()) {
                if (ops) {
                    try (Sequential m = net()) {
                        new OpBench(be, repeats).run(m, batch);
                    }
                    continue;
                }
                double[] rates = measure(be);
                double median = median(rates);
                System.out.printf("%s (%s): images/s per repeat %s, median %.0f%n", be.name(), be.description(),
                        Arrays.toString(Arrays.stream(rates).map(Math::rint).toArray()), median);
                result.append(' ').append(be.name()).append("_images_per_s=").append(Math.round(median));
            }
        }
        if (!ops) {
            System.out.println(result);
        }
        return 0;
    }

    private double[] measure(Backend be) {
        try (Sequential m = net().initialize(be, 1);
             Adam opt = new Adam(m.parameters(), 1e-3);
             StepRunner runner = new StepRunner(m, opt).setGraphs(graphs)) {
            SplittableRandom rng = new SplittableRandom(7);
            float[] xs = new float[m.inputShape().withBatch(batch).numel()];
            for (int i = 0; i < xs.length; i++) {
                xs[i] = (float) (rng.nextDouble() * 2 - 1);
            }
            int[] ys = new int[batch];
            int classes = m.outputShape().dim(0);
            for (int i = 0; i < batch; i++) {
                ys[i] = rng.nextInt(classes);
            }
            // The training loop's own steps: the batch uploaded every step, the loss read a
            // step late, a recorded step replayed where the backend records.
            for (int i = 0; i < warmup; i++) {
                runner.queue(xs, ys, batch, 1e-3);
            }
            runner.drain();
            if (runner.graphNote() != null) {
                System.out.println(be.name() + ": " + runner.graphNote());
            }
            double[] rates = new double[repeats];
            for (int r = 0; r < repeats; r++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < steps; i++) {
                    runner.queue(xs, ys, batch, 1e-3);
                }
                runner.drain();
                rates[r] = (double) steps * batch / ((System.nanoTime() - t0) / 1e9);
            }
            return rates;
        }
    }

    private Sequential net() {
        return shape.build(model);
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
