package org.cnn4j.spark;

import java.io.Serializable;

/**
 * One training image of a Spark data set: its pixels as bytes in CHW order (the layout of a
 * cnn4j {@code Dataset}) and its class.
 */
public record LabeledImage(byte[] pixels, int label) implements Serializable {
}
