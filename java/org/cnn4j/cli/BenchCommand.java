package org.cnn4j.cli;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.cnn4j.backend.Backend;
import org.cnn4j.backend.Backends;
import org.cnn4j.nn.Models;
import org.cnn4j.nn.Sequential;
import org.cnn4j.optim.Adam;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code cnn4j bench}: training-step throughput on synthetic data (forward, fused loss,
 * backward, Adam step), repeated, median reported. Data loading is not included; the
 * {@code train_images_per_s} of {@code train} includes it.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure training steps per second on synthetic data; the last line is 'result: ...'.")
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--model", defaultValue = "lenet5", description = "Zoo model (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--batch", defaultValue = "64", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--input", description = "Input shape CxHxW, e.g. 3x32x32 (default: the model's own).")
    String input;

    @Option(names = "--classes", defaultValue = "0", description = "Classes (default: the model's own).")
    int classes;

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

    @Override
    public Integer call() {
        if (batch < 1 || steps < 1 || repeats < 1 || warmup < 0) {
            throw new IllegalArgumentException("--batch, --steps and --repeats must be >= 1, --warmup >= 0");
        }
        String names = backends != null ? backends : Backends.defaultName();
        StringBuilder result = new StringBuilder("result: bench=train_step model=" + model + " batch=" + batch);
        for (String name : names.split(",")) {
            Backends.Choice choice = Backends.create(name.trim(), threads);
            try (Backend be = choice.backend()) {
                double[] rates = measure(be);
                double median = median(rates);
                System.out.printf("%s (%s): images/s per repeat %s, median %.0f%n", be.name(), be.description(),
                        Arrays.toString(Arrays.stream(rates).map(Math::rint).toArray()), median);
                result.append(' ').append(be.name()).append("_images_per_s=").append(Math.round(median));
            }
        }
        System.out.println(result);
        return 0;
    }

    private double[] measure(Backend be) {
        try (Sequential m = net().initialize(be, 1);
             Adam opt = new Adam(m.parameters(), 1e-3);
             Tensor x = be.zeros(m.inputShape().withBatch(batch));
             Tensor y = be.zeros(Shape.of(batch), DType.INT32);
             Tensor dlogits = be.zeros(m.outputShape().withBatch(batch))) {
            m.setInputGradientRequired(false);
            SplittableRandom rng = new SplittableRandom(7);
            float[] xs = new float[x.numel()];
            for (int i = 0; i < xs.length; i++) {
                xs[i] = (float) (rng.nextDouble() * 2 - 1);
            }
            int[] ys = new int[batch];
            int classes = m.outputShape().dim(0);
            for (int i = 0; i < batch; i++) {
                ys[i] = rng.nextInt(classes);
            }
            x.copyFrom(xs);
            y.copyFrom(ys);
            for (int i = 0; i < warmup; i++) {
                step(m, opt, x, y, dlogits);
            }
            double[] rates = new double[repeats];
            for (int r = 0; r < repeats; r++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < steps; i++) {
                    step(m, opt, x, y, dlogits);
                }
                if (be instanceof org.cnn4j.backend.CudaBackend gpu) {
                    gpu.synchronize();
                }
                rates[r] = (double) steps * batch / ((System.nanoTime() - t0) / 1e9);
            }
            return rates;
        }
    }

    private Sequential net() {
        Sequential natural = Models.create(model);
        if (input == null && classes == 0) {
            return natural;
        }
        Shape in = natural.inputShape();
        if (input != null) {
            in = Shape.of(ShapeArg.parse(input, 3, "--input", "3x32x32"));
        }
        return Models.create(model, in, classes > 0 ? classes : natural.outputShape().dim(0));
    }

    private static void step(Sequential m, Adam opt, Tensor x, Tensor y, Tensor dlogits) {
        opt.zeroGrad();
        Tensor logits = m.forward(x, true);
        m.backend().softmaxCrossEntropy(logits, y, dlogits);
        m.backward(dlogits);
        opt.step();
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
