package org.cnn4j.dist;

import static org.cnn4j.nativelib.Cnn4jNccl.cnn4j_nccl_allreduce_sum_f32;
import static org.cnn4j.nativelib.Cnn4jNccl.cnn4j_nccl_broadcast_f32;
import static org.cnn4j.nativelib.Cnn4jNccl.cnn4j_nccl_create;
import static org.cnn4j.nativelib.Cnn4jNccl.cnn4j_nccl_destroy;
import static org.cnn4j.nativelib.Cnn4jNccl.cnn4j_nccl_last_error;
import static org.cnn4j.nativelib.Cnn4jNccl.cnn4j_nccl_unique_id;

import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.cnn4j.backend.BackendUnavailableException;
import org.cnn4j.backend.CudaBackend;
import org.cnn4j.nativelib.Cnn4jNccl;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;

/**
 * A {@link Collective} of GPUs over NVIDIA's NCCL, through cnn4j's collective layer
 * ({@code libcnn4j_nccl}): one process per GPU, each with a {@link CudaBackend} on its own
 * device. Besides the host arrays of {@link Collective} (which pass through a device buffer of
 * the group's own), it sums tensors where they lie, on the device ({@link #allReduceSum(Tensor)}):
 * {@link DataParallel} all-reduces the gradients that way, without copies to the host. The
 * operations are queued on the backend's stream, after the kernels that made the data, and
 * return once done; a peer that left or never answered within the timeout fails the call with
 * a {@link CollectiveException} (the communicator is aborted).
 *
 * <p>One thread at a time. Built only where the CUDA kernels and NCCL are; elsewhere
 * {@link #join} says why it cannot.
 */
public final class NcclCollective implements Collective {

    private static final int OK = 0;
    private static final int UNSUPPORTED = 3;

    private final int rank;
    private final int size;
    private final CudaBackend backend;
    private long comm;
    private final Map<Integer, Tensor> staging = new HashMap<>();  // device buffers of the host arrays, by length

    private NcclCollective(int rank, int size, CudaBackend backend, long comm) {
        this.rank = rank;
        this.size = size;
        this.backend = backend;
        this.comm = comm;
    }

    /**
     * Whether this build has the collective layer over NCCL (null), or why not. Loads nothing
     * that needs a GPU.
     */
    public static String unavailableReason() {
        try {
            load();
            long[] len = new long[1];
            int st = cnn4j_nccl_unique_id(null, 0, len);
            return st == OK ? null : cnn4j_nccl_last_error();
        } catch (BackendUnavailableException e) {
            return e.getMessage();
        }
    }

    /**
     * Joins the group of the rendezvous's size as its rank, on {@code backend}'s device (every
     * rank on a device of its own): rank 0 makes the group's id, the rendezvous carries it to
     * the others. {@code timeout} bounds the wait for the others here and in every operation.
     *
     * @throws BackendUnavailableException when the build has no collective layer over NCCL
     * @throws CollectiveException when the group cannot be formed
     */
    public static NcclCollective join(Rendezvous rendezvous, CudaBackend backend, Duration timeout) {
        Objects.requireNonNull(rendezvous, "rendezvous");
        Objects.requireNonNull(backend, "backend");
        load();
        int rank = rendezvous.rank();
        int size = rendezvous.size();
        long[] len = new long[1];
        check("group id", cnn4j_nccl_unique_id(null, 0, len));
        byte[] id = new byte[Math.toIntExact(len[0])];
        if (rank == 0) {
            check("group id", cnn4j_nccl_unique_id(id, id.length, len));
        }
        List<byte[]> all = rendezvous.allGather(rank == 0 ? id : new byte[0]);
        if (all.size() != size || all.get(0).length != id.length) {
            throw new CollectiveException("the rendezvous did not carry rank 0's group id of " + id.length + " bytes");
        }
        byte[] shared = all.get(0);
        long[] out = new long[1];
        check("joining a group of " + size + " GPUs as rank " + rank,
                cnn4j_nccl_create(rank, size, shared, shared.length, timeout.toMillis(), out));
        return new NcclCollective(rank, size, backend, out[0]);
    }

    private static void load() {
        try {
            Cnn4jNccl.load();
        } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
            throw new BackendUnavailableException("data-parallel training on GPUs needs cnn4j's native artifact built "
                    + "with NCCL, and NCCL's library (libnccl.so.2) on this machine: " + e, e);
        }
    }

    private static void check(String what, int status) {
        if (status != OK) {
            String reason = cnn4j_nccl_last_error();
            if (status == UNSUPPORTED) {
                throw new BackendUnavailableException(reason);
            }
            throw new CollectiveException(what + ": " + reason);
        }
    }

    private long open() {
        if (comm == 0) {
            throw new IllegalStateException("the group of rank " + rank + " is closed");
        }
        return comm;
    }

    /** The backend whose device this rank's memory is on. */
    public CudaBackend backend() {
        return backend;
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return size;
    }

    /** t (a float32 tensor of this rank's backend) becomes the sum over the ranks of their t. */
    public void allReduceSum(Tensor t) {
        allReduceSum(List.of(t));
    }

    /**
     * Every tensor (float32, of this rank's backend) becomes the sum over the ranks of their
     * tensor, in one NCCL group call.
     */
    public void allReduceSum(List<Tensor> ts) {
        long c = open();
        long[][] a = arrays(ts);
        check("all-reduce of " + ts.size() + " tensors",
                cnn4j_nccl_allreduce_sum_f32(c, a[0], a[1], ts.size(), backend.stream()));
    }

    /** Every tensor (float32, of this rank's backend) becomes rank root's, on every rank, in one group call. */
    public void broadcast(List<Tensor> ts, int root) {
        if (root < 0 || root >= size) {
            throw new IllegalArgumentException("root " + root + " is not a rank of " + size);
        }
        long c = open();
        long[][] a = arrays(ts);
        check("broadcast of " + ts.size() + " tensors",
                cnn4j_nccl_broadcast_f32(c, a[0], a[1], ts.size(), root, backend.stream()));
    }

    // The tensors' device addresses and lengths.
    private long[][] arrays(List<Tensor> ts) {
        long[] addr = new long[ts.size()];
        long[] n = new long[ts.size()];
        for (int i = 0; i < addr.length; i++) {
            addr[i] = backend.deviceAddress(ts.get(i));
            n[i] = ts.get(i).numel();
        }
        return new long[][] {addr, n};
    }

    @Override
    public void allReduceSum(float[] data, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, data.length);
        open();
        if (length > 0) {
            hostOp(data, offset, length, -1);
        }
    }

    @Override
    public void broadcast(float[] data, int offset, int length, int root) {
        Objects.checkFromIndexSize(offset, length, data.length);
        if (root < 0 || root >= size) {
            throw new IllegalArgumentException("root " + root + " is not a rank of " + size);
        }
        open();
        if (length > 0) {
            hostOp(data, offset, length, root);
        }
    }

    // The host array through a device buffer (pooled memory): a sum (root < 0) or a broadcast
    // from root. Host arrays are the small ones (step totals, counts): gradients and state go as
    // tensors.
    private void hostOp(float[] data, int offset, int length, int root) {
        float[] v = offset == 0 && length == data.length ? data : Arrays.copyOfRange(data, offset, offset + length);
        // kept per length: a training step's host sums (its totals, a batch count) allocate nothing
        Tensor t = staging.computeIfAbsent(length, n -> backend.zeros(Shape.of(n)));
        t.copyFrom(v);
        if (root < 0) {
            allReduceSum(t);
        } else {
            broadcast(List.of(t), root);
        }
        t.readInto(v);
        if (v != data) {
            System.arraycopy(v, 0, data, offset, length);
        }
    }

    @Override
    public void barrier() {
        allReduceSum(new float[1], 0, 1);
    }

    @Override
    public void close() {
        if (comm != 0) {
            cnn4j_nccl_destroy(comm);
            comm = 0;
        }
        staging.values().forEach(Tensor::close);
        staging.clear();
    }
}
