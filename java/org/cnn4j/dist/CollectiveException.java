package org.cnn4j.dist;

/** A collective group failed: a peer left, none answered in time, or it cannot be formed. */
public class CollectiveException extends RuntimeException {
    public CollectiveException(String message) {
        super(message);
    }

    public CollectiveException(String message, Throwable cause) {
        super(message, cause);
    }
}
