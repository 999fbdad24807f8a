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
 * <p>The backend owns one scratch buffer for convolutions and matmuls, grown as needed
 * and freed by {@link #close()}.
 */
public final class NativeCpuBackend extends AbstractNativeBackend {
    /** Instruction-set names, indexed by the ABI's cnn4j_isa codes. */
    public static final String[] ISA_NAMES = {"baseline", "avx2", "avx512"};
    /** The values of {@link #setConvAlgorithm}, in the order of the native enum. */
    public static final String[] CONV_ALGORITHMS = {"auto", "direct", "gemm"};

    private static final Object THREADS_LOCK = new Object();
    private static int appliedThreads = -1;

    private final int threads;
    private long workspace;
    private long workspaceBytes;
    private boolean closed;

    private NativeCpuBackend(int threads, CpuOps ops) {
        super(ops);
        this.threads = threads;
        ops.owner = this;
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
        return new NativeCpuBackend(threads, new CpuOps());
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
            if (abi != 2) {
                throw new BackendUnavailableException("native library has ABI version " + abi + ", expected 2");
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
        synchronized (THREADS_LOCK) {
            if (appliedThreads != threads) {
                check("set_threads", cnn4j_set_threads(threads));
                appliedThreads = threads;
            }
        }
    }

    long workspace(long bytes) {
        if (closed) {
            throw new IllegalStateException("native CPU backend was used after close()");
        }
        if (bytes > workspaceBytes) {
            cnn4j_free(workspace);
            workspace = 0;
            workspaceBytes = 0;
            long[] out = new long[1];
            check("alloc", cnn4j_alloc(bytes, out));
            workspace = out[0];
            workspaceBytes = bytes;
        }
        return workspace;
    }

    /** The CPU kernels: {@code cnn4j_*}, with the backend's scratch buffer for convolutions and matmuls. */
    private static final class CpuOps implements NativeOps {
        NativeCpuBackend owner;

        @Override
        public String errorMessage(int status) {
            return cnn4j_status_string(status);
        }

        @Override
        public int alloc(long bytes, long[] out) {
            return cnn4j_alloc(bytes, out);
        }

        @Override
        public int free(long p) {
            return cnn4j_free(p);
        }

        @Override
        public int copyDevice(long src, long dst, long bytes) {
            return cnn4j_copy(src, dst, bytes);
        }

        @Override
        public int copyIn(float[] src, long dst, long bytes) {
            return cnn4j_copy(src, dst, bytes);
        }

        @Override
        public int copyIn(double[] src, long dst, long bytes) {
            return cnn4j_copy(src, dst, bytes);
        }

        @Override
        public int copyIn(int[] src, long dst, long bytes) {
            return cnn4j_copy(src, dst, bytes);
        }

        @Override
        public int copyOut(long src, float[] dst, long bytes) {
            return cnn4j_copy(src, dst, bytes);
        }

        @Override
        public int copyOut(long src, double[] dst, long bytes) {
            return cnn4j_copy(src, dst, bytes);
        }

        @Override
        public int copyOut(long src, int[] dst, long bytes) {
            return cnn4j_copy(src, dst, bytes);
        }

        @Override
        public int fill(int dt, long x, long n, double v) {
            return cnn4j_fill(dt, x, n, v);
        }

        @Override
        public int add(int dt, long a, long b, long out, long n) {
            return cnn4j_add(dt, a, b, out, n);
        }

        @Override
        public int multiply(int dt, long a, long b, long out, long n) {
            return cnn4j_multiply(dt, a, b, out, n);
        }

        @Override
        public int axpy(int dt, double alpha, long x, long y, long n) {
            return cnn4j_axpy(dt, alpha, x, y, n);
        }

        @Override
        public int scale(int dt, long x, long n, double alpha) {
            return cnn4j_scale(dt, x, n, alpha);
        }

        @Override
        public int sum(int dt, long x, long n, int squares, double[] out) {
            return cnn4j_sum(dt, x, n, squares, out);
        }

        @Override
        public int matmul(int dt, int ta, int tb, long m, long n, long k, long a, long b, long c, int accumulate) {
            long[] bytes = new long[1];
            int st = cnn4j_matmul_workspace(dt, m, n, k, bytes);
            return st != 0 ? st : cnn4j_matmul(dt, ta, tb, m, n, k, a, b, c, accumulate, owner.workspace(bytes[0]));
        }

        @Override
        public int biasAdd(int dt, long y, long bias, long outer, long channels, long inner) {
            return cnn4j_bias_add(dt, y, bias, outer, channels, inner);
        }

        @Override
        public int biasGrad(int dt, long dy, long dbias, long outer, long channels, long inner) {
            return cnn4j_bias_grad(dt, dy, dbias, outer, channels, inner);
        }

        private long convWorkspace(int dt, int which, long[] geometry) {
            long[] bytes = new long[1];
            owner.check("conv2d_workspace", cnn4j_conv2d_workspace(dt, which, geometry, bytes));
            return owner.workspace(bytes[0]);
        }

        @Override
        public int conv2dForward(int dt, long[] geometry, long x, long w, long bias, long y) {
            return cnn4j_conv2d_forward(dt, geometry, x, w, bias, y, convWorkspace(dt, 0, geometry));
        }

        @Override
        public int conv2dBackwardData(int dt, long[] geometry, long dy, long w, long dx) {
            return cnn4j_conv2d_backward_data(dt, geometry, dy, w, dx, convWorkspace(dt, 1, geometry));
        }

        @Override
        public int conv2dBackwardFilter(int dt, long[] geometry, long x, long dy, long dw, long dbias) {
            return cnn4j_conv2d_backward_filter(dt, geometry, x, dy, dw, dbias, convWorkspace(dt, 2, geometry));
        }

        @Override
        public int maxPool2dForward(int dt, long[] geometry, long x, long y, long argmax) {
            return cnn4j_max_pool2d_forward(dt, geometry, x, y, argmax);
        }

        @Override
        public int maxPool2dBackward(int dt, long dy, long argmax, long dx, long planes, long hw, long ohw) {
            return cnn4j_max_pool2d_backward(dt, dy, argmax, dx, planes, hw, ohw);
        }

        @Override
        public int avgPool2dForward(int dt, long[] geometry, long x, long y, int include) {
            return cnn4j_avg_pool2d_forward(dt, geometry, x, y, include);
        }

        @Override
        public int avgPool2dBackward(int dt, long[] geometry, long dy, long dx, int include) {
            return cnn4j_avg_pool2d_backward(dt, geometry, dy, dx, include);
        }

        @Override
        public int activationForward(int dt, int act, double alpha, long x, long y, long n) {
            return cnn4j_activation_forward(dt, act, alpha, x, y, n);
        }

        @Override
        public int activationBackward(int dt, int act, double alpha, long x, long y, long dy, long dx, long n) {
            return cnn4j_activation_backward(dt, act, alpha, x, y, dy, dx, n);
        }

        @Override
        public int softmaxCrossEntropy(int dt, long logits, long labels, long dlogits, long rows, long classes,
                                       double gradScale, double[] result) {
            return cnn4j_softmax_cross_entropy(dt, logits, labels, dlogits, rows, classes, gradScale, result);
        }

        @Override
        public int topK(int dt, long logits, long rows, long classes, long k, long out) {
            return cnn4j_top_k(dt, logits, rows, classes, k, out);
        }

        @Override
        public int sgdUpdate(int dt, long p, long g, long v, long n, double lr, double mom, double damp, int nesterov,
                             double wd, int first) {
            return cnn4j_sgd_update(dt, p, g, v, n, lr, mom, damp, nesterov, wd, first);
        }

        @Override
        public int rmspropUpdate(int dt, long p, long g, long sq, long mb, long n, double lr, double alpha, double eps,
                                 double wd, double mom) {
            return cnn4j_rmsprop_update(dt, p, g, sq, mb, n, lr, alpha, eps, wd, mom);
        }

        @Override
        public int adamUpdate(int dt, long p, long g, long m, long v, long n, double lr, double b1, double b2,
                              double eps, double wd, int decoupled, long step) {
            return cnn4j_adam_update(dt, p, g, m, v, n, lr, b1, b2, eps, wd, decoupled, step);
        }

        @Override
        public int batchNormForward(int dt, long x, long gamma, long beta, long rm, long rv, long y, long sm, long si,
                                    long outer, long channels, long inner, int batchStats, double momentum, double eps,
                                    int relu) {
            return cnn4j_batch_norm_forward(dt, x, gamma, beta, rm, rv, y, sm, si, outer, channels, inner, batchStats,
                    momentum, eps, relu);
        }

        @Override
        public int batchNormBackward(int dt, long x, long dy, long gamma, long sm, long si, long dx, long dg, long db,
                                     long outer, long channels, long inner, int batchStats, long reluY) {
            return cnn4j_batch_norm_backward(dt, x, dy, gamma, sm, si, dx, dg, db, outer, channels, inner, batchStats,
                    reluY);
        }

        @Override
        public int dropoutForward(int dt, long x, long y, long mask, long n, double p, long seed) {
            return cnn4j_dropout_forward(dt, x, y, mask, n, p, seed);
        }

        @Override
        public int maxoutForward(int dt, long x, long y, long argmax, long outer, long channels, long inner,
                                 long pieces) {
            return cnn4j_maxout_forward(dt, x, y, argmax, outer, channels, inner, pieces);
        }

        @Override
        public int maxoutBackward(int dt, long dy, long argmax, long dx, long outer, long channels, long inner,
                                  long pieces) {
            return cnn4j_maxout_backward(dt, dy, argmax, dx, outer, channels, inner, pieces);
        }

        @Override
        public int copyChannels(long src, long srcC, long srcOff, long dst, long dstC, long dstOff, long count,
                                long outer, long inner, long elemBytes) {
            return cnn4j_copy_channels(src, srcC, srcOff, dst, dstC, dstOff, count, outer, inner, elemBytes);
        }
    }

    /** Frees the scratch buffer. Tensors are closed by their owners. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            cnn4j_free(workspace);
            workspace = 0;
            workspaceBytes = 0;
        }
    }
}
