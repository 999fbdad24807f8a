package org.cnn4j.backend;

import org.cnn4j.tensor.Tensor;

/**
 * A deferred read of a small tensor: {@link #start()} queues the copy to the host behind the
 * ops queued so far and returns; {@link #await()} waits for it and returns the values. A
 * training loop starts the read of step i's loss, queues step i+1, and only then waits, so
 * the device never idles while the host reads. Obtained from {@link Backend#fetch}.
 */
public interface Fetch extends AutoCloseable {

    void start();

    /** The values at the time of the last {@link #start()}, as doubles. */
    double[] await();

    @Override
    void close();

    /** The immediate read of the backends that run ops at once. */
    static Fetch direct(Tensor src) {
        return new Fetch() {
            private double[] values;

            @Override
            public void start() {
                values = src.toDoubleArray();
            }

            @Override
            public double[] await() {
                if (values == null) {
                    throw new IllegalStateException("await() without start()");
                }
                double[] v = values;
                values = null;
                return v;
            }

            @Override
            public void close() {
            }
        };
    }
}
