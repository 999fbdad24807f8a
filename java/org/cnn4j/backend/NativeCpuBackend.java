package org.cnn4j.backend;

import static org.cnn4j.nativelib.Cnn4jNative.*;

import org.cnn4j.nativelib.Cnn4jNative;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.tensor.Window2d;

/**
 * The native CPU backend: tensors in off-heap memory, ops in the handwritten C++ kernels
 * of {@code libcnn4j} (OpenMP threads, AVX-512/AVX2/SSE2 chosen at run time), called
 * through the JavaCPP binding with raw addresses. Every size is checked here, with the
 * same {@link OpChecks} as the pure-Java backend, before a kernel runs.
 *
 * <p>The backend owns one scratch buffer for convolutions and matmuls, grown as needed
 * and freed by {@link #close()}.
 */
public final class NativeCpuBackend implements Backend {
    /** Instruction-set names, indexed by the ABI's cnn4j_isa codes. */
    public static final String[] ISA_NAMES = {"baseline", "avx2", "avx512"};

    private static final Object THREADS_LOCK = new Object();
    private static int appliedThreads = -1;

    private final int threads;
    private long workspace;
    private long workspaceBytes;
    private boolean closed;

    private NativeCpuBackend(int threads) {
        this.threads = threads;
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
        return new NativeCpuBackend(threads);
    }

    /** Loads the library, or throws {@link BackendUnavailableException} with the reason. */
    public static void ensureLoaded() {
        try {
            Cnn4jNative.load();
            int abi = cnn4j_abi_version();
            if (abi != 1) {
                throw new BackendUnavailableException("native library has ABI version " + abi + ", expected 1");
            }
        } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new BackendUnavailableException("backend 'cpu' is not available: the native library did not load ("
                    + cause + "); this may be a JNI-free build of cnn4j (use --backend java)", e);
        }
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

    static int code(DType t) {
        return switch (t) {
            case FLOAT32 -> 0;
            case FLOAT64 -> 1;
            case INT32 -> 2;
        };
    }

    /** Turns a non-OK status into an exception naming the C function. */
    static void check(String fn, int status) {
        if (status == 0) {
            return;
        }
        String msg = "cnn4j_" + fn + " failed: " + cnn4j_status_string(status);
        if (status == 2) {
            throw new OutOfMemoryError(msg);
        }
        throw new IllegalStateException(msg);
    }

    private void applyThreads() {
        synchronized (THREADS_LOCK) {
            if (appliedThreads != threads) {
                check("set_threads", cnn4j_set_threads(threads));
                appliedThreads = threads;
            }
        }
    }

    private long workspace(long bytes) {
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

    private NativeTensor t(String op, Tensor t) {
        if (t == null) {
            return null;
        }
        if (!(t instanceof NativeTensor nt) || nt.backend() != this) {
            throw OpChecks.error(op, "tensor " + t.shape() + " belongs to backend " + t.backend().name()
                    + ", not to this cpu backend");
        }
        nt.address();
        return nt;
    }

    private static long a(NativeTensor t) {
        return t == null ? 0 : t.address();
    }

    private static int b(boolean v) {
        return v ? 1 : 0;
    }

    @Override
    public Tensor zeros(Shape shape, DType dtype) {
        return new NativeTensor(this, shape, dtype);
    }

    @Override
    public void fill(Tensor x, double value) {
        NativeTensor nx = t("fill", x);
        check("fill", cnn4j_fill(code(x.dtype()), nx.address(), x.numel(), value));
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        NativeTensor s = t("copy", src), d = t("copy", dst);
        OpChecks.sameNumel("copy", "src", src, "dst", dst);
        if (src.dtype() != dst.dtype()) {
            throw OpChecks.error("copy", "src is " + src.dtype() + ", dst is " + dst.dtype());
        }
        if (s.address() != d.address()) {
            check("copy", cnn4j_copy(s.address(), d.address(), s.bytes()));
        }
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        String op = "add";
        NativeTensor x = t(op, a), y = t(op, b), o = t(op, out);
        OpChecks.sameShape(op, "a", a, "b", b);
        OpChecks.sameShape(op, "a", a, "out", out);
        int dt = code(OpChecks.floating(op, a, b, out));
        check(op, cnn4j_add(dt, x.address(), y.address(), o.address(), a.numel()));
    }

    @Override
    public void axpy(double alpha, Tensor x, Tensor y) {
        String op = "axpy";
        NativeTensor nx = t(op, x), ny = t(op, y);
        OpChecks.sameNumel(op, "x", x, "y", y);
        check(op, cnn4j_axpy(code(OpChecks.floating(op, x, y)), alpha, nx.address(), ny.address(), x.numel()));
    }

    @Override
    public void scale(Tensor x, double alpha) {
        NativeTensor nx = t("scale", x);
        check("scale", cnn4j_scale(code(OpChecks.floating("scale", x)), nx.address(), x.numel(), alpha));
    }

    private double reduce(String op, Tensor x, boolean squares) {
        NativeTensor nx = t(op, x);
        double[] out = new double[1];
        check("sum", cnn4j_sum(code(OpChecks.floating(op, x)), nx.address(), x.numel(), b(squares), out));
        return out[0];
    }

    @Override
    public double sum(Tensor x) {
        return reduce("sum", x, false);
    }

    @Override
    public double sumOfSquares(Tensor x) {
        return reduce("sumOfSquares", x, true);
    }

    private long convWorkspace(int dt, int which, ConvDims d) {
        Window2d w = d.win();
        long[] bytes = new long[1];
        check("conv2d_workspace", cnn4j_conv2d_workspace(dt, which, d.n(), d.c(), d.h(), d.w(), d.k(), w.kernelH(),
                w.kernelW(), w.strideH(), w.strideW(), w.padTop(), w.padLeft(), w.dilationH(), w.dilationW(),
                d.groups(), d.oh(), d.ow(), bytes));
        return workspace(bytes[0]);
    }

    @Override
    public void conv2dForward(Tensor x, Tensor w, Tensor bias, Tensor y, Window2d win, int groups) {
        String op = "conv2dForward";
        NativeTensor nx = t(op, x), nw = t(op, w), nb = t(op, bias), ny = t(op, y);
        ConvDims d = OpChecks.conv2d(op, x, w, bias, y, win, groups);
        int dt = code(OpChecks.floating(op, x, w, bias, y));
        applyThreads();
        long ws = convWorkspace(dt, 0, d);
        check("conv2d_forward", cnn4j_conv2d_forward(dt, nx.address(), nw.address(), a(nb), ny.address(), d.n(),
                d.c(), d.h(), d.w(), d.k(), win.kernelH(), win.kernelW(), win.strideH(), win.strideW(),
                win.padTop(), win.padLeft(), win.dilationH(), win.dilationW(), groups, d.oh(), d.ow(), ws));
    }

    @Override
    public void conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, Window2d win, int groups) {
        String op = "conv2dBackwardData";
        NativeTensor ndy = t(op, dy), nw = t(op, w), ndx = t(op, dx);
        ConvDims d = OpChecks.conv2d(op, dx, w, null, dy, win, groups);
        int dt = code(OpChecks.floating(op, dy, w, dx));
        applyThreads();
        long ws = convWorkspace(dt, 1, d);
        check("conv2d_backward_data", cnn4j_conv2d_backward_data(dt, ndy.address(), nw.address(), ndx.address(),
                d.n(), d.c(), d.h(), d.w(), d.k(), win.kernelH(), win.kernelW(), win.strideH(), win.strideW(),
                win.padTop(), win.padLeft(), win.dilationH(), win.dilationW(), groups, d.oh(), d.ow(), ws));
    }

    @Override
    public void conv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, Tensor dbias, Window2d win, int groups) {
        String op = "conv2dBackwardFilter";
        NativeTensor nx = t(op, x), ndy = t(op, dy), ndw = t(op, dw), ndb = t(op, dbias);
        ConvDims d = OpChecks.conv2d(op, x, dw, dbias, dy, win, groups);
        int dt = code(OpChecks.floating(op, x, dy, dw, dbias));
        applyThreads();
        long ws = convWorkspace(dt, 2, d);
        check("conv2d_backward_filter", cnn4j_conv2d_backward_filter(dt, nx.address(), ndy.address(),
                ndw.address(), a(ndb), d.n(), d.c(), d.h(), d.w(), d.k(), win.kernelH(), win.kernelW(),
                win.strideH(), win.strideW(), win.padTop(), win.padLeft(), win.dilationH(), win.dilationW(), groups,
                d.oh(), d.ow(), ws));
    }

    @Override
    public void maxPool2dForward(Tensor x, Tensor y, Tensor argmax, Window2d win) {
        String op = "maxPool2dForward";
        NativeTensor nx = t(op, x), ny = t(op, y), na = t(op, argmax);
        int[] p = OpChecks.maxPool2dForward(op, x, y, argmax, win);
        int dt = code(OpChecks.floating(op, x, y));
        applyThreads();
        check("max_pool2d_forward", cnn4j_max_pool2d_forward(dt, nx.address(), ny.address(), a(na), p[0], p[1],
                p[2], p[3], p[4], win.kernelH(), win.kernelW(), win.strideH(), win.strideW(), win.padTop(),
                win.padLeft(), win.dilationH(), win.dilationW()));
    }

    @Override
    public void maxPool2dBackward(Tensor dy, Tensor argmax, Tensor dx) {
        String op = "maxPool2dBackward";
        NativeTensor ndy = t(op, dy), na = t(op, argmax), ndx = t(op, dx);
        int[] p = OpChecks.maxPool2dBackward(op, dy, argmax, dx);
        int dt = code(OpChecks.floating(op, dy, dx));
        applyThreads();
        check("max_pool2d_backward", cnn4j_max_pool2d_backward(dt, ndy.address(), na.address(), ndx.address(),
                p[0], p[1], p[2]));
    }

    @Override
    public void avgPool2dForward(Tensor x, Tensor y, Window2d win, boolean countIncludePad) {
        String op = "avgPool2dForward";
        NativeTensor nx = t(op, x), ny = t(op, y);
        int[] p = OpChecks.pool2d(op, x, y, win);
        int dt = code(OpChecks.floating(op, x, y));
        applyThreads();
        check("avg_pool2d_forward", cnn4j_avg_pool2d_forward(dt, nx.address(), ny.address(), p[0], p[1], p[2],
                p[3], p[4], win.kernelH(), win.kernelW(), win.strideH(), win.strideW(), win.padTop(), win.padLeft(),
                win.dilationH(), win.dilationW(), b(countIncludePad)));
    }

    @Override
    public void avgPool2dBackward(Tensor dy, Tensor dx, Window2d win, boolean countIncludePad) {
        String op = "avgPool2dBackward";
        NativeTensor ndy = t(op, dy), ndx = t(op, dx);
        int[] p = OpChecks.pool2d(op, dx, dy, win);
        int dt = code(OpChecks.floating(op, dy, dx));
        applyThreads();
        check("avg_pool2d_backward", cnn4j_avg_pool2d_backward(dt, ndy.address(), ndx.address(), p[0], p[1], p[2],
                p[3], p[4], win.kernelH(), win.kernelW(), win.strideH(), win.strideW(), win.padTop(), win.padLeft(),
                win.dilationH(), win.dilationW(), b(countIncludePad)));
    }

    @Override
    public void activationForward(Activation act, double alpha, Tensor x, Tensor y) {
        String op = "activationForward(" + act + ")";
        NativeTensor nx = t(op, x), ny = t(op, y);
        OpChecks.sameNumel(op, "x", x, "y", y);
        int dt = code(OpChecks.floating(op, x, y));
        applyThreads();
        check("activation_forward", cnn4j_activation_forward(dt, act.ordinal(), alpha, nx.address(), ny.address(),
                x.numel()));
    }

    @Override
    public void activationBackward(Activation act, double alpha, Tensor x, Tensor y, Tensor dy, Tensor dx) {
        String op = "activationBackward(" + act + ")";
        NativeTensor nx = t(op, x), ny = t(op, y), ndy = t(op, dy), ndx = t(op, dx);
        OpChecks.sameNumel(op, "x", x, "dy", dy);
        OpChecks.sameNumel(op, "y", y, "dy", dy);
        OpChecks.sameNumel(op, "dx", dx, "dy", dy);
        int dt = code(OpChecks.floating(op, x, y, dy, dx));
        applyThreads();
        check("activation_backward", cnn4j_activation_backward(dt, act.ordinal(), alpha, a(nx), a(ny),
                ndy.address(), ndx.address(), dy.numel()));
    }

    @Override
    public void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, boolean accumulate) {
        String op = "matmul";
        NativeTensor na = t(op, a), nb = t(op, b), nc = t(op, c);
        int[] mnk = OpChecks.matmul(op, a, transA, b, transB, c);
        int dt = code(OpChecks.floating(op, a, b, c));
        applyThreads();
        long[] bytes = new long[1];
        check("matmul_workspace", cnn4j_matmul_workspace(dt, mnk[0], mnk[1], mnk[2], bytes));
        long ws = workspace(bytes[0]);
        check("matmul", cnn4j_matmul(dt, b(transA), b(transB), mnk[0], mnk[1], mnk[2], na.address(), nb.address(),
                nc.address(), b(accumulate), ws));
    }

    @Override
    public void biasAdd(Tensor y, Tensor bias) {
        String op = "biasAdd";
        NativeTensor ny = t(op, y), nb = t(op, bias);
        int[] s = OpChecks.channelSplit(op, y);
        OpChecks.shape(op, "bias", bias, Shape.of(s[1]));
        int dt = code(OpChecks.floating(op, y, bias));
        applyThreads();
        check("bias_add", cnn4j_bias_add(dt, ny.address(), nb.address(), s[0], s[1], s[2]));
    }

    @Override
    public void biasGrad(Tensor dy, Tensor dbias) {
        String op = "biasGrad";
        NativeTensor ndy = t(op, dy), nb = t(op, dbias);
        int[] s = OpChecks.channelSplit(op, dy);
        OpChecks.shape(op, "dbias", dbias, Shape.of(s[1]));
        int dt = code(OpChecks.floating(op, dy, dbias));
        check("bias_grad", cnn4j_bias_grad(dt, ndy.address(), nb.address(), s[0], s[1], s[2]));
    }

    @Override
    public void batchNormForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, Tensor y,
                                 Tensor saveMean, Tensor saveInvStd, boolean batchStats, double momentum, double eps) {
        String op = "batchNormForward";
        NativeTensor nx = t(op, x), ng = t(op, gamma), nb = t(op, beta), rm = t(op, runningMean),
                rv = t(op, runningVar), ny = t(op, y), sm = t(op, saveMean), si = t(op, saveInvStd);
        int[] s = OpChecks.batchNorm(op, x, y, gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        int dt = code(OpChecks.floating(op, x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd));
        if (!(eps > 0)) {
            throw OpChecks.error(op, "eps must be > 0, got " + eps);
        }
        applyThreads();
        check("batch_norm_forward", cnn4j_batch_norm_forward(dt, nx.address(), ng.address(), nb.address(),
                rm.address(), rv.address(), ny.address(), sm.address(), si.address(), s[0], s[1], s[2], b(batchStats),
                momentum, eps));
    }

    @Override
    public void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor dx,
                                  Tensor dgamma, Tensor dbeta, boolean batchStats) {
        String op = "batchNormBackward";
        NativeTensor nx = t(op, x), ndy = t(op, dy), ng = t(op, gamma), sm = t(op, saveMean), si = t(op, saveInvStd),
                ndx = t(op, dx), dg = t(op, dgamma), db = t(op, dbeta);
        int[] s = OpChecks.batchNorm(op, x, dy, gamma, saveMean, saveInvStd, dgamma, dbeta);
        if (dx != null) {
            OpChecks.sameShape(op, "x", x, "dx", dx);
        }
        int dt = code(OpChecks.floating(op, x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta));
        applyThreads();
        check("batch_norm_backward", cnn4j_batch_norm_backward(dt, nx.address(), ndy.address(), ng.address(),
                sm.address(), si.address(), a(ndx), dg.address(), db.address(), s[0], s[1], s[2], b(batchStats)));
    }

    @Override
    public void dropoutForward(Tensor x, Tensor y, Tensor mask, double p, long seed) {
        String op = "dropoutForward";
        NativeTensor nx = t(op, x), ny = t(op, y), nm = t(op, mask);
        OpChecks.sameShape(op, "x", x, "y", y);
        OpChecks.sameShape(op, "x", x, "mask", mask);
        OpChecks.dropoutProbability(op, p);
        int dt = code(OpChecks.floating(op, x, y, mask));
        check("dropout_forward", cnn4j_dropout_forward(dt, nx.address(), ny.address(), nm.address(), x.numel(), p,
                seed));
    }

    @Override
    public void multiply(Tensor a, Tensor b, Tensor out) {
        String op = "multiply";
        NativeTensor x = t(op, a), y = t(op, b), o = t(op, out);
        OpChecks.sameShape(op, "a", a, "b", b);
        OpChecks.sameShape(op, "a", a, "out", out);
        check(op, cnn4j_multiply(code(OpChecks.floating(op, a, b, out)), x.address(), y.address(), o.address(),
                a.numel()));
    }

    @Override
    public void maxoutForward(Tensor x, Tensor y, Tensor argmax, int pieces) {
        String op = "maxoutForward";
        NativeTensor nx = t(op, x), ny = t(op, y), na = t(op, argmax);
        int[] s = OpChecks.maxout(op, x, y, argmax, pieces);
        int dt = code(OpChecks.floating(op, x, y));
        check("maxout_forward", cnn4j_maxout_forward(dt, nx.address(), ny.address(), na.address(), s[0], s[1], s[2],
                pieces));
    }

    @Override
    public void maxoutBackward(Tensor dy, Tensor argmax, Tensor dx, int pieces) {
        String op = "maxoutBackward";
        NativeTensor ndy = t(op, dy), na = t(op, argmax), ndx = t(op, dx);
        int[] s = OpChecks.maxout(op, dx, dy, argmax, pieces);
        int dt = code(OpChecks.floating(op, dy, dx));
        check("maxout_backward", cnn4j_maxout_backward(dt, ndy.address(), na.address(), ndx.address(), s[0], s[1],
                s[2], pieces));
    }

    @Override
    public void copyChannels(Tensor src, int srcOffset, Tensor dst, int dstOffset, int count) {
        String op = "copyChannels";
        NativeTensor ns = t(op, src), nd = t(op, dst);
        int[] s = OpChecks.copyChannels(op, src, srcOffset, dst, dstOffset, count);
        check("copy_channels", cnn4j_copy_channels(ns.address(), s[2], srcOffset, nd.address(), s[3], dstOffset, count,
                s[0], s[1], src.dtype().bytes()));
    }

    @Override
    public LossResult softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits) {
        String op = "softmaxCrossEntropy";
        NativeTensor nl = t(op, logits), nlab = t(op, labels), nd = t(op, dlogits);
        int[] nc = OpChecks.classification(op, logits, labels);
        if (dlogits != null) {
            OpChecks.shape(op, "dlogits", dlogits, logits.shape());
        }
        int dt = code(OpChecks.floating(op, logits, dlogits));
        double[] r = new double[3];
        int st = cnn4j_softmax_cross_entropy(dt, nl.address(), nlab.address(), a(nd), nc[0], nc[1], 1.0 / nc[0], r);
        if (st != 0 && r[2] >= 0) {
            int row = (int) r[2];
            throw new IllegalArgumentException("label " + labels.toIntArray()[row] + " at row " + row
                    + " is outside [0, " + nc[1] + ")");
        }
        check("softmax_cross_entropy", st);
        return new LossResult(r[0] / nc[0], (int) r[1]);
    }

    @Override
    public void topK(Tensor logits, int k, Tensor out) {
        String op = "topK";
        NativeTensor nl = t(op, logits), no = t(op, out);
        int[] rc = OpChecks.topK(op, logits, k, out);
        int dt = code(OpChecks.floating(op, logits));
        check("top_k", cnn4j_top_k(dt, nl.address(), rc[0], rc[1], k, no.address()));
    }

    @Override
    public void sgdUpdate(Tensor param, Tensor grad, Tensor velocity, double lr, double momentum, double dampening,
                          boolean nesterov, double weightDecay, boolean firstStep) {
        String op = "sgdUpdate";
        NativeTensor p = t(op, param), g = t(op, grad), v = t(op, velocity);
        OpChecks.optimizerState(op, param, grad, OpChecks.SGD_STATE, velocity);
        int dt = code(OpChecks.floating(op, param, grad, velocity));
        check("sgd_update", cnn4j_sgd_update(dt, p.address(), g.address(), a(v), param.numel(), lr,
                v == null ? 0 : momentum, dampening, b(nesterov), weightDecay, b(firstStep)));
    }

    @Override
    public void rmspropUpdate(Tensor param, Tensor grad, Tensor squareAvg, Tensor momentumBuffer, double lr,
                              double alpha, double eps, double weightDecay, double momentum) {
        String op = "rmspropUpdate";
        NativeTensor p = t(op, param), g = t(op, grad), s = t(op, squareAvg), mb = t(op, momentumBuffer);
        OpChecks.optimizerState(op, param, grad, OpChecks.RMSPROP_STATE, squareAvg, momentumBuffer);
        int dt = code(OpChecks.floating(op, param, grad, squareAvg, momentumBuffer));
        check("rmsprop_update", cnn4j_rmsprop_update(dt, p.address(), g.address(), s.address(), a(mb),
                param.numel(), lr, alpha, eps, weightDecay, mb == null ? 0 : momentum));
    }

    @Override
    public void adamUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2,
                           double eps, double weightDecay, boolean decoupled, long step) {
        String op = "adamUpdate";
        NativeTensor p = t(op, param), g = t(op, grad), nm = t(op, m), nv = t(op, v);
        OpChecks.optimizerState(op, param, grad, OpChecks.ADAM_STATE, m, v);
        OpChecks.adamStep(op, step);
        int dt = code(OpChecks.floating(op, param, grad, m, v));
        check("adam_update", cnn4j_adam_update(dt, p.address(), g.address(), nm.address(), nv.address(),
                param.numel(), lr, beta1, beta2, eps, weightDecay, b(decoupled), step));
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
