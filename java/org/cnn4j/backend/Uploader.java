package org.cnn4j.backend;

/**
 * Copies host batches into one tensor, batch after batch. On a device backend the copy goes
 * through page-locked memory on a second stream, so it overlaps the kernels already queued;
 * the ops queued after {@code upload} see the new data. On the other backends it is a plain
 * copy. Obtained from {@link Backend#uploader}; {@link #close()} frees its buffers.
 */
public interface Uploader extends AutoCloseable {

    /** Copies the first {@code count} values of {@code src} to the start of the tensor. */
    void upload(float[] src, int count);

    void upload(double[] src, int count);

    void upload(int[] src, int count);

    @Override
    void close();

    /** The plain copy of the backends that run ops at once. */
    static Uploader direct(org.cnn4j.tensor.Tensor dst) {
        return new Uploader() {
            @Override
            public void upload(float[] src, int count) {
                dst.copyFrom(src, count);
            }

            @Override
            public void upload(double[] src, int count) {
                dst.copyFrom(src, count);
            }

            @Override
            public void upload(int[] src, int count) {
                dst.copyFrom(src, count);
            }

            @Override
            public void close() {
            }
        };
    }
}
