package org.cnn4j.backend;

import java.util.List;

/**
 * Backend selection by name: {@code java}, {@code cpu}, {@code cuda}, or {@code auto} (the
 * best that loads). A backend that is asked for by name and cannot run is an error naming the
 * reason, never a silent fallback. The system property {@code cnn4j.backend} or the
 * environment variable {@code CNN4J_BACKEND} give the default for library users.
 */
public final class Backends {
    private Backends() {
    }

    public static final List<String> NAMES = List.of("auto", "java", "cpu", "cuda");

    /** The default name: system property, then environment variable, then {@code auto}. */
    public static String defaultName() {
        String p = System.getProperty("cnn4j.backend");
        if (p != null && !p.isBlank()) {
            return p;
        }
        String e = System.getenv("CNN4J_BACKEND");
        return e != null && !e.isBlank() ? e : "auto";
    }

    /** A backend and, for {@code auto}, why it was chosen. */
    public record Choice(Backend backend, String reason) {
    }

    /**
     * Creates the named backend; {@code threads} <= 0 means one per available processor.
     *
     * @throws IllegalArgumentException for an unknown name
     * @throws BackendUnavailableException for a backend that cannot run here
     */
    public static Choice create(String name, int threads) {
        int t = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        if (name.equals("auto")) {
            String configured = defaultName();
            if (!configured.equals("auto")) {
                String source = System.getProperty("cnn4j.backend") != null
                        && !System.getProperty("cnn4j.backend").isBlank() ? "-Dcnn4j.backend" : "CNN4J_BACKEND";
                if (!NAMES.contains(configured)) {
                    throw new IllegalArgumentException(source + " names an unknown backend '" + configured
                            + "'; choose one of " + String.join(", ", NAMES));
                }
                Choice c = create(configured, threads);
                return new Choice(c.backend(), "set by " + source + "=" + configured);
            }
            return auto(t);
        }
        return switch (name) {
            case "java" -> new Choice(new JavaBackend(t), "requested");
            case "cpu" -> new Choice(NativeCpuBackend.create(t), "requested");
            case "cuda" -> new Choice(CudaBackend.create(0), "requested");
            default -> throw new IllegalArgumentException("unknown backend '" + name + "'; choose one of "
                    + String.join(", ", NAMES));
        };
    }

    /**
     * The default backend: the one named by the system property {@code cnn4j.backend} or the
     * environment variable {@code CNN4J_BACKEND} when set, else the automatic choice; one
     * thread per available processor.
     */
    public static Choice create() {
        return create("auto", 0);
    }

    /**
     * The best backend that works here: CUDA on a GPU, else native CPU, else pure Java (saying
     * why). The simulated CUDA device is never chosen: it is for tests, and slow.
     */
    private static Choice auto(int threads) {
        String noGpu;
        try {
            CudaBackend gpu = CudaBackend.create(0);
            if (!CudaBackend.simulated()) {
                return new Choice(gpu, "auto: a usable GPU");
            }
            gpu.close();
            noGpu = "the CUDA device of this build is simulated (--backend cuda selects it)";
        } catch (BackendUnavailableException e) {
            noGpu = e.getMessage();
        }
        try {
            return new Choice(NativeCpuBackend.create(threads), "auto: native CPU library loaded; " + noGpu);
        } catch (BackendUnavailableException e) {
            return new Choice(new JavaBackend(threads), "auto: " + e.getMessage());
        }
    }
}
