package org.cnn4j.cli;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.cnn4j.backend.Backends;
import org.cnn4j.data.DataLoader;
import org.cnn4j.data.Augmentation;
import org.cnn4j.data.Dataset;
import org.cnn4j.tensor.Shape;
import org.cnn4j.io.ModelFile;
import org.cnn4j.io.OutputLock;
import org.cnn4j.io.SafeTensors;
import org.cnn4j.nn.Models;
import org.cnn4j.nn.Sequential;
import org.cnn4j.nn.ShapeException;
import org.cnn4j.optim.Adam;
import org.cnn4j.optim.LrSchedule;
import org.cnn4j.optim.Optimizer;
import org.cnn4j.optim.RmsProp;
import org.cnn4j.optim.Sgd;
import org.cnn4j.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code cnn4j train}: trains a zoo model, evaluates it after each epoch, saves it. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a model; the last line is 'result: key=value ...'.")
final class TrainCommand implements Callable<Integer> {

    @Option(names = "--model", defaultValue = "lenet5", description = "Zoo model (default: ${DEFAULT-VALUE}).")
    String model;

    @Mixin
    DataOptions data;

    @Option(names = "--epochs", defaultValue = "3", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch", defaultValue = "64", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--optimizer", defaultValue = "adam", description = "sgd, rmsprop, adam or adamw (default: ${DEFAULT-VALUE}).")
    String optimizer;

    @Option(names = "--lr", defaultValue = "1e-3", description = "Learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--momentum", defaultValue = "0.9", description = "SGD momentum (default: ${DEFAULT-VALUE}).")
    double momentum;

    @Option(names = "--nesterov", description = "Nesterov momentum (sgd).")
    boolean nesterov;

    @Option(names = "--weight-decay", description = "Weight decay (default: 0; 0.01 for adamw).")
    Double weightDecay;

    @Option(names = "--schedule", defaultValue = "constant", description = "constant, step or cosine (default: ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--step-epochs", defaultValue = "1", description = "step schedule: epochs between decays (default: ${DEFAULT-VALUE}).")
    int stepEpochs;

    @Option(names = "--gamma", defaultValue = "0.1", description = "step schedule: decay factor (default: ${DEFAULT-VALUE}).")
    double gamma;

    @Option(names = "--warmup-steps", defaultValue = "0", description = "Linear learning-rate warm-up steps (default: ${DEFAULT-VALUE}).")
    long warmupSteps;

    @Option(names = "--seed", defaultValue = "42", description = "Seed for initialisation and shuffling (default: ${DEFAULT-VALUE}).")
    long seed;

    @Mixin
    BackendOptions backendOptions;

    @Option(names = "--limit", defaultValue = "0", description = "Train on the first N images only (0: all).")
    int limit;

    @Option(names = "--test-limit", defaultValue = "0", description = "Evaluate on the first N test images only (0: all).")
    int testLimit;

    @Option(names = "--out", description = "Output folder (default: runs/<model>-<time>).")
    Path out;

    @Option(names = "--progress", negatable = true, description = "Show a progress bar (default: on a terminal).")
    Boolean progress;

    @Option(names = "--augment", description = "Standard augmentation of the training images: random crop from a "
            + "zero-padded image (H/8 pixels), horizontal flip, and colour jitter for colour images.")
    boolean augment;

    @Option(names = "--graphs", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Record the training step once and replay it (a CUDA graph on the GPU; default: on).")
    boolean graphs;

    @Option(names = "--image-size", description = "folder data: resize images to HxW (default: the model's own input size).")
    String imageSize;

    /** The largest --batch: far above what fits a step in memory on any machine cnn4j runs on. */
    static final int MAX_BATCH = 1 << 16;

    @Override
    public Integer call() throws Exception {
        if (epochs < 1) {
            throw new IllegalArgumentException("--epochs must be >= 1, got " + epochs);
        }
        if (batch < 1) {
            throw new IllegalArgumentException("--batch must be >= 1, got " + batch);
        }
        if (limit < 0 || testLimit < 0) {
            throw new IllegalArgumentException("--limit and --test-limit must be >= 0");
        }
        // Every setting is checked here, before the backend starts or any data is read.
        if (!(lr > 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("--lr must be a positive number, got " + lr);
        }
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("--momentum must be in [0, 1), got " + momentum);
        }
        if (weightDecay != null && !(weightDecay >= 0 && weightDecay < 1)) {
            throw new IllegalArgumentException("--weight-decay must be in [0, 1), got " + weightDecay);
        }
        if (!List.of("sgd", "rmsprop", "adam", "adamw").contains(optimizer)) {
            throw new IllegalArgumentException("unknown optimizer '" + optimizer + "'; choose one of sgd, rmsprop, adam, adamw");
        }
        if (!List.of("constant", "step", "cosine").contains(schedule)) {
            throw new IllegalArgumentException("unknown schedule '" + schedule + "'; choose constant, step or cosine");
        }
        if (stepEpochs < 1 || !(gamma > 0 && gamma <= 1) || warmupSteps < 0) {
            throw new IllegalArgumentException("--step-epochs must be >= 1, --gamma in (0, 1] and --warmup-steps >= 0; got "
                    + stepEpochs + ", " + gamma + " and " + warmupSteps);
        }
        backendOptions.check();
        Shape natural = Models.create(model).inputShape();
        Shape imageShape = Shape.of(3, natural.dim(1), natural.dim(2));
        if (imageSize != null) {
            int[] hw = ShapeArg.parse(imageSize, 2, "--image-size", "64x64");
            imageShape = Shape.of(3, hw[0], hw[1]);
        }
        if (batch > MAX_BATCH || (long) batch * imageShape.numel() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("--batch " + batch + " is too large: at most " + MAX_BATCH
                    + ", and a batch of inputs must hold fewer than 2^31 values");
        }
        // The output folder is checked and held before any data loads: a run never learns at the
        // end that it cannot save, and two runs never write one folder.
        Path outDir = out != null ? out : Path.of("runs", model + "-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        try (OutputLock held = OutputLock.acquire(outDir, "--out")) {
            Backends.Choice choice = backendOptions.create();
            try (var be = choice.backend()) {
                run(be, choice.reason(), imageShape, held.dir());
            }
        }
        return 0;
    }

    private void run(org.cnn4j.backend.Backend be, String reason, Shape imageShape, Path outDir)
            throws java.io.IOException {
        Dataset train = data.load(true, imageShape);
        Dataset test = data.load(false, imageShape);
        Sequential net;
        try {
            // the zoo model built for the data's image shape and class count
            net = Models.create(model, train.sampleShape(), train.classes());
        } catch (ShapeException e) {
            throw new IllegalArgumentException("model " + model + " does not fit " + data.data + " images ("
                    + train.sampleShape().toCompactString() + "): " + e.getMessage(), e);
        }
        train(net, be, reason, train, test, outDir);
    }

    private void train(Sequential net, org.cnn4j.backend.Backend be, String reason, Dataset train, Dataset test,
            Path outDir) throws java.io.IOException {
        if (limit > 0) {
            train = train.limit(limit);
        }
        if (testLimit > 0) {
            test = test.limit(testLimit);
        }
        double[][] stats = train.channelStats();
        LrSchedule sched = schedule(train.size());
        boolean showProgress = progress != null ? progress : Progress.interactive();

        try (Sequential m = net.initialize(be, seed);
             Optimizer opt = optimizer(m);
             Trainer trainer = new Trainer(m, opt, sched);
             DataLoader trainLoader = new DataLoader(train, batch, true, seed, stats[0], stats[1], 3);
             DataLoader testLoader = new DataLoader(test, Math.max(batch, 256), false, 0, stats[0], stats[1], 2)) {
            if (augment) {
                trainLoader.augment(Augmentation.standard(train.sampleShape()));
            }
            trainer.setGraphs(graphs);
            System.out.printf("cnn4j train: model=%s (%,d parameters) data=%s train=%d test=%d backend=%s (%s; %s)%n",
                    model, m.parameterCount(), data.data, train.size(), test.size(), be.name(), be.description(),
                    reason);
            Trainer.Result last = null;
            Trainer.Result eval = null;
            List<Map<String, Object>> history = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int e = 0; e < epochs; e++) {
                try (Progress bar = new Progress("epoch " + (e + 1) + "/" + epochs, trainLoader.batchesPerEpoch(),
                        showProgress)) {
                    last = trainer.trainEpoch(trainLoader, e, (step, steps, loss, images) -> bar.step(step, loss, images));
                } catch (ArithmeticException diverged) {  // the trainer stops at the first non-finite loss
                    throw new IllegalStateException(diverged.getMessage() + nothingSaved(), diverged);
                }
                if (e == 0 && graphs && trainer.graphNote() != null && be.name().equals("cuda")) {
                    System.out.println("note: " + trainer.graphNote());
                }
                diverged("train", last.loss(), e);
                eval = trainer.evaluate(testLoader);
                diverged("test", eval.loss(), e);
                System.out.printf("epoch %d/%d train_loss=%.4f train_accuracy=%.4f test_loss=%.4f test_accuracy=%.4f%s"
                                + " images_per_s=%.0f seconds=%.1f%n", e + 1, epochs, last.loss(), last.accuracy(),
                        eval.loss(), eval.accuracy(), top5(eval), last.imagesPerSecond(), last.seconds());
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("epoch", e + 1);
                row.put("train_loss", last.loss());
                row.put("train_accuracy", last.accuracy());
                row.put("test_loss", eval.loss());
                row.put("test_accuracy", eval.accuracy());
                row.put("test_top5", Double.isNaN(eval.top5()) ? null : eval.top5());
                row.put("lr", sched.lr((long) trainLoader.batchesPerEpoch() * (e + 1) - 1));  // at the epoch's last step
                row.put("train_images_per_s", Math.round(last.imagesPerSecond()));
                row.put("seconds", last.seconds());
                history.add(row);
            }
            double total = (System.nanoTime() - t0) / 1e9;
            Map<String, Object> facts = new LinkedHashMap<>();
            facts.put("model", model);
            facts.put("data", data.data);
            facts.put("epochs", epochs);
            facts.put("batch", batch);
            facts.put("optimizer", optimizer);
            facts.put("lr", lr);
            facts.put("seed", seed);
            facts.put("backend", be.name());
            facts.put("train_images", train.size());
            facts.put("test_images", test.size());
            facts.put("test_accuracy", eval.accuracy());
            facts.put("test_loss", eval.loss());
            if (!Double.isNaN(eval.top5())) {
                facts.put("test_top5", eval.top5());
            }
            facts.put("augment", augment);
            facts.put("train_images_per_s", Math.round(last.imagesPerSecond()));
            facts.put("history", history);
            Path file = ModelFile.save(outDir, m, new ModelFile.Normalization(stats[0], stats[1]), data.classNames(),
                    facts);
            writeMetrics(outDir, history);
            System.out.printf("saved %s%n", file);
            System.out.printf("result: model=%s backend=%s epochs=%d test_accuracy=%.4f%s test_loss=%.4f"
                            + " train_images_per_s=%.0f seconds=%.1f model_file=%s%n", model, be.name(), epochs,
                    eval.accuracy(), top5(eval), eval.loss(), last.imagesPerSecond(), total, file);
        }
    }

    /** The per-epoch figures as {@code metrics.csv} beside the model (written as one file, atomically). */
    private static void writeMetrics(Path dir, List<Map<String, Object>> history) throws java.io.IOException {
        StringBuilder b = new StringBuilder();
        b.append(String.join(",", history.get(0).keySet())).append('\n');
        for (Map<String, Object> row : history) {
            List<String> cells = new ArrayList<>();
            for (Object v : row.values()) {
                cells.add(v == null ? "" : v.toString());
            }
            b.append(String.join(",", cells)).append('\n');
        }
        Path file = dir.resolve("metrics.csv");
        Path tmp = SafeTensors.writeTemporary(file, b.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        try {
            SafeTensors.commit(tmp, file);
        } finally {
            java.nio.file.Files.deleteIfExists(tmp);
        }
    }

    /** A loss that is NaN or infinite ends the run: nothing is saved, a saved model is kept. */
    private void diverged(String which, double loss, int epoch) {
        if (!Double.isFinite(loss)) {
            throw new IllegalStateException("training diverged: the " + which + " loss is " + loss + " after epoch "
                    + (epoch + 1) + " (--optimizer " + optimizer + " --lr " + lr + "); a lower --lr usually helps"
                    + nothingSaved());
        }
    }

    private String nothingSaved() {
        return "; nothing was saved" + (out != null && java.nio.file.Files.exists(out.resolve("model.safetensors"))
                ? " and the model in " + out + " is kept" : "");
    }

    static String top5(Trainer.Result r) {
        return Double.isNaN(r.top5()) ? "" : String.format(" test_top5=%.4f", r.top5());
    }

    private Optimizer optimizer(Sequential m) {
        var ps = m.parameters();
        double wd = weightDecay != null ? weightDecay : 0;
        return switch (optimizer) {
            case "sgd" -> new Sgd(ps, lr, momentum, 0, nesterov, wd);
            case "rmsprop" -> new RmsProp(ps, lr, 0.99, 1e-8, wd, 0);
            case "adam" -> new Adam(ps, lr, 0.9, 0.999, 1e-8, wd, false);
            case "adamw" -> new Adam(ps, lr, 0.9, 0.999, 1e-8, weightDecay != null ? weightDecay : 0.01, true);
            default -> throw new IllegalArgumentException("unknown optimizer '" + optimizer + "'; choose one of "
                    + String.join(", ", List.of("sgd", "rmsprop", "adam", "adamw")));
        };
    }

    private LrSchedule schedule(int trainSize) {
        long stepsPerEpoch = (trainSize + batch - 1) / batch;
        LrSchedule s = switch (schedule) {
            case "constant" -> LrSchedule.constant(lr);
            case "step" -> LrSchedule.step(lr, stepsPerEpoch * stepEpochs, gamma);
            case "cosine" -> LrSchedule.cosine(lr, 0, stepsPerEpoch * epochs);
            default -> throw new IllegalArgumentException("unknown schedule '" + schedule
                    + "'; choose constant, step or cosine");
        };
        return warmupSteps > 0 ? LrSchedule.warmup(s, warmupSteps) : s;
    }
}
