package org.cnn4j.dist;

import java.util.List;

/**
 * How the ranks of a group find each other before they connect: each gives its address and
 * gets every rank's. A launcher provides it (a coordinator socket on one machine, Spark's
 * barrier {@code allGather} on a cluster).
 */
public interface Rendezvous {

    /** This process's rank, in [0, size). */
    int rank();

    /** The number of ranks. */
    int size();

    /**
     * Sends this rank's bytes and returns every rank's, indexed by rank (this rank's own
     * included). Throws {@link CollectiveException} when the others do not all arrive in time.
     */
    List<byte[]> allGather(byte[] mine);
}
