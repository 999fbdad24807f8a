package org.cnn4j.backend;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A small fork-join helper for the pure-Java kernels: a fixed set of worker threads that
 * split an index range with the calling thread. Workers spin briefly before parking, so that
 * the many short parallel sections of a training step cost microseconds, not a thread
 * hand-off each. The caller is worker 0; worker indices select per-thread scratch buffers.
 * Sections do not nest: a section started from inside a section runs serially.
 */
public final class Parallel implements AutoCloseable {

    /** The body of a parallel section: handles indices {@code [start, end)} as worker {@code worker}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int start, int end, int worker);
    }

    private static final int SPINS = 20_000;

    private final int threads;
    private final Thread[] workers;
    private final AtomicInteger pending = new AtomicInteger();
    private final ThreadLocal<Boolean> inside = ThreadLocal.withInitial(() -> Boolean.FALSE);
    private volatile boolean shutdown;
    private volatile Section current = new Section(0, null, new int[1], null);
    private volatile Throwable failure;
    private long generation;

    /** One parallel section, published to the workers in a single volatile write. */
    private record Section(long generation, RangeBody body, int[] bounds, Thread caller) {
    }

    public Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("thread count must be >= 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            final int worker = i + 1;
            Thread t = new Thread(() -> workerLoop(worker), "cnn4j-java-" + worker);
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs {@code body} over {@code [0, n)} split into at most {@link #threads()} contiguous
     * chunks of at least {@code minChunk} indices each; returns when all chunks are done and
     * rethrows the first failure. Returns the number of chunks used (workers 0 to that - 1).
     */
    public synchronized int forRange(int n, int minChunk, RangeBody body) {
        if (n <= 0) {
            return 0;
        }
        int chunks = Math.min(threads, Math.max(1, n / Math.max(1, minChunk)));
        if (chunks == 1 || inside.get()) {
            body.run(0, n, 0);
            return 1;
        }
        int[] b = new int[chunks + 1];
        for (int i = 0; i <= chunks; i++) {
            b[i] = (int) ((long) n * i / chunks);
        }
        this.failure = null;
        pending.set(chunks - 1);
        current = new Section(++generation, body, b, Thread.currentThread());
        for (int i = 0; i < chunks - 1; i++) {
            LockSupport.unpark(workers[i]);
        }
        inside.set(Boolean.TRUE);
        try {
            body.run(b[0], b[1], 0);
        } finally {
            inside.set(Boolean.FALSE);
            int spins = 0;
            while (pending.get() > 0) {
                if (spins++ < SPINS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
        }
        Throwable f = failure;
        if (f != null) {
            if (f instanceof RuntimeException re) {
                throw re;
            }
            if (f instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException(f);
        }
        return chunks;
    }

    private void workerLoop(int worker) {
        inside.set(Boolean.TRUE);
        long seen = 0;
        while (true) {
            int spins = 0;
            Section s;
            while ((s = current).generation == seen && !shutdown) {
                if (spins++ < SPINS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            if (shutdown) {
                return;
            }
            seen = s.generation;
            int[] b = s.bounds;
            if (worker < b.length - 1) {
                try {
                    s.body.run(b[worker], b[worker + 1], worker);
                } catch (Throwable t) {
                    failure = t;
                } finally {
                    if (pending.decrementAndGet() == 0) {
                        LockSupport.unpark(s.caller);
                    }
                }
            }
        }
    }

    @Override
    public void close() {
        shutdown = true;
        for (Thread t : workers) {
            LockSupport.unpark(t);
        }
    }
}
