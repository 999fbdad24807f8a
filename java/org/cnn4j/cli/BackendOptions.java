package org.cnn4j.cli;

import org.cnn4j.backend.Backends;
import picocli.CommandLine.Option;

/** Which backend runs the work: {@code --backend} and {@code --threads}. */
final class BackendOptions {
    @Option(names = "--backend", description = "auto, java, cpu or cuda (default: $CNN4J_BACKEND or auto).")
    String backend;

    @Option(names = "--threads", defaultValue = "0", description = "Compute threads (default: one per processor).")
    int threads;

    Backends.Choice create() {
        return Backends.create(backend != null ? backend : Backends.defaultName(), threads);
    }
}
