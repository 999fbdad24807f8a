package org.cnn4j.cli;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.cnn4j.backend.Backends;
import org.cnn4j.backend.CudaBackend;
import org.cnn4j.data.DataLoader;
import org.cnn4j.data.Augmentation;
import org.cnn4j.data.Dataset;
import org.cnn4j.tensor.Shape;
import org.cnn4j.io.ModelFile;
import org.cnn4j.io.OutputLock;
import org.cnn4j.nn.Models;
import org.cnn4j.nn.Sequential;
import org.cnn4j.nn.ShapeException;
import org.cnn4j.optim.Adam;
import org.cnn4j.optim.Optimizer;
import org.cnn4j.optim.RmsProp;
import org.cnn4j.optim.Schedule;
import org.cnn4j.optim.Sgd;
import org.cnn4j.data.Normalization;
import org.cnn4j.dist.Collective;
import org.cnn4j.dist.DataParallel;
import org.cnn4j.dist.GlooCollective;
import org.cnn4j.dist.NcclCollective;
import org.cnn4j.dist.SocketRendezvous;
import org.cnn4j.train.Callback;
import org.cnn4j.train.Checkpoint;
import org.cnn4j.train.EarlyStopping;
import org.cnn4j.train.EpochMetrics;
import org.cnn4j.train.Fit;
import org.cnn4j.train.History;
import org.cnn4j.train.MetricsLog;
import org.cnn4j.train.ReduceLrOnPlateau;
import org.cnn4j.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

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

    @Option(names = "--val-split", defaultValue = "0", description = "Hold out this fraction of the training images "
            + "(seeded) for validation after each epoch; 0: validate on the test set (default: ${DEFAULT-VALUE}).")
    double valSplit;

    @Option(names = "--early-stop", defaultValue = "0", description = "Stop when the validation loss has not improved "
            + "for N epochs and keep the best epoch's weights (0: off, the default).")
    int earlyStop;

    @Option(names = "--lr-plateau", defaultValue = "0", description = "Divide the learning rate by 10 when the "
            + "validation loss has not improved for N epochs (0: off, the default).")
    int lrPlateau;

    @Option(names = "--clip-grad-norm", defaultValue = "0", description = "Clip the gradients' global L2 norm to this "
            + "value before each step (0: off, the default).")
    double clipGradNorm;

    @Option(names = "--checkpoint-every", description = "Write a checkpoint (everything needed to resume exactly) into "
            + "OUT/checkpoints every N epochs: N, Nepochs or Nsteps.")
    String checkpointEvery;

    @Option(names = "--keep-checkpoints", defaultValue = "3", description = "Checkpoints kept, newest first "
            + "(default: ${DEFAULT-VALUE}).")
    int keepCheckpoints;

    @Option(names = "--resume", description = "Continue a run from its newest checkpoint: a run folder, its "
            + "checkpoints folder or a checkpoint file. The run's settings come from the checkpoint; --epochs may raise "
            + "the total. Writes into the run's folder unless --out says otherwise.")
    Path resume;

    @Option(names = "--workers", defaultValue = "1", description = "Data-parallel worker processes on this machine: "
            + "each trains on its share of every batch, their gradients summed through Gloo (through NCCL on GPUs, one "
            + "each, where the build has it) (default: ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--bucket-mb", defaultValue = "0", description = "With --workers: sum the gradients in buckets of "
            + "about this many MiB during the backward pass, each as soon as its layers are done (0: in one all-reduce "
            + "after it; default: ${DEFAULT-VALUE}).")
    double bucketMb;

    @Option(names = "--rank", defaultValue = "-1", hidden = true, description = "Set by --workers: this worker's rank.")
    int rank;

    @Option(names = "--coordinator", hidden = true, description = "Set by --workers: rank 0's rendezvous, host:port.")
    String coordinator;

    @Option(names = "--report", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Write report.html (curves, confusion matrix, filters, activation maps, mistakes) into the "
                    + "run folder (default: on).")
    boolean report;

    @Spec
    CommandSpec spec;

    /** The largest --batch: far above what fits a step in memory on any machine cnn4j runs on. */
    static final int MAX_BATCH = 1 << 16;

    @Override
    public Integer call() throws Exception {
        Checkpoint resumed = null;
        if (resume != null) {
            resumed = Checkpoint.read(resume);
            applySettings(resumed.settings());
        }
        model = Models.canonicalName(model);
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
        if (!(valSplit >= 0 && valSplit < 1)) {
            throw new IllegalArgumentException("--val-split must be in [0, 1), got " + valSplit);
        }
        if (earlyStop < 0 || lrPlateau < 0) {
            throw new IllegalArgumentException("--early-stop and --lr-plateau must be >= 0");
        }
        if (!(clipGradNorm >= 0) || Double.isInfinite(clipGradNorm)) {
            throw new IllegalArgumentException("--clip-grad-norm must be >= 0, got " + clipGradNorm);
        }
        if (keepCheckpoints < 1) {
            throw new IllegalArgumentException("--keep-checkpoints must be >= 1, got " + keepCheckpoints);
        }
        if (workers < 1 || workers > 1024) {
            throw new IllegalArgumentException("--workers must be in [1, 1024], got " + workers);
        }
        if (!(bucketMb >= 0) || bucketMb > 1024) {
            throw new IllegalArgumentException("--bucket-mb must be in [0, 1024], got " + bucketMb);
        }
        if (rank >= workers || (rank >= 0) != (coordinator != null) || (rank >= 0 && workers < 2)) {
            throw new IllegalArgumentException("--rank and --coordinator are set by --workers for its worker processes");
        }
        Fit.Every every = checkpointEvery == null ? null : Fit.Every.parse(checkpointEvery);
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
        Path outDir = out != null ? out : resumed != null ? runFolder(resumed.file()) : Path.of("runs", model + "-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        if (workers > 1 && rank < 0) {
            return Workers.launch(spec.commandLine().getParseResult().originalArgs(), workers, outDir, out == null,
                    backendOptions.threads, progress == null && Progress.interactive());
        }
        if (rank > 0) {  // a worker other than rank 0 trains alongside it and writes nothing
            Backends.Choice choice = workerBackend();
            try (var be = choice.backend()) {
                run(be, choice.reason(), imageShape, outDir, every, resumed);
            }
            return 0;
        }
        try (OutputLock held = OutputLock.acquire(outDir, "--out")) {
            Backends.Choice choice = workerBackend();
            try (var be = choice.backend()) {
                run(be, choice.reason(), imageShape, held.dir(), every, resumed);
            }
        }
        return 0;
    }

    /**
     * The backend: a worker of several on GPUs takes the GPU of its rank (modulo the GPUs
     * there are), so that each has its own where there are enough.
     */
    private Backends.Choice workerBackend() {
        Backends.Choice choice = backendOptions.create();
        if (rank >= 0 && choice.backend() instanceof CudaBackend cb) {
            int gpus = CudaBackend.deviceCount();
            if (gpus > 1 && rank % gpus != cb.device()) {
                cb.close();
                return new Backends.Choice(CudaBackend.create(rank % gpus), choice.reason() + ", worker " + rank
                        + "'s GPU");
            }
        }
        return choice;
    }

    /** The run folder a checkpoint belongs to: the folder above {@code checkpoints/}. */
    private static Path runFolder(Path checkpoint) {
        Path dir = checkpoint.toAbsolutePath().getParent();
        return dir.getFileName() != null && dir.getFileName().toString().equals("checkpoints") ? dir.getParent() : dir;
    }

    /** The settings that make a run what it is: saved in its checkpoints, applied by --resume. */
    private Map<String, Object> settings() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("--model", model);
        m.put("--data", data.data);
        m.put("--data-dir", data.dataDir == null ? null : data.dataDir.toString());
        m.put("--epochs", epochs);
        m.put("--batch", batch);
        m.put("--optimizer", optimizer);
        m.put("--lr", lr);
        m.put("--momentum", momentum);
        m.put("--nesterov", nesterov);
        m.put("--weight-decay", weightDecay);
        m.put("--schedule", schedule);
        m.put("--step-epochs", stepEpochs);
        m.put("--gamma", gamma);
        m.put("--warmup-steps", warmupSteps);
        m.put("--seed", Long.toString(seed));
        m.put("--limit", limit);
        m.put("--test-limit", testLimit);
        m.put("--augment", augment);
        m.put("--image-size", imageSize);
        m.put("--val-split", valSplit);
        m.put("--early-stop", earlyStop);
        m.put("--lr-plateau", lrPlateau);
        m.put("--clip-grad-norm", clipGradNorm);
        return m;
    }

    /**
     * Takes a checkpoint's settings. An option given on this command line must agree with the
     * checkpoint, except --epochs (a resumed run may go on for longer).
     */
    private void applySettings(Map<String, Object> saved) {
        if (saved.isEmpty()) {
            throw new IllegalArgumentException("the checkpoint holds no command-line settings: resume it from Java with "
                    + "Fit.resumeFrom");
        }
        Map<String, Object> mine = settings();
        var parsed = spec.commandLine().getParseResult();
        for (Map.Entry<String, Object> e : saved.entrySet()) {
            String opt = e.getKey();
            Object v = e.getValue();
            if (!mine.containsKey(opt)) {
                continue;
            }
            if (parsed.hasMatchedOption(opt)) {
                if (opt.equals("--epochs")) {
                    continue;
                }
                Object given = mine.get(opt);
                boolean same = v instanceof Number a && given instanceof Number b ? a.doubleValue() == b.doubleValue()
                        : String.valueOf(v).equals(String.valueOf(given));
                if (!same) {
                    throw new IllegalArgumentException(opt + " " + given + " differs from the checkpoint's " + v
                            + ": a resumed run keeps its settings (only --epochs may change)");
                }
                continue;
            }
            set(opt, v);
        }
    }

    private void set(String opt, Object v) {
        switch (opt) {
            case "--model" -> model = (String) v;
            case "--data" -> data.data = (String) v;
            case "--data-dir" -> data.dataDir = v == null ? null : Path.of((String) v);
            case "--epochs" -> epochs = ((Number) v).intValue();
            case "--batch" -> batch = ((Number) v).intValue();
            case "--optimizer" -> optimizer = (String) v;
            case "--lr" -> lr = ((Number) v).doubleValue();
            case "--momentum" -> momentum = ((Number) v).doubleValue();
            case "--nesterov" -> nesterov = (Boolean) v;
            case "--weight-decay" -> weightDecay = v == null ? null : ((Number) v).doubleValue();
            case "--schedule" -> schedule = (String) v;
            case "--step-epochs" -> stepEpochs = ((Number) v).intValue();
            case "--gamma" -> gamma = ((Number) v).doubleValue();
            case "--warmup-steps" -> warmupSteps = ((Number) v).longValue();
            case "--seed" -> seed = Long.parseLong(v.toString());
            case "--limit" -> limit = ((Number) v).intValue();
            case "--test-limit" -> testLimit = ((Number) v).intValue();
            case "--augment" -> augment = (Boolean) v;
            case "--image-size" -> imageSize = (String) v;
            case "--val-split" -> valSplit = ((Number) v).doubleValue();
            case "--early-stop" -> earlyStop = ((Number) v).intValue();
            case "--lr-plateau" -> lrPlateau = ((Number) v).intValue();
            case "--clip-grad-norm" -> clipGradNorm = ((Number) v).doubleValue();
            default -> throw new IllegalStateException("no setting " + opt);
        }
    }

    private void run(org.cnn4j.backend.Backend be, String reason, Shape imageShape, Path outDir, Fit.Every every,
                     Checkpoint resumed) throws java.io.IOException {
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
        train(net, be, reason, train, test, outDir, every, resumed);
    }

    private void train(Sequential net, org.cnn4j.backend.Backend be, String reason, Dataset train, Dataset test,
            Path outDir, Fit.Every every, Checkpoint resumed) throws java.io.IOException {
        if (limit > 0) {
            train = train.limit(limit);
        }
        if (testLimit > 0) {
            test = test.limit(testLimit);
        }
        train = train.withClassNames(data.classNames());
        Dataset val;
        String valName;
        if (valSplit > 0) {
            Dataset.Split split = train.split(valSplit, seed);
            train = split.train();
            val = split.validation();
            valName = "val";
        } else {
            train = train.withNormalization(Normalization.of(train));
            val = null;
            valName = "test";
        }
        test = test.withNormalization(train.normalization()).withClassNames(train.classNames());
        boolean lead = rank <= 0;  // alone, or rank 0 of the workers: prints and writes the run
        boolean showProgress = lead && (progress != null ? progress : Progress.interactive());

        try (Collective group = rank >= 0 ? joinGroup(be) : null;
             Sequential m = net.initialize(be, seed);
             Optimizer opt = optimizer(m);
             Trainer trainer = new Trainer(m, opt, schedule(train.size()));
             DataLoader trainLoader = DataLoader.builder(train).batchSize(batch).shuffle(seed).prefetch(3)
                     .augment(augment ? Augmentation.standard(train.sampleShape()) : List.of()).build();
             DataLoader testLoader = DataLoader.builder(test).batchSize(Math.max(batch, 256)).build();
             DataLoader valLoader = val == null ? null : DataLoader.builder(val).batchSize(Math.max(batch, 256)).build()) {
            trainer.setGraphs(graphs);
            if (group != null) {
                trainer.setDataParallel(new DataParallel(group, m).overlap((long) (bucketMb * (1 << 20))));
            }
            if (lead) {
                System.out.printf("cnn4j train: model=%s (%,d parameters) data=%s train=%d %stest=%d backend=%s (%s; %s)%s%n",
                        model, m.parameterCount(), data.data, train.size(), val == null ? "" : "val=" + val.size() + " ",
                        test.size(), be.name(), be.description(), reason, group == null ? ""
                                : " workers=" + workers + " (batch " + batch + " split between them; gradients summed by "
                                + (group instanceof NcclCollective ? "NCCL on the GPUs" : "Gloo") + ")");
            }
            // Every worker has the same callbacks (a checkpoint holds their state, and they stop a
            // run alike); only rank 0's print and write.
            List<Callback> callbacks = new ArrayList<>();
            callbacks.add(new EpochPrinter(showProgress, !lead, valName, be.name().equals("cuda") && graphs));
            // the log grows beside the model under another name: a run that fails keeps the last run's metrics
            MetricsLog live = new MetricsLog(lead ? outDir : null, valName, "metrics-live");
            callbacks.add(live);
            if (earlyStop > 0) {
                callbacks.add(new EarlyStopping("val_loss", earlyStop, true));
            }
            if (lrPlateau > 0) {
                callbacks.add(new ReduceLrOnPlateau("val_loss", 0.1, lrPlateau));
            }
            Fit fit = Fit.of(trainLoader).validation(val == null ? testLoader : valLoader).epochs(epochs)
                    .callbacks(callbacks).settings(settings());
            if (every != null) {
                fit.checkpoints(outDir.resolve("checkpoints"), every, keepCheckpoints);
            }
            if (resumed != null) {
                fit.resumeFrom(resumed.file());
                if (lead) {
                    System.out.printf("resuming from %s: epoch %d, batch %d (step %d)%n", resumed.file(),
                            resumed.epoch() + 1, resumed.batch(), resumed.globalStep());
                }
            }
            long t0 = System.nanoTime();
            History h;
            try {
                h = trainer.fit(fit);
            } catch (ArithmeticException diverged) {  // the trainer stops at the first non-finite loss
                throw new IllegalStateException(diverged.getMessage() + nothingSaved(), diverged);
            }
            if (!lead) {
                return;  // rank 0 evaluates, saves and reports the run
            }
            if (h.stoppedEarly()) {
                System.out.println("stopped early: " + h.stopReason() + (earlyStop > 0 ? "; the best epoch's weights are kept" : ""));
            }
            Trainer.Result eval = trainer.evaluate(testLoader);
            diverged("test", eval.loss(), h.last().epoch() - 1);
            EpochMetrics last = h.last();
            double total = (System.nanoTime() - t0) / 1e9;
            Map<String, Object> facts = new LinkedHashMap<>();
            facts.put("model", model);
            facts.put("data", data.data);
            facts.put("epochs", h.epochs().size());
            facts.put("batch", batch);
            facts.put("optimizer", optimizer);
            facts.put("lr", lr);
            facts.put("seed", seed);
            facts.put("backend", be.name());
            facts.put("train_images", train.size());
            if (val != null) {
                facts.put("val_images", val.size());
            }
            facts.put("test_images", test.size());
            facts.put("test_accuracy", eval.accuracy());
            facts.put("test_loss", eval.loss());
            if (!Double.isNaN(eval.top5())) {
                facts.put("test_top5", eval.top5());
            }
            facts.put("augment", augment);
            facts.put("train_images_per_s", Math.round(last.imagesPerSecond()));
            if (h.stoppedEarly()) {
                facts.put("stopped_early", h.stopReason());
            }
            facts.put("settings", settings());
            facts.put("history", h.rows(valName));
            Path file = ModelFile.save(outDir, m, facts);
            MetricsLog.write(outDir, "metrics", h, valName);
            for (Path f : live.files()) {
                java.nio.file.Files.deleteIfExists(f);
            }
            System.out.printf("saved %s%n", file);
            if (report) {  // the model is saved: a report that cannot be drawn costs a warning, not the run
                try {
                    Path page = org.cnn4j.report.Report.write(outDir, m, h, valName, testLoader, settings());
                    System.out.printf("report %s%n", page);
                } catch (java.io.IOException | RuntimeException | LinkageError e) {
                    System.err.println("warning: report.html was not written (" + e + "); rebuild it with: cnn4j report "
                            + outDir);
                }
            }
            System.out.printf("result: model=%s backend=%s epochs=%d test_accuracy=%.4f%s test_loss=%.4f"
                            + " train_images_per_s=%.0f seconds=%.1f model_file=%s%n", model, be.name(), h.epochs().size(),
                    eval.accuracy(), top5(eval), eval.loss(), last.imagesPerSecond(), total, file);
        }
    }

    /**
     * Prints each epoch's figures and shows a progress bar during it; stops a run whose
     * validation loss is not finite. Quiet (a data-parallel worker other than rank 0): prints
     * nothing, and stops a diverged run as rank 0's does.
     */
    private final class EpochPrinter implements Callback {
        private final boolean show;
        private final boolean quiet;
        private final String valName;
        private boolean noteGraphs;
        private Progress bar;

        EpochPrinter(boolean show, boolean quiet, String valName, boolean noteGraphs) {
            this.show = show;
            this.quiet = quiet;
            this.valName = valName;
            this.noteGraphs = noteGraphs;
        }

        @Override
        public void onStep(Fit fit, int step, int steps, double loss, int images) {
            if (quiet) {
                return;
            }
            if (bar == null) {
                bar = new Progress("epoch " + (fit.epoch() + 1) + "/" + fit.epochs(), steps, show);
            }
            bar.step(step, loss, images);
        }

        @Override
        public void onEpochEnd(Fit fit, EpochMetrics e) {
            if (bar != null) {
                bar.close();
                bar = null;
            }
            if (noteGraphs && fit.trainer().graphNote() != null) {
                System.out.println("note: " + fit.trainer().graphNote());
            }
            noteGraphs = false;
            diverged("train", e.trainLoss(), e.epoch() - 1);
            diverged(valName, e.valLoss(), e.epoch() - 1);
            if (quiet) {
                return;
            }
            System.out.printf("epoch %d/%d train_loss=%.4f train_accuracy=%.4f %s_loss=%.4f %s_accuracy=%.4f%s"
                            + " images_per_s=%.0f seconds=%.1f%n", e.epoch(), fit.epochs(), e.trainLoss(), e.trainAccuracy(),
                    valName, e.valLoss(), valName, e.valAccuracy(),
                    Double.isNaN(e.valTop5()) ? "" : String.format(" %s_top5=%.4f", valName, e.valTop5()),
                    e.imagesPerSecond(), e.seconds());
        }

        @Override
        public void onFitEnd(Fit fit, History h) {
            if (bar != null) {
                bar.close();
                bar = null;
            }
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

    /**
     * Joins the other workers: the rendezvous at the coordinator, then NCCL's group when every
     * worker has a GPU of its own and this build has NCCL, else Gloo's connections on loopback.
     */
    private Collective joinGroup(org.cnn4j.backend.Backend be) {
        int colon = coordinator.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("--coordinator must be host:port, got " + coordinator);
        }
        String host = coordinator.substring(0, colon);
        int port;
        try {
            port = Integer.parseInt(coordinator.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--coordinator must be host:port, got " + coordinator, e);
        }
        // Every wait for a peer: long enough for rank 0 to write a checkpoint or a report while
        // the others wait at the next step; a worker that dies is noticed at once.
        Duration timeout = Duration.ofMinutes(10);
        SocketRendezvous rendezvous = new SocketRendezvous(rank, workers, new InetSocketAddress(host, port), timeout);
        if (be instanceof CudaBackend cb && workers <= CudaBackend.deviceCount() && NcclCollective.unavailableReason() == null) {
            return NcclCollective.join(rendezvous, cb, timeout);
        }
        return GlooCollective.join(rendezvous, host, timeout);
    }

    private Optimizer optimizer(Sequential m) {
        var ps = m.parameters();
        double wd = weightDecay != null ? weightDecay : 0;
        Optimizer o = switch (optimizer) {
            case "sgd" -> new Sgd(ps, lr, momentum, 0, nesterov, wd);
            case "rmsprop" -> new RmsProp(ps, lr, 0.99, 1e-8, wd, 0);
            case "adam" -> new Adam(ps, lr, 0.9, 0.999, 1e-8, wd, false);
            case "adamw" -> new Adam(ps, lr, 0.9, 0.999, 1e-8, weightDecay != null ? weightDecay : 0.01, true);
            default -> throw new IllegalArgumentException("unknown optimizer '" + optimizer + "'; choose one of "
                    + String.join(", ", List.of("sgd", "rmsprop", "adam", "adamw")));
        };
        return o.clipGradNorm(clipGradNorm);
    }

    private Schedule schedule(int trainSize) {
        long stepsPerEpoch = (trainSize + batch - 1) / batch;
        Schedule s = switch (schedule) {
            case "constant" -> Schedule.constant();
            case "step" -> Schedule.step(stepsPerEpoch * stepEpochs, gamma);
            case "cosine" -> Schedule.cosine(stepsPerEpoch * epochs, 0);
            default -> throw new IllegalArgumentException("unknown schedule '" + schedule
                    + "'; choose constant, step or cosine");
        };
        return warmupSteps > 0 ? s.withWarmup(warmupSteps) : s;
    }
}
