package org.cnn4j.dist;

import static org.cnn4j.nativelib.Cnn4jComm.cnn4j_comm_address;
import static org.cnn4j.nativelib.Cnn4jComm.cnn4j_comm_allreduce_sum_f32;
import static org.cnn4j.nativelib.Cnn4jComm.cnn4j_comm_barrier;
import static org.cnn4j.nativelib.Cnn4jComm.cnn4j_comm_broadcast_f32;
import static org.cnn4j.nativelib.Cnn4jComm.cnn4j_comm_connect;
import static org.cnn4j.nativelib.Cnn4jComm.cnn4j_comm_create;
import static org.cnn4j.nativelib.Cnn4jComm.cnn4j_comm_destroy;
import static org.cnn4j.nativelib.Cnn4jComm.cnn4j_comm_last_error;
import static org.cnn4j.nativelib.Cnn4jComm.cnn4j_comm_peer;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.bytedeco.javacpp.FloatPointer;
import org.cnn4j.backend.BackendUnavailableException;
import org.cnn4j.nativelib.Cnn4jComm;

/**
 * A {@link Collective} over Gloo's TCP transport, through cnn4j's collective layer
 * ({@code libcnn4j_comm}). Arrays are summed with Gloo's ring all-reduce: each rank sends and
 * receives about twice the array whatever the group size.
 *
 * <p>One thread at a time. The arrays pass through an off-heap buffer of the group's own (grown
 * to the largest length used, freed by {@link #close()}).
 */
public final class GlooCollective implements Collective {

    private static final int OK = 0;
    private static final int UNSUPPORTED = 3;

    private final int rank;
    private final int size;
    private long comm;
    private FloatPointer staging;

    private GlooCollective(int rank, int size, long comm) {
        this.rank = rank;
        this.size = size;
        this.comm = comm;
    }

    /**
     * Joins the group of the rendezvous's size as its rank: listens on {@code host} (an address of
     * this machine that the other ranks can reach; {@code 127.0.0.1} when they all run here),
     * exchanges addresses through the rendezvous and connects to every other rank. Each wait is
     * bounded by {@code timeout}, which also bounds every later operation's wait for a peer.
     *
     * @throws BackendUnavailableException when the collective layer cannot load or was built
     *     without Gloo
     * @throws CollectiveException when the group cannot be formed
     */
    public static GlooCollective join(Rendezvous rendezvous, String host, Duration timeout) {
        Objects.requireNonNull(rendezvous, "rendezvous");
        Objects.requireNonNull(host, "host");
        load();
        int rank = rendezvous.rank();
        int size = rendezvous.size();
        long[] out = new long[1];
        int st = cnn4j_comm_create(rank, size, host, timeout.toMillis(), out);
        if (st != OK) {
            throw failure("joining a group of " + size + " as rank " + rank, st);
        }
        GlooCollective g = new GlooCollective(rank, size, out[0]);
        try {
            long[] len = new long[1];
            g.check("address", cnn4j_comm_address(g.comm, null, 0, len));
            byte[] mine = new byte[Math.toIntExact(len[0])];
            if (mine.length > 0) {
                g.check("address", cnn4j_comm_address(g.comm, mine, mine.length, len));
            }
            List<byte[]> all = rendezvous.allGather(mine);
            if (all.size() != size) {
                throw new CollectiveException("the rendezvous returned " + all.size() + " addresses for a group of "
                        + size);
            }
            for (int r = 0; r < size; r++) {
                if (r != rank) {
                    byte[] b = all.get(r);
                    g.check("peer " + r, cnn4j_comm_peer(g.comm, r, b, b.length));
                }
            }
            g.check("connect", cnn4j_comm_connect(g.comm));
            return g;
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    private static void load() {
        try {
            Cnn4jComm.load();
        } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
            throw new BackendUnavailableException("distributed training needs cnn4j's native artifact (not the "
                    + "JNI-free cnn4j-core) and Gloo's library on this machine (Debian: apt-get install libgloo0): "
                    + e, e);
        }
    }

    private static RuntimeException failure(String what, int status) {
        String reason = cnn4j_comm_last_error();
        if (status == UNSUPPORTED) {
            return new BackendUnavailableException(reason);
        }
        return new CollectiveException(what + ": " + reason);
    }

    private void check(String what, int status) {
        if (status != OK) {
            throw failure(what, status);
        }
    }

    private long open() {
        if (comm == 0) {
            throw new IllegalStateException("the group of rank " + rank + " is closed");
        }
        return comm;
    }

    private FloatPointer staging(int length) {
        if (staging == null || staging.capacity() < length) {
            if (staging != null) {
                staging.close();
            }
            staging = new FloatPointer(Math.max(1, length));
        }
        return staging;
    }

    private static void checkRange(float[] data, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, data.length);
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public void allReduceSum(float[] data, int offset, int length) {
        checkRange(data, offset, length);
        long c = open();
        if (length == 0) {
            return;
        }
        FloatPointer p = staging(length);
        p.position(0).put(data, offset, length);
        check("all-reduce of " + length + " floats", cnn4j_comm_allreduce_sum_f32(c, p.address(), length));
        p.position(0).get(data, offset, length);
    }

    @Override
    public void broadcast(float[] data, int offset, int length, int root) {
        checkRange(data, offset, length);
        if (root < 0 || root >= size) {
            throw new IllegalArgumentException("root " + root + " is not a rank of " + size);
        }
        long c = open();
        if (length == 0) {
            return;
        }
        FloatPointer p = staging(length);
        p.position(0).put(data, offset, length);
        check("broadcast of " + length + " floats", cnn4j_comm_broadcast_f32(c, p.address(), length, root));
        p.position(0).get(data, offset, length);
    }

    @Override
    public void barrier() {
        check("barrier", cnn4j_comm_barrier(open()));
    }

    @Override
    public void close() {
        if (comm != 0) {
            cnn4j_comm_destroy(comm);
            comm = 0;
        }
        if (staging != null) {
            staging.close();
            staging = null;
        }
    }
}
