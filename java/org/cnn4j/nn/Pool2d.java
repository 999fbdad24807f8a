package org.cnn4j.nn;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Window2d;

/** What max and average pooling share: the window, shape inference and the summary (SPEC S2). */
public abstract class Pool2d extends Layer {
    protected final int kernel;
    protected int stride;
    protected int padding;
    protected Window2d win;

    protected Pool2d(int kernel) {
        if (kernel < 1) {
            throw new IllegalArgumentException("pooling kernel must be >= 1, got " + kernel);
        }
        this.kernel = kernel;
        this.stride = kernel;
    }

    protected void setStride(int s) {
        this.stride = s;
    }

    protected void setPadding(int p) {
        this.padding = p;
    }

    public Window2d window() {
        return win;
    }

    @Override
    public Map<String, Object> config() {
        return configOf("kernel", kernel, "stride", stride, "padding", padding);
    }

    @Override
    protected Shape inferOutputShape(Shape in) {
        if (in.rank() != 3) {
            throw shapeError("expects a C x H x W input, got " + in.toCompactString());
        }
        if (padding > kernel / 2) {
            throw shapeError("padding " + padding + " must be at most half the kernel (" + kernel + ")");
        }
        try {
            win = Window2d.square(kernel, stride, padding);
            win.checkFits(in.dim(1), in.dim(2), name());
        } catch (IllegalArgumentException e) {
            throw shapeError(e.getMessage() + " (input " + in.toCompactString() + ")");
        }
        return Shape.of(in.dim(0), win.outH(in.dim(1)), win.outW(in.dim(2)));
    }

    @Override
    public List<String> warnings() {
        List<String> w = new ArrayList<>();
        int rows = win.unusedRows(inputShape().dim(1)), cols = win.unusedCols(inputShape().dim(2));
        if (rows > 0 || cols > 0) {
            w.add("stride " + stride + " leaves the last " + rows + " input row(s) and " + cols + " column(s) unused");
        }
        return w;
    }

    @Override
    public String details() {
        return win.toString();
    }
}
