package org.cnn4j.nn;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.cnn4j.backend.Backend;
import org.cnn4j.tensor.DType;
import org.cnn4j.tensor.Shape;
import org.cnn4j.tensor.Tensor;

/**
 * A building block of a model. Its life cycle:
 * <ol>
 *   <li>configured by its constructor and setters (users state output sizes only);</li>
 *   <li>{@link #build(Shape, String)}: the model tells it its input shape (per sample, no
 *       batch dimension); the layer validates it and infers its output shape;</li>
 *   <li>{@link #initialize}: parameters are allocated on a backend and initialised;</li>
 *   <li>{@link #forward}/{@link #backward}: forward records what backward needs; backward
 *       adds into parameter gradients and returns the gradient of its input.</li>
 * </ol>
 * Output and gradient buffers are planned per batch shape and reused, so a steady-state step
 * allocates nothing. {@link #close()} frees parameters and buffers.
 */
public abstract class Layer implements AutoCloseable {
    private String name = "?";
    private Shape inputShape;
    private Shape outputShape;
    protected Backend backend;
    protected DType dtype;
    private final List<Parameter> parameters = new ArrayList<>();
    private final Map<BufferKey, Tensor> buffers = new HashMap<>();

    /** A planned buffer: its role in the layer, its shape and its element type. */
    private record BufferKey(String key, Shape shape, DType type) {
    }
    private boolean inputGradient = true;
    private String branch = "";

    /** The layer's type as written in summaries and saved architectures, e.g. {@code Conv2d}. */
    public abstract String type();

    /** The settings that recreate this layer (see {@link Layers#fromConfig}). */
    public abstract Map<String, Object> config();

    /** Validates the per-sample input shape and returns the per-sample output shape. */
    protected abstract Shape inferOutputShape(Shape input);

    /** Number of learnable values, known once built. */
    public long parameterCount() {
        return 0;
    }

    /** Creates and initialises the parameters (layers without parameters do nothing). */
    protected void createParameters(SplittableRandom rng) {
    }

    /** Forward pass on a batch; the returned tensor is owned by this layer (valid until the next call). */
    public abstract Tensor forward(Tensor x, boolean training);

    /** Backward pass: adds into parameter gradients, returns dL/dx (owned by this layer). */
    public abstract Tensor backward(Tensor dy);

    /** Notes for the summary, such as input rows a stride leaves unused (SPEC S1.6). */
    public List<String> warnings() {
        return List.of();
    }

    /** A short description of the settings for the summary, e.g. {@code 5x5 s=1 p=2}. */
    public String details() {
        return "";
    }

    public final Shape build(Shape input, String name) {
        this.name = name;
        this.inputShape = input;
        this.outputShape = inferOutputShape(input);
        return outputShape;
    }

    public final void initialize(Backend backend, DType dtype, SplittableRandom rng) {
        if (inputShape == null) {
            throw new IllegalStateException(name + ": initialize() before build()");
        }
        closeParametersAndBuffers();
        this.backend = backend;
        this.dtype = dtype;
        createParameters(rng);
    }

    /**
     * Whether backward computes dL/dx. The first layer of a model being trained needs only its
     * parameter gradients; when false, backward may return null.
     */
    public final void setInputGradientRequired(boolean required) {
        this.inputGradient = required;
    }

    public final boolean inputGradientRequired() {
        return inputGradient;
    }

    public final String name() {
        return name;
    }

    public final Shape inputShape() {
        return inputShape;
    }

    public final Shape outputShape() {
        return outputShape;
    }

    /** The learnable tensors, named as in a PyTorch state dict; composites list their children's. */
    public List<Parameter> parameters() {
        return List.copyOf(parameters);
    }

    /**
     * Tensors that are saved with the model but not learnt (batch norm's running statistics),
     * by state-dict name; composites list their children's.
     */
    public Map<String, Tensor> persistentState() {
        return Map.of();
    }

    /** The layers inside a composite (a residual block's branches), in order; empty for a plain layer. */
    public List<Layer> children() {
        return List.of();
    }

    /**
     * Whether a training step through this layer can be recorded once and replayed (see
     * {@code Backend.record}): false for a layer whose ops take new arguments every step, such
     * as dropout's mask seed. A composite is replayable when all its children are.
     */
    public boolean replayable() {
        for (Layer c : children()) {
            if (!c.replayable()) {
                return false;
            }
        }
        return true;
    }

    /** For a composite child: which branch of its parent it is on (for the summary), else empty. */
    public String branch() {
        return branch;
    }

    final void setBranch(String branch) {
        this.branch = branch;
    }

    /** Allocates a parameter and its gradient, filled from {@code init} values. */
    protected final Parameter addParameter(String suffix, Shape shape, double[] init) {
        Tensor value = backend.zeros(shape, dtype);
        value.copyFrom(init);
        Parameter p = new Parameter(name + "." + suffix, value, backend.zeros(shape, dtype));
        parameters.add(p);
        return p;
    }

    /**
     * A tensor for {@code key} with the given shape, planned once per shape and reused: a
     * training run alternating between a full and a short last batch (or a larger evaluation
     * batch) keeps one buffer per shape instead of reallocating.
     */
    protected final Tensor buffer(String key, Shape shape, DType type) {
        BufferKey k = new BufferKey(key, shape, type);
        Tensor t = buffers.get(k);
        if (t == null) {
            t = backend.zeros(shape, type);
            buffers.put(k, t);
        }
        return t;
    }

    protected final Tensor buffer(String key, Shape shape) {
        return buffer(key, shape, dtype);
    }

    /** Fails unless x is a batch of this layer's input shape. */
    protected final void checkInput(Tensor x) {
        if (backend == null) {
            throw new IllegalStateException(name + " (" + type() + "): forward() before the model was initialised");
        }
        Shape s = x.shape();
        if (s.rank() != inputShape.rank() + 1 || !s.dropBatch().equals(inputShape)) {
            throw new ShapeException(name + " (" + type() + "): input has shape " + s + ", expected [N, "
                    + inputShape.toString().substring(1));
        }
    }

    protected final ShapeException shapeError(String message) {
        return new ShapeException(name + " (" + type() + "): " + message);
    }

    protected static Map<String, Object> configOf(Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    private void closeParametersAndBuffers() {
        for (Parameter p : parameters) {
            p.close();
        }
        parameters.clear();
        for (Tensor t : buffers.values()) {
            t.close();
        }
        buffers.clear();
    }

    @Override
    public void close() {
        closeParametersAndBuffers();
    }
}
