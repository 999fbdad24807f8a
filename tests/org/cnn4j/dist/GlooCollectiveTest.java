package org.cnn4j.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.cnn4j.NativeExpectation;
import org.cnn4j.backend.BackendUnavailableException;
import org.junit.jupiter.api.Test;

/**
 * The collective layer over Gloo: groups of ranks on threads of this JVM, on loopback (each
 * rank its own Gloo context, sockets and rendezvous, as separate processes would have).
 * Sums, broadcasts and barriers give every rank the same exact result; a rank that never
 * joins, or one that leaves, fails the others with a message that says so, within the
 * timeout. In the JNI-free flavour the group refuses with the reason.
 */
class GlooCollectiveTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    /** Runs body on every rank of a group of `size` and returns each rank's result. */
    static <T> List<T> group(int size, Duration timeout, Function<Collective, T> body) throws Exception {
        InetAddress lo = InetAddress.getLoopbackAddress();
        SocketRendezvous first = new SocketRendezvous(0, size, new InetSocketAddress(lo, 0), timeout);
        InetSocketAddress coordinator = new InetSocketAddress(lo, first.port());
        ExecutorService pool = Executors.newFixedThreadPool(size);
        try {
            List<Future<T>> results = new ArrayList<>();
            for (int r = 0; r < size; r++) {
                Rendezvous rv = r == 0 ? first : new SocketRendezvous(r, size, coordinator, timeout);
                results.add(pool.submit(() -> {
                    try (Collective c = GlooCollective.join(rv, lo.getHostAddress(), timeout)) {
                        return body.apply(c);
                    }
                }));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : results) {
                out.add(f.get(2 * timeout.toMillis(), TimeUnit.MILLISECONDS));
            }
            return out;
        } finally {
            pool.shutdownNow();
            first.close();
        }
    }

    @Test
    void everyRankGetsTheSameSumBroadcastAndBarrier() throws Exception {
        NativeExpectation.requireNative();
        int size = 3;
        int n = 300_007;  // several of Gloo's ring segments, not a multiple of the group size
        List<float[][]> got = group(size, TIMEOUT, c -> {
            float[] data = new float[n + 10];
            for (int i = 0; i < data.length; i++) {
                data[i] = c.rank() * 1000 + i % 4096;  // small integers: every sum exact
            }
            c.allReduceSum(data, 5, n);
            float[] b = {c.rank(), c.rank() + 0.5f, -c.rank()};
            c.broadcast(b, 0, b.length, 2);
            c.barrier();
            return new float[][] {data, b};
        });
        for (int r = 0; r < size; r++) {
            float[] data = got.get(r)[0];
            for (int i = 0; i < data.length; i++) {
                float expected = i >= 5 && i < 5 + n ? 3000 + 3 * (i % 4096) : r * 1000 + i % 4096;
                assertEquals(expected, data[i], "rank " + r + " element " + i);
            }
            assertArrayEquals(new float[] {2, 2.5f, -2}, got.get(r)[1], "rank " + r + ": rank 2's broadcast");
        }
    }

    @Test
    void aGroupOfOneKeepsItsOwnData() throws Exception {
        NativeExpectation.requireNative();
        float[] data = group(1, TIMEOUT, c -> {
            float[] d = {1, 2, 3};
            c.allReduceSum(d, 0, 3);
            c.broadcast(d, 0, 3, 0);
            c.barrier();
            return d;
        }).get(0);
        assertArrayEquals(new float[] {1, 2, 3}, data);
    }

    @Test
    void aRankThatNeverJoinsFailsTheOthersWithinTheTimeout() {
        NativeExpectation.requireNative();
        InetAddress lo = InetAddress.getLoopbackAddress();
        Duration shortTimeout = Duration.ofMillis(1500);
        SocketRendezvous rv = new SocketRendezvous(0, 2, new InetSocketAddress(lo, 0), shortTimeout);
        long t0 = System.nanoTime();
        CollectiveException e = assertThrows(CollectiveException.class,
                () -> GlooCollective.join(rv, lo.getHostAddress(), shortTimeout));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(e.getMessage().contains("rank 1") && e.getMessage().contains("did not join"), e.getMessage());
        assertTrue(ms < 10_000, "gave up after " + ms + " ms");
    }

    @Test
    void aPeerThatLeavesFailsTheNextOperationOfTheOthers() throws Exception {
        NativeExpectation.requireNative();
        Duration timeout = Duration.ofSeconds(5);
        List<String> outcomes = group(2, timeout, c -> {
            float[] d = {1};
            c.allReduceSum(d, 0, 1);  // both connected and working
            if (c.rank() == 1) {
                return "left";  // closes its group
            }
            try {
                Thread.sleep(300);
                CollectiveException e = assertThrows(CollectiveException.class,
                        () -> c.allReduceSum(new float[1 << 16], 0, 1 << 16));
                CollectiveException again = assertThrows(CollectiveException.class, c::barrier);
                return e.getMessage() + " | " + again.getMessage();
            } catch (InterruptedException ie) {
                throw new IllegalStateException(ie);
            }
        });
        String msg = outcomes.get(0);
        assertTrue(msg.contains("all-reduce") && msg.contains("rank 0 of 2"), msg);
        assertTrue(msg.contains("failed earlier"), msg);
    }

    @Test
    void aRendezvousRefusesBadArguments() {
        InetSocketAddress any = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new SocketRendezvous(2, 2, any, TIMEOUT));
        assertTrue(e.getMessage().contains("rank 2 is not in [0, 2)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new SocketRendezvous(0, 1, any, Duration.ZERO));
        assertTrue(e.getMessage().contains("timeout must be positive"), e.getMessage());
    }

    @Test
    void badArgumentsAreRefusedLocallyAndTheGroupGoesOn() throws Exception {
        NativeExpectation.requireNative();
        List<String> msgs = group(2, TIMEOUT, c -> {
            IndexOutOfBoundsException oob = assertThrows(IndexOutOfBoundsException.class,
                    () -> c.allReduceSum(new float[4], 2, 3));
            IllegalArgumentException root = assertThrows(IllegalArgumentException.class,
                    () -> c.broadcast(new float[4], 0, 4, 2));
            c.barrier();  // the refusals were local: the group still works
            return oob.getMessage() + " | " + root.getMessage();
        });
        assertTrue(msgs.get(0).contains("root 2 is not a rank of 2"), msgs.get(0));
    }

    @Test
    void aGroupFormsInTheNativeFlavourAndTheJniFreeOneSaysWhatIsMissing() throws Exception {
        if (NativeExpectation.expected()) {
            assertEquals(List.of(1), group(1, TIMEOUT, Collective::size));
            return;
        }
        SocketRendezvous rv = new SocketRendezvous(0, 1, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                TIMEOUT);
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                () -> GlooCollective.join(rv, "127.0.0.1", TIMEOUT));
        assertTrue(e.getMessage().contains("native artifact"), e.getMessage());
    }
}
