package org.cnn4j.nn;

import java.util.Map;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;

/** Turns each sample's feature volume into a vector (SPEC S4.1: 16x5x5 -> 400), sharing storage. */
public final class Flatten extends Layer {
    private Tensor xView;
    private Tensor dxView;

    @Override
    public String type() {
        return "Flatten";
    }

    @Override
    public Map<String, Object> config() {
        return configOf();
    }

    @Override
    protected Shape inferOutputShape(Shape input) {
        return Shape.of(input.numel());
    }

    @Override
    public Tensor forward(Tensor x, boolean training) {
        checkInput(x);
        xView = x.reshape(outputShape().withBatch(x.shape().dim(0)));
        return xView;
    }

    @Override
    public Tensor backward(Tensor dy) {
        dxView = dy.reshape(inputShape().withBatch(dy.shape().dim(0)));
        return dxView;
    }
}
