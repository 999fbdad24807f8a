package org.cnn4j.dist;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A rendezvous through a coordinator socket: rank 0 listens at the coordinator's address,
 * every other rank connects to it and sends its bytes, and rank 0 answers each with every
 * rank's. For processes on one machine (the coordinator on loopback) or on a network where
 * rank 0's address is known to all. One {@link #allGather} per instance.
 *
 * <p>Every wait is bounded by the timeout; an address is at most {@link #MAX_BYTES} bytes, so a
 * stray or broken peer cannot make a rank read without bound.
 */
public final class SocketRendezvous implements Rendezvous, AutoCloseable {

    /** The largest address a rank may send. */
    public static final int MAX_BYTES = 1 << 20;

    private static final int MAGIC = 0x636e6e34;  // "cnn4"
    private static final int VERSION = 1;

    private final int rank;
    private final int size;
    private final InetSocketAddress coordinator;
    private final Duration timeout;
    private ServerSocket server;
    private boolean used;

    /**
     * A rank of a group of {@code size}; rank 0 binds the coordinator address now (port 0: any
     * free port, see {@link #port()}).
     */
    public SocketRendezvous(int rank, int size, InetSocketAddress coordinator, Duration timeout) {
        if (size < 1 || rank < 0 || rank >= size) {
            throw new IllegalArgumentException("rank " + rank + " is not in [0, " + size + ")");
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("the rendezvous timeout must be positive, got " + timeout);
        }
        this.rank = rank;
        this.size = size;
        this.timeout = timeout;
        if (rank == 0 && size > 1) {
            try {
                server = new ServerSocket();
                server.setReuseAddress(true);
                server.bind(coordinator, size);
            } catch (IOException e) {
                close();
                throw new CollectiveException("rank 0 cannot listen for the rendezvous at " + coordinator + ": "
                        + e.getMessage(), e);
            }
            this.coordinator = new InetSocketAddress(coordinator.getAddress(), server.getLocalPort());
        } else {
            this.coordinator = coordinator;
        }
    }

    /** The coordinator's port (rank 0's bound port when it asked for any). */
    public int port() {
        return coordinator.getPort();
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
    public synchronized List<byte[]> allGather(byte[] mine) {
        if (used) {
            throw new IllegalStateException("a SocketRendezvous gathers once; make a new one for another round");
        }
        used = true;
        if (mine.length > MAX_BYTES) {
            throw new IllegalArgumentException("an address of " + mine.length + " bytes exceeds " + MAX_BYTES);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            if (size == 1) {
                return List.of(mine.clone());
            }
            return rank == 0 ? coordinate(mine, deadline) : join(mine, deadline);
        } finally {
            close();
        }
    }

    private List<byte[]> coordinate(byte[] mine, long deadline) {
        byte[][] all = new byte[size][];
        all[0] = mine.clone();
        List<Socket> peers = new ArrayList<>();
        try {
            int arrived = 1;
            while (arrived < size) {
                server.setSoTimeout(remainingMs(deadline, arrived));
                Socket s = server.accept();
                peers.add(s);
                s.setSoTimeout(remainingMs(deadline, arrived));
                DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
                int r = readHeader(in, "a peer at " + s.getRemoteSocketAddress());
                if (all[r] != null) {
                    throw new CollectiveException("two processes joined the rendezvous as rank " + r);
                }
                all[r] = readBlob(in, "rank " + r);
                arrived++;
            }
            for (Socket s : peers) {
                DataOutputStream out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
                out.writeInt(size);
                for (byte[] b : all) {
                    out.writeInt(b.length);
                    out.write(b);
                }
                out.flush();
            }
            return Arrays.asList(all);
        } catch (SocketTimeoutException e) {
            throw new CollectiveException("rendezvous: " + missing(all) + " did not join within " + timeout, e);
        } catch (IOException e) {
            throw new CollectiveException("rendezvous at rank 0 failed: " + e.getMessage(), e);
        } finally {
            for (Socket s : peers) {
                closeQuietly(s);
            }
        }
    }

    private List<byte[]> join(byte[] mine, long deadline) {
        Socket s = null;
        try {
            s = connect(deadline);
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            out.writeInt(rank);
            out.writeInt(size);
            out.writeInt(mine.length);
            out.write(mine);
            out.flush();
            s.setSoTimeout(remainingMs(deadline, -1));
            DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
            int n = in.readInt();
            if (n != size) {
                throw new CollectiveException("rendezvous: rank 0 sent " + n + " addresses for a group of " + size);
            }
            List<byte[]> all = new ArrayList<>(n);
            for (int r = 0; r < n; r++) {
                all.add(readBlob(in, "rank " + r));
            }
            return all;
        } catch (SocketTimeoutException e) {
            throw new CollectiveException("rendezvous: rank 0 at " + coordinator + " did not answer rank " + rank
                    + " within " + timeout + " (the other ranks did not all join)", e);
        } catch (IOException e) {
            throw new CollectiveException("rendezvous: rank " + rank + " lost rank 0 at " + coordinator + ": "
                    + e.getMessage(), e);
        } finally {
            closeQuietly(s);
        }
    }

    // Connects to rank 0, retrying while it is not listening yet.
    private Socket connect(long deadline) throws IOException {
        while (true) {
            Socket s = new Socket();
            try {
                s.connect(coordinator, remainingMs(deadline, -1));
                return s;
            } catch (ConnectException e) {
                closeQuietly(s);
                if (System.nanoTime() > deadline) {
                    throw new CollectiveException("rendezvous: rank " + rank + " found nobody listening at "
                            + coordinator + " within " + timeout, e);
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new CollectiveException("rendezvous interrupted", ie);
                }
            }
        }
    }

    private int readHeader(DataInputStream in, String who) throws IOException {
        if (in.readInt() != MAGIC) {
            throw new CollectiveException("rendezvous: " + who + " is not a cnn4j rank");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new CollectiveException("rendezvous: " + who + " speaks version " + version + ", not " + VERSION);
        }
        int r = in.readInt();
        int n = in.readInt();
        if (n != size) {
            throw new CollectiveException("rendezvous: rank " + r + " expects a group of " + n + ", rank 0 one of "
                    + size);
        }
        if (r <= 0 || r >= size) {
            throw new CollectiveException("rendezvous: " + who + " claims rank " + r + " in a group of " + size);
        }
        return r;
    }

    private static byte[] readBlob(DataInputStream in, String whose) throws IOException {
        int len = in.readInt();
        if (len < 0 || len > MAX_BYTES) {
            throw new CollectiveException("rendezvous: the address of " + whose + " has " + len + " bytes (at most "
                    + MAX_BYTES + ")");
        }
        byte[] b = new byte[len];
        in.readFully(b);
        return b;
    }

    private int remainingMs(long deadline, int arrived) throws SocketTimeoutException {
        long ms = (deadline - System.nanoTime()) / 1_000_000;
        if (ms <= 0) {
            throw new SocketTimeoutException("deadline passed" + (arrived >= 0 ? " with " + arrived + " of " + size
                    + " ranks" : ""));
        }
        return (int) Math.min(Integer.MAX_VALUE, ms);
    }

    private static String missing(byte[][] all) {
        List<Integer> ranks = new ArrayList<>();
        for (int r = 0; r < all.length; r++) {
            if (all[r] == null) {
                ranks.add(r);
            }
        }
        StringBuilder sb = new StringBuilder(ranks.size() == 1 ? "rank " : "ranks ");
        for (int i = 0; i < ranks.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(ranks.get(i));
        }
        return sb.toString();
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing a socket that failed: nothing to add
            }
        }
    }

    /** Stops listening (rank 0); safe to call more than once. */
    @Override
    public synchronized void close() {
        closeQuietly(server);
        server = null;
    }
}
