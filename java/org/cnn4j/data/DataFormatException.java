package org.cnn4j.data;

import java.nio.file.Path;

/** A data file that cannot be used: names the file and what is wrong with it. */
public class DataFormatException extends RuntimeException {
    private final Path file;

    public DataFormatException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public DataFormatException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    public Path file() {
        return file;
    }
}
