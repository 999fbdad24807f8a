package org.cnn4j.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;
import org.cnn4j.backend.Backend;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;

/**
 * Layers applied in order. Shapes are inferred from the declared per-sample input shape when
 * the model is constructed, so a misfit is reported before any data is touched, naming the
 * layer and both shapes. Layers are named by their index ({@code 0}, {@code 1}, ...), as in
 * PyTorch's {@code nn.Sequential}, so parameter names ({@code 0.weight}) match a PyTorch
 * state dict of the same structure.
 *
 * <p>In strict mode, a stride that leaves input rows or columns unused (SPEC S1.6) is an
 * error instead of a warning.
 */
public final class Sequential implements AutoCloseable {
    private final Shape inputShape;
    private final List<Layer> layers;
    private final boolean strict;
    private Backend backend;
    private DType dtype;
    private org.cnn4j.data.Normalization normalization;
    private List<String> classNames;

    public Sequential(Shape inputShape, Layer... layers) {
        this(inputShape, false, List.of(layers));
    }

    public Sequential(Shape inputShape, boolean strict, List<Layer> layers) {
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("a Sequential model needs at least one layer");
        }
        this.inputShape = inputShape;
        this.layers = List.copyOf(layers);
        this.strict = strict;
        Shape s = inputShape;
        for (int i = 0; i < this.layers.size(); i++) {
            Layer layer = this.layers.get(i);
            s = layer.build(s, Integer.toString(i));
            if (strict && !layer.warnings().isEmpty()) {
                throw new ShapeException(i + " (" + layer.type() + "): " + String.join("; ", layer.warnings())
                        + " (strict mode)");
            }
        }
        Layers.fuse(this.layers);
    }

    /** A model that rejects strides leaving input unused. */
    public static Sequential strict(Shape inputShape, Layer... layers) {
        return new Sequential(inputShape, true, List.of(layers));
    }

    public Shape inputShape() {
        return inputShape;
    }

    public Shape outputShape() {
        return layers.get(layers.size() - 1).outputShape();
    }

    public List<Layer> layers() {
        return Collections.unmodifiableList(layers);
    }

    public boolean isStrict() {
        return strict;
    }

    public Backend backend() {
        return backend;
    }

    public DType dtype() {
        return dtype;
    }

    /** Allocates and initialises all parameters on {@code backend} in FLOAT32, seeded. */
    public Sequential initialize(Backend backend, long seed) {
        return initialize(backend, DType.FLOAT32, seed);
    }

    /** Allocates and initialises all parameters; the same seed gives the same weights. */
    public Sequential initialize(Backend backend, DType dtype, long seed) {
        this.backend = backend;
        this.dtype = dtype;
        SplittableRandom root = new SplittableRandom(seed);
        for (Layer layer : layers) {
            layer.initialize(backend, dtype, root.split());
        }
        return this;
    }

    /** Runs the layers in order; the result is owned by the last layer. */
    public Tensor forward(Tensor x, boolean training) {
        if (backend == null) {
            throw new IllegalStateException("initialize the model on a backend before forward()");
        }
        if (x.shape().rank() != inputShape.rank() + 1 || !x.shape().dropBatch().equals(inputShape)) {
            throw new ShapeException("model input has shape " + x.shape() + ", expected [N, "
                    + inputShape.toString().substring(1));
        }
        Tensor t = x;
        for (Layer layer : layers) {
            t = layer.forward(t, training);
        }
        return t;
    }

    /**
     * Whether {@link #backward} computes the gradient with respect to the model input (true by
     * default). Training needs only parameter gradients, so the trainer turns it off, which
     * saves the first layer's backward-data pass.
     */
    public void setInputGradientRequired(boolean required) {
        layers.get(0).setInputGradientRequired(required);
    }

    /** Back-propagates dL/d(output): parameter gradients are added to; returns dL/d(input) (null if not required). */
    public Tensor backward(Tensor dOutput) {
        return backward(dOutput, null);
    }

    /**
     * As {@link #backward(Tensor)}, calling {@code layerDone} with each layer's index (of
     * {@link #layers()}) once its backward pass is queued, last layer first (null: no calls):
     * data-parallel training sums a layer's gradients while the layers before it go on.
     */
    public Tensor backward(Tensor dOutput, IntConsumer layerDone) {
        Tensor g = dOutput;
        for (int i = layers.size() - 1; i >= 0; i--) {
            Layer layer = layers.get(i);
            if (i == 0 && !layer.inputGradientRequired() && layer.parameters().isEmpty()) {
                return null;
            }
            g = layer.backward(g);
            if (layerDone != null) {
                layerDone.accept(i);
            }
        }
        return g;
    }

    public List<Parameter> parameters() {
        List<Parameter> ps = new ArrayList<>();
        for (Layer layer : layers) {
            ps.addAll(layer.parameters());
        }
        return ps;
    }

    /** Every layer, composites' children after their parent, depth first. */
    public List<Layer> allLayers() {
        List<Layer> all = new ArrayList<>();
        for (Layer l : layers) {
            addAll(l, all);
        }
        return all;
    }

    private static void addAll(Layer l, List<Layer> out) {
        out.add(l);
        for (Layer c : l.children()) {
            addAll(c, out);
        }
    }

    /**
     * The input normalisation the model was trained with (set by training from its data, read
     * back from a model file), or null when nobody said.
     */
    public org.cnn4j.data.Normalization normalization() {
        return normalization;
    }

    public Sequential setNormalization(org.cnn4j.data.Normalization n) {
        if (n != null && n.channels() != inputShape.dim(0)) {
            throw new IllegalArgumentException("a normalisation of " + n.channels() + " channels for a model whose input has "
                    + inputShape.dim(0));
        }
        this.normalization = n;
        return this;
    }

    /** The class names in label order (set by training from its data, read from a model file), or null. */
    public List<String> classNames() {
        return classNames;
    }

    public Sequential setClassNames(List<String> names) {
        if (names != null && names.size() != outputShape().numel()) {
            throw new IllegalArgumentException(names.size() + " class names for a model with " + outputShape().numel()
                    + " outputs");
        }
        this.classNames = names == null ? null : List.copyOf(names);
        return this;
    }

    /**
     * Everything saved with the model, by PyTorch state-dict name: the parameters' values, then
     * the persistent state (batch norm's running statistics), in layer order.
     */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (Layer layer : layers) {
            for (Parameter p : layer.parameters()) {
                m.put(p.name(), p.value());
            }
            m.putAll(layer.persistentState());
        }
        return m;
    }

    public long parameterCount() {
        long n = 0;
        for (Layer layer : layers) {
            n += layer.parameterCount();
        }
        return n;
    }

    /** Whether a training step can be recorded once and replayed (every layer {@link Layer#replayable()}). */
    public boolean replayable() {
        for (Layer l : layers()) {
            if (!l.replayable()) {
                return false;
            }
        }
        return true;
    }

    public void zeroGrad() {
        for (Parameter p : parameters()) {
            backend.fill(p.grad(), 0);
        }
    }

    /** The architecture as a JSON-friendly map: input shape and each layer's type and settings. */
    public Map<String, Object> architecture() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", "cnn4j-sequential");
        m.put("version", 1);
        List<Integer> in = new ArrayList<>();
        for (int d : inputShape.dims()) {
            in.add(d);
        }
        m.put("input_shape", in);
        m.put("strict", strict);
        m.put("layers", Layers.describe(layers));
        return m;
    }

    /**
     * A table of every layer's output shape and parameter count with the totals (SPEC S7.5);
     * layers whose stride leaves input unused are flagged with {@code !} and explained below.
     */
    public String summary() {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"layer", "type", "settings", "output", "params"});
        rows.add(new String[] {"", "Input", "", inputShape.toCompactString(), "0"});
        List<String> notes = new ArrayList<>();
        for (Layer layer : layers) {
            List<String> w = layer.warnings();
            String flag = w.isEmpty() ? "" : " !";
            for (String s : w) {
                notes.add("! layer " + layer.name() + " (" + layer.type() + "): " + s);
            }
            rows.add(new String[] {layer.name() + flag, layer.type(), layer.details(),
                layer.outputShape().toCompactString(), String.format("%,d", layer.parameterCount())});
            addBranchRows(layer, "  ", rows);
        }
        int[] width = new int[5];
        for (String[] r : rows) {
            for (int i = 0; i < 5; i++) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        for (String[] r : rows) {
            sb.append(String.format("%-" + width[0] + "s  %-" + width[1] + "s  %-" + width[2] + "s  %"
                    + width[3] + "s  %" + width[4] + "s", (Object[]) r).stripTrailing()).append('\n');
        }
        sb.append(String.format("total parameters: %,d%n", parameterCount()));
        for (String n : notes) {
            sb.append(n).append('\n');
        }
        return sb.toString();
    }

    /** The layers inside a composite, indented under it with their branch (body, shortcut). */
    private static void addBranchRows(Layer parent, String indent, List<String[]> rows) {
        for (Layer c : parent.children()) {
            rows.add(new String[] {indent + c.name(), indent + c.branch() + ": " + c.type(), c.details(),
                c.outputShape().toCompactString(), String.format("%,d", c.parameterCount())});
            addBranchRows(c, indent + "  ", rows);
        }
    }

    @Override
    public void close() {
        for (Layer layer : layers) {
            layer.close();
        }
    }
}
