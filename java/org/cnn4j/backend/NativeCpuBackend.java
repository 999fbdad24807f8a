package org.cnn4j.backend;

import static org.cnn4j.nativelib.Cnn4jNative.*;

import java.util.List;
import org.cnn4j.nativelib.Cnn4jNative;

/**
 * The native CPU backend: tensors in off-heap memory, ops in the handwritten C++ kernels
 * of {@code libcnn4j} (OpenMP threads, AVX-512/AVX2/SSE2 chosen at run time), called
 * through the JavaCPP binding with raw addresses. Every size is checked here, with the
 * same {@link OpChecks} as the pure-Java backend, before a kernel runs.
 *
 * <p>The backend owns one CPU context ({@code cnn4j_context}), whose scratch memory for
 * convolutions and matmuls grows as needed and is freed by {@link #close()}. One thread at a
 * time per backend.
 */
public final class NativeCpuBackend extends AbstractNativeBackend {
    /** Instruction-set names, indexed by the ABI's cnn4j_isa codes. */
    public static final String[] ISA_NAMES = {"baseline", "avx2", "avx512"};
    /** The values of {@link #setConvAlgorithm}, in the order of the native enum. */
    public static final String[] CONV_ALGORITHMS = {"auto", "direct", "gemm"};

    private static final Object THREADS_LOCK = new Object();
    private static int appliedThreads = -1;

    private final int threads;

    private NativeCpuBackend(int threads) {
        super("native CPU");
        this.threads = threads;
        check("context_create", openContext(DEVICE_CPU, 0));
    }

    /**
     * Loads the native library and creates a backend with {@code threads} threads.
     *
     * @throws BackendUnavailableException naming why the library cannot load
     */
    public static NativeCpuBackend create(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        ensureLoaded();
        String isa = System.getProperty("cnn4j.cpu.isa");
        if (isa != null && !isa.isBlank()) {
            setIsa(isa);
        }
        String conv = System.getProperty("cnn4j.cpu.conv");
        if (conv != null && !conv.isBlank()) {
            setConvAlgorithm(conv);
        }
        return new NativeCpuBackend(threads);
    }

    /** Loads the library, or throws {@link BackendUnavailableException} with the reason. */
    public static void ensureLoaded() {
        ensureLoaded("cpu");
    }

    /** The same, naming the backend that needs the library in the message. */
    static void ensureLoaded(String backend) {
        try {
            Cnn4jNative.load();
            int abi = cnn4j_abi_version();
            if (abi != 3) {
                throw new BackendUnavailableException("native library has ABI version " + abi + ", expected 3");
            }
        } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
            throw new BackendUnavailableException("backend '" + backend + "' is not available: " + whyNotLoaded(e), e);
        }
    }

    /** Where JavaCPP looks for the packaged library: a class-path resource per platform. */
    static final String PACKAGED_LIBRARY = "/org/cnn4j/nativelib/linux-x86_64/libjniCnn4jNative.so";

    /**
     * One line on why the library did not load: a build that carries none (the JNI-free
     * flavour, or a class path without the native artifact) is named as such; otherwise the
     * loader's first line, without the library path it searched.
     */
    static String whyNotLoaded(Throwable e) {
        if (Cnn4jNative.class.getResource(PACKAGED_LIBRARY) == null) {
            return "this cnn4j carries no native library for " + System.getProperty("os.name") + "/"
                    + System.getProperty("os.arch") + " (a JNI-free build, or the native artifact is not on the class path);"
                    + " the pure-Java backend runs everywhere (--backend java)";
        }
        Throwable c = e;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        String m = String.valueOf(c.getMessage()).lines().findFirst().orElse("");
        int path = m.indexOf(" in java.library.path");
        if (path >= 0) {
            m = m.substring(0, path);
        }
        if (m.length() > 240) {
            m = m.substring(0, 240) + "...";
        }
        return "the native library did not load (" + c.getClass().getSimpleName() + ": " + m + ")";
    }

    /** Whether the native library loads here. */
    public static boolean isAvailable() {
        try {
            ensureLoaded();
            return true;
        } catch (BackendUnavailableException e) {
            return false;
        }
    }

    /** The widest instruction set the CPU and the library share. */
    public static String supportedIsa() {
        ensureLoaded();
        return ISA_NAMES[cnn4j_isa_supported()];
    }

    /** The instruction set the kernels use now (process-wide). */
    public static String isa() {
        ensureLoaded();
        return ISA_NAMES[cnn4j_get_isa()];
    }

    /** Forces the kernels of a narrower instruction set (process-wide), e.g. to test every path. */
    public static void setIsa(String name) {
        ensureLoaded();
        for (int i = 0; i < ISA_NAMES.length; i++) {
            if (ISA_NAMES[i].equals(name)) {
                int st = cnn4j_set_isa(i);
                if (st != 0) {
                    throw new BackendUnavailableException("instruction set '" + name + "' is not supported by this CPU"
                            + " (it supports up to " + supportedIsa() + ")");
                }
                return;
            }
        }
        throw new IllegalArgumentException("unknown instruction set '" + name + "'; choose one of "
                + String.join(", ", ISA_NAMES));
    }

    /**
     * How float convolutions are computed, process-wide: {@code "auto"} (the default) picks, by
     * shape, one GEMM per position over the batch on images of at most 4 pixels (the taps
     * that fall in the padding skipped), Winograd F(4x4,3x3) or F(2x2,3x3) for 3x3 stride-1
     * convolutions where it needs fewer operations, else the blocked direct kernels (one
     * group, where the channels or the output rows fill 16-float vectors; see bench/README),
     * else im2col and GEMM; {@code "direct"} leaves Winograd and the per-position GEMMs out;
     * {@code "gemm"} always runs im2col and GEMM. The choice for a shape depends on the shape
     * alone, never on the thread count. Thread-safe; an op already running keeps the algorithm
     * it started with.
     */
    public static void setConvAlgorithm(String name) {
        ensureLoaded();
        int i = List.of(CONV_ALGORITHMS).indexOf(name);
        if (i < 0) {
            throw new IllegalArgumentException("unknown convolution algorithm '" + name + "'; choose one of "
                    + String.join(", ", CONV_ALGORITHMS));
        }
        int st = cnn4j_set_conv_algorithm(i);
        if (st != 0) {
            throw new IllegalStateException("cnn4j_set_conv_algorithm(" + i + ") failed: " + cnn4j_status_string(st));
        }
    }

    /** The convolution algorithm setting now ({@link #setConvAlgorithm}). */
    public static String convAlgorithm() {
        ensureLoaded();
        return CONV_ALGORITHMS[cnn4j_get_conv_algorithm()];
    }

    public int threads() {
        return threads;
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String description() {
        return "native CPU (" + isa() + "), " + threads + " thread" + (threads == 1 ? "" : "s");
    }

    @Override
    protected void prepare() {
        requireOpen();
        synchronized (THREADS_LOCK) {
            if (appliedThreads != threads) {
                check("set_threads", cnn4j_set_threads(threads));
                appliedThreads = threads;
            }
        }
    }

    /** Frees the context and its scratch memory. Tensors are closed by their owners. Idempotent. */
    @Override
    public void close() {
        closeContext();
    }

    /** Bytes of scratch memory the backend's context holds now (grown by the ops that need more). */
    long scratchBytes() {
        requireOpen();
        long[] out = new long[1];
        check("context_scratch_bytes", cnn4j_context_scratch_bytes(ctx, out));
        return out[0];
    }
}
