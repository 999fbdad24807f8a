package org.cnn4j.cli;

import java.nio.file.Path;
import org.cnn4j.data.Dataset;
import org.cnn4j.data.IdxDatasets;
import picocli.CommandLine.Option;

/** Where the data comes from: {@code --data NAME} and {@code --data-dir DIR} (or CNN4J_DATA). */
final class DataOptions {
    @Option(names = "--data", defaultValue = "fashion-mnist", description = "Data set: fashion-mnist or mnist (default: ${DEFAULT-VALUE}).")
    String data;

    @Option(names = "--data-dir", description = "Folder with the data files (default: $CNN4J_DATA, then "
            + "/usr/share/datasets/fashion-mnist for fashion-mnist).")
    Path dataDir;

    Path resolveDir() {
        if (dataDir != null) {
            return dataDir;
        }
        String env = System.getenv("CNN4J_DATA");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        if (data.equals("fashion-mnist")) {
            return IdxDatasets.DEFAULT_FASHION_MNIST;
        }
        throw new IllegalArgumentException("--data " + data + " needs --data-dir DIR (or CNN4J_DATA)");
    }

    Dataset load(boolean train) {
        if (!data.equals("fashion-mnist") && !data.equals("mnist")) {
            throw new IllegalArgumentException("unknown data set '" + data + "'; choose fashion-mnist or mnist");
        }
        return IdxDatasets.load(data, resolveDir(), train);
    }
}
