package org.cnn4j.nn;

/** A model whose layers do not fit together: names the layer and the shapes involved. */
public class ShapeException extends IllegalArgumentException {
    public ShapeException(String message) {
        super(message);
    }
}
