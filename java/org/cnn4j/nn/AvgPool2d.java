package org.cnn4j.nn;

import java.util.Map;
import org.cnn4j.tensor.Tensor;

/** Average pooling; backward spreads each window's gradient evenly (SPEC S2.5). */
public final class AvgPool2d extends Pool2d {
    private boolean countIncludePad = true;
    private Tensor input;

    public AvgPool2d(int kernel) {
        super(kernel);
    }

    public AvgPool2d stride(int s) {
        setStride(s);
        return this;
    }

    public AvgPool2d padding(int p) {
        setPadding(p);
        return this;
    }

    /** Whether zero padding counts in the divisor (PyTorch's default: true). */
    public AvgPool2d countIncludePad(boolean b) {
        this.countIncludePad = b;
        return this;
    }

    @Override
    public String type() {
        return "AvgPool2d";
    }

    @Override
    public Map<String, Object> config() {
        Map<String, Object> m = super.config();
        m.put("count_include_pad", countIncludePad);
        return m;
    }

    @Override
    public Tensor forward(Tensor x, boolean training) {
        checkInput(x);
        input = x;
        Tensor y = buffer("y", outputShape().withBatch(x.shape().dim(0)));
        backend.avgPool2dForward(x, y, win, countIncludePad);
        return y;
    }

    @Override
    public Tensor backward(Tensor dy) {
        Tensor dx = buffer("dx", input.shape());
        backend.avgPool2dBackward(dy, dx, win, countIncludePad);
        return dx;
    }
}
