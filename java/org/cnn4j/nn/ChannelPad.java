package org.cnn4j.nn;

import java.util.Map;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;

/**
 * Adds zero channels before and after the input's channels: C x H x W -> (before + C + after)
 * x H x W. With a stride-2 subsampling in front ({@code AvgPool2d(1).stride(2)}) it is the
 * parameter-free "option A" shortcut of He et al.'s CIFAR ResNets, used where a stage doubles
 * the channels and halves the resolution.
 */
public final class ChannelPad extends Layer {
    private final int before;
    private final int after;

    public ChannelPad(int before, int after) {
        if (before < 0 || after < 0) {
            throw new IllegalArgumentException("channel padding must be >= 0, got " + before + " and " + after);
        }
        this.before = before;
        this.after = after;
    }

    @Override
    public String type() {
        return "ChannelPad";
    }

    @Override
    public Map<String, Object> config() {
        return configOf("before", before, "after", after);
    }

    @Override
    protected Shape inferOutputShape(Shape in) {
        if (in.rank() < 1) {
            throw shapeError("expects a C x ... input, got " + in.toCompactString());
        }
        int[] d = in.dims().clone();
        d[0] += before + after;
        return Shape.of(d);
    }

    @Override
    public String details() {
        return "+" + before + "/+" + after + " channels";
    }

    @Override
    public Tensor forward(Tensor x, boolean training) {
        checkInput(x);
        Tensor y = buffer("y", outputShape().withBatch(x.shape().dim(0)));
        backend.fill(y, 0);
        backend.copyChannels(x, 0, y, before, inputShape().dim(0));
        return y;
    }

    @Override
    public Tensor backward(Tensor dy) {
        Tensor dx = buffer("dx", inputShape().withBatch(dy.shape().dim(0)));
        backend.copyChannels(dy, before, dx, 0, inputShape().dim(0));
        return dx;
    }
}
