package org.cnn4j.dist;

/**
 * A group of processes (ranks) that combine arrays, for data-parallel training. Every
 * operation is collective: each rank calls the same ones, in the same order, with the same
 * lengths. A group is used by one thread at a time. An operation that fails (a peer left, or
 * none answered within the group's timeout) throws {@link CollectiveException}, and the group
 * is unusable after it: close it.
 */
public interface Collective extends AutoCloseable {

    /** This process's rank, in [0, size). */
    int rank();

    /** The number of ranks. */
    int size();

    /**
     * data[offset, offset + length) becomes the sum over the ranks of their data[offset,
     * offset + length), the same on every rank (the ranks' arrays are added in a fixed order
     * for a given group size and length).
     */
    void allReduceSum(float[] data, int offset, int length);

    /** data[offset, offset + length) becomes rank root's, on every rank. */
    void broadcast(float[] data, int offset, int length, int root);

    /** Returns when every rank has called it. */
    void barrier();

    /** Leaves the group and frees its memory and sockets; never throws. */
    @Override
    void close();
}
