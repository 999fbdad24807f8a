package org.cnn4j.train;

import com.google.gson.GsonBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.cnn4j.io.SafeTensors;

/**
 * Writes the history after every epoch as {@code <name>.csv} and {@code <name>.json} in a
 * folder (name {@code metrics} unless given), each replaced atomically (a reader never sees
 * half a file). The validation columns are named {@code val_...}, or with another prefix
 * ("test" when the validation data is the test set). A log without a folder writes nothing
 * (a data-parallel worker other than rank 0 keeps the same callbacks as rank 0).
 */
public final class MetricsLog implements Callback {
    private final Path dir;
    private final String prefix;
    private final String name;

    public MetricsLog(Path dir) {
        this(dir, "val", "metrics");
    }

    public MetricsLog(Path dir, String prefix, String name) {
        this.dir = dir;
        this.prefix = prefix;
        this.name = name;
    }

    @Override
    public void onEpochEnd(Fit fit, EpochMetrics m) {
        if (dir == null) {
            return;
        }
        try {
            write(dir, name, new History(fit.history(), null), prefix);
        } catch (IOException e) {
            throw new UncheckedIOException("writing the metrics log in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The files this log writes. */
    public java.util.List<Path> files() {
        return java.util.List.of(dir.resolve(name + ".csv"), dir.resolve(name + ".json"));
    }

    /** Writes {@code dir/<name>.csv} and {@code dir/<name>.json} from a history, atomically. */
    public static void write(Path dir, String name, History h, String prefix) throws IOException {
        Files.createDirectories(dir);
        write(dir.resolve(name + ".csv"), h.toCsv(prefix));
        write(dir.resolve(name + ".json"), new GsonBuilder().setPrettyPrinting().serializeNulls().create()
                .toJson(h.rows(prefix)) + "\n");
    }

    private static void write(Path file, String text) throws IOException {
        Path tmp = SafeTensors.writeTemporary(file, text.getBytes(StandardCharsets.UTF_8));
        try {
            SafeTensors.commit(tmp, file);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
