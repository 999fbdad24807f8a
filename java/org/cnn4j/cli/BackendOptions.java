package org.cnn4j.cli;

import org.cnn4j.backend.Backends;
import org.cnn4j.backend.CudaBackend;
import org.cnn4j.backend.Precision;
import picocli.CommandLine.Option;

/** Which backend runs the work: {@code --backend}, {@code --threads} and {@code --precision}. */
final class BackendOptions {
    @Option(names = "--backend", description = "auto, java, cpu or cuda (default: $CNN4J_BACKEND or auto).")
    String backend;

    @Option(names = "--threads", defaultValue = "0", description = "Compute threads (default: one per processor).")
    int threads;

    @Option(names = "--precision", description = "cuda: fp32 or tf32 for float32 convolutions and matmuls "
            + "(default: fp32, the arithmetic of the CPU backends).")
    String precision;

    /** The most compute threads asked for (one per processor is the default). */
    static final int MAX_THREADS = 1024;

    /** Checks the settings without starting a backend. */
    void check() {
        if (threads < 0 || threads > MAX_THREADS) {
            throw new IllegalArgumentException("--threads must be 0 (one per processor) to " + MAX_THREADS + ", got "
                    + threads);
        }
        String name = backend != null ? backend : Backends.defaultName();
        if (!Backends.NAMES.contains(name)) {
            throw new IllegalArgumentException("unknown backend '" + name + "'; choose one of "
                    + String.join(", ", Backends.NAMES));
        }
    }

    Backends.Choice create() {
        check();
        String name = backend != null ? backend : Backends.defaultName();
        if (precision != null) {
            applyPrecision(precision, name);
        }
        return Backends.create(name, threads);
    }

    /**
     * Sets the GPU precision for the named backends (comma-separated); tf32 needs cuda named
     * among them (not auto, which may pick a CPU backend). Returns the precision set.
     */
    static Precision applyPrecision(String value, String backends) {
        Precision p = Precision.parse(value);
        boolean cuda = false;
        for (String b : backends.split(",")) {
            cuda |= b.trim().equals("cuda");
        }
        if (p == Precision.TF32 && !cuda) {
            throw new IllegalArgumentException("--precision tf32 needs --backend cuda (got " + backends + ")");
        }
        if (cuda) {
            try {
                CudaBackend.setPrecision(p);
            } catch (RuntimeException | LinkageError e) {
                if (p == Precision.TF32) {
                    throw new IllegalArgumentException("--precision tf32: " + e.getMessage(), e);
                }
            }
        }
        return p;
    }
}
