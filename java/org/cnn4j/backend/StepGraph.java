package org.cnn4j.backend;

/**
 * A recorded sequence of ops, replayed as a whole. On CUDA it is a CUDA graph: recording
 * runs nothing, and each {@link #replay()} queues every recorded kernel with one call, with
 * the arguments (addresses and scalars) they were recorded with. On the other backends
 * {@link #replay()} runs the recorded code again. Obtained from {@link Backend#record}.
 */
public interface StepGraph extends AutoCloseable {

    void replay();

    /** True when replays skip the Java code (a device graph), false when they rerun it. */
    boolean isDeviceGraph();

    @Override
    void close();

    /** Replays by running {@code step} again. */
    static StepGraph rerun(Runnable step) {
        return new StepGraph() {
            @Override
            public void replay() {
                step.run();
            }

            @Override
            public boolean isDeviceGraph() {
                return false;
            }

            @Override
            public void close() {
            }
        };
    }
}
