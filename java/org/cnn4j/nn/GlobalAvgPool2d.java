package org.cnn4j.nn;

import java.util.Map;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;
import org.cnn4j.tensor.Window2d;

/**
 * Global average pooling: each channel's H x W plane becomes its mean, C x H x W -> C x 1 x 1
 * (PyTorch's {@code AdaptiveAvgPool2d(1)}), as at the end of a ResNet.
 */
public final class GlobalAvgPool2d extends Layer {
    private Window2d win;

    @Override
    public String type() {
        return "GlobalAvgPool2d";
    }

    @Override
    public Map<String, Object> config() {
        return configOf();
    }

    @Override
    protected Shape inferOutputShape(Shape in) {
        if (in.rank() != 3) {
            throw shapeError("expects a C x H x W input, got " + in.toCompactString());
        }
        win = new Window2d(in.dim(1), in.dim(2), 1, 1, 0, 0, 0, 0, 1, 1);
        return Shape.of(in.dim(0), 1, 1);
    }

    @Override
    public String details() {
        return inputShape().dim(1) + "x" + inputShape().dim(2);
    }

    @Override
    public Tensor forward(Tensor x, boolean training) {
        checkInput(x);
        Tensor y = buffer("y", outputShape().withBatch(x.shape().dim(0)));
        backend.avgPool2dForward(x, y, win, true);
        return y;
    }

    @Override
    public Tensor backward(Tensor dy) {
        Tensor dx = buffer("dx", inputShape().withBatch(dy.shape().dim(0)));
        backend.avgPool2dBackward(dy, dx, win, true);
        return dx;
    }
}
