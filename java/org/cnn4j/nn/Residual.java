package org.cnn4j.nn;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.cnn4j.backend.Activation;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;

/**
 * A residual block (SPEC S7.4): {@code y = body(x) + shortcut(x)}, where the shortcut is the
 * identity when it has no layers. The input fans out to both branches, so backward adds the
 * two branches' input gradients (S5.2); the identity passes the gradient through unchanged.
 * Layers inside are named {@code <block>.body.<i>} and {@code <block>.shortcut.<i>}, and
 * {@code summary()} lists them under the block.
 */
public final class Residual extends Layer {
    private final List<Layer> body;
    private final List<Layer> shortcut;
    private Tensor input;
    // The body's last layer when it adds the shortcut and runs the ReLU after the block in its
    // own pass (Layers.fuse); null: the block adds, and the ReLU layer runs by itself.
    private BatchNorm2d tail;
    private Tensor output;

    public Residual(List<Layer> body, List<Layer> shortcut) {
        if (body.isEmpty()) {
            throw new IllegalArgumentException("a residual block needs at least one layer in its body");
        }
        this.body = List.copyOf(body);
        this.shortcut = List.copyOf(shortcut);
    }

    /** {@code body(x) + x}. */
    public static Residual identity(Layer... body) {
        return new Residual(List.of(body), List.of());
    }

    public List<Layer> body() {
        return body;
    }

    public List<Layer> shortcut() {
        return shortcut;
    }

    @Override
    public String type() {
        return "Residual";
    }

    @Override
    public Map<String, Object> config() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("body", Layers.describe(body));
        m.put("shortcut", Layers.describe(shortcut));
        return m;
    }

    @Override
    protected Shape inferOutputShape(Shape input) {
        Shape b = chain(body, input, "body");
        Shape s = chain(shortcut, input, "shortcut");
        if (!b.equals(s)) {
            throw shapeError("the body gives " + b.toCompactString() + " but the shortcut gives " + s.toCompactString()
                    + " (input " + input.toCompactString() + "); they must match to be added");
        }
        return b;
    }

    private Shape chain(List<Layer> layers, Shape in, String branch) {
        Shape s = in;
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            l.setBranch(branch);
            s = l.build(s, name() + "." + branch + "." + i);
        }
        Layers.fuse(layers);
        return s;
    }

    @Override
    public List<Layer> children() {
        List<Layer> all = new ArrayList<>(body);
        all.addAll(shortcut);
        return all;
    }

    @Override
    public long parameterCount() {
        long n = 0;
        for (Layer l : children()) {
            n += l.parameterCount();
        }
        return n;
    }

    @Override
    protected void createParameters(SplittableRandom rng) {
        for (Layer l : children()) {
            l.initialize(backend, dtype, rng.split());
        }
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> ps = new ArrayList<>();
        for (Layer l : children()) {
            ps.addAll(l.parameters());
        }
        return ps;
    }

    @Override
    public Map<String, Tensor> persistentState() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (Layer l : children()) {
            m.putAll(l.persistentState());
        }
        return m;
    }

    @Override
    public List<String> warnings() {
        List<String> w = new ArrayList<>();
        for (Layer l : children()) {
            for (String s : l.warnings()) {
                w.add(l.name() + ": " + s);
            }
        }
        return w;
    }

    @Override
    public String details() {
        return "body " + body.size() + " layer" + (body.size() == 1 ? "" : "s") + ", shortcut "
                + (shortcut.isEmpty() ? "identity" : shortcut.size() + " layer" + (shortcut.size() == 1 ? "" : "s"));
    }

    /**
     * Whether the ReLU layer that directly follows this block runs inside it: the body's last
     * batch norm then adds the shortcut and applies the ReLU in its own pass (no add and no
     * activation pass of their own), and the ReLU layer passes its input on. Only a body that
     * ends with a batch norm (not already paired with a ReLU) can.
     */
    public boolean fusedRelu() {
        return tail != null;
    }

    /** Turns the fusion on (where the body allows it; returns whether it is on) or off. */
    boolean fuseRelu(boolean on) {
        tail = on && body.get(body.size() - 1) instanceof BatchNorm2d bn && !bn.fusedRelu() ? bn : null;
        return tail != null;
    }

    @Override
    public Tensor forward(Tensor x, boolean training) {
        checkInput(x);
        input = x;
        Tensor b = x;
        for (int i = 0, n = body.size() - (tail != null ? 1 : 0); i < n; i++) {
            b = body.get(i).forward(b, training);
        }
        Tensor s = x;
        for (Layer l : shortcut) {
            s = l.forward(s, training);
        }
        if (tail != null) {
            output = tail.forwardAdding(b, s, training);  // ReLU(body + shortcut), the ReLU layer's output
            return output;
        }
        Tensor y = buffer("y", b.shape());
        backend.add(b, s, y);
        return y;
    }

    @Override
    public Tensor backward(Tensor dy) {
        if (tail != null) {
            // dy is the fused ReLU's output gradient: masked here once, where the output is
            // positive (the ReLU's input is then too), for both branches.
            Tensor g = buffer("relu_dx", output.shape());
            backend.activationBackward(Activation.RELU, 0, output, output, dy, g);
            dy = g;
        }
        Tensor gb = dy;
        for (int i = body.size() - 1; i >= 0; i--) {
            gb = body.get(i).backward(gb);
        }
        Tensor gs = dy;
        for (int i = shortcut.size() - 1; i >= 0; i--) {
            gs = shortcut.get(i).backward(gs);
        }
        // The input fans out to both branches: their gradients add up (SPEC S5.2).
        Tensor dx = buffer("dx", input.shape());
        backend.add(gb, gs, dx);
        return dx;
    }

    @Override
    public void close() {
        for (Layer l : children()) {
            l.close();
        }
        super.close();
    }
}
