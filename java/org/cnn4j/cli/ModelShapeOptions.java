package org.cnn4j.cli;

import org.cnn4j.nn.Models;
import org.cnn4j.nn.Sequential;
import org.cnn4j.tensor.Shape;
import picocli.CommandLine.Option;

/** {@code --input CxHxW} and {@code --classes N}: a zoo model built for another input shape and class count. */
final class ModelShapeOptions {
    @Option(names = "--input", description = "Input shape CxHxW, e.g. 3x32x32 (default: the model's own).")
    String input;

    @Option(names = "--classes", defaultValue = "0", description = "Classes (default: the model's own).")
    int classes;

    /** The zoo model, at its own input and class count unless the options say otherwise. */
    Sequential build(String model) {
        if (classes < 0 || classes == 1) {
            throw new IllegalArgumentException("--classes must be at least 2, got " + classes);
        }
        Sequential natural = Models.create(model);
        if (input == null && classes == 0) {
            return natural;
        }
        Shape in = natural.inputShape();
        int k = natural.outputShape().dim(0);
        natural.close();
        if (input != null) {
            in = Shape.of(ShapeArg.parse(input, 3, "--input", "3x32x32"));
        }
        return Models.create(model, in, classes > 0 ? classes : k);
    }
}
