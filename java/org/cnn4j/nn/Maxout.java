package org.cnn4j.nn;

import java.util.Map;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;

/**
 * Maxout (SPEC S3): {@code h_i = max_j z_ij} over {@code pieces} affine pieces per unit. The
 * pieces are the preceding layer's outputs, grouped by consecutive channels (after a
 * {@code Conv2d}) or features (after a {@code Linear}): {@code Linear(units * k)} followed by
 * {@code Maxout(k)} is a maxout layer of {@code units} units. The gradient goes to the
 * winning piece only (the max gate routes it, S5.2).
 */
public final class Maxout extends Layer {
    private final int pieces;
    private Tensor argmax;

    public Maxout(int pieces) {
        if (pieces < 1) {
            throw new IllegalArgumentException("maxout needs at least 1 piece per unit, got " + pieces);
        }
        this.pieces = pieces;
    }

    @Override
    public String type() {
        return "Maxout";
    }

    @Override
    public Map<String, Object> config() {
        return configOf("pieces", pieces);
    }

    @Override
    protected Shape inferOutputShape(Shape input) {
        if (input.dim(0) % pieces != 0) {
            throw shapeError(input.dim(0) + " channels/features are not a multiple of " + pieces + " pieces");
        }
        int[] d = input.dims().clone();
        d[0] /= pieces;
        return Shape.of(d);
    }

    @Override
    public String details() {
        return "pieces=" + pieces;
    }

    @Override
    public Tensor forward(Tensor x, boolean training) {
        checkInput(x);
        Shape ys = outputShape().withBatch(x.shape().dim(0));
        Tensor y = buffer("y", ys);
        argmax = buffer("argmax", ys, DType.INT32);
        backend.maxoutForward(x, y, argmax, pieces);
        return y;
    }

    @Override
    public Tensor backward(Tensor dy) {
        Tensor dx = buffer("dx", inputShape().withBatch(dy.shape().dim(0)));
        backend.maxoutBackward(dy, argmax, dx, pieces);
        return dx;
    }
}
