package org.cnn4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.cnn4j.backend.Backends;
import org.cnn4j.data.DataLoader;
import org.cnn4j.data.Dataset;
import org.cnn4j.io.ModelFile;
import org.cnn4j.nn.BatchNormFolding;
import org.cnn4j.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code cnn4j eval}: loads a saved model and measures it on the test split. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Evaluate a saved model on the test split; the last line is 'result: key=value ...'.")
final class EvalCommand implements Callable<Integer> {

    @Option(names = "--model-file", required = true, description = "model.safetensors written by train (or its folder).")
    Path modelFile;

    @Mixin
    DataOptions data;

    @Option(names = "--batch", defaultValue = "256", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Mixin
    BackendOptions backendOptions;

    @Option(names = "--limit", defaultValue = "0", description = "Evaluate on the first N test images only (0: all).")
    int limit;

    @Override
    public Integer call() {
        if (batch < 1) {
            throw new IllegalArgumentException("--batch must be >= 1, got " + batch);
        }
        Backends.Choice choice = backendOptions.create();
        try (var be = choice.backend()) {
            ModelFile.Loaded loaded = ModelFile.load(modelFile, be);
            Dataset test;
            try {
                data.checkClasses(loaded.classes());
                test = data.load(false, loaded.model().inputShape());
            } catch (RuntimeException e) {
                loaded.model().close();
                throw e;
            }
            if (limit > 0) {
                test = test.limit(limit);
            }
            // inference: batch norms after convolutions are folded into them (one pass less per layer)
            var original = loaded.model();
            var evalModel = original;
            if (BatchNormFolding.applies(original)) {
                try (original) {
                    evalModel = BatchNormFolding.fold(original);
                }
            }
            try (var m = evalModel;
                 DataLoader loader = DataLoader.builder(test.withNormalization(loaded.normalization())).batchSize(batch)
                         .build()) {
                if (!m.inputShape().equals(test.sampleShape())) {
                    throw new IllegalArgumentException("the model takes " + m.inputShape().toCompactString()
                            + " inputs, data set " + data.data + " has " + test.sampleShape().toCompactString());
                }
                Trainer.Result r = Trainer.evaluate(m, loader);
                System.out.printf("result: test_accuracy=%.4f%s test_loss=%.4f images=%d backend=%s images_per_s=%.0f"
                                + " model_file=%s%n", r.accuracy(), TrainCommand.top5(r), r.loss(), r.images(), be.name(),
                        r.imagesPerSecond(), modelFile);
            }
        }
        return 0;
    }
}
