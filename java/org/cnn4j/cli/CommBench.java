package org.cnn4j.cli;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.cnn4j.dist.Collective;
import org.cnn4j.dist.GlooCollective;
import org.cnn4j.dist.SocketRendezvous;

/**
 * {@code cnn4j bench --allreduce}: Gloo's ring all-reduce between ranks on loopback (threads
 * of this process, each with its own group, sockets and buffers, as separate processes would
 * have), for arrays from 64 KiB to 64 MiB, against a plain socket copy of the same bytes in
 * both directions at once (what a two-rank ring moves per rank, with no reduction). One JSON
 * line per size: median seconds of the repeats, and the bus bandwidth 2 (W - 1) / W x bytes /
 * seconds (the bytes each rank sends), which a network's bandwidth bounds.
 */
final class CommBench {
    private static final int[] SIZES = {1 << 16, 1 << 18, 1 << 20, 1 << 22, 1 << 24, 1 << 26};

    private CommBench() {
    }

    static void run(int ranks, int repeats) throws Exception {
        InetAddress lo = InetAddress.getLoopbackAddress();
        Duration timeout = Duration.ofMinutes(2);
        SocketRendezvous first = new SocketRendezvous(0, ranks, new InetSocketAddress(lo, 0), timeout);
        InetSocketAddress coordinator = new InetSocketAddress(lo, first.port());
        ExecutorService pool = Executors.newFixedThreadPool(ranks);
        try {
            List<Future<double[]>> done = new ArrayList<>();
            for (int r = 0; r < ranks; r++) {
                SocketRendezvous rv = r == 0 ? first : new SocketRendezvous(r, ranks, coordinator, timeout);
                done.add(pool.submit(() -> {
                    try (Collective c = GlooCollective.join(rv, lo.getHostAddress(), timeout)) {
                        return timeAllReduce(c, repeats);
                    }
                }));
            }
            double[] seconds = done.get(0).get();
            for (int r = 1; r < ranks; r++) {
                done.get(r).get();
            }
            double[] copy = ranks == 2 ? timeSocketCopy(repeats) : null;
            for (int i = 0; i < SIZES.length; i++) {
                double bytes = SIZES[i];
                double bus = 2.0 * (ranks - 1) / ranks * bytes / seconds[i];
                System.out.printf(Locale.ROOT, "{\"kernel\": \"allreduce\", \"ranks\": %d, \"bytes\": %d, \"seconds\": %.6g,"
                        + " \"bus_gb_per_s\": %.3f%s}%n", ranks, SIZES[i], seconds[i], bus / 1e9,
                        copy == null ? "" : String.format(Locale.ROOT, ", \"socket_copy_seconds\": %.6g,"
                                + " \"socket_copy_gb_per_s\": %.3f, \"allreduce_over_copy\": %.3f", copy[i],
                                bytes / copy[i] / 1e9, seconds[i] / copy[i]));
            }
        } finally {
            pool.shutdownNow();
            first.close();
        }
    }

    // Median seconds of an all-reduce of each size (every rank runs the same sequence).
    private static double[] timeAllReduce(Collective c, int repeats) {
        double[] out = new double[SIZES.length];
        for (int i = 0; i < SIZES.length; i++) {
            float[] data = new float[SIZES[i] / 4];
            Arrays.fill(data, 1f);
            int iters = Math.max(2, (1 << 24) / SIZES[i]);
            c.allReduceSum(data, 0, data.length);  // warm-up
            double[] t = new double[repeats];
            for (int k = 0; k < repeats; k++) {
                c.barrier();
                long t0 = System.nanoTime();
                for (int j = 0; j < iters; j++) {
                    c.allReduceSum(data, 0, data.length);
                }
                t[k] = (System.nanoTime() - t0) / 1e9 / iters;
            }
            out[i] = median(t);
        }
        return out;
    }

    // Median seconds to send each size both ways at once over one loopback TCP connection.
    private static double[] timeSocketCopy(int repeats) throws Exception {
        double[] out = new double[SIZES.length];
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket a = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
             Socket b = server.accept()) {
            a.setTcpNoDelay(true);
            b.setTcpNoDelay(true);
            ExecutorService two = Executors.newFixedThreadPool(2);
            try {
                for (int i = 0; i < SIZES.length; i++) {
                    int bytes = SIZES[i];
                    int iters = Math.max(2, (1 << 24) / bytes);
                    double[] t = new double[repeats];
                    for (int k = 0; k < repeats + 1; k++) {
                        long t0 = System.nanoTime();
                        Future<?> x = two.submit(exchange(a, bytes, iters));
                        Future<?> y = two.submit(exchange(b, bytes, iters));
                        x.get();
                        y.get();
                        if (k > 0) {  // the first is a warm-up
                            t[k - 1] = (System.nanoTime() - t0) / 1e9 / iters;
                        }
                    }
                    out[i] = median(t);
                }
            } finally {
                two.shutdownNow();
            }
        }
        return out;
    }

    // Sends `bytes` and receives as many, `iters` times (the sending on a thread of its own).
    private static Callable<Void> exchange(Socket s, int bytes, int iters) {
        return () -> {
            byte[] out = new byte[bytes];
            byte[] in = new byte[bytes];
            Thread sender = new Thread(() -> {
                try {
                    OutputStream o = s.getOutputStream();
                    for (int j = 0; j < iters; j++) {
                        o.write(out);
                    }
                    o.flush();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            sender.start();
            DataInputStream din = new DataInputStream(s.getInputStream());
            for (int j = 0; j < iters; j++) {
                din.readFully(in);
            }
            sender.join();
            return null;
        };
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
