package org.cnn4j.backend;

import static org.cnn4j.nativelib.Cnn4jNative.*;

import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Tensor;

/**
 * The CUDA backend: tensors in device memory, ops in cnn4j's own kernels ({@code native/cuda},
 * no cuBLAS or cuDNN), called through the same binding as the CPU backend. Kernels are queued
 * on the device's stream; only scalars (loss, correct count, sums) and explicit copies come
 * back to the host. A GPU that cannot be used is an error naming the reason (no driver, a
 * driver too old, no device, a build without CUDA), never a silent fallback.
 *
 * <p>Device memory comes from CUDA's caching pool (freed tensors are reused without a driver
 * call); {@link #close()} waits for the device and gives the cached memory back. Batches go
 * up through page-locked memory on a second stream ({@link #uploader}), results come back a
 * step late ({@link #fetch}), and a training step can be recorded as a CUDA graph
 * ({@link #record}).
 */
public final class CudaBackend extends AbstractNativeBackend {
    private final int device;
    private String description;

    private CudaBackend(int device) {
        super("CUDA");
        this.device = device;
    }

    /** The GPUs this process can use (0 where there are none or the build has no CUDA kernels). */
    public static int deviceCount() {
        try {
            NativeCpuBackend.ensureLoaded("cuda");
        } catch (BackendUnavailableException e) {
            return 0;
        }
        int[] count = new int[1];
        return cnn4j_cuda_device_count(count) == 0 ? count[0] : 0;
    }

    /**
     * Uses CUDA device {@code device}.
     *
     * @throws BackendUnavailableException naming why the GPU cannot be used
     */
    public static CudaBackend create(int device) {
        NativeCpuBackend.ensureLoaded("cuda");
        int[] count = new int[1];
        int st = cnn4j_cuda_device_count(count);
        if (st != 0) {
            throw new BackendUnavailableException("backend 'cuda' is not available: " + cnn4j_cuda_last_error());
        }
        if (device < 0 || device >= count[0]) {
            throw new BackendUnavailableException("backend 'cuda': device " + device + " does not exist ("
                    + count[0] + " visible)");
        }
        CudaBackend b = new CudaBackend(device);
        st = b.openContext(DEVICE_CUDA, device);  // makes the device current and checks that it works
        if (st != 0) {
            throw new BackendUnavailableException("backend 'cuda': device " + device + " is not usable: "
                    + cnn4j_cuda_last_error());
        }
        b.description = "CUDA " + cnn4j_cuda_describe();  // of the device just made current
        return b;
    }

    /**
     * Whether this build's CUDA device is cnn4j's simulated device (a build with
     * {@code -Dcnn4j.cuda=SIM}): the kernels run on the host processor, correctly but slowly,
     * for testing without a GPU. {@code auto} never picks it; {@code --backend cuda} does.
     */
    public static boolean simulated() {
        NativeCpuBackend.ensureLoaded("cuda");
        return cnn4j_cuda_is_simulated() == 1;
    }

    /**
     * Simulated device only: {@code seed} 0 runs a block's threads in index order, another seed
     * in an order drawn from it (anew for every block and barrier); {@code workers} host threads
     * run blocks (0 leaves the number; it is fixed once the first kernel ran).
     */
    public static void configureSimulator(long seed, int workers) {
        NativeCpuBackend.ensureLoaded("cuda");
        if (cnn4j_cuda_sim_configure(seed, workers) != 0) {
            throw new IllegalStateException("cuda: " + cnn4j_cuda_last_error());
        }
    }

    /**
     * Simulated device only: live device and page-locked allocations, their bytes, and the
     * kernels, blocks and threads run so far.
     */
    public static long[] simulatorStats() {
        NativeCpuBackend.ensureLoaded("cuda");
        long[] out = new long[5];
        if (cnn4j_cuda_sim_stats(out) != 0) {
            throw new IllegalStateException("cuda: " + cnn4j_cuda_last_error());
        }
        return out;
    }

    /** Whether a usable GPU is here (the reason is in {@link #create}'s exception otherwise). */
    public static boolean isAvailable() {
        try {
            create(0).close();
            return true;
        } catch (BackendUnavailableException e) {
            return false;
        }
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    String errorMessage(int status) {
        String detail = cnn4j_cuda_last_error();
        return cnn4j_status_string(status) + (detail == null || detail.isEmpty() ? "" : " (" + detail + ")");
    }

    @Override
    protected void prepare() {
        requireOpen();
    }

    /** Waits for the queued kernels; a kernel that failed is reported here by name. */
    public void synchronize() {
        check("synchronize", cnn4j_synchronize(ctx));
    }

    public int device() {
        return device;
    }

    /**
     * The device address of a float32 tensor of this backend, for a library that works on the
     * device memory itself (the collective layer over NCCL); valid while the tensor is open.
     */
    public long deviceAddress(Tensor t) {
        if (!(t instanceof NativeTensor n) || n.backend() != this) {
            throw new IllegalArgumentException("a tensor of another backend (" + t.backend().name() + ")");
        }
        if (t.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException("a " + t.dtype() + " tensor: float32 is needed");
        }
        return n.address();
    }

    /** cnn4j's compute stream on this backend's device (a cudaStream_t), on which its ops are queued. */
    public long stream() {
        requireOpen();
        long[] out = new long[1];
        check("stream", cnn4j_cuda_stream(out));
        return out[0];
    }

    /**
     * Sets how float32 convolutions and matmuls multiply (default {@link Precision#FP32}). The
     * setting belongs to the process: it applies to every CUDA backend from the next op on; a
     * step already recorded ({@link #record}) keeps the precision it was recorded with.
     */
    public static void setPrecision(Precision p) {
        NativeCpuBackend.ensureLoaded("cuda");
        int st = cnn4j_cuda_set_precision(p == Precision.TF32 ? 1 : 0);
        if (st != 0) {
            throw new IllegalStateException("cuda: cannot set precision " + p + ": " + cnn4j_status_string(st));
        }
    }

    public static Precision precision() {
        NativeCpuBackend.ensureLoaded("cuda");
        return cnn4j_cuda_get_precision() == 1 ? Precision.TF32 : Precision.FP32;
    }

    /** Bytes the caching pool holds from the driver, and of those the bytes in use. */
    public long[] poolBytes() {
        long[] reserved = new long[1], used = new long[1];
        check("cuda_pool_stats", cnn4j_cuda_pool_stats(reserved, used));
        return new long[] {reserved[0], used[0]};
    }

    @Override
    protected void runSoftmaxCrossEntropy(DType dt, OpChecks.Rows rc, Tensor logits, Tensor labels, Tensor dlogits,
                                          Tensor totals) {
        check("softmax_cross_entropy_device", cnn4j_cuda_softmax_cross_entropy_device(code(dt), a(logits), a(labels),
                a(dlogits), rc.rows(), rc.classes(), 1.0 / rc.rows(), a(totals)));
    }

    @Override
    public Uploader uploader(Tensor dst) {
        prepare();
        NativeTensor nd = t("uploader", dst);
        long[] out = new long[1];
        check("cuda_uploader_create", cnn4j_cuda_uploader_create(nd.bytes(), out));
        return new CudaUploader(nd, out[0]);
    }

    @Override
    public Fetch fetch(Tensor src) {
        prepare();
        NativeTensor ns = t("fetch", src);
        if (src.dtype() != DType.FLOAT64) {
            throw OpChecks.error("fetch", "reads FLOAT64 tensors, got " + src.dtype());
        }
        long[] out = new long[1];
        check("cuda_fetch_create", cnn4j_cuda_fetch_create(ns.bytes(), out));
        return new CudaFetch(ns, out[0]);
    }

    @Override
    public StepGraph record(Runnable step) {
        prepare();
        check("cuda_graph_begin", cnn4j_cuda_graph_begin());
        long[] exec = new long[1];
        try {
            step.run();
        } catch (RuntimeException | Error e) {
            cnn4j_cuda_graph_end(exec);  // ends the recording; the partial graph is dropped
            if (exec[0] != 0) {
                cnn4j_cuda_graph_destroy(exec[0]);
            }
            throw new IllegalStateException("cuda: the step could not be recorded as a CUDA graph: " + e.getMessage(),
                    e);
        }
        check("cuda_graph_end", cnn4j_cuda_graph_end(exec));
        return new CudaGraph(exec[0]);
    }

    @Override
    public void close() {
        if (!isClosed()) {
            cnn4j_synchronize(ctx);
            cnn4j_cuda_release_cached();
            closeContext();
        }
    }

    private final class CudaUploader implements Uploader {
        private final NativeTensor dst;
        private long handle;

        CudaUploader(NativeTensor dst, long handle) {
            this.dst = dst;
            this.handle = handle;
        }

        /** Checks the call, waits for a free page-locked slot (outside the JNI critical region of the copy), returns the bytes. */
        private long prepareUpload(int count, int available, DType type) {
            if (handle == 0) {
                throw new IllegalStateException("uploader used after close()");
            }
            if (count < 0 || count > dst.numel() || count > available) {
                throw new IllegalArgumentException("upload of " + count + " values into a tensor of " + dst.numel()
                        + " from an array of " + available);
            }
            if (dst.dtype() != type) {
                throw new IllegalArgumentException("upload of " + type + " values into a " + dst.dtype() + " tensor");
            }
            check("cuda_uploader_reserve", cnn4j_cuda_uploader_reserve(handle));
            return (long) count * type.bytes();
        }

        @Override
        public void upload(float[] src, int count) {
            long bytes = prepareUpload(count, src.length, DType.FLOAT32);
            check("cuda_uploader_put", cnn4j_cuda_uploader_put(handle, dst.address(), src, bytes));
        }

        @Override
        public void upload(double[] src, int count) {
            long bytes = prepareUpload(count, src.length, DType.FLOAT64);
            check("cuda_uploader_put", cnn4j_cuda_uploader_put(handle, dst.address(), src, bytes));
        }

        @Override
        public void upload(int[] src, int count) {
            long bytes = prepareUpload(count, src.length, DType.INT32);
            check("cuda_uploader_put", cnn4j_cuda_uploader_put(handle, dst.address(), src, bytes));
        }

        @Override
        public void close() {
            if (handle != 0) {
                long h = handle;
                handle = 0;
                check("cuda_uploader_destroy", cnn4j_cuda_uploader_destroy(h));
            }
        }
    }

    private final class CudaFetch implements Fetch {
        private final NativeTensor src;
        private long handle;
        private boolean started;

        CudaFetch(NativeTensor src, long handle) {
            this.src = src;
            this.handle = handle;
        }

        @Override
        public void start() {
            if (handle == 0) {
                throw new IllegalStateException("fetch used after close()");
            }
            check("cuda_fetch_start", cnn4j_cuda_fetch_start(handle, src.address(), src.bytes()));
            started = true;
        }

        @Override
        public double[] await() {
            if (!started) {
                throw new IllegalStateException("await() without start()");
            }
            started = false;
            check("cuda_fetch_wait", cnn4j_cuda_fetch_wait(handle));
            double[] out = new double[src.numel()];
            check("cuda_fetch_read", cnn4j_cuda_fetch_read(handle, out, src.bytes()));
            return out;
        }

        @Override
        public void close() {
            if (handle != 0) {
                long h = handle;
                handle = 0;
                check("cuda_fetch_destroy", cnn4j_cuda_fetch_destroy(h));
            }
        }
    }

    private final class CudaGraph implements StepGraph {
        private long exec;

        CudaGraph(long exec) {
            this.exec = exec;
        }

        @Override
        public void replay() {
            if (exec == 0) {
                throw new IllegalStateException("CUDA graph replayed after close()");
            }
            prepare();
            check("cuda_graph_launch", cnn4j_cuda_graph_launch(exec));
        }

        @Override
        public boolean isDeviceGraph() {
            return true;
        }

        @Override
        public void close() {
            if (exec != 0) {
                long e = exec;
                exec = 0;
                check("cuda_graph_destroy", cnn4j_cuda_graph_destroy(e));
            }
        }
    }
}
